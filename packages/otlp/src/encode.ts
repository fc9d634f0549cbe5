import type { AttributeValue, Span, SpanKind, SpanStatus } from '@rootspan/engine';

/** An OTLP/JSON `AnyValue` as {@link encodeOtlpJson} writes it (int64 as a decimal string, per the mapping). */
export interface OtlpJsonAnyValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
}

/** An OTLP/JSON `KeyValue`. */
export interface OtlpJsonKeyValue {
  key: string;
  value: OtlpJsonAnyValue;
}

/** An OTLP/JSON `Span` as {@link encodeOtlpJson} writes it. */
export interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer; absent when unknown. */
  kind?: number;
  /** Epoch nanoseconds, decimal string. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpJsonKeyValue[];
  /** 0 unset, 1 ok, 2 error; absent when unknown. */
  status?: { code: number; message?: string };
  /** The span's links (a consumer's), ids only; absent when it has none. */
  links?: Array<{ traceId: string; spanId: string }>;
}

/** An OTLP/JSON `ResourceSpans` with one scope. */
export interface OtlpJsonResourceSpans {
  resource: { attributes: OtlpJsonKeyValue[] };
  scopeSpans: Array<{ scope: { name: string }; spans: OtlpJsonSpan[] }>;
}

/** An OTLP/JSON `ExportTraceServiceRequest`. */
export interface OtlpJsonTraceRequest {
  resourceSpans: OtlpJsonResourceSpans[];
}

const KIND_NUMBER: Record<SpanKind, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS_NUMBER: Record<SpanStatus, number> = { unset: 0, ok: 1, error: 2 };

const PLAIN_MS = /^(\d+)(?:\.(\d{1,6}))?$/;

/**
 * Epoch ms (fractional) to a decimal epoch-nanosecond string that decodes back to the same double:
 * the shortest decimal form of `ms` with the point moved six places (`1700000000123.456` →
 * `"1700000000123456000"`), or, for values that print otherwise, the nanosecond nearest to `ms`.
 *
 * @param ms - a non-negative epoch time in ms
 */
export function msToNanosString(ms: number): string {
  const m = PLAIN_MS.exec(String(ms));
  if (m !== null) {
    const frac = (m[2] ?? '').padEnd(6, '0');
    return m[1] === '0' ? String(Number(frac)) : m[1] + frac;
  }
  let whole = Math.floor(ms);
  let ns = Math.round((ms - whole) * 1e6);
  if (ns >= 1e6) {
    whole += 1;
    ns -= 1e6;
  }
  if (whole === 0) return String(ns);
  return `${whole}${String(ns).padStart(6, '0')}`;
}

function anyValue(v: AttributeValue): OtlpJsonAnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

function encodeSpan(s: Span): OtlpJsonSpan {
  const out: OtlpJsonSpan = {
    traceId: s.traceId,
    spanId: s.spanId,
    name: s.name,
    startTimeUnixNano: msToNanosString(s.startTime),
    endTimeUnixNano: msToNanosString(s.endTime),
    attributes: [],
  };
  if (s.parentSpanId) out.parentSpanId = s.parentSpanId;
  if (s.kind !== undefined) out.kind = KIND_NUMBER[s.kind];
  const attrs = s.attributes;
  if (attrs !== undefined) {
    for (const key in attrs) {
      const v = attrs[key];
      if (typeof v === 'number' && !Number.isFinite(v)) continue;
      out.attributes.push({ key, value: anyValue(v) });
    }
  }
  if (s.status !== undefined) {
    out.status = s.statusMessage ? { code: STATUS_NUMBER[s.status], message: s.statusMessage } : { code: STATUS_NUMBER[s.status] };
  } else if (s.statusMessage) {
    out.status = { code: 0, message: s.statusMessage };
  }
  const links = s.links;
  if (links !== undefined && links.length > 0) out.links = links.map((l) => ({ traceId: l.traceId, spanId: l.spanId }));
  return out;
}

/**
 * Encodes engine spans as one OTLP/JSON `ExportTraceServiceRequest`: one `resourceSpans` per
 * (`service`, `serviceVersion`, `instance`) in order of first appearance, each with one scope named
 * `rootspan` (the instance written as `service.instance.id`).
 * Times become decimal nanosecond strings, ints `intValue` strings. `JSON.stringify` the result to get a
 * request body or one line of a `.jsonl` file; {@link decodeOtlpJson} reads it back to equal spans
 * (except that a span without status comes back `'unset'`, as OTLP defines).
 *
 * @param spans - the spans to encode
 * @returns the request object
 */
export function encodeOtlpJson(spans: readonly Span[]): OtlpJsonTraceRequest {
  const groups = new Map<string, OtlpJsonSpan[]>();
  const resourceSpans: OtlpJsonResourceSpans[] = [];
  for (const s of spans) {
    const version = s.serviceVersion === '' ? undefined : s.serviceVersion;
    const instance = s.instance === '' ? undefined : s.instance;
    // Parts apart by `\u0000`, a present one marked by `\u0001`: an absent version or instance differs from any value.
    const key = `${s.service}\u0000${version === undefined ? '' : `\u0001${version}`}\u0000${instance === undefined ? '' : `\u0001${instance}`}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = [];
      groups.set(key, group);
      const attributes: OtlpJsonKeyValue[] = [{ key: 'service.name', value: { stringValue: s.service } }];
      if (version !== undefined) attributes.push({ key: 'service.version', value: { stringValue: version } });
      if (instance !== undefined) attributes.push({ key: 'service.instance.id', value: { stringValue: instance } });
      resourceSpans.push({ resource: { attributes }, scopeSpans: [{ scope: { name: 'rootspan' }, spans: group }] });
    }
    group.push(encodeSpan(s));
  }
  return { resourceSpans };
}
