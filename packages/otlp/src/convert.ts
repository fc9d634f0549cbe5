/**
 * The one decoder behind both wire formats: it walks an `ExportTraceServiceRequest` that is either a
 * plain object from `JSON.parse` (OTLP/JSON mapping: hex ids, decimal-string times) or a protobufjs
 * message (bytes ids, Long times; field names are the same lowerCamelCase), and writes engine spans to a
 * {@link SpanOut} (span objects, or the decoding worker's columns).
 *
 * Kept lean on purpose (it is the hot loop of a 1 GB JSONL read): one pass, index loops, one Map lookup
 * per attribute key, no spreads, strings for problem messages built only when there is a problem.
 */
import { ANALYZED_ATTRIBUTES, cutToNameLength, MAX_LINKS, MAX_TIME_MS, type AttributeValue, type Span, type SpanKind, type SpanLink, type SpanStatus } from '@rootspan/engine';
import { hex16, hex32, TraceIds } from './hex-ids.js';
import { namesSpan, type DecodeProblem } from './problems.js';
import type { ZipkinState } from './zipkin-state.js';

/** Loose view of whatever the input holds: every field is checked before use. */
type Obj = Record<string, unknown>;

/** `Span.kind` by OTLP's number (0: unspecified). */
export const KIND_BY_NUMBER: ReadonlyArray<SpanKind | undefined> = [undefined, 'internal', 'server', 'client', 'producer', 'consumer'];
const KIND_BY_NAME: Readonly<Record<string, SpanKind | undefined>> = Object.assign(Object.create(null) as Record<string, SpanKind>, {
  SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
  INTERNAL: 'internal',
  SERVER: 'server',
  CLIENT: 'client',
  PRODUCER: 'producer',
  CONSUMER: 'consumer',
});

/** `Span.status` by OTLP's status code. */
export const STATUS_BY_NUMBER: ReadonlyArray<SpanStatus> = ['unset', 'ok', 'error'];
const STATUS_BY_NAME: Readonly<Record<string, SpanStatus | undefined>> = Object.assign(Object.create(null) as Record<string, SpanStatus>, {
  STATUS_CODE_UNSET: 'unset',
  STATUS_CODE_OK: 'ok',
  STATUS_CODE_ERROR: 'error',
  UNSET: 'unset',
  OK: 'ok',
  ERROR: 'error',
});

/**
 * Analysed attribute key → its index in `ANALYZED_ATTRIBUTES`: how the decoder names a key to a
 * {@link SpanOut} (one lookup tests and names it; the engine's constant string becomes the object key).
 */
export const ATTRIBUTE_INDEX: ReadonlyMap<string, number> = new Map(ANALYZED_ATTRIBUTES.map((k, i) => [k, i]));
const EXCEPTION_TYPE = ATTRIBUTE_INDEX.get('exception.type') as number;
const EXCEPTION_MESSAGE = ATTRIBUTE_INDEX.get('exception.message') as number;

const HEX_RE = /^[0-9a-fA-F]+$/;
const ZERO_RE = /^0+$/;
const DIGITS_RE = /^[0-9]+$/;
const INT_RE = /^-?[0-9]+$/;
const BASE64_RE = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of a byte array (protobuf ids, base64-decoded JSON ids). */
function bytesToHex(b: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX_BYTE[b[i] & 0xff];
  return s;
}

function isByte(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
}

function allZero(b: ArrayLike<number>): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * An id as lowercase hex. `undefined`: absent or empty. `null`: present but not an id (or all zeroes).
 * JSON ids are hex (any case); a few exporters wrongly write base64, accepted when it decodes to exactly
 * `size` bytes. Shorter hex of an even length is accepted too (64-bit trace ids from older systems);
 * longer ids are not ids.
 */
