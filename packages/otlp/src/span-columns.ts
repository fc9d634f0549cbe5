/**
 * Engine spans as a few flat arrays, for handing batches from the decoding worker to the thread that
 * analyses them. A structured clone of span objects costs the receiver ~4× more than rebuilding them
 * from columns: here numbers cross in transferable typed arrays, attribute keys as indexes into the
 * engine's `ANALYZED_ATTRIBUTES`, and the low-cardinality strings (services, names, attribute values)
 * once per batch. Ids are not looked up (they are nearly all distinct), except a trace id repeated by
 * the next span; those the JSONL scanner read cross as their hex bytes, made strings by the receiver
 * (cheaper than cloning the strings, and off the decoding thread). The few spans with links (consumer spans)
 * have them in a column of their own, so a span without costs nothing there.
 */
import { ANALYZED_ATTRIBUTES, MAX_LINKS, type AttributeValue, type Span, type SpanKind, type SpanLink, type SpanStatus } from '@rootspan/engine';
import { ATTRIBUTE_INDEX, type BatchOut, type ResourceInfo } from './convert.js';
import { hex16, hex32 } from './hex-ids.js';

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
  /** Ids as lowercase hex bytes: a trace, span or parent reference `r` below -1 is at `-2 - r` here. */
  ids: Uint8Array;
  /**
   * The links of the spans that have any (few: consumer spans only), in span order: `span index, count,
   * (trace reference, span reference) × count`, references as the spans' own ids.
   */
  links: Int32Array;
}

const F_TRACE = 0;
const F_SPAN = 1;
const F_PARENT = 2;
const F_SERVICE = 3;
const F_VERSION = 4;
const F_INSTANCE = 5;
const F_NAME = 6;
const F_MESSAGE = 7;
const F_ATTRS = 8;
/** `kind` index + 8 × `status` index, in `KINDS` and `STATUSES`. */
const F_CODES = 9;
const FIELDS = 10;

const KINDS: ReadonlyArray<SpanKind | undefined> = [undefined, 'internal', 'server', 'client', 'producer', 'consumer'];
const CONSUMER = KINDS.indexOf('consumer');
const STATUSES: ReadonlyArray<SpanStatus | undefined> = [undefined, 'unset', 'ok', 'error'];


const TAG_STRING = 0;
const TAG_NUMBER = 1;
const TAG_BOOLEAN = 2;

/** No links yet: a builder makes its links column when a span first has one. */
const EMPTY_LINKS = new Int32Array(0);

/** Spans a builder holds room for at first; it grows to the largest batch. */
const CAPACITY = 1024;

/**
 * Writes the decoder's spans straight into columns (no span objects), handing them out a batch at a
 * time: the decoding worker's {@link BatchOut}.
 */
export class SpanColumnsBuilder implements BatchOut<SpanColumns> {
  /** Spans added since the last {@link take}. */
  length = 0;
  private capacity = CAPACITY;
  private strings: string[] = [];
  /** Index in `strings` of the strings that repeat (names, services, attribute values and keys). */
  private index = new Map<string, number>();
  private times = new Float64Array(2 * CAPACITY);
  private refs = new Int32Array(FIELDS * CAPACITY);
  private attrs = new Float64Array(8 * CAPACITY);
  private attrsEnd = 0;
  private ids = new Uint8Array(64 * CAPACITY);
  private idsEnd = 0;
  /** Offset in `ids` of the trace id {@link addHex} added last (-1: none, or {@link add} came since). */
  private traceAt = -1;
  /** Offset in `attrs` of the last span's attribute count; -1 while it has none. */
  private attrsAt = -1;
  /** Links (see `SpanColumns.links`), made when first needed; the offset of the last record's span index (-1: none). */
  private links = EMPTY_LINKS;
  private linksEnd = 0;
  private linksAt = -1;
  // A span's trace and resource are most often the previous span's: compared, not looked up.
  private trace: string | undefined;
  private traceRef = -1;
  private res: ResourceInfo | undefined;
  private serviceRef = -1;
  private versionRef = -1;
  private instanceRef = -1;
  /** What {@link mark} remembered: spans, attribute entries and strings. */
  private markedLength = 0;
  private markedAttrs = 0;
  private markedStrings = 0;
  private markedIds = 0;
  private markedLinks = 0;

