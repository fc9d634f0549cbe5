/**
 * The OTLP/protobuf decoder: walks an `ExportTraceServiceRequest` at the wire level down to
 * `resourceSpans[].scopeSpans[].spans[]` and decodes each `Resource` and each `Span` alone with
 * protobufjs. Memory is bounded by the largest single span or resource (at most `maxRecordBytes`), not
 * by the request, and damage is contained: a span that does not decode is skipped with a problem, the
 * spans around it are kept. Concatenated requests decode as one, as protobuf defines; the Collector file
 * exporter's length-prefixed requests (`format: proto`) are read too.
 *
 * The walk is a synchronous generator that yields when it needs more bytes buffered (or when the batch
 * is full), so one walker serves a request held in memory ({@link walkBuffer}) and a stream read chunk
 * by chunk ({@link walkStream}).
 */
import { decodeSpanInto, readResource, unknownResource, type ResourceInfo, type Sink } from './convert.js';
import { linksOf, otlpTypes, protobufjs } from './protobuf.js';

/** What the walker reports to: a sink, a problem channel and a batch limit. */
export interface WalkTarget {
  readonly sink: Sink;
  readonly maxRecordBytes: number;
  /** Most `ResourceSpans`, `ScopeSpans` and `Span` messages one request may hold; the rest of it is skipped with a problem. */
  readonly maxMessages: number;
  /** Most fields the request's spans may hold in all (attributes, events, links, ids...); the rest of it is skipped with a problem. */
  readonly maxSpanFields: number;
  /** Records a problem (may throw in strict mode). */
  report(message: string): void;
  /** Throws in strict mode when the sink holds a problem. */
  check(): void;
  /** True when a batch should be handed out. */
  full(): boolean;
}

/** What the walker yields: `BATCH` when the target is full, else how many bytes it needs buffered. */
type Step = number;
const BATCH: Step = 0;

/** Wire types (protobuf encoding spec). */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;

/** The keys of `resourceSpans` in a request and of `spans` in a `ScopeSpans`: field 1 or 2, wire type LEN. */
const KEY_1_LEN = 1 * 8 + LEN;
const KEY_2_LEN = 2 * 8 + LEN;

/** `Span.kind` of a consumer span (SPAN_KIND_CONSUMER): the only spans whose links are read. */
const KIND_CONSUMER = 5;

/** Empty requests in a row after which framed input is taken for zero bytes (4 MB of them). */
const MAX_EMPTY_FRAMES = 1 << 20;

/** Structural damage: the rest of the input cannot be framed. */
class Malformed extends Error {}

/** The input ended inside a field or message. */
class Truncated extends Malformed {
  constructor(message = 'truncated') {
    super(message);
  }
}

const EMPTY = Buffer.alloc(0);

/** The bytes being walked: what is buffered, and where the walk is in the whole input. */
class Bytes {
  buf: Buffer;
  pos = 0;
  /** Messages of the current request walked so far (see `WalkTarget.maxMessages`). */
  messages = 0;
  /** Fields of the current request's spans so far (see `WalkTarget.maxSpanFields`). */
  spanFields = 0;
  /** Absolute input offset of `buf[0]`. */
  private base = 0;
  ended: boolean;

