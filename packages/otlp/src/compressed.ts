/**
 * Compressed inputs, told by their first bytes whatever the file is named: gzip (one member or several),
 * zstd (one frame or several, e.g. `zstd traces.jsonl`, or the Collector file exporter's native
 * compression), and the file exporter's legacy `compression: zstd` framing (each request compressed on
 * its own, after its length as a 4-byte big-endian integer). Each is turned back into what the rest of the
 * reader reads: text lines, or length-prefixed protobuf requests.
 */
import { Readable, pipeline, type Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import type { DecodeProblem } from './problems.js';

/** What an inflater tells the read it serves. */
export interface InflateState {
  /** A corrupt or truncated stream ends the input; why, reported after what was read before it. */
  inflateError: string | undefined;
  readonly maxRecord: number;
  report(problem: DecodeProblem): void;
}

/** Turns the compressed bytes of an input back into its content. */
export type Inflater = (src: AsyncIterable<Buffer>, state: InflateState) => AsyncIterable<Buffer>;

/** Bytes of an input's head enough to tell every compression here apart. */
export const MAGIC_BYTES = 8;

const ZSTD_MAGIC = 0xfd2fb528;
/** zstd frames may ask for a window of up to 2 GB: like the `zstd` CLI, refuse more than 128 MiB. */
const ZSTD_WINDOW_LOG_MAX = 27;

type ZstdZlib = {
  createZstdDecompress?: (options: { params: Record<number, number> }) => Transform;
  zstdDecompressSync?: (buf: Uint8Array, options: { maxOutputLength: number; params: Record<number, number> }) => Buffer;
};
/** zstd in Node.js 22.15 and later; undefined before. */
const { createZstdDecompress, zstdDecompressSync } = zlib as unknown as ZstdZlib;
const zstdParams = () => ({ [(zlib.constants as unknown as Record<string, number>).ZSTD_d_windowLogMax]: ZSTD_WINDOW_LOG_MAX });

/** Whether `head` (the first bytes of an input) starts with gzip's magic bytes. */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function isZstd(head: Uint8Array, at = 0): boolean {
  return head.length >= at + 4 && Buffer.from(head.buffer, head.byteOffset, head.byteLength).readUInt32LE(at) === ZSTD_MAGIC;
}

/** Whether `head` starts a stream of length-prefixed zstd frames (the file exporter's legacy framing). */
function isZstdRecords(head: Uint8Array): boolean {
  return head.length >= 8 && head[0] < 8 && isZstd(head, 4);
}

/** Whether the input starting with `head` is compressed (and so cannot be read from the middle). */
export function isCompressed(head: Uint8Array): boolean {
  return inflaterFor(head) !== undefined;
}

/** The inflater for an input starting with `head` (at least {@link MAGIC_BYTES} of it, if it has them); undefined when it is not compressed. */
export function inflaterFor(head: Uint8Array): Inflater | undefined {
  if (isGzip(head)) return gunzip;
  if (isZstd(head)) return (src, state) => inflate(src, state, zstdStream(), 'zstd');
  if (isZstdRecords(head)) return unzstdRecords;
  return undefined;
}

function needsZstd(): Error {
  return new Error(`zstd-compressed input needs Node.js 22.15 or later (this is ${process.version}): decompress it first (zstd -d)`);
}

function zstdStream(): Transform {
  if (createZstdDecompress === undefined) throw needsZstd();
  return createZstdDecompress({ params: zstdParams() });
}

/** `src` through `inflater` (several zstd frames in a row too); a corrupt or cut-off stream ends it. */
async function* inflate(src: AsyncIterable<Buffer>, state: InflateState, inflater: Transform, name: string): AsyncGenerator<Buffer> {
  pipeline(Readable.from(src, { objectMode: false }), inflater, () => {
    // Errors reach the consumer through the inflater's iterator.
  });
  try {
    for await (const c of inflater) yield c as Buffer;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ZSTD_') || code.startsWith('ERR_ZSTD'))) {
      state.inflateError = `${name}: ${(err as Error).message}`;
      return;
    }
    throw err;
  }
}

