/**
 * The readers' own limit (the record size) and the string cut. The limits on span contents — name length
 * and latest time — are the engine's (`@rootspan/engine`'s limits.ts), stated there once and enforced here
 * already at decoding, so that a problem names the line. Input past a limit is never silently lost: a
 * string is truncated, a span with an impossible time or a record over the size limit is skipped and
 * reported as a problem.
 */

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
