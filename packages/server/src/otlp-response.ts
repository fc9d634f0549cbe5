/**
 * OTLP/HTTP answers, in the encoding of the request (the spec: a response uses the request's Content-Type):
 * `ExportTraceServiceResponse` bodies (full success is an empty message; a partial success names the count
 * of rejected spans and why) and, for 4xx/5xx, a `google.rpc.Status` naming the problem.
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
  return bytesField(0x0a, Buffer.concat([varintField(0x08, partial.rejectedSpans), bytesField(0x12, Buffer.from(partial.errorMessage, 'utf8'))]));
}

/** A varint field: its tag byte, then the value. */
function varintField(tag: number, n: number): Buffer {
  return Buffer.concat([Buffer.from([tag]), varint(n)]);
}

/** A length-delimited field (string, bytes, message): its tag byte, the length, the bytes. */
function bytesField(tag: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), varint(bytes.length), bytes]);
}

/** `google.rpc.Status` { 1: int32 code, 2: string message }. */
function statusMessage(code: number, message: string): Buffer {
  return Buffer.concat([varintField(0x08, code), bytesField(0x12, Buffer.from(message, 'utf8'))]);
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

/** The gRPC code for an HTTP status: what a `Status` body carries, and what the OTLP/gRPC receiver answers. */
export function grpcCode(httpStatus: number): number {
  if (httpStatus === 401) return 16; // UNAUTHENTICATED
  if (httpStatus === 429) return 8; // RESOURCE_EXHAUSTED
  if (httpStatus === 503) return 14; // UNAVAILABLE
  if (httpStatus === 408) return 4; // DEADLINE_EXCEEDED
  return httpStatus < 500 ? 3 : 13; // INVALID_ARGUMENT, INTERNAL
}

/**
 * The JSON error body: a `Status` (`code`, `message`), with the message also as `error`, the field every
 * other rootspan error answer has.
 */
export function jsonStatus(httpStatus: number, message: string): { code: number; message: string; error: string } {
  return { code: grpcCode(httpStatus), message, error: message };
}

/** The protobuf error body: `Status` { 1: int32 code, 2: string message }. */
export function protobufStatus(httpStatus: number, message: string): Buffer {
  return statusMessage(grpcCode(httpStatus), message);
}

/**
 * A `google.rpc.Status` { 1: code, 2: message, 3: details } whose one detail is a `google.rpc.RetryInfo`
 * { 1: retry_delay Duration { 1: seconds } }: sent as `grpc-status-details-bin`, it tells OTLP/gRPC
 * exporters that a RESOURCE_EXHAUSTED is worth retrying, and when (the spec retries it only then).
 */
export function grpcRetryStatus(code: number, message: string, retryAfterSeconds: number): Buffer {
  const retryInfo = bytesField(0x0a, varintField(0x08, retryAfterSeconds));
  const any = Buffer.concat([bytesField(0x0a, Buffer.from('type.googleapis.com/google.rpc.RetryInfo', 'utf8')), bytesField(0x12, retryInfo)]);
  return Buffer.concat([statusMessage(code, message), bytesField(0x1a, any)]);
}