/** gzip header flags (RFC 1952). */
const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;
/**
 * Compressed bytes inflated at once: at deflate's largest ratio (~1032:1) one write comes out as ~64 MB, all
 * yielded before the next is written (smaller writes cost more round trips to zlib's thread).
 */
const GZIP_WRITE = 65_536;
/** CRC-32 in Node.js 20.15 and later; the trailer's checksum goes unchecked before. */
const { crc32 } = zlib as { crc32?: (data: Uint8Array, value?: number) => number };

/**
 * gzip members one after another, each inflated as raw deflate between its header and trailer (checked:
 * CRC-32 and length). Node's gunzip reads members too, but data after the last that is not another (a
 * download's junk, a second file appended) fails the step that ended the member, and that step's output,
 * the input's last lines, was lost; here they are kept, and what follows is reported and ignored, as
 * `gzip -d` does. Zero bytes after a member are padding.
 */
async function* gunzip(src: AsyncIterable<Buffer>, state: InflateState): AsyncGenerator<Buffer> {
  const input = new Pull(src[Symbol.asyncIterator]());
  try {
    for (let members = 0; await input.need(1); members++) {
      const at = input.offset;
      const header = await gzipHeader(input);
      if (header !== undefined) {
        if (members > 0 && (await input.zerosToEnd())) return;
        state.inflateError = members === 0 ? `gzip: ${header}` : `gzip: data after the compressed stream (at byte ${at}) is not gzip (${header}): ignored`;
        return;
      }
      if (!(yield* gzipMember(input, state))) return;
    }
  } finally {
    if (!input.ended) await input.release();
  }
}

/** Reads one member's header; undefined when it is one, else what is wrong. */
async function gzipHeader(input: Pull): Promise<string | undefined> {
  const magic = await input.need(2);
  if (!magic || input.byte(0) !== 0x1f || input.byte(1) !== 0x8b) return 'incorrect header check';
  if (!(await input.need(10))) return 'unexpected end of file';
  if (input.byte(2) !== 8) return 'unknown compression method';
  const flags = input.byte(3);
  input.skip(10);
  if (flags & FEXTRA) {
    if (!(await input.need(2))) return 'unexpected end of file';
    const n = input.byte(0) | (input.byte(1) << 8);
    if (!(await input.need(2 + n))) return 'unexpected end of file';
    input.skip(2 + n);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    // A zero-terminated string.
    for (;;) {
      if (!(await input.need(1))) return 'unexpected end of file';
      const b = input.byte(0);
      input.skip(1);
      if (b === 0) break;
    }
  }
  if (flags & FHCRC) {
    if (!(await input.need(2))) return 'unexpected end of file';
    input.skip(2);
  }
  return undefined;
}

/** Inflates one member's deflate data and checks its trailer; false when the input ends there (cut off, corrupt). */
async function* gzipMember(input: Pull, state: InflateState): AsyncGenerator<Buffer, boolean> {
  const inflater = zlib.createInflateRaw();
  const out: Buffer[] = [];
  let failed: Error | undefined;
  inflater.on('data', (c: Buffer) => out.push(c));
  inflater.on('error', (err: Error) => (failed = err));
  let fed = 0;
  let crc = 0;
  let size = 0;
  try {
    for (;;) {
      if (!(await input.need(1))) {
        state.inflateError = 'gzip: unexpected end of file';
        return false;
      }
      const chunk = input.take(Math.min(GZIP_WRITE, input.available));
      await new Promise<void>((resolve) => inflater.write(chunk, () => resolve()));
      fed += chunk.length;
      for (const c of out) {
        if (crc32 !== undefined) crc = crc32(c, crc);
        size += c.length;
        yield c;
      }
      out.length = 0;
      if (failed !== undefined) {
        state.inflateError = `gzip: ${failed.message}`;
        return false;
      }
      // The deflate data ended inside what was written: the rest is the trailer, and what follows.
      if (inflater.bytesWritten < fed) {
        input.unread(fed - inflater.bytesWritten);
        break;
      }
    }
  } finally {
    inflater.close();
  }
  if (!(await input.need(8))) {
    state.inflateError = 'gzip: unexpected end of file';
    return false;
  }
  const trailer = input.take(8);
  if ((crc32 !== undefined && trailer.readUInt32LE(0) !== crc >>> 0) || trailer.readUInt32LE(4) !== size % 2 ** 32) {
    state.inflateError = 'gzip: incorrect data check';
    return false;
  }
  return true;
}

