/**
 * Engine spans as a few flat arrays, for handing batches from the decoding worker to the thread that
 * analyses them. A structured clone of span objects costs the receiver ~4× more than rebuilding them
 * from columns: here numbers cross in transferable typed arrays, attribute keys as indexes into the
 * engine's `ANALYZED_ATTRIBUTES`, and the low-cardinality strings (services, names, attribute values)
 * once per batch. Ids are not looked up (they are nearly all distinct), except a trace id repeated by
 * the next span.
 */
import { ANALYZED_ATTRIBUTES, type AttributeValue, type Span, type SpanKind, type SpanStatus } from '@rootspan/engine';

/** A batch of spans in columns; the typed arrays' buffers can be transferred. */
export interface SpanColumns {
  /** The batch's strings, referred to by index. */
  strings: string[];
  /** Per span: start, end (epoch ms). */
  times: Float64Array;
  /** Per span, `FIELDS` references (-1: absent), in the order of the `F_*` constants. */
  refs: Int32Array;
  /** Per span with attributes: `count, (key, tag, value) × count`; a span's `F_ATTRS` is its offset. */
  attrs: Float64Array;
}

const F_TRACE = 0;
const F_SPAN = 1;
const F_PARENT = 2;
const F_SERVICE = 3;
const F_VERSION = 4;
const F_NAME = 5;
const F_MESSAGE = 6;
const F_ATTRS = 7;
/** `kind` index + 8 × `status` index, in `KINDS` and `STATUSES`. */
const F_CODES = 8;
const FIELDS = 9;

const KINDS: ReadonlyArray<SpanKind | undefined> = [undefined, 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: ReadonlyArray<SpanStatus | undefined> = [undefined, 'unset', 'ok', 'error'];

/** Attribute key → its index in `ANALYZED_ATTRIBUTES`; another key crosses as a string, `-1 - ref`. */
const KEY_INDEX = new Map<string, number>(ANALYZED_ATTRIBUTES.map((k, i) => [k, i]));

const TAG_STRING = 0;
const TAG_NUMBER = 1;
const TAG_BOOLEAN = 2;

/** Packs `spans` (decoder output) into columns. */
export function packSpans(spans: readonly Span[]): SpanColumns {
  const strings: string[] = [];
  const index = new Map<string, number>();
  /** A string that repeats: looked up, added once. */
  const shared = (s: string | undefined): number => {
    if (s === undefined) return -1;
    let i = index.get(s);
    if (i === undefined) {
      i = strings.push(s) - 1;
      index.set(s, i);
    }
    return i;
  };
  /** A string that does not: added. */
  const own = (s: string | undefined): number => (s === undefined ? -1 : strings.push(s) - 1);
  const n = spans.length;
  const times = new Float64Array(n * 2);
  const refs = new Int32Array(n * FIELDS);
  let attrs = new Float64Array(n * 8);
  let end = 0;
  // A span's trace, service and version are most often the previous span's (same string object): compared, not looked up.
  let trace = '';
  let traceRef = -1;
  let service: string | undefined;
  let serviceRef = -1;
  let version: string | undefined;
  let versionRef = -1;
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    times[2 * i] = s.startTime;
    times[2 * i + 1] = s.endTime;
    const o = i * FIELDS;
    if (s.traceId !== trace) {
      trace = s.traceId;
      traceRef = own(trace);
    }
    if (s.service !== service || i === 0) serviceRef = shared((service = s.service));
    if (s.serviceVersion !== version || i === 0) versionRef = shared((version = s.serviceVersion));
    refs[o + F_TRACE] = traceRef;
    refs[o + F_SPAN] = own(s.spanId);
    refs[o + F_PARENT] = own(s.parentSpanId);
    refs[o + F_SERVICE] = serviceRef;
    refs[o + F_VERSION] = versionRef;
    refs[o + F_NAME] = shared(s.name);
    refs[o + F_MESSAGE] = own(s.statusMessage);
    refs[o + F_CODES] = KINDS.indexOf(s.kind) + 8 * STATUSES.indexOf(s.status);
    const a = s.attributes;
    if (a === undefined) {
      refs[o + F_ATTRS] = -1;
      continue;
    }
    const keys = Object.keys(a);
    if (end + 1 + 3 * keys.length > attrs.length) {
      const grown = new Float64Array(Math.max(2 * attrs.length, end + 1 + 3 * keys.length));
      grown.set(attrs);
      attrs = grown;
    }
    refs[o + F_ATTRS] = end;
    attrs[end++] = keys.length;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      const v = a[k];
      attrs[end++] = KEY_INDEX.get(k) ?? -1 - shared(k);
      if (typeof v === 'string') {
        attrs[end++] = TAG_STRING;
        attrs[end++] = shared(v);
      } else if (typeof v === 'number') {
        attrs[end++] = TAG_NUMBER;
        attrs[end++] = v;
      } else {
        attrs[end++] = TAG_BOOLEAN;
        attrs[end++] = v ? 1 : 0;
      }
    }
  }
  return { strings, times, refs, attrs: attrs.slice(0, end) };
}

/** The spans of a {@link packSpans} batch, with the same fields (an absent one `undefined`). */
export function unpackSpans(c: SpanColumns): Span[] {
  const { strings, times, refs } = c;
  const n = times.length / 2;
  const out = new Array<Span>(n);
  for (let i = 0; i < n; i++) {
    const o = i * FIELDS;
    const parent = refs[o + F_PARENT];
    const version = refs[o + F_VERSION];
    const message = refs[o + F_MESSAGE];
    const at = refs[o + F_ATTRS];
    const codes = refs[o + F_CODES];
    out[i] = {
      traceId: strings[refs[o + F_TRACE]],
      spanId: strings[refs[o + F_SPAN]],
      parentSpanId: parent < 0 ? undefined : strings[parent],
      service: strings[refs[o + F_SERVICE]],
      serviceVersion: version < 0 ? undefined : strings[version],
      name: strings[refs[o + F_NAME]],
      kind: KINDS[codes & 7],
      startTime: times[2 * i],
      endTime: times[2 * i + 1],
      status: STATUSES[codes >> 3],
      statusMessage: message < 0 ? undefined : strings[message],
      attributes: at < 0 ? undefined : attributesAt(c, at),
    };
  }
  return out;
}

function attributesAt({ strings, attrs }: SpanColumns, at: number): Record<string, AttributeValue> {
  const a: Record<string, AttributeValue> = {};
  const end = at + 1 + 3 * attrs[at];
  for (let j = at + 1; j < end; j += 3) {
    const k = attrs[j];
    const tag = attrs[j + 1];
    const v = attrs[j + 2];
    a[k >= 0 ? ANALYZED_ATTRIBUTES[k] : strings[-1 - k]] = tag === TAG_STRING ? strings[v] : tag === TAG_NUMBER ? v : v === 1;
  }
  return a;
}