  add(
    traceId: string,
    spanId: string,
    parentSpanId: string | undefined,
    res: ResourceInfo,
    name: string,
    kind: SpanKind | undefined,
    startTime: number,
    endTime: number,
    status: SpanStatus | undefined,
    statusMessage: string | undefined,
  ): void {
    if (traceId !== this.trace) {
      this.traceRef = this.own((this.trace = traceId));
      this.traceAt = -1;
    }
    this.fields(this.own(spanId), parentSpanId === undefined ? -1 : this.own(parentSpanId), res, name, kind, startTime, endTime, status, statusMessage);
  }

  addHex(
    b: Uint8Array,
    trace: number,
    span: number,
    parent: number,
    res: ResourceInfo,
    name: string,
    kind: SpanKind | undefined,
    startTime: number,
    endTime: number,
    status: SpanStatus | undefined,
    statusMessage: string | undefined,
  ): void {
    if (this.idsEnd + 64 > this.ids.length) this.growIds();
    const ids = this.ids;
    const last = this.traceAt;
    let k = 0;
    if (last >= 0) while (k < 32 && b[trace + k] === ids[last + k]) k++;
    if (last < 0 || k < 32) {
      this.traceAt = this.idsEnd;
      this.traceRef = this.copy(b, trace, 32);
      this.trace = undefined;
    }
    const spanRef = this.copy(b, span, 16);
    this.fields(spanRef, parent < 0 ? -1 : this.copy(b, parent, 16), res, name, kind, startTime, endTime, status, statusMessage);
  }

  /** The span's fields but for its trace (`traceRef`) and ids (references). */
  private fields(
    spanRef: number,
    parentRef: number,
    res: ResourceInfo,
    name: string,
    kind: SpanKind | undefined,
    startTime: number,
    endTime: number,
    status: SpanStatus | undefined,
    statusMessage: string | undefined,
  ): void {
    const i = this.length;
    if (i === this.capacity) this.grow();
    this.times[2 * i] = startTime;
    this.times[2 * i + 1] = endTime;
    if (res !== this.res) {
      this.res = res;
      this.serviceRef = this.shared(res.service);
      this.versionRef = res.serviceVersion === undefined ? -1 : this.shared(res.serviceVersion);
      this.instanceRef = res.instance === undefined ? -1 : this.shared(res.instance);
    }
    const refs = this.refs;
    const o = i * FIELDS;
    refs[o + F_TRACE] = this.traceRef;
    refs[o + F_SPAN] = spanRef;
    refs[o + F_PARENT] = parentRef;
    refs[o + F_SERVICE] = this.serviceRef;
    refs[o + F_VERSION] = this.versionRef;
    refs[o + F_INSTANCE] = this.instanceRef;
    refs[o + F_NAME] = this.shared(name);
    refs[o + F_MESSAGE] = statusMessage === undefined ? -1 : this.own(statusMessage);
    refs[o + F_ATTRS] = -1;
    refs[o + F_CODES] = KINDS.indexOf(kind) + 8 * STATUSES.indexOf(status);
    this.attrsAt = -1;
    this.length = i + 1;
  }

  /** Copies the `n` id bytes at `at` in `b` to `ids`; their reference. */
  private copy(b: Uint8Array, at: number, n: number): number {
    const ids = this.ids;
    const to = this.idsEnd;
    for (let k = 0; k < n; k++) ids[to + k] = b[at + k];
    this.idsEnd = to + n;
    return -2 - to;
  }

  attribute(key: number, value: AttributeValue): void {
    if (this.attrsEnd + 4 > this.attrs.length) this.growAttrs();
    this.withAttributes();
    const attrs = this.attrs;
    attrs[this.attrsAt]++;
    const e = this.attrsEnd;
    attrs[e] = key;
    if (typeof value === 'string') {
      attrs[e + 1] = TAG_STRING;
      attrs[e + 2] = this.shared(value);
    } else if (typeof value === 'number') {
      attrs[e + 1] = TAG_NUMBER;
      attrs[e + 2] = value;
    } else {
      attrs[e + 1] = TAG_BOOLEAN;
      attrs[e + 2] = value ? 1 : 0;
    }
    this.attrsEnd = e + 3;
  }

  /** Gives the span added last an attributes record (empty until {@link attribute} adds to it). */
  withAttributes(): void {
    if (this.attrsAt >= 0) return;
    if (this.attrsEnd === this.attrs.length) this.growAttrs();
    this.attrsAt = this.attrsEnd++;
    this.attrs[this.attrsAt] = 0;
    this.refs[(this.length - 1) * FIELDS + F_ATTRS] = this.attrsAt;
  }

  link(traceId: string, spanId: string): void {
    const at = this.linkRecord();
    if (at < 0) return;
    this.addLink(at, this.own(traceId), this.own(spanId));
  }

