/**
 * Streaming decode of one OTLP/protobuf `ExportTraceServiceRequest` (a `.pb` file, stdin) of any size.
 * The wire format is walked by hand down to `resourceSpans[].scopeSpans[].spans[]`; each `Resource` and
 * each `Span` is then decoded alone by protobufjs. Memory is bounded by the largest single span or
 * resource (at most `maxRecordBytes`), not by the input. Concatenated requests decode as one, as
 * protobuf defines.
 */
import { decodeSpanInto, readResource, type ResourceInfo, type Sink } from './convert.js';
import { otlpTypes } from './protobuf.js';

/** What the stream decoder reports to: the reader's sink, problem channel and batch limit. */
export interface StreamTarget {
  readonly sink: Sink;
  readonly maxRecordBytes: number;
  /** Records a problem (may throw in strict mode). */
  report(message: string): void;
  /** Throws in strict mode when the sink holds a problem. */
  check(): void;
  /** True when a batch should be handed out. */
  full(): boolean;
}

/** Wire types (protobuf encoding spec). */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;

/** Structural damage: the rest of the input cannot be framed. */
class Malformed extends Error {}

const EMPTY = Buffer.alloc(0);

/** Pull reader over byte chunks: synchronous reads from what is buffered, asynchronous refills. */
export class ByteReader {
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Absolute input offset of `buf[0]`. */
  private base = 0;
  private ended = false;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** Bytes read (consumed) so far. */
  get offset(): number {
    return this.base + this.pos;
  }

  private get available(): number {
    return this.buf.length - this.pos;
  }

  /** Buffers at least `n` unread bytes (one copy for a record spanning chunks); false if the input ends first. */
  async fill(n: number): Promise<boolean> {
    if (this.available >= n) return true;
    const parts = this.available > 0 ? [this.buf.subarray(this.pos)] : [];
    let len = this.available;
    while (len < n && !this.ended) {
      const r = await this.it.next();
      if (r.done === true) this.ended = true;
      else {
        parts.push(r.value);
        len += r.value.length;
      }
    }
    this.base += this.pos;
    this.pos = 0;
    this.buf = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0] : Buffer.concat(parts, len);
    return len >= n;
  }

  /** A varint of up to 64 bits (as the nearest double); throws {@link Malformed} when cut off. */
  async varint(): Promise<number> {
    if (this.available < 10) await this.fill(10);
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
    throw new Malformed(this.available >= 10 ? 'varint longer than 10 bytes' : 'truncated');
  }

  /** The next `n` bytes (a view); `n` must be buffered with {@link fill}. */
  take(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Skips `n` bytes without buffering them; false if the input ends first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.available === 0 && !(await this.fill(1))) return false;
      const k = Math.min(n, this.available);
      this.pos += k;
      n -= k;
    }
    return true;
  }
}

/**
 * Decodes the request from `src` into `target`, yielding whenever `target.full()`. Damage to one span
 * or resource skips that record with a problem; damage to the framing (a bad tag or length, a truncated
 * input) ends the decode with one problem, keeping what was decoded before it, and drains the input.
 */
export async function* decodeProtobufStream(src: ByteReader, target: StreamTarget): AsyncGenerator<void> {
  try {
    let r = 0;
    while (await src.fill(1)) {
      const [field, wire] = await tag(src);
      if (field === 1 && wire === LEN) yield* resourceSpans(src, await length(src, Infinity), `resourceSpans[${r++}]`, target);
      else await skipField(src, wire, field, Infinity);
    }
  } catch (err) {
    if (!(err instanceof Malformed)) throw err;
    const at = src.offset;
    await src.skip(Infinity);
    target.report(`invalid protobuf at byte ${at} (${err.message}), the rest of the input skipped`);
  }
}