export function decodeId(v: unknown, size: 8 | 16): string | null | undefined {
  if (typeof v === 'string') {
    const n = v.length;
    if (n === 0) return undefined;
    if (n > size * 2) return null;
    if (n === size * 2) {
      // The common case, in one pass (the hot loop of a big read): valid hex, all zero, any upper case.
      const id = fullHexId(v);
      if (id !== undefined) return id;
    }
    const hex = HEX_RE.test(v);
    if ((n === (size === 16 ? 24 : 12) || n === (size === 16 ? 22 : 11)) && BASE64_RE.test(v)) {
      const b = Buffer.from(v, 'base64');
      if (b.length === size) return allZero(b) ? null : bytesToHex(b);
    }
    if (hex && n % 2 === 0 && n < size * 2) return ZERO_RE.test(v) ? null : v.toLowerCase();
    return null;
  }
  if (v === undefined || v === null) return undefined;
  // protobuf `bytes`: a Buffer/Uint8Array when present, an empty array default when absent; a JSON array
  // of byte values (some encoders write bytes so), of bytes only.
  if (v instanceof Uint8Array || Array.isArray(v)) {
    if (v.length === 0) return undefined;
    if (v.length > size || (Array.isArray(v) && !v.every(isByte)) || allZero(v)) return null;
    return Buffer.isBuffer(v) ? v.toString('hex') : bytesToHex(v);
  }
  return null;
}

/** Hex digit classes by char code, OR-ed over an id: `1`-`9`/`a`-`f`, `0`, `A`-`F`; 0 is not hex. */
const HEX_DIGIT = 1;
const HEX_ZERO = 2;
const HEX_UPPER = 4;
const HEX_CLASS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) HEX_CLASS[c] = c === 48 ? HEX_ZERO : HEX_DIGIT;
for (let c = 97; c <= 102; c++) HEX_CLASS[c] = HEX_DIGIT;
for (let c = 65; c <= 70; c++) HEX_CLASS[c] = HEX_UPPER;

/** `v` (hex digits only) lowercased, `null` when all zero, `undefined` when not hex. */
function fullHexId(v: string): string | null | undefined {
  // One table load and OR per char: a third of the branches of comparing ranges (3 ids per span).
  let seen = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const k = c < 128 ? HEX_CLASS[c] : 0;
    if (k === 0) return undefined;
    seen |= k;
  }
  if (seen === HEX_ZERO) return null;
  return (seen & HEX_UPPER) !== 0 ? v.toLowerCase() : v;
}

/** The integer value of the decimal digits `v[from..to)` (at most 15 of them: exact), or NaN. */
function digits(v: string, from: number, to: number): number {
  let x = 0;
  for (let i = from; i < to; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    x = x * 10 + d;
  }
  return x;
}

/** 2^32 = 4294 * 1e6 + 967296: lets a (high, low) 64-bit nanosecond count become ms without BigInt. */
function longBitsToMs(high: number, low: number): number {
  return high * 4294 + (high * 967296 + low) / 1e6;
}

/**
 * Epoch nanoseconds (decimal string, number, or protobufjs Long/`{low, high}`) to epoch ms. NaN when not
 * a non-negative integer count. A 19-digit string is split into whole ms and the ns remainder, so the
 * result is the double nearest the exact value (well under a µs off), unlike `Number(s) / 1e6`.
 */
export function nanosToMs(v: unknown): number {
  if (typeof v === 'string') {
    const n = v.length;
    if (n === 0) return NaN;
    if (n <= 15) return digits(v, 0, n) / 1e6;
    if (n <= 21) return digits(v, 0, n - 6) + digits(v, n - 6, n) / 1e6;
    if (!DIGITS_RE.test(v)) return NaN;
    return Number(v.slice(0, n - 6)) + Number(v.slice(n - 6)) / 1e6;
  }
  if (typeof v === 'number') return v >= 0 ? v / 1e6 : NaN; // JSON number: already rounded by JSON.parse
  if (typeof v === 'object' && v !== null) {
    const l = v as { low?: unknown; high?: unknown };
    if (typeof l.low === 'number' && typeof l.high === 'number') {
      // fixed64 is unsigned; a protobufjs Long keeps both halves as signed int32.
      return longBitsToMs(l.high >>> 0, l.low >>> 0);
    }
  }
  return NaN;
}