  linkHex(b: Uint8Array, trace: number, span: number): void {
    const at = this.linkRecord();
    if (at < 0) return;
    if (this.idsEnd + 48 > this.ids.length) this.growIds();
    const traceRef = this.copy(b, trace, 32);
    this.addLink(at, traceRef, this.copy(b, span, 16));
  }

  /**
   * The offset of the links record of the span added last, made if need be; -1 when it takes no more links
   * (not a consumer, or `MAX_LINKS` of them). Room for one more link is made.
   */
  private linkRecord(): number {
    const i = this.length - 1;
    if ((this.refs[i * FIELDS + F_CODES] & 7) !== CONSUMER) return -1;
    let at = this.linksAt;
    if (at < 0 || this.links[at] !== i) {
      if (this.linksEnd + 4 > this.links.length) this.growLinks();
      at = this.linksAt = this.linksEnd;
      this.links[at] = i;
      this.links[at + 1] = 0;
      this.linksEnd = at + 2;
    } else if (this.links[at + 1] === MAX_LINKS) {
      return -1;
    } else if (this.linksEnd + 2 > this.links.length) {
      this.growLinks();
    }
    return at;
  }

  /** Appends a link to the record at `at` (the last one, with room made by {@link linkRecord}). */
  private addLink(at: number, traceRef: number, spanRef: number): void {
    const links = this.links;
    links[at + 1]++;
    links[this.linksEnd] = traceRef;
    links[this.linksEnd + 1] = spanRef;
    this.linksEnd += 2;
  }

  /** {@link attribute} by name: a key not in `ANALYZED_ATTRIBUTES` crosses as a string (`-1 - ` its place). */
  namedAttribute(key: string, value: AttributeValue): void {
    this.attribute(ATTRIBUTE_INDEX.get(key) ?? -1 - this.shared(key), value);
  }

  hasAttribute(key: number): boolean {
    if (this.attrsAt < 0) return false;
    for (let j = this.attrsAt + 1; j < this.attrsEnd; j += 3) if (this.attrs[j] === key) return true;
    return false;
  }

  mark(): void {
    this.markedLength = this.length;
    this.markedAttrs = this.attrsEnd;
    this.markedStrings = this.strings.length;
    this.markedIds = this.idsEnd;
    this.markedLinks = this.linksEnd;
  }

  rollback(): void {
    for (let j = this.markedStrings; j < this.strings.length; j++) {
      const s = this.strings[j];
      if (this.index.get(s) === j) this.index.delete(s);
    }
    this.strings.length = this.markedStrings;
    this.length = this.markedLength;
    this.attrsEnd = this.markedAttrs;
    this.idsEnd = this.markedIds;
    this.linksEnd = this.markedLinks;
    this.traceAt = -1;
    this.attrsAt = -1;
    this.linksAt = -1;
    // The refs kept for the last span's trace and resource may be among the strings taken back.
    this.trace = undefined;
    this.res = undefined;
  }

  take(): SpanColumns {
    const n = this.length;
    // Copies of the used parts: their buffers are transferred, and hold no more than this batch.
    const columns: SpanColumns = {
      strings: this.strings,
      times: this.times.slice(0, 2 * n),
      refs: this.refs.slice(0, FIELDS * n),
      attrs: this.attrs.slice(0, this.attrsEnd),
      ids: this.ids.slice(0, this.idsEnd),
      links: this.links.slice(0, this.linksEnd),
    };
    this.strings = [];
    this.index = new Map();
    this.attrsEnd = 0;
    this.attrsAt = -1;
    this.idsEnd = 0;
    this.linksEnd = 0;
    this.linksAt = -1;
    this.traceAt = -1;
    this.trace = undefined;
    this.res = undefined;
    this.length = 0;
    return columns;
  }

  takeSlices(size: number): SpanColumns[] {
    const spans = unpackSpans(this.take());
    const out: SpanColumns[] = [];
    for (let i = 0; i < spans.length; i += size) out.push(packSpans(spans.slice(i, i + size)));
    return out;
  }

