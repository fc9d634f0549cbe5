/**
 * The limits the decoders enforce, in one place (the README's "Limits" table lists the same). Input past
 * a limit is never silently lost: a string is truncated, a span with an impossible time or a record over
 * the size limit is skipped and reported as a problem.
 */

/** Span names, service names and versions longer than this (UTF-16 code units) are truncated. */
export const MAX_NAME_LENGTH = 1024;

/** Attribute string values, status and exception messages longer than this are truncated. */
export const MAX_VALUE_LENGTH = 4096;

/**
 * Latest span time accepted, in epoch ms: the end of year 9999 UTC, the last instant an ISO-8601 date
 * (and a report) can show. Spans must start after 1970-01-01T00:00:00Z; a time outside that range skips
 * the span with a problem.
 */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Default largest record the readers hold in memory, in bytes: a JSONL line, a whole (multi-line) JSON
 * document, one protobuf `Resource`, or one protobuf `Span`. A larger record is skipped with a problem;
 * the records after it still decode. Memory is bounded by this, not by the input's size.
 */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * `s` cut to at most `max` code units, copied out: a V8 slice keeps its (possibly huge) parent string
 * alive, so the cut is flattened into a new string. Never splits a surrogate pair.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return (` ${s.slice(0, end)}`).slice(1);
}
