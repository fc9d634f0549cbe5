import { decodeRequestInto, SpanList, type Sink } from './convert.js';
import type { DecodeResult } from './problems.js';

/**
 * Decodes an already-parsed OTLP/JSON `ExportTraceServiceRequest` (or `TracesData`, or an array of
 * either) into engine spans.
 *
 * Follows the OTLP/JSON mapping and is lenient where exporters are: hex ids in any case (normalised to
 * lowercase; base64 ids accepted when they decode to 16/8 bytes), times as decimal strings or numbers,
 * `kind`/`status.code` as integers or enum names, `intValue` as string or number, `scopeSpans` and the
 * older `instrumentationLibrarySpans`. Only the attributes in `ANALYZED_ATTRIBUTES` with scalar values
 * are kept; the first `exception` event's `exception.type`/`exception.message` are copied into the
 * attributes. `service.name` defaults to `unknown_service`. A span without status is `'unset'`.
 *
 * Never throws on bad data: a span that cannot be decoded (missing or invalid ids, missing or bad
 * times, end before start) is skipped and reported in `problems`; the rest still decodes.
 *
 * @param request - the value `JSON.parse` returned for the request body or file
 * @returns the decoded spans and the problems found (without line numbers)
 *
 * @example
 * ```ts
 * const { spans, problems } = decodeOtlpJson(JSON.parse(body));
 * ```
 */
export function decodeOtlpJson(request: unknown): DecodeResult {
  const out = new SpanList();
  const sink: Sink = { out, problems: [], line: undefined };
  decodeRequestInto(request, sink);
  return { spans: out.take(), problems: sink.problems };
}
