import type { Span } from '@rootspan/engine';

/** What is removed from spans before the analyzer (and so any store, API answer or notification) sees them. */
export interface RedactOptions {
  /** Attribute keys removed from every span, e.g. `["exception.message"]`. Default none. */
  attributes?: string[];
  /** Remove the query string (`?…` up to whitespace or `#`) after any URL or path in names, status messages and string attributes. Default true. */
  queryStrings?: boolean;
}

/** A `?` following a URL or path, and the query after it (up to whitespace, a quote or `#`). */
const QUERY = /(\/[^\s?#"']*|https?:\/\/[^\s/?#"']+)\?[^\s#"']*/g;

/** Removes query strings from a value; returns it unchanged (the same string) when there is none. */
export function stripQuery(value: string): string {
  return value.indexOf('?') === -1 ? value : value.replace(QUERY, '$1');
}

/**
 * Builds the redaction step for decoded spans, or undefined when nothing is to be removed. It edits the
 * spans in place: they are the decoder's fresh objects, owned by the receiver.
 */
export function createRedactor(options: RedactOptions = {}): ((spans: Span[]) => void) | undefined {
  const keys = options.attributes ?? [];
  const queries = options.queryStrings !== false;
  if (keys.length === 0 && !queries) return undefined;
  return (spans) => {
    for (const span of spans) {
      const attrs = span.attributes;
      if (attrs !== undefined) {
        for (const key of keys) delete attrs[key];
        if (queries) {
          for (const key in attrs) {
            const v = attrs[key];
            if (typeof v === 'string') attrs[key] = stripQuery(v);
          }
        }
      }
      if (queries) {
        span.name = stripQuery(span.name);
        if (span.statusMessage !== undefined) span.statusMessage = stripQuery(span.statusMessage);
      }
    }
  };
}