async function* resourceSpans(src: ByteReader, len: number, path: string, target: StreamTarget): AsyncGenerator<void> {
  const end = src.offset + len;
  const res: ResourceInfo = { service: 'unknown_service', serviceVersion: undefined };
  let resourceSeen = false;
  let spansBefore = 0; // spans read before the resource: legal protobuf, though no known encoder does it
  let s = 0;
  let l = 0;
  while (src.offset < end) {
    const [field, wire] = await tag(src);
    if (wire !== LEN || (field !== 1 && field !== 2 && field !== 1000)) {
      await skipField(src, wire, field, end);
      continue;
    }
    const n = await length(src, end);
    if (field === 1) {
      resourceSeen = true;
      if (spansBefore > 0) target.report(`${path}: its resource comes after ${spansBefore} of its spans, which were read with service unknown_service`);
      spansBefore = 0;
      const record = await readRecord(src, n, `${path}.resource`, target);
      if (record === undefined) continue;
      try {
        readResource(otlpTypes().resource.decode(record), res);
      } catch (err) {
        target.report(`${path}.resource: invalid protobuf (${(err as Error).message})`);
      }
    } else {
      const scopePath = field === 2 ? `${path}.scopeSpans[${s++}]` : `${path}.instrumentationLibrarySpans[${l++}]`;
      for await (const count of scopeSpans(src, src.offset + n, scopePath, res, target)) {
        if (count === 0) yield;
        else if (!resourceSeen) spansBefore += count;
      }
    }
  }
  if (src.offset !== end) throw new Malformed(`${path} overruns its length`);
}

/**
 * The spans of one `ScopeSpans` ending at `end`. Yields 0 when the target is full and, at the end, the
 * number of spans read (for the caller's resource-order check).
 */
async function* scopeSpans(src: ByteReader, end: number, path: string, res: ResourceInfo, target: StreamTarget): AsyncGenerator<number> {
  const { span } = otlpTypes();
  let p = 0;
  while (src.offset < end) {
    const [field, wire] = await tag(src);
    if (field !== 2 || wire !== LEN) {
      await skipField(src, wire, field, end);
      continue;
    }
    const at = `${path}.spans[${p++}]`;
    const record = await readRecord(src, await length(src, end), at, target);
    if (record !== undefined) {
      let message;
      try {
        message = span.decode(record);
      } catch (err) {
        target.report(`${at}: invalid protobuf (${(err as Error).message})`);
      }
      if (message !== undefined) {
        decodeSpanInto(message, res, target.sink, at);
        target.check();
      }
    }
    if (target.full()) yield 0;
  }
  if (src.offset !== end) throw new Malformed(`${path} overruns its length`);
  yield p;
}

/** The next `n` bytes as one record, or undefined (skipped, with a problem) when over the record limit. */
async function readRecord(src: ByteReader, n: number, path: string, target: StreamTarget): Promise<Buffer | undefined> {
  if (n > target.maxRecordBytes) {
    if (!(await src.skip(n))) throw new Malformed('truncated');
    target.report(`${path}: ${n} bytes, over the ${target.maxRecordBytes}-byte record limit, skipped`);
    return undefined;
  }
  if (!(await src.fill(n))) throw new Malformed('truncated');
  return src.take(n);
}

async function tag(src: ByteReader): Promise<[field: number, wire: number]> {
  const key = await src.varint();
  const field = Math.floor(key / 8);
  if (field === 0) throw new Malformed('field number 0');
  return [field, key % 8];
}

async function length(src: ByteReader, end: number): Promise<number> {
  const n = await src.varint();
  if (src.offset + n > end) throw new Malformed('a length runs past the end of its message');
  return n;
}

/** Skips one field's value (a whole group for a group start); checks it stays within `end`. */
async function skipField(src: ByteReader, wire: number, field: number, end: number): Promise<void> {
  let depth = 0; // groups, iteratively: nesting depth must not grow the stack
  for (;;) {
    let ok = true;
    if (wire === VARINT) await src.varint();
    else if (wire === I64) ok = await src.skip(8);
    else if (wire === LEN) ok = await src.skip(await length(src, end));
    else if (wire === I32) ok = await src.skip(4);
    else if (wire === SGROUP) depth++;
    else if (wire === EGROUP && depth > 0) depth--;
    else throw new Malformed(`wire type ${wire} for field ${field}`);
    if (!ok) throw new Malformed('truncated');
    if (src.offset > end) throw new Malformed(`field ${field} overruns its message`);
    if (depth === 0) return;
    [field, wire] = await tag(src);
  }
}