  /** A string that repeats: looked up, added once. */
  private shared(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.push(s) - 1;
      this.index.set(s, i);
    }
    return i;
  }

  /** A string that does not (ids, messages): added. */
  private own(s: string): number {
    return this.strings.push(s) - 1;
  }

  private growIds(): void {
    const grown = new Uint8Array(2 * this.ids.length);
    grown.set(this.ids);
    this.ids = grown;
  }

  private growLinks(): void {
    const grown = new Int32Array(Math.max(64, 2 * this.links.length));
    grown.set(this.links);
    this.links = grown;
  }

  private growAttrs(): void {
    const grown = new Float64Array(2 * this.attrs.length);
    grown.set(this.attrs);
    this.attrs = grown;
  }

  private grow(): void {
    this.capacity *= 2;
    const times = new Float64Array(2 * this.capacity);
    times.set(this.times);
    this.times = times;
    const refs = new Int32Array(FIELDS * this.capacity);
    refs.set(this.refs);
    this.refs = refs;
  }
}

/** Packs `spans` into columns. */
export function packSpans(spans: readonly Span[]): SpanColumns {
  const out = new SpanColumnsBuilder();
  let res: ResourceInfo | undefined;
  for (const s of spans) {
    if (res === undefined || s.service !== res.service || s.serviceVersion !== res.serviceVersion || s.instance !== res.instance) {
      res = { service: s.service, serviceVersion: s.serviceVersion, instance: s.instance };
    }
    out.add(s.traceId, s.spanId, s.parentSpanId, res, s.name, s.kind, s.startTime, s.endTime, s.status, s.statusMessage);
    const a = s.attributes;
    if (a !== undefined) {
      out.withAttributes();
      for (const k of Object.keys(a)) out.namedAttribute(k, a[k]);
    }
    const links = s.links;
    if (links !== undefined) for (const l of links) out.link(l.traceId, l.spanId);
  }
  return out.take();
}

/** The spans of a {@link packSpans} batch, with the same fields (an absent one `undefined`). */
export function unpackSpans(c: SpanColumns): Span[] {
  const { strings, times, refs, ids, links } = c;
  const n = times.length / 2;
  const out = new Array<Span>(n);
  // The next span with links (-1: none), and its record's offset in `links`.
  let linksAt = 0;
  let linked = links.length > 0 ? links[0] : -1;
  // Spans of one trace in a row share its reference: its string is made once.
  let traceRef = -1;
  let traceId = '';
  for (let i = 0; i < n; i++) {
    const o = i * FIELDS;
    const trace = refs[o + F_TRACE];
    if (trace !== traceRef) traceId = trace >= 0 ? strings[(traceRef = trace)] : hex32(ids, -2 - (traceRef = trace));
    const span = refs[o + F_SPAN];
    const parent = refs[o + F_PARENT];
    const version = refs[o + F_VERSION];
    const instance = refs[o + F_INSTANCE];
    const message = refs[o + F_MESSAGE];
    const at = refs[o + F_ATTRS];
    const codes = refs[o + F_CODES];
    let spanLinks: SpanLink[] | undefined;
    if (i === linked) {
      const count = links[linksAt + 1];
      spanLinks = new Array<SpanLink>(count);
      for (let k = 0; k < count; k++) {
        const t = links[linksAt + 2 + 2 * k];
        const s = links[linksAt + 3 + 2 * k];
        spanLinks[k] = { traceId: t >= 0 ? strings[t] : hex32(ids, -2 - t), spanId: s >= 0 ? strings[s] : hex16(ids, -2 - s) };
      }
      linksAt += 2 + 2 * count;
      linked = linksAt < links.length ? links[linksAt] : -1;
    }
    out[i] = {
      traceId,
      spanId: span >= 0 ? strings[span] : hex16(ids, -2 - span),
      parentSpanId: parent === -1 ? undefined : parent >= 0 ? strings[parent] : hex16(ids, -2 - parent),
      service: strings[refs[o + F_SERVICE]],
      serviceVersion: version < 0 ? undefined : strings[version],
      instance: instance < 0 ? undefined : strings[instance],
      name: strings[refs[o + F_NAME]],
      kind: KINDS[codes & 7],
      startTime: times[2 * i],
      endTime: times[2 * i + 1],
      status: STATUSES[codes >> 3],
      statusMessage: message < 0 ? undefined : strings[message],
      attributes: at < 0 ? undefined : attributesAt(c, at),
      links: spanLinks,
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
    const name = k >= 0 ? ANALYZED_ATTRIBUTES[k] : strings[-1 - k];
    const value = tag === TAG_STRING ? strings[v] : tag === TAG_NUMBER ? v : v === 1;
    // Assigning `__proto__` would set the prototype and lose the key: define it as an own property instead.
    if (name === '__proto__') Object.defineProperty(a, name, { value, enumerable: true, writable: true, configurable: true });
    else a[name] = value;
  }
  return a;
}