/** An input pulled a chunk at a time, read from the front. */
class Pull {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Bytes taken before `buf`. */
  private before = 0;
  ended = false;

  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Where the front is in the whole input. */
  get offset(): number {
    return this.before + this.pos;
  }

  /** Pulls until `n` bytes are buffered or the input ended; whether they are. */
  async need(n: number): Promise<boolean> {
    while (this.available < n && !this.ended) {
      const r = await this.chunks.next();
      if (r.done === true) this.ended = true;
      else {
        this.before += this.pos;
        this.buf = this.available === 0 ? r.value : Buffer.concat([this.buf.subarray(this.pos), r.value]);
        this.pos = 0;
      }
    }
    return this.available >= n;
  }

  /** The byte `i` past the front (buffered). */
  byte(i: number): number {
    return this.buf[this.pos + i];
  }

  skip(n: number): void {
    this.pos += n;
  }

  take(n: number): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Gives back the last `n` bytes taken (still buffered: the last take was at least that long). */
  unread(n: number): void {
    this.pos -= n;
  }

  /** Whether every byte from the front to the end of the input is zero (read to find out). */
  async zerosToEnd(): Promise<boolean> {
    while (await this.need(1)) {
      for (let i = this.pos; i < this.buf.length; i++) if (this.buf[i] !== 0) return false;
      this.pos = this.buf.length;
    }
    return true;
  }

  /** Lets the source go before its end. */
  async release(): Promise<void> {
    await this.chunks.return?.();
  }
}

const NEWLINE = Buffer.from('\n');

/**
 * The file exporter's legacy `compression: zstd` output: each request as a zstd frame after its length.
 * A JSON request comes out as one line, a protobuf one after its length (the `format: proto` framing),
 * so the reader reads them as it reads uncompressed exporter files. A frame that does not decompress is
 * reported and skipped; a length past the record limit, or a cut-off frame, ends the input.
 */
async function* unzstdRecords(src: AsyncIterable<Buffer>, state: InflateState): AsyncGenerator<Buffer> {
  if (zstdDecompressSync === undefined) throw needsZstd();
  let parts: Buffer[] = [];
  let have = 0;
  let need = 4;
  let length = -1;
  let record = 0;
  for await (const chunk of src) {
    parts.push(chunk);
    have += chunk.length;
    while (have >= need) {
      const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
      parts = [buf];
      if (length < 0) {
        length = buf.readUInt32BE(0);
        need = 4 + length;
        if (length > state.maxRecord) {
          state.inflateError = `zstd: record ${record} of ${length} bytes is over the record limit (${state.maxRecord} bytes), the rest of the input skipped`;
          return;
        }
        continue;
      }
      const frame = buf.subarray(4, need);
      const rest = buf.subarray(need);
      parts = rest.length > 0 ? [rest] : [];
      have = rest.length;
      need = 4;
      length = -1;
      let out: Buffer;
      try {
        out = zstdDecompressSync(frame, { maxOutputLength: state.maxRecord, params: zstdParams() });
      } catch (err) {
        state.report({ message: `zstd: record ${record}: ${(err as Error).message}, skipped`, kind: 'decompression' });
        record++;
        continue;
      }
      record++;
      if (looksLikeJsonStart(out)) {
        yield out;
        yield NEWLINE;
      } else {
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(out.length, 0);
        yield prefix;
        yield out;
      }
    }
  }
  if (have > 0) state.inflateError = `zstd: record ${record} cut off at the end of the input`;
}

/** A JSON request starts (after whitespace) with `{`; a protobuf one with a field tag. */
function looksLikeJsonStart(buf: Buffer): boolean {
  let i = 0;
  while (i < buf.length && (buf[i] === 32 || buf[i] === 9 || buf[i] === 10 || buf[i] === 13)) i++;
  return i < buf.length && buf[i] === 0x7b;
}
