/**
 * Snappy, as the Collector's `otlphttp` exporter sends it with `compression: snappy`: the framing format
 * (what it has always written) or a bare block (what `snappy` names since the Collector's
 * `confighttp.framedSnappy` gate, which sends framed data as `x-snappy-framed`). Like the Collector's
 * receiver, `snappy` bodies are told apart by the framing format's stream identifier.
 * Formats: https://github.com/google/snappy/blob/main/format_description.txt and framing_format.txt.
 */
import { Output } from './output.js';

/** A framed stream starts with this chunk: type 0xff, length 6, "sNaPpY". */
const STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
/** Most uncompressed bytes in one chunk of a framed stream. */
const MAX_CHUNK = 65536;

/** Whether `src` starts like a framed Snappy stream. */
export function isSnappyFramed(src: Uint8Array): boolean {
  return src.length >= STREAM_IDENTIFIER.length && STREAM_IDENTIFIER.equals(src.subarray(0, STREAM_IDENTIFIER.length));
}

/** Decodes a framed stream or a bare block, whichever `src` is. */
export function snappy(src: Uint8Array, limit: number): Buffer {
  return isSnappyFramed(src) ? snappyFramed(src, limit) : snappyBlock(src, limit);
}

/**
 * Decodes one Snappy block. Its header states the decoded length: one over `limit` is refused before
 * anything is allocated. @throws OverLimit (output.ts), or Error when the block is corrupt
 */
export function snappyBlock(src: Uint8Array, limit: number): Buffer {
  const out = new Output(limit);
  decodeBlock(src, 0, src.length, out, Infinity);
  return out.bytes();
}

/** Decodes `src[start, end)`, a block, appending to `out`; the format lets it decode to at most `max` bytes. */
function decodeBlock(src: Uint8Array, start: number, end: number, out: Output, max: number): void {
  // The decoded length: a little-endian base-128 varint of at most 32 bits.
  let length = 0;
  let i = start;
  for (let shift = 0; ; shift += 7) {
    if (i >= end || shift > 28) throw new Error('bad block header');
    const b = src[i++];
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > max) throw new Error(`block of ${length} bytes over the chunk size`);
  const base = out.length;
  out.reserve(length);
  const stop = base + length;
  while (i < end) {
    const tag = src[i++];
    const type = tag & 3;
    if (type === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (i + bytes > end) throw new Error('literal length runs past the end');
        n = 0;
        for (let k = bytes - 1; k >= 0; k--) n = n * 256 + src[i + k];
        i += bytes;
      }
      n += 1;
      if (out.length + n > stop || i + n > end) throw new Error('literal runs past the end of the block');
      out.literal(src, i, n);
      i += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (type === 1) {
      if (i >= end) throw new Error('copy runs past the end');
      n = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[i++];
    } else if (type === 2) {
      if (i + 2 > end) throw new Error('copy runs past the end');
      n = 1 + (tag >>> 2);
      offset = src[i] | (src[i + 1] << 8);
      i += 2;
    } else {
      if (i + 4 > end) throw new Error('copy runs past the end');
      n = 1 + (tag >>> 2);
      offset = (src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24)) >>> 0;
      i += 4;
    }
    if (out.length + n > stop) throw new Error('copy runs past the end of the block');
    // Copies reach back within this block only.
    out.copy(offset, n, base);
  }
  if (out.length !== stop) throw new Error(`block decoded to ${out.length - base} bytes, its header says ${length}`);
}

/**
 * Decodes a framed stream: chunks of compressed or stored data (each checked against its masked CRC-32C),
 * padding and skippable chunks skipped, reserved ones refused. @throws OverLimit (output.ts), or Error when corrupt
 */
export function snappyFramed(src: Uint8Array, limit: number): Buffer {
  const out = new Output(limit);
  let i = 0;
  while (i < src.length) {
    if (i + 4 > src.length) throw new Error('truncated chunk header');
    const type = src[i];
    const length = src[i + 1] | (src[i + 2] << 8) | (src[i + 3] << 16);
    const start = i + 4;
    const end = start + length;
    if (end > src.length) throw new Error('truncated chunk');
    i = end;
    if (type === 0xff) {
      if (!isSnappyFramed(src.subarray(start - 4, end))) throw new Error('bad stream identifier');
    } else if (type === 0x00 || type === 0x01) {
      if (length < 4) throw new Error('chunk without its checksum');
      const from = out.length;
      if (type === 0x00) decodeBlock(src, start + 4, end, out, MAX_CHUNK);
      else {
        if (length - 4 > MAX_CHUNK) throw new Error('stored chunk over the chunk size');
        out.literal(src, start + 4, length - 4);
      }
      const expected = (src[start] | (src[start + 1] << 8) | (src[start + 2] << 16) | (src[start + 3] << 24)) >>> 0;
      if (maskedCrc32c(out.buf, from, out.length) !== expected) throw new Error('chunk checksum mismatch');
    } else if (type < 0x80) {
      throw new Error(`reserved unskippable chunk type 0x${type.toString(16)}`);
    }
    // 0x80–0xfe: skippable (0xfe is padding).
  }
  return out.bytes();
}

/** CRC-32C (Castagnoli, reflected 0x82f63b78) lookup table. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `buf[from, to)`. */
export function crc32c(buf: Uint8Array, from = 0, to = buf.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC32C_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The framing format's masked checksum: a CRC of data that holds CRCs is weak, so it is rotated and offset. */
function maskedCrc32c(buf: Uint8Array, from: number, to: number): number {
  const c = crc32c(buf, from, to);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}