/** An integer as OTLP and protobufjs carry it: a number, a decimal string, or a Long (`{ low, high, unsigned }`). */
export function toInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    // Up to 15 digits (exact), as `-?[0-9]+` would give them; longer ones through the regex and Number.
    const neg = v.charCodeAt(0) === 45;
    const from = neg ? 1 : 0;
    if (v.length > from && v.length - from <= 15) {
      const x = digits(v, from, v.length);
      return Number.isNaN(x) ? undefined : neg ? -x : x;
    }
    return INT_RE.test(v) ? Number(v) : undefined;
  }
  if (typeof v === 'object' && v !== null) {
    const l = v as { low?: unknown; high?: unknown; unsigned?: unknown };
    if (typeof l.low === 'number' && typeof l.high === 'number') {
      return (l.unsigned === true ? l.high >>> 0 : l.high | 0) * 4294967296 + (l.low >>> 0);
    }
  }
  return undefined;
}

function toDouble(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * A scalar `AnyValue` (string, int, double, bool); arrays, kvlists, bytes and empty values give
 * `undefined`. Own-property checks, because protobufjs messages carry oneof defaults on the prototype.
 */
export function scalar(av: unknown): AttributeValue | undefined {
  if (typeof av !== 'object' || av === null) return undefined;
  const o = av as Obj;
  // The common JSON cases first: a non-empty string is own (protobufjs defaults are ''); no stringValue
  // at all is not own either, and then a string intValue is.
  const sv = o.stringValue;
  if (typeof sv === 'string' && sv !== '') return cutToNameLength(sv);
  if (sv === undefined && typeof o.intValue === 'string') return toInt(o.intValue);
  if (Object.hasOwn(o, 'stringValue')) return typeof o.stringValue === 'string' ? cutToNameLength(o.stringValue) : undefined;
  if (Object.hasOwn(o, 'intValue')) return toInt(o.intValue);
  if (Object.hasOwn(o, 'doubleValue')) return toDouble(o.doubleValue);
  if (Object.hasOwn(o, 'boolValue')) return typeof o.boolValue === 'boolean' ? o.boolValue : undefined;
  return undefined;
}

/** Adds the analysed scalar attributes of a `KeyValue[]` to the span `out` added last. */
function readAttributes(list: unknown, out: SpanOut): void {
  if (!Array.isArray(list)) return;
  for (let i = 0; i < list.length; i++) {
    const kv = list[i] as Obj | null;
    if (typeof kv !== 'object' || kv === null) continue;
    const key = kv.key;
    const index = typeof key === 'string' ? ATTRIBUTE_INDEX.get(key) : undefined;
    if (index === undefined) continue;
    const value = scalar(kv.value);
    if (value !== undefined) out.attribute(index, value);
  }
}

/** `exception.type`/`exception.message` of the first `exception` event, unless the span has its own. */
function readException(events: unknown, out: SpanOut): void {
  if (!Array.isArray(events)) return;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as Obj | null;
    if (typeof e !== 'object' || e === null || e.name !== 'exception') continue;
    const attrs = e.attributes;
    if (!Array.isArray(attrs)) return;
    for (let j = 0; j < attrs.length; j++) {
      const kv = attrs[j] as Obj | null;
      if (typeof kv !== 'object' || kv === null) continue;
      const key = kv.key;
      const index = key === 'exception.type' ? EXCEPTION_TYPE : key === 'exception.message' ? EXCEPTION_MESSAGE : -1;
      if (index < 0 || out.hasAttribute(index)) continue;
      const value = scalar(kv.value);
      if (value === undefined) continue;
      out.attribute(index, typeof value === 'string' ? value : String(value));
    }
    return;
  }
}

function toKind(v: unknown): SpanKind | undefined {
  if (typeof v === 'number') return KIND_BY_NUMBER[v];
  if (typeof v === 'string') return KIND_BY_NAME[v] ?? KIND_BY_NAME[v.toUpperCase()];
  return undefined;
}

/** OTLP: a span without a status has status UNSET. Unknown codes give `undefined` (unknown). */
function toStatus(st: Obj | null | undefined): SpanStatus | undefined {
  if (typeof st !== 'object' || st === null) return 'unset';
  const code = st.code;
  if (code === undefined || code === null) return 'unset';
  if (typeof code === 'number') return STATUS_BY_NUMBER[code];
  if (typeof code === 'string') return STATUS_BY_NAME[code] ?? STATUS_BY_NAME[code.toUpperCase()];
  return undefined;
}

