/**
 * OTLP/protobuf written at the wire level, tag by tag (independent of the decoder's schema): for tests of
 * framing, damaged input and generated requests.
 */
import protobuf from 'protobufjs';

export const LEN = 2;
export const tag = (field: number, wire: number) => field * 8 + wire;
export const writer = () => protobuf.Writer.create();
/** A length-delimited field. */
export const message = (field: number, body: Uint8Array) => writer().uint32(tag(field, LEN)).bytes(body).finish();
export const cat = (...parts: Uint8Array[]) => Buffer.concat(parts);
/** A fixed64 nanosecond time from epoch ms, as its two little-endian 32-bit halves. */
function fixed64Nanos(w: protobuf.Writer, ms: number): protobuf.Writer {
  const ns = BigInt(Math.round(ms * 1e6));
  return w.fixed32(Number(ns & 0xffffffffn)).fixed32(Number(ns >> 32n));
}
const id = (n: number, bytes: number) => Buffer.from(n.toString(16).padStart(bytes * 2, '0').slice(-bytes * 2), 'hex');

export interface WireSpan {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  name?: string;
  kind?: number;
  /** Epoch ms. */
  start?: number;
  end?: number;
  /** Raw bytes appended to the span (extra or damaged fields). */
  extra?: Uint8Array;
}

/** Span `i`: ids from `i`, name `op<i>`, 5 ms long; `fields` override (undefined leaves a field out). */
export function spanBytes(i: number, fields: WireSpan = {}): Uint8Array {
  const s: WireSpan = { traceId: id(i, 16), spanId: id(i, 8), name: `op${i}`, start: 1_700_000_000_000 + i, end: 1_700_000_000_005 + i, ...fields };
  const w = writer();
  if (s.traceId !== undefined) w.uint32(tag(1, LEN)).bytes(s.traceId);
  if (s.spanId !== undefined) w.uint32(tag(2, LEN)).bytes(s.spanId);
  if (s.parentSpanId !== undefined) w.uint32(tag(4, LEN)).bytes(s.parentSpanId);
  if (s.name !== undefined) w.uint32(tag(5, LEN)).string(s.name);
  if (s.kind !== undefined) w.uint32(tag(6, 0)).int32(s.kind);
  if (s.start !== undefined) fixed64Nanos(w.uint32(tag(7, 1)), s.start);
  if (s.end !== undefined) fixed64Nanos(w.uint32(tag(8, 1)), s.end);
  return s.extra === undefined ? w.finish() : cat(w.finish(), s.extra);
}

/** A span `links` field (13) holding a `Link` with these ids (each left out when undefined) and `extra` raw bytes. */
export function linkBytes(traceId: Uint8Array | undefined, spanId: Uint8Array | undefined, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const w = writer();
  if (traceId !== undefined) w.uint32(tag(1, LEN)).bytes(traceId);
  if (spanId !== undefined) w.uint32(tag(2, LEN)).bytes(spanId);
  return message(13, cat(w.finish(), extra));
}

/** A `resource` field with `service.name`. */
export const resource = (service: string) =>
  message(1, message(1, cat(message(1, Buffer.from('service.name')), message(2, message(1, Buffer.from(service))))));
/** A resource `attributes` field (a `KeyValue`): a string value, or an `int_value` (int64) for a number. */
export const attribute = (key: string, value: string | number) =>
  message(1, cat(message(1, Buffer.from(key)), message(2, typeof value === 'string' ? message(1, Buffer.from(value)) : writer().uint32(tag(3, 0)).int64(value).finish())));
/** A `resource` field with these {@link attribute}s. */
export const resourceWith = (...attributes: Uint8Array[]) => message(1, cat(...attributes));
/** A `scope_spans` field holding `spans`. */
export const scope = (...spans: Uint8Array[]) => message(2, cat(...spans.map((s) => message(2, s))));
/** A request: one ResourceSpans per entry, its fields in the order given. */
export const request = (...resourceSpans: Uint8Array[][]) => cat(...resourceSpans.map((fields) => message(1, cat(...fields))));