  constructor(buf: Buffer, ended: boolean) {
    this.buf = buf;
    this.ended = ended;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.base + this.pos;
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Appends chunks read by a driver, dropping what was consumed (one copy for a record spanning chunks). */
  append(parts: Buffer[], len: number): void {
    const rest = this.available;
    const all = rest > 0 ? [this.buf.subarray(this.pos), ...parts] : parts;
    this.base += this.pos;
    this.pos = 0;
    this.buf = all.length === 1 ? all[0] : Buffer.concat(all, rest + len);
  }

  /** True when `n` bytes are buffered or no more will come: the walk need not yield for them. */
  has(n: number): boolean {
    return this.buf.length - this.pos >= n || this.ended;
  }

  /** A field's key (field number × 8 + wire type); needs {@link has}(10). */
  key(): number {
    const key = this.varint();
    if (key < 8) throw new Malformed('field number 0');
    return key;
  }

  /** A length that must end within `end`; needs {@link has}(10). */
  length(end: number): number {
    const n = this.varint();
    if (this.offset + n > end) throw new Malformed('a length runs past the end of its message');
    // Known at once for input held whole: a wild length (2^32 and up) would otherwise read on into zeros.
    if (this.ended && n > this.available) throw new Truncated(`truncated: a length of ${n} bytes, ${this.available} left`);
    return n;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10 && this.pos + i < this.buf.length; i++) {
      const b = this.buf[this.pos + i];
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) {
        this.pos += i + 1;
        return value;
      }
    }
    if (this.available < 10) throw new Truncated();
    throw new Malformed('varint longer than 10 bytes');
  }

  take(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/** Decodes a request held in memory into `target` (its `full()` is ignored: one result). */
export function walkBuffer(bytes: Buffer, target: WalkTarget): void {
  const walk = request(new Bytes(bytes, true), target);
  while (walk.next().done !== true);
}

/**
 * Decodes a request read from `chunks` into `target`, yielding whenever `target.full()`. Buffers only
 * what one record needs.
 */
export async function* walkStream(chunks: AsyncIterator<Buffer>, target: WalkTarget): AsyncGenerator<void> {
  const src = new Bytes(EMPTY, false);
  const walk = request(src, target);
  for (let step = walk.next(); step.done !== true; step = walk.next()) {
    if (step.value === BATCH) {
      yield;
      continue;
    }
    const parts: Buffer[] = [];
    let len = 0;
    while (src.available + len < step.value) {
      const r = await chunks.next();
      if (r.done === true) {
        src.ended = true;
        break;
      }
      parts.push(r.value);
      len += r.value.length;
    }
    if (len > 0) src.append(parts, len);
  }
  // The walk ended before the input did (broken framing): the source is let go.
  if (!src.ended) await chunks.return?.();
}

/**
 * Yields until `n` bytes are buffered or the input ended; true if they are. Hot loops test
 * `src.available >= n` first: a generator call allocates, and a record is mostly buffered already.
 */
function* need(src: Bytes, n: number): Generator<Step, boolean> {
  if (src.available < n && !src.ended) yield n;
  return src.available >= n;
}

/** Skips `n` bytes, buffering a chunk at a time. */
function* skip(src: Bytes, n: number): Generator<Step> {
  while (n > 0) {
    if (!(yield* need(src, 1))) throw new Truncated();
    const k = Math.min(n, src.available);
    src.pos += k;
    n -= k;
  }
}

/** A varint is at most 10 bytes: what the walk has buffered before reading a key, a length or a value. */
const VARINT_MAX = 10;

const fieldOf = (key: number): number => Math.floor(key / 8);
const wireOf = (key: number): number => key % 8;

/**
 * The whole input: one request (or several concatenated, which protobuf reads as one), or the Collector
 * file exporter's `format: proto` framing. Damage to the framing (a bad tag or length, a cut-off input)
 * ends the walk with one problem, keeping what was decoded before it; the rest of the input is not read.
 */
function* request(src: Bytes, target: WalkTarget): Generator<Step> {
  try {
    if (!(yield* need(src, 1))) return;
    // A request starts with a tag, never below 8 (field number 0 does not exist): a smaller first byte
    // is the high byte of a 4-byte length.
    if (src.buf[src.pos] < 8) yield* frames(src, target);
    else yield* requestFields(src, Infinity, '', target);
  } catch (err) {
    if (!(err instanceof Malformed)) throw err;
    // Not read on: past broken framing nothing decodes, and an endless input (a device, a pipe) would
    // never end.
    target.report(`invalid protobuf at byte ${src.offset} (${err.message}), the rest of the input skipped`);
  }
}

/**
 * Requests each after its length as a 4-byte big-endian integer, as the Collector's file exporter writes
 * them with `format: proto`. A request whose inside is damaged is skipped with a problem; the next one
 * still decodes.
 */
function* frames(src: Bytes, target: WalkTarget): Generator<Step> {
  let empty = 0;
  for (let i = 0; src.available >= 1 || (yield* need(src, 1)); i++) {
    if (src.available < 4 && !(yield* need(src, 4))) throw new Truncated();
    const n = src.buf.readUInt32BE(src.pos);
    src.pos += 4;
    // An empty request holds nothing (a file of them must not cost a walk each); megabytes of them are
    // zero bytes (a device, a sparse or preallocated file), which would be read for ever.
    if (n === 0) {
      if (++empty > MAX_EMPTY_FRAMES) throw new Malformed(`${4 * empty} bytes of zeros, not OTLP`);
      continue;
    }
    empty = 0;
    const end = src.offset + n;
    src.messages = 0;
    src.spanFields = 0;
    try {
      yield* requestFields(src, end, `[${i}].`, target);
    } catch (err) {
      if (!(err instanceof Malformed) || err instanceof Truncated || src.offset > end) throw err;
      target.report(`[${i}]: invalid protobuf at byte ${src.offset} (${err.message}), the rest of this request skipped`);
      yield* skip(src, end - src.offset);
    }
  }
}

/** The fields of a request ending at `end` (Infinity: at the end of the input); `prefix` starts problem paths. */
function* requestFields(src: Bytes, end: number, prefix: string, target: WalkTarget): Generator<Step> {
  let r = 0;
  while (src.offset < end && (src.available >= 1 || (yield* need(src, 1)))) {
    if (!src.has(VARINT_MAX)) yield VARINT_MAX;
    const key = src.key();
    if (key !== KEY_1_LEN) {
      // Other fields are skipped (a newer schema's); `resourceSpans` in another wire type is no OTLP.
      if (fieldOf(key) === 1 && wireOf(key) <= EGROUP) throw new Malformed(`resourceSpans (field 1) in wire type ${wireOf(key)}, not length-delimited`);
      yield* skipField(src, wireOf(key), fieldOf(key), end);
      continue;
    }
    if (!src.has(VARINT_MAX)) yield VARINT_MAX;
    const n = src.length(end);
    counted(src, target);
    // An empty one holds nothing: no walk, no problem path.
    if (n > 0) yield* resourceSpans(src, n, `${prefix}resourceSpans[${r}]`, target);
    r++;
  }
  if (src.offset < end && end !== Infinity) throw new Truncated();
  if (src.offset > end) throw new Malformed('overruns its length');
}

function* resourceSpans(src: Bytes, len: number, path: string, target: WalkTarget): Generator<Step> {
  const end = src.offset + len;
  let res = unknownResource();
  let resourceSeen = false;
  let spansBefore = 0; // spans read before the resource: legal protobuf, though no known encoder does it
  let s = 0;
  let l = 0;
  while (src.offset < end) {
    if (!src.has(VARINT_MAX)) yield VARINT_MAX;
    const key = src.key();
    const field = fieldOf(key);
    if (wireOf(key) !== LEN || (field !== 1 && field !== 2 && field !== 1000)) {
      yield* skipField(src, wireOf(key), field, end);
      continue;
    }
    if (!src.has(VARINT_MAX)) yield VARINT_MAX;
    const n = src.length(end);
    if (field === 1) {
      resourceSeen = true;
      if (spansBefore > 0) target.report(`${path}: its resource comes after ${spansBefore} of its spans, which were read with service unknown_service`);
      spansBefore = 0;
      const record = yield* readRecord(src, n, `${path}.resource`, target);
      if (record === undefined) continue;
      try {
        // Into a copy (what a repeated resource does not name stays): spans already read keep theirs, and
        // a new object tells the worker's columns that the resource changed.
        const next: ResourceInfo = { service: res.service, serviceVersion: res.serviceVersion, instance: res.instance };
        res = readResource(otlpTypes().resource.decode(record), next);
      } catch (err) {
        target.report(`${path}.resource: invalid protobuf (${(err as Error).message})`);
      }
    } else {
      counted(src, target);
      const scopePath = field === 2 ? `${path}.scopeSpans[${s++}]` : `${path}.instrumentationLibrarySpans[${l++}]`;
      if (n === 0) continue;
      const count = yield* scopeSpans(src, src.offset + n, scopePath, res, target);
      if (!resourceSeen) spansBefore += count;
    }
  }
  if (src.offset !== end) throw new Malformed(`${path} overruns its length`);
}

/** The spans of one `ScopeSpans` ending at `end`; returns how many there were. */
function* scopeSpans(src: Bytes, end: number, path: string, res: ResourceInfo, target: WalkTarget): Generator<Step, number> {
  const { span } = otlpTypes();
  let p = 0;
  while (src.offset < end) {
    if (!src.has(VARINT_MAX)) yield VARINT_MAX;
    const key = src.key();
    if (key !== KEY_2_LEN) {
      yield* skipField(src, wireOf(key), fieldOf(key), end);
      continue;
    }
    counted(src, target);
    const at = `${path}.spans[${p++}]`;
    if (!src.has(VARINT_MAX)) yield VARINT_MAX;
    const record = yield* readRecord(src, src.length(end), at, target);
    if (record !== undefined && target.maxSpanFields !== Infinity) {
      // Decoding materialises every field: count them first.
      src.spanFields += fieldsIn(record);
      if (src.spanFields > target.maxSpanFields) throw new Malformed(`more than ${target.maxSpanFields} span fields in one request`);
    }
    if (record !== undefined) {
      let message;
      try {
        message = span.decode(record);
      } catch (err) {
        target.report(`${at}: invalid protobuf (${(err as Error).message})`);
      }
      if (message !== undefined) {
        const span = message as unknown as { kind: unknown; links?: unknown[] };
        if (span.kind === KIND_CONSUMER) span.links = linksOf(record);
        decodeSpanInto(message, res, target.sink, at);
        target.check();
      }
    }
    if (target.full()) yield BATCH;
  }
  if (src.offset !== end) throw new Malformed(`${path} overruns its length`);
  return p;
}

/**
 * How many fields span `record` holds, its attributes' values and its events' and links' attributes counted
 * field by field, nested values too (to {@link MAX_COUNTED_DEPTH} levels): everything its decode makes an
 * object of. A broken record: those before the break, for its decode to report.
 */
function fieldsIn(record: Buffer): number {
  const reader = protobufjs().Reader.create(record);
  const tally = { n: 0 };
  try {
    countFields(reader, reader.len, SPAN, 0, tally);
  } catch {
    // Broken framing: the decode reports it (the fields before the break are tallied).
  }
  return tally.n;
}

/** Levels of nested messages {@link fieldsIn} descends (kvlists in kvlists); deeper ones count as one field. */
const MAX_COUNTED_DEPTH = 32;
// The messages of a span that hold more of them (OTLP's trace.proto and common.proto), by field number.
const SPAN = 0;
const EVENT = 1;
const LINK = 2;
const KEY_VALUE = 3;
const ANY_VALUE = 4;
const ARRAY_VALUE = 5;
const KEY_VALUE_LIST = 6;
const NESTED: ReadonlyArray<Readonly<Record<number, number>>> = [
  { 9: KEY_VALUE, 11: EVENT, 13: LINK },
  { 3: KEY_VALUE },
  { 4: KEY_VALUE },
  { 2: ANY_VALUE },
  { 5: ARRAY_VALUE, 6: KEY_VALUE_LIST },
  { 1: ANY_VALUE },
  { 1: KEY_VALUE },
];

function countFields(reader: import('protobufjs').Reader, end: number, type: number, depth: number, tally: { n: number }): void {
  const nested = NESTED[type];
  while (reader.pos < end) {
    const key = reader.uint32();
    tally.n++;
    const sub = nested[key >>> 3];
    if ((key & 7) !== 2 || sub === undefined || depth >= MAX_COUNTED_DEPTH) {
      reader.skipType(key & 7);
      continue;
    }
    const stop = reader.uint32() + reader.pos;
    if (stop > end) throw new RangeError('a field overruns its message');
    countFields(reader, stop, sub, depth + 1, tally);
    reader.pos = stop;
  }
}

/** Counts one more message of the request; past `target.maxMessages` the request is malformed. */
function counted(src: Bytes, target: WalkTarget): void {
  if (++src.messages > target.maxMessages) throw new Malformed(`more than ${target.maxMessages} messages in one request`);
}

/** The next `n` bytes as one record, or undefined (skipped, with a problem) when over the record limit. */
function* readRecord(src: Bytes, n: number, path: string, target: WalkTarget): Generator<Step, Buffer | undefined> {
  if (n > target.maxRecordBytes) {
    yield* skip(src, n);
    target.report(`${path}: ${n} bytes, over the ${target.maxRecordBytes}-byte record limit, skipped`);
    return undefined;
  }
  if (src.available < n && !(yield* need(src, n))) throw new Truncated();
  return src.take(n);
}

/** Skips one field's value (a whole group for a group start); checks it stays within `end`. */
function* skipField(src: Bytes, wire: number, field: number, end: number): Generator<Step> {
  let depth = 0; // groups, iteratively: nesting depth must not grow the stack
  for (;;) {
    if (field === 0) throw new Malformed('field number 0');
    if (wire === VARINT || wire === LEN) {
      if (!src.has(VARINT_MAX)) yield VARINT_MAX;
      if (wire === VARINT) src.varint();
      else yield* skip(src, src.length(end));
    } else if (wire === I64) yield* skip(src, 8);
    else if (wire === I32) yield* skip(src, 4);
    else if (wire === SGROUP) depth++;
    else if (wire === EGROUP && depth > 0) depth--;
    else throw new Malformed(`wire type ${wire} for field ${field}`);
    if (src.offset > end) throw new Malformed(`field ${field} overruns its message`);
    if (depth === 0) return;
    if (!src.has(VARINT_MAX)) yield VARINT_MAX;
    const key = src.key();
    field = fieldOf(key);
    wire = wireOf(key);
  }
}
