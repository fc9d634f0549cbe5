/**
 * LZ4 frames, as the Collector's `otlphttp` exporter sends them with `compression: lz4`: one frame or
 * several in a row, skippable frames skipped, independent or linked blocks, with or without block and
 * content checksums (xxHash32, all checked). Frames with a preset dictionary are refused.
 * Format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md and lz4_Block_format.md.
 */
import { Output } from './output.js';

const FRAME_MAGIC = 0x184d2204;
/** Skippable frames have magics 0x184D2A50 to 0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block maximum sizes by the frame descriptor's BD id (4 to 7). */
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

/** Decodes the LZ4 frames of `src`. @throws OverLimit (output.ts), or Error when corrupt */
export function lz4(src: Uint8Array, limit: number): Buffer {
  const out = new Output(limit);
  let i = 0;
  while (i < src.length) {
    if (i + 4 > src.length) throw new Error('truncated frame magic');
    const magic = u32(src, i);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (i + 8 > src.length) throw new Error('truncated skippable frame');
      i += 8 + u32(src, i + 4);
      if (i > src.length) throw new Error('truncated skippable frame');
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(i === 0 ? 'not an LZ4 frame' : 'bytes after the last frame');
    i = frame(src, i + 4, out);
  }
  if (i === 0) throw new Error('empty body');
  return out.bytes();
}

/** Decodes one frame whose descriptor starts at `i`; returns where the next frame starts. */
function frame(src: Uint8Array, i: number, out: Output): number {
  if (i + 3 > src.length) throw new Error('truncated frame descriptor');
  const descriptor = i;
  const flg = src[i++];
  const bd = src[i++];
  if (flg >>> 6 !== 1) throw new Error(`unsupported frame version ${flg >>> 6}`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw new Error('reserved descriptor bits set');
  const blockChecksums = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const blockMax = BLOCK_MAX[(bd >>> 4) & 7];
  if (blockMax === 0) throw new Error(`bad block size id ${(bd >>> 4) & 7}`);
  let contentSize = -1;
  if ((flg & 0x08) !== 0) {
    if (i + 8 > src.length) throw new Error('truncated frame descriptor');
    contentSize = u32(src, i) + u32(src, i + 4) * 2 ** 32;
    // A frame announcing more than the limit is refused before its blocks are read.
    out.reserve(Math.min(contentSize, Number.MAX_SAFE_INTEGER));
    i += 8;
  }
  if ((flg & 0x01) !== 0) throw new Error('frames with a preset dictionary are not supported');
  if (i >= src.length) throw new Error('truncated frame descriptor');
  if (((xxh32(src, descriptor, i) >>> 8) & 0xff) !== src[i]) throw new Error('frame descriptor checksum mismatch');
  i++;
  const start = out.length;
  for (;;) {
    if (i + 4 > src.length) throw new Error('truncated block');
    const word = u32(src, i);
    i += 4;
    if (word === 0) break;
    const stored = word >= 0x80000000;
    const size = word & 0x7fffffff;
    if (size > blockMax) throw new Error(`block of ${size} bytes over the frame's ${blockMax}`);
    if (i + size + (blockChecksums ? 4 : 0) > src.length) throw new Error('truncated block');
    if (blockChecksums && xxh32(src, i, i + size) !== u32(src, i + size)) throw new Error('block checksum mismatch');
    const before = out.length;
    if (stored) out.literal(src, i, size);
    else decodeBlock(src, i, i + size, out, start);
    if (out.length - before > blockMax) throw new Error(`block decoded to more than the frame's ${blockMax} bytes`);
    i += size + (blockChecksums ? 4 : 0);
  }
  if (contentSize >= 0 && out.length - start !== contentSize) throw new Error(`frame decoded to ${out.length - start} bytes, its header says ${contentSize}`);
  if (contentChecksum) {
    if (i + 4 > src.length) throw new Error('truncated content checksum');
    if (xxh32(out.buf, start, out.length) !== u32(src, i)) throw new Error('content checksum mismatch');
    i += 4;
  }
  return i;
}

/**
 * Decodes one LZ4 block `src[i, end)` onto `out`. Matches may reach back into earlier blocks of the
 * frame (linked blocks), never before `frameStart`.
 */
function decodeBlock(src: Uint8Array, i: number, end: number, out: Output, frameStart: number): void {
  for (;;) {
    if (i >= end) throw new Error('block ends without its last literals');
    const token = src[i++];
    let n = token >>> 4;
    if (n === 15) {
      for (let b = 255; b === 255; ) {
        if (i >= end) throw new Error('literal length runs past the block');
        b = src[i++];
        n += b;
      }
    }
    if (i + n > end) throw new Error('literals run past the block');
    out.literal(src, i, n);
    i += n;
    // The last sequence has literals only.
    if (i === end) return;
    if (i + 2 > end) throw new Error('match offset runs past the block');
    const offset = src[i] | (src[i + 1] << 8);
    i += 2;
    let m = (token & 15) + 4;
    if ((token & 15) === 15) {
      for (let b = 255; b === 255; ) {
        if (i >= end) throw new Error('match length runs past the block');
        b = src[i++];
        m += b;
      }
    }
    out.copy(offset, m, frameStart);
  }
}

function u32(src: Uint8Array, i: number): number {
  return (src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24)) >>> 0;
}

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

/** xxHash32 (seed 0) of `buf[from, to)`. */
export function xxh32(buf: Uint8Array, from = 0, to = buf.length): number {
  const len = to - from;
  let i = from;
  let h: number;
  if (len >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = -P1 | 0;
    for (const limit = to - 16; i <= limit; i += 16) {
      v1 = round(v1, u32(buf, i));
      v2 = round(v2, u32(buf, i + 4));
      v3 = round(v3, u32(buf, i + 8));
      v4 = round(v4, u32(buf, i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = P5;
  }
  h = (h + len) | 0;
  for (; i + 4 <= to; i += 4) h = Math.imul(rotl((h + Math.imul(u32(buf, i), P3)) | 0, 17), P4);
  for (; i < to; i++) h = Math.imul(rotl((h + Math.imul(buf[i], P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
