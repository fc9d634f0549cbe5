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
  if (isGzip(head)) return (src, state) => inflate(src, state, zlib.createGunzip(), 'gzip');
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

/** `src` through `inflater` (several gzip members or zstd frames in a row too); a corrupt or cut-off stream ends it. */
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
        state.report({ message: `zstd: record ${record}: ${(err as Error).message}, skipped` });
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