/** A short, safe rendering of a bad value for a problem message. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (v instanceof Uint8Array) return allZero(v) ? `${v.length} bytes, all zero` : `${v.length} bytes`;
  if (Array.isArray(v)) return 'an array';
  return `an ${typeof v}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${show(v)}`;
}

/**
 * Where the decoder writes spans: engine span objects ({@link SpanList}), or a batch's columns for the
 * decoding worker to post (`SpanColumnsBuilder`), which never builds the objects.
 */
export interface SpanOut {
  /** Spans added so far. */
  readonly length: number;
  /** Adds a span without attributes; {@link SpanOut.attribute} then adds them. */
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
  ): void;
  /**
   * {@link SpanOut.add} with the ids as lowercase hex bytes in `b`: the trace id's 32 at `trace`, the span
   * id's 16 at `span`, the parent id's 16 at `parent` (-1: no parent). The JSONL scanner's way: a decoding
   * worker's columns copy the bytes, and the thread analysing makes the strings.
   */
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
  ): void;
  /**
   * Sets attribute `ANALYZED_ATTRIBUTES[key]` of the span added last (a repeated key: its last value, at
   * its first place).
   */
  attribute(key: number, value: AttributeValue): void;
  /** Whether the span added last has attribute `ANALYZED_ATTRIBUTES[key]`. */
  hasAttribute(key: number): boolean;
  /**
   * Adds a link (ids as lowercase hex, valid and not all zero) to the span added last, after those it has.
   * Ignored unless that span is a consumer (the only links the engine reads), and past `MAX_LINKS`.
   */
  link(traceId: string, spanId: string): void;
  /**
   * {@link SpanOut.link} with the ids as lowercase hex bytes in `b`: the trace id's 32 at `trace`, the span
   * id's 16 at `span` (the JSONL scanner's way, as {@link SpanOut.addHex}).
   */
  linkHex(b: Uint8Array, trace: number, span: number): void;
}

/** A {@link SpanOut} that hands out its spans in batches. */
export interface BatchOut<B> extends SpanOut {
  /** Remembers what has been added so far, for {@link BatchOut.rollback}. */
  mark(): void;
  /** Takes back what was added since the last {@link BatchOut.mark} (a line the fast JSON reader gave up on). */
  rollback(): void;
  /** The spans added so far, no longer held. */
  take(): B;
  /** The spans added so far in batches of `size` (the last one shorter), no longer held. */
  takeSlices(size: number): B[];
}

/** Engine span objects. */
export class SpanList implements BatchOut<Span[]> {
  private spans: Span[] = [];
  private marked = 0;
  private readonly traces = new TraceIds();

  get length(): number {
    return this.spans.length;
  }

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
    this.spans.push({
      traceId,
      spanId,
      parentSpanId,
      service: res.service,
      serviceVersion: res.serviceVersion,
      instance: res.instance,
      name,
      kind,
      startTime,
      endTime,
      status,
      statusMessage,
      attributes: undefined,
      links: undefined,
    });
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
    this.add(this.traces.at(b, trace), hex16(b, span), parent < 0 ? undefined : hex16(b, parent), res, name, kind, startTime, endTime, status, statusMessage);
  }

  attribute(key: number, value: AttributeValue): void {
    const span = this.spans[this.spans.length - 1];
    (span.attributes ??= {})[ANALYZED_ATTRIBUTES[key]] = value;
  }

  hasAttribute(key: number): boolean {
    const a = this.spans[this.spans.length - 1].attributes;
    return a !== undefined && a[ANALYZED_ATTRIBUTES[key]] !== undefined;
  }

  link(traceId: string, spanId: string): void {
    const span = this.spans[this.spans.length - 1];
    if (span.kind !== 'consumer') return;
    const links = span.links as SpanLink[] | undefined;
    if (links === undefined) span.links = [{ traceId, spanId }];
    else if (links.length < MAX_LINKS) links.push({ traceId, spanId });
  }

  linkHex(b: Uint8Array, trace: number, span: number): void {
    // Not through `traces`: that keeps the spans' own trace id, most often the next span's too.
    this.link(hex32(b, trace), hex16(b, span));
  }

  mark(): void {
    this.marked = this.spans.length;
  }

  rollback(): void {
    this.spans.length = this.marked;
  }

  take(): Span[] {
    const spans = this.spans;
    this.spans = [];
    return spans;
  }

  takeSlices(size: number): Span[][] {
    const spans = this.take();
    const out: Span[][] = [];
    for (let i = 0; i < spans.length; i += size) out.push(spans.slice(i, i + size));
    return out;
  }
}

