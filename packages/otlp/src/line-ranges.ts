import { open, stat, type FileHandle } from 'node:fs/promises';
import { isCompressed, MAGIC_BYTES } from './compressed.js';

/** Bytes per range a JSONL file is split into for several decoding workers: a few of the workers' messages each. */
export const RANGE_BYTES = 4 * 1024 * 1024;

const READ_BYTES = 1 << 20;
const NEWLINE = 10;

/** A file of `size` bytes as consecutive `[start, end)` byte ranges of `rangeBytes` (the last one shorter). */
export function byteRanges(size: number, rangeBytes = RANGE_BYTES): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < size; start += rangeBytes) out.push([start, Math.min(size, start + rangeBytes)]);
  return out;
}

/**
 * The byte ranges ({@link byteRanges}) a JSONL file at `path` is read in by several workers, the last one
 * open-ended (a file still being written is read to its end, as in one thread). None unless it is a
 * regular file of more than one range: not for a FIFO or device (opening one would take its data from the
 * worker that reads it), a compressed file (gzip or zstd: one stream, inflated from its start), or one that cannot
 * be read (the one worker reading it then reports the error as a read in one thread does).
 */
export async function lineRangesOf(path: string, rangeBytes = RANGE_BYTES): Promise<Array<[number, number]>> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size <= rangeBytes) return [];
    size = st.size;
  } catch {
    return [];
  }
  let file: FileHandle | undefined;
  try {
    file = await open(path, 'r');
    const { buffer, bytesRead } = await file.read(Buffer.alloc(MAGIC_BYTES), 0, MAGIC_BYTES, 0);
    if (isCompressed(buffer.subarray(0, bytesRead))) return [];
  } catch {
    return [];
  } finally {
    await file?.close();
  }
  const ranges = byteRanges(size, rangeBytes);
  ranges[ranges.length - 1][1] = Infinity;
  return ranges;
}

/**
 * The lines that start in the byte range `[start, end)` of a file, as chunks: from the first line start
 * at or after `start` through the newline that ends the line in progress at `end` (or the end of the
 * file). Consecutive ranges so read cover the file exactly once, each line in the range where it starts,
 * however long it is; a range no line starts in yields nothing.
 */
export async function* readLineRange(file: FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  let pos = start === 0 ? 0 : start - 1;
  // A line starts at `start` when the byte before it is a newline: found by looking from that byte on.
  let seeking = start > 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    const { bytesRead } = await file.read(buf, 0, READ_BYTES, pos);
    if (bytesRead === 0) return;
    let chunk = buf.subarray(0, bytesRead);
    let at = pos;
    pos += bytesRead;
    if (seeking) {
      const nl = chunk.indexOf(NEWLINE);
      // No line starts before `end`: the range is inside one long line, read by the range it started in.
      if (nl === -1 ? pos >= end : at + nl + 1 >= end) return;
      if (nl === -1) continue;
      seeking = false;
      chunk = chunk.subarray(nl + 1);
      at += nl + 1;
    }
    // The range ends with the first newline at or after its last byte.
    if (at + chunk.length > end - 1) {
      const nl = chunk.indexOf(NEWLINE, Math.max(0, end - 1 - at));
      if (nl !== -1) {
        yield chunk.subarray(0, nl + 1);
        return;
      }
    }
    if (chunk.length > 0) yield chunk;
  }
}
