/**
 * The readers' own limit (the record size). The limits on span contents — name length (and the cut,
 * `cutToNameLength`) and latest time — are the engine's (`@rootspan/engine`'s limits.ts), stated there once
 * and enforced here already at decoding, so that a problem names the line. Input past a limit is never silently lost: a
 * string is truncated, a span with an impossible time or a record over the size limit is skipped and
 * reported as a problem.
 */

/**
 * Default largest record the readers hold in memory, in bytes: a JSONL line, a whole JSON document (or
 * one element of a larger array or Jaeger answer, read element by element, or one span or resource of a
 * larger OTLP request or one span of a larger Jaeger trace, read span by span), one protobuf `Resource`, or one protobuf `Span`. A larger
 * record is skipped with a problem;
 * the records after it still decode. Memory is bounded by this, not by the input's size.
 */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Most messages one protobuf request decoded in memory (`decodeOtlpProtobuf`: a server's request body) may
 * hold (`ResourceSpans`, `ScopeSpans` and `Span` together): the rest of the request is skipped with a
 * problem. A 16 MiB request of the smallest valid spans holds ~300k; a small compressed body of millions
 * of empty messages would otherwise hold the decoder for seconds. Files are read without this limit.
 */
export const MAX_REQUEST_MESSAGES = 1_000_000;

/**
 * Most fields the spans of one OTLP/protobuf request may hold in all (each attribute, event and link one,
 * as each id, name and time): the rest of the request is skipped with a problem. 16 MiB of real spans hold
 * ~1.1 million; one span of 8 million empty attributes, 16 KB gzipped, held the decoder for seconds and
 * took ~600 MB. Files are read without this limit.
 */
export const MAX_REQUEST_SPAN_FIELDS = 3_000_000;
