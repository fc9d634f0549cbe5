/**
 * A JSONL file split into byte ranges for several decoding workers: each range reads the lines that start
 * in it, whole, so the ranges together read the file exactly once, in order, whatever the range size and
 * wherever the newlines fall (none, runs of them, one at a range's first or last byte).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { byteRanges, lineRangesOf, readLineRange } from '../src/line-ranges.js';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-ranges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pieces(content: Buffer, rangeBytes: number): Promise<Array<{ start: number; end: number; bytes: Buffer }>> {
  const path = join(dir, 'f.jsonl');
  writeFileSync(path, content);
  const file = await open(path, 'r');
  try {
    const out = [];
    for (const [start, end] of byteRanges(content.length, rangeBytes)) {
      const parts: Buffer[] = [];
      for await (const chunk of readLineRange(file, start, end)) parts.push(Buffer.from(chunk));
      out.push({ start, end, bytes: Buffer.concat(parts) });
    }
    return out;
  } finally {
    await file.close();
  }
}

describe('line ranges', () => {
  it('cover the file once, each range the whole lines that start in it', async () => {
    const content = fc.array(fc.constantFrom('a', 'b', '\n', '\r', '{}'), { maxLength: 200 }).map((cs) => Buffer.from(cs.join('')));
    await fc.assert(
      fc.asyncProperty(content, fc.integer({ min: 1, max: 40 }), async (bytes, rangeBytes) => {
        const got = await pieces(bytes, rangeBytes);
        expect(Buffer.concat(got.map((p) => p.bytes)).equals(bytes)).toBe(true);
        let at = 0;
        for (const p of got) {
          if (p.bytes.length > 0) {
            // Starts a line inside its range, and ends one (or the file).
            expect(at === 0 || bytes[at - 1] === 10).toBe(true);
            expect(at >= p.start && at < p.end).toBe(true);
            const last = at + p.bytes.length;
            expect(last === bytes.length || bytes[last - 1] === 10).toBe(true);
          }
          at += p.bytes.length;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads a line longer than many ranges in the range where it starts, and an empty file as nothing', async () => {
    const long = Buffer.from(`x\n${'y'.repeat(3000)}\nz\n`);
    const got = await pieces(long, 100);
    expect(got[0].bytes.toString()).toBe(`x\n${'y'.repeat(3000)}\n`);
    expect(got.slice(1, -1).every((p) => p.bytes.length === 0)).toBe(true);
    expect(got.at(-1)?.bytes.toString()).toBe('z\n');
    expect(await pieces(Buffer.alloc(0), 10)).toEqual([]);
  });

  it('splits a plain file of more than one range only, the last range open-ended: a gzip file is one stream, a FIFO or a file that cannot be opened is left to the one reader', async () => {
    const text = Buffer.from('{"a":1}\n'.repeat(100));
    writeFileSync(join(dir, 'plain.jsonl'), text);
    writeFileSync(join(dir, 'packed.jsonl'), gzipSync(text));
    const ranges = await lineRangesOf(join(dir, 'plain.jsonl'), 256);
    expect(ranges).toEqual([[0, 256], [256, 512], [512, 768], [768, Infinity]]);
    expect(await lineRangesOf(join(dir, 'plain.jsonl'), text.length)).toEqual([]);
    expect(await lineRangesOf(join(dir, 'packed.jsonl'), 16)).toEqual([]);
    expect(await lineRangesOf(join(dir, 'missing.jsonl'))).toEqual([]);
    // A FIFO: never opened here (that would block, then take the writer's first bytes from the reader).
    const fifo = join(dir, 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);
    expect(await lineRangesOf(fifo, 1)).toEqual([]);
    expect(await lineRangesOf(dir)).toEqual([]);
  });

  it('reads little of a range inside a line that started before it (a long line is read once)', async () => {
    const content = Buffer.from(`a\n${'y'.repeat(10 << 20)}\nz\n`);
    let read = 0;
    // A file handle over memory, counting the bytes read.
    const file = {
      read: async (buf: Buffer, offset: number, length: number, position: number) => {
        const n = Math.max(0, Math.min(length, content.length - position));
        content.copy(buf, offset, position, position + n);
        read += n;
        return { bytesRead: n, buffer: buf };
      },
    } as unknown as import('node:fs/promises').FileHandle;
    const reads: number[] = [];
    const out: Buffer[] = [];
    for (const [start, end] of byteRanges(content.length, 1 << 20)) {
      read = 0;
      for await (const chunk of readLineRange(file, start, end)) out.push(Buffer.from(chunk));
      reads.push(read);
    }
    expect(Buffer.concat(out).equals(content)).toBe(true);
    expect(reads[0]).toBeGreaterThan(10 << 20);
    // Ranges 1..9 lie inside the long line: each reads at most one chunk past its own end.
    for (const r of reads.slice(1, -1)) expect(r).toBeLessThanOrEqual(2 << 20);
  });
});