/** Where decoded spans and problems go; `line` is stamped on every problem (undefined: unknown). */
export interface Sink {
  out: SpanOut;
  problems: DecodeProblem[];
  line: number | undefined;
  /** What the Zipkin decoder remembers of this input (its trace ids' forms, its shared spans), made when first needed. */
  zipkin?: ZipkinState;
}

/**
 * Problems a sink describes, each with its own message; those past it are counted (one shared object each,
 * see {@link problem}). A 3 KB gzip of a million empty spans made a million messages, and collecting them
 * held the server's event loop for 1.5 s; no reader shows more than a few.
 */
export const MAX_DESCRIBED_PROBLEMS = 1000;

/** A skipped span past {@link MAX_DESCRIBED_PROBLEMS}: still a span's problem (its path names `.spans[`), as counted. */
const MORE_SPAN_PROBLEMS: DecodeProblem = Object.freeze({ message: `resourceSpans[…].spans[…]: skipped (only the first ${MAX_DESCRIBED_PROBLEMS} problems are described)` });
/** Any other problem past {@link MAX_DESCRIBED_PROBLEMS}. */
const MORE_PROBLEMS: DecodeProblem = Object.freeze({ message: `another problem (only the first ${MAX_DESCRIBED_PROBLEMS} are described)` });

/** Records `message` as a problem of `sink`'s current line (if any); past {@link MAX_DESCRIBED_PROBLEMS}, only counted. */
export function problem(sink: Sink, message: string): void {
  const list = sink.problems;
  if (list.length >= MAX_DESCRIBED_PROBLEMS) list.push(namesSpan(message) ? MORE_SPAN_PROBLEMS : MORE_PROBLEMS);
  else list.push(sink.line === undefined ? { message } : { line: sink.line, message });
}

/** How many `trace`/`result` wrappers a request may come in (Tempo and Jaeger answers use one). */
export const MAX_WRAPPERS = 4;

/**
 * Decodes one `ExportTraceServiceRequest` (or `TracesData`), or an array of them, into `sink`.
 * `where` prefixes problem paths (used for the index of a request inside an array).
 */
export function decodeRequestInto(req: unknown, sink: Sink, where = ''): void {
  if (Array.isArray(req)) {
    for (let i = 0; i < req.length; i++) {
      const r: unknown = req[i];
      if (Array.isArray(r)) problem(sink, `${where}[${i}]: expected an ExportTraceServiceRequest object, got an array`);
      else decodeRequestInto(r, sink, `${where}[${i}]`);
    }
    return;
  }
  if (typeof req !== 'object' || req === null) {
    problem(sink, `${where === '' ? '' : `${where}: `}expected an ExportTraceServiceRequest object, got ${describe(req)}`);
    return;
  }
  let request = req as Obj;
  for (let depth = 0; ; depth++) {
    if (request.resourceSpans === undefined && request.resource_spans !== undefined) {
      // The proto field names (`resource_spans`, `trace_id`, `string_value`): JSON mapping parsers accept
      // them as well as the lowerCamelCase ones, and so does the Collector.
      request = camelCaseKeys(request) as Obj;
    }
    if (request.resourceSpans !== undefined) break;
    // Grafana Tempo's trace JSON (its API, Grafana's trace download): the resource spans as `batches`, or
    // the request under `trace` (API v2); Jaeger v2's API v3 answers it under `result`.
    if (Array.isArray(request.batches)) {
      request = { resourceSpans: request.batches };
      break;
    }
    const field = isRecord(request.trace) ? 'trace' : isRecord(request.result) ? 'result' : undefined;
    if (field === undefined) break;
    where = where === '' ? field : `${where}.${field}`;
    if (depth === MAX_WRAPPERS) {
      problem(sink, `${where}: wrapped more than ${MAX_WRAPPERS} deep (not trace data?)`);
      return;
    }
    request = request[field] as Obj;
  }
  const list = request.resourceSpans;
  if (list === undefined || list === null) {
    // `{}` is a valid empty request; an object with other fields is most likely not trace data.
    for (const key in request) {
      problem(sink, `${where === '' ? '' : `${where}: `}no resourceSpans (not OTLP trace data? found "${key.slice(0, 40)}")`);
      break;
    }
    return;
  }
  if (where !== '') where += '.';
  if (!Array.isArray(list)) {
    problem(sink, `${where}resourceSpans: expected an array, got ${describe(list)}`);
    return;
  }
  for (let r = 0; r < list.length; r++) decodeResourceSpans(list[r], sink, where, r);
}

