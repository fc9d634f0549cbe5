/**
 * OTLP/HTTP `ExportTraceServiceResponse` bodies, in the encoding of the request (the spec: a response uses
 * the request's Content-Type). Full success is an empty message; a partial success names the count of
 * rejected spans and why.
 */

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/** The JSON response: `{}` or `{ "partialSuccess": { "rejectedSpans": "3", "errorMessage": "..." } }` (int64 as a string, per OTLP/JSON). */
export function jsonResponse(partial: PartialSuccess | undefined): string {
  if (partial === undefined) return '{}';
  return JSON.stringify({ partialSuccess: { rejectedSpans: String(partial.rejectedSpans), errorMessage: partial.errorMessage } });
}

/** The protobuf response: field 1 `partial_success` { 1: int64 rejected_spans, 2: string error_message }. */
export function protobufResponse(partial: PartialSuccess | undefined): Buffer {
  if (partial === undefined) return Buffer.alloc(0);
  const message = Buffer.from(partial.errorMessage, 'utf8');
  const inner = Buffer.concat([Buffer.from([0x08]), varint(partial.rejectedSpans), Buffer.from([0x12]), varint(message.length), message]);
  return Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = Math.max(0, Math.floor(n));
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

