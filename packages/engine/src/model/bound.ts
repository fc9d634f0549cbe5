import type { AttributeValue, Span } from '../types.js';
import { MAX_LINKS, MAX_NAME_LENGTH } from '../limits.js';

/**
 * The span with every string the engine may keep cut to {@link MAX_NAME_LENGTH}, and its links to
 * {@link MAX_LINKS} (anything but an array: none): the span itself when nothing is over (the usual case,
 * checked without allocating), else a shallow copy.
 */
export function boundSpan(span: Span): Span {
  const attrs = span.attributes;
  const longAttr = attrs !== undefined && hasLongString(attrs);
  const links = span.links;
  const manyLinks = links !== undefined && (!Array.isArray(links) || links.length > MAX_LINKS);
  if (
    !longAttr &&
    !manyLinks &&
    span.name.length <= MAX_NAME_LENGTH &&
    span.service.length <= MAX_NAME_LENGTH &&
    !(typeof span.serviceVersion === 'string' && span.serviceVersion.length > MAX_NAME_LENGTH) &&
    !(typeof span.instance === 'string' && span.instance.length > MAX_NAME_LENGTH) &&
    !(typeof span.statusMessage === 'string' && span.statusMessage.length > MAX_NAME_LENGTH)
  ) {
    return span;
  }
  const out: Span = { ...span, name: cut(span.name), service: cut(span.service) };
  if (typeof span.serviceVersion === 'string') out.serviceVersion = cut(span.serviceVersion);
  if (typeof span.instance === 'string') out.instance = cut(span.instance);
  if (typeof span.statusMessage === 'string') out.statusMessage = cut(span.statusMessage);
  if (longAttr) {
    const copy: Record<string, AttributeValue> = {};
    for (const k in attrs) {
      const v = attrs[k];
      copy[k.length > MAX_NAME_LENGTH ? cut(k) : k] = typeof v === 'string' ? cut(v) : v;
    }
    out.attributes = copy;
  }
  if (manyLinks) out.links = Array.isArray(links) ? links.slice(0, MAX_LINKS) : undefined;
  return out;
}

function hasLongString(attrs: Readonly<Record<string, AttributeValue>>): boolean {
  for (const k in attrs) {
    const v = attrs[k];
    if (k.length > MAX_NAME_LENGTH || (typeof v === 'string' && v.length > MAX_NAME_LENGTH)) return true;
  }
  return false;
}

/**
 * `s` cut to {@link MAX_NAME_LENGTH} (never through a surrogate pair), as a new string (also for names
 * built from several cut parts, like `METHOD route`): V8's `slice`
 * returns a view that keeps the whole original alive, so the characters are copied out by a join.
 */
export function cut(s: string): string {
  if (s.length <= MAX_NAME_LENGTH) return s;
  const end = isHighSurrogate(s.charCodeAt(MAX_NAME_LENGTH - 1)) ? MAX_NAME_LENGTH - 1 : MAX_NAME_LENGTH;
  return Array.from(s.slice(0, end)).join('');
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