/**
 * Decodes `resourceSpans[r]` of a request (`where`: the request's path in problems, empty or ending in `.`).
 */
export function decodeResourceSpans(rs: unknown, sink: Sink, where: string, r: number): void {
  if (!isRecord(rs)) {
    problem(sink, `${where}resourceSpans[${r}]: expected an object, got ${describe(rs)}`);
    return;
  }
  const res = readResource(rs.resource);
  decodeScopes(rs.scopeSpans, 'scopeSpans', res, sink, where, r);
  decodeScopes(rs.instrumentationLibrarySpans, 'instrumentationLibrarySpans', res, sink, where, r);
}

/** Whether `v` is a JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deepest level {@link camelCaseKeys} converts: the fields read lie within 8 (a span's attribute value). */
const CAMEL_CASE_DEPTH = 16;

/**
 * `value` with every object key in snake_case turned to lowerCamelCase (`trace_id` → `traceId`), down to
 * {@link CAMEL_CASE_DEPTH} (deeper lies nothing read, and a hostile nesting must not exhaust the stack):
 * OTLP/JSON has no maps (attributes are lists of `{ key, value }`), so every key is a field name.
 */
export function camelCaseKeys(value: unknown, depth = 0): unknown {
  if (depth > CAMEL_CASE_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => camelCaseKeys(v, depth + 1));
  const out: Obj = {};
  for (const key of Object.keys(value)) {
    const name = camelCaseKey(key);
    // Defined, not assigned: a key named `__proto__` must stay data.
    Object.defineProperty(out, name, { value: camelCaseKeys((value as Obj)[key], depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A snake_case field name in lowerCamelCase (`trace_id` → `traceId`), as {@link camelCaseKeys} turns it. */
export function camelCaseKey(key: string): string {
  return key.includes('_') ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

/** What a span takes from its resource. */
export interface ResourceInfo {
  service: string;
  serviceVersion: string | undefined;
  /** The process that recorded the spans (see {@link instanceOf}). */
  instance: string | undefined;
}

/** A fresh {@link ResourceInfo} of a resource that says nothing: `unknown_service`. */
export function unknownResource(): ResourceInfo {
  return { service: 'unknown_service', serviceVersion: undefined, instance: undefined };
}

/**
 * The engine's `Span.instance` from a resource's `service.instance.id`, `host.name` and `process.pid`
 * (each absent or empty: `undefined`): the instance id when there is one, else `host/pid`, else whichever
 * of the two there is. Cut to the name length.
 */
export function instanceOf(instanceId: AttributeValue | undefined, host: AttributeValue | undefined, pid: AttributeValue | undefined): string | undefined {
  if (instanceId !== undefined && instanceId !== '') return cutToNameLength(String(instanceId));
  const h = host === undefined || host === '' ? undefined : String(host);
  const p = pid === undefined || pid === '' ? undefined : String(pid);
  if (h === undefined) return p === undefined ? undefined : cutToNameLength(p);
  return cutToNameLength(p === undefined ? h : `${h}/${p}`);
}

/**
 * `service.name` (default `unknown_service`), `service.version` and the instance (`service.instance.id`,
 * else `host.name` and `process.pid`: {@link instanceOf}) of a `Resource`, names truncated. Read once
 * per resource; what it does not name is left as `into` has it.
 */
export function readResource(resource: unknown, into: ResourceInfo = unknownResource()): ResourceInfo {
  const rattrs = typeof resource === 'object' && resource !== null ? (resource as Obj).attributes : undefined;
  if (!Array.isArray(rattrs)) return into;
  let instanceId: AttributeValue | undefined;
  let host: AttributeValue | undefined;
  let pid: AttributeValue | undefined;
  for (let i = 0; i < rattrs.length; i++) {
    const kv = rattrs[i] as Obj | null;
    if (typeof kv !== 'object' || kv === null) continue;
    const key = kv.key;
    if (key === 'service.name') {
      const v = scalar(kv.value);
      if (v !== undefined && v !== '') into.service = cutToNameLength(String(v));
    } else if (key === 'service.version') {
      const v = scalar(kv.value);
      if (v !== undefined && v !== '') into.serviceVersion = cutToNameLength(String(v));
    } else if (key === 'service.instance.id') {
      const v = scalar(kv.value);
      if (v !== undefined && v !== '') instanceId = v;
    } else if (key === 'host.name') {
      const v = scalar(kv.value);
      if (v !== undefined && v !== '') host = v;
    } else if (key === 'process.pid') {
      const v = scalar(kv.value);
      if (v !== undefined && v !== '') pid = v;
    }
  }
  const instance = instanceOf(instanceId, host, pid);
  if (instance !== undefined) into.instance = instance;
  return into;
}

/**
 * Decodes the scopes `resourceSpans[r].<field>` (`scopeSpans` or the legacy `instrumentationLibrarySpans`)
 * of resource `res`.
 */
export function decodeScopes(scopes: unknown, field: string, res: ResourceInfo, sink: Sink, where: string, r: number): void {
  if (scopes === undefined || scopes === null) return;
  if (!Array.isArray(scopes)) {
    problem(sink, `${where}resourceSpans[${r}].${field}: expected an array, got ${describe(scopes)}`);
    return;
  }
  for (let s = 0; s < scopes.length; s++) decodeScope(scopes[s], res, sink, `${where}resourceSpans[${r}].${field}[${s}]`);
}

/** Decodes one scope (`path`: its place in problems, e.g. `resourceSpans[0].scopeSpans[1]`) of resource `res`. */
export function decodeScope(ss: unknown, res: ResourceInfo, sink: Sink, path: string): void {
  if (!isRecord(ss)) {
    problem(sink, `${path}: expected an object, got ${describe(ss)}`);
    return;
  }
  const spans = ss.spans;
  if (spans === undefined || spans === null) return;
  if (!Array.isArray(spans)) {
    problem(sink, `${path}.spans: expected an array, got ${describe(spans)}`);
    return;
  }
  decodeSpansInto(spans, res, sink, `${path}.spans`, 0);
}

/**
 * Decodes `spans`, a scope's spans from its `first` one on, of resource `res`; a skipped span is a problem
 * named `path[index]` (`path` ends in `.spans`).
 */
export function decodeSpansInto(spans: readonly unknown[], res: ResourceInfo, sink: Sink, path: string, first: number): void {
  for (let p = 0; p < spans.length; p++) {
    const reason = decodeSpan(spans[p], res, sink.out);
    if (reason !== null) skippedSpan(sink, path, first + p, reason);
  }
}

/**
 * Decodes one span (a JSON object or a protobufjs `Span` message) of resource `res` into `sink`, or
 * records why it was skipped as a problem at `path` (e.g. `resourceSpans[0].scopeSpans[1].spans[2]`).
 */
export function decodeSpanInto(raw: unknown, res: ResourceInfo, sink: Sink, path: string): void {
  const reason = decodeSpan(raw, res, sink.out);
  if (reason !== null) skippedSpan(sink, path, undefined, reason);
}

/**
 * Records a skipped span as {@link problem} does, its message built only while problems are described:
 * millions of skipped spans made as many strings.
 */
function skippedSpan(sink: Sink, path: string, index: number | undefined, reason: string): void {
  if (sink.problems.length >= MAX_DESCRIBED_PROBLEMS) sink.problems.push(MORE_SPAN_PROBLEMS);
  else problem(sink, index === undefined ? `${path}${reason}` : `${path}[${index}]${reason}`);
}

/** Appends the span to `out`; returns null, or the reason (`: ...`, possibly after ` (spanId ..)`) it was skipped. */
function decodeSpan(raw: unknown, res: ResourceInfo, out: SpanOut): string | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `: expected a span object, got ${describe(raw)}`;
  const s = raw as Obj;
  const spanId = decodeId(s.spanId, 8);
  if (typeof spanId !== 'string') return `: ${spanId === undefined ? 'missing spanId' : `invalid spanId ${show(s.spanId)}`}`;
  const at = ` (spanId ${spanId})`;
  const traceId = decodeId(s.traceId, 16);
  if (typeof traceId !== 'string') return `${at}: ${traceId === undefined ? 'missing traceId' : `invalid traceId ${show(s.traceId)}`}`;
  const parent = decodeId(s.parentSpanId, 8);
  if (parent === null && !isZeroId(s.parentSpanId)) return `${at}: invalid parentSpanId ${show(s.parentSpanId)}`;
  const startTime = nanosToMs(s.startTimeUnixNano);
  if (!(startTime > 0 && startTime <= MAX_TIME_MS)) return `${at}: ${timeProblem('startTimeUnixNano', s.startTimeUnixNano, startTime)}`;
  const endTime = nanosToMs(s.endTimeUnixNano);
  if (!(endTime > 0 && endTime <= MAX_TIME_MS)) return `${at}: ${timeProblem('endTimeUnixNano', s.endTimeUnixNano, endTime)}`;
  if (endTime < startTime) return `${at}: endTimeUnixNano is before startTimeUnixNano`;
  const st = s.status as Obj | null | undefined;
  const message = typeof st === 'object' && st !== null ? st.message : undefined;
  const kind = toKind(s.kind);
  out.add(
    traceId,
    spanId,
    parent ?? undefined,
    res,
    typeof s.name === 'string' ? cutToNameLength(s.name) : '',
    kind,
    startTime,
    endTime,
    toStatus(st),
    typeof message === 'string' && message !== '' ? cutToNameLength(message) : undefined,
  );
  readAttributes(s.attributes, out);
  readException(s.events, out);
  if (kind === 'consumer') readLinks(s.links, out);
  return null;
}

/**
 * The links of a consumer span (`links`: OTLP `Link`s, JSON objects or protobufjs messages), in order, up
 * to `MAX_LINKS` of them; a link without valid, non-zero ids is skipped (never the span's problem).
 */
function readLinks(list: unknown, out: SpanOut): void {
  if (!Array.isArray(list)) return;
  let kept = 0;
  for (let i = 0; i < list.length && kept < MAX_LINKS; i++) {
    const l = list[i] as Obj | null;
    if (typeof l !== 'object' || l === null) continue;
    const traceId = decodeId(l.traceId, 16);
    if (typeof traceId !== 'string') continue;
    const spanId = decodeId(l.spanId, 8);
    if (typeof spanId !== 'string') continue;
    out.link(traceId, spanId);
    kept++;
  }
}

/** An all-zero parent id means "no parent" (some exporters write it for roots). */
function isZeroId(v: unknown): boolean {
  if (typeof v === 'string') return ZERO_RE.test(v);
  return (v instanceof Uint8Array || Array.isArray(v)) && v.length > 0 && allZero(v);
}

function timeProblem(field: string, v: unknown, ms: number): string {
  if (ms > MAX_TIME_MS) return `${field} ${show(v)} is after year 9999`;
  const missing = v === undefined || v === null || v === '' || v === 0 || v === '0' || (typeof v === 'object' && ms === 0);
  return missing ? `missing ${field}` : `bad ${field} ${show(v)}`;
}
