/**
 * How `rootspan analyze` reads a large file: in-thread, or in one or two decoding workers as the idle
 * cores say, one worker started meanwhile (the test of the cores and a worker's start both take ~50 ms).
 * Whatever the answer, the spans, problems and bytes are those of the in-thread reader.
 */
import { readFileSync } from 'node:fs';
import { readOtlpFile, type OtlpBatch } from '@rootspan/otlp';
import { afterAll, describe, expect, it } from 'vitest';
import { IdleCores, readInput } from '../src/reading.js';
import { paymentErrors, tempDir } from './helpers/data.js';

/** Idle cores that answer `n` after `ms` (a test taking its time while the early worker starts). */
class Answer extends IdleCores {
  constructor(
    private readonly n: number,
    private readonly ms: number,
  ) {
    super();
  }

  override ask(): Promise<number> {
    return new Promise((resolve) =>
      setTimeout(() => {
        this.known = this.n;
        resolve(this.n);
      }, this.ms),
    );
  }
}

async function all(batches: AsyncIterable<OtlpBatch>) {
  const out = { spans: [] as OtlpBatch['spans'], problems: [] as OtlpBatch['problems'], bytes: 0 };
  for await (const b of batches) {
    out.spans.push(...b.spans);
    out.problems.push(...b.problems);
    out.bytes += b.bytes;
  }
  return out;
}

const tmp = tempDir('rootspan-reading-');
afterAll(() => tmp.cleanup());

describe('readInput', { timeout: 120_000 }, () => {
  it('reads a large file as the in-thread reader does, whatever the idle cores answer and however late', async () => {
    // Over the 32 MB from which workers are considered: the scenario's lines again and again, a bad line among them.
    const lines = readFileSync(tmp.scenario('payment.jsonl', paymentErrors()), 'utf8').split('\n').filter((l) => l !== '');
    const copies: string[] = [];
    for (let size = 0; size < 33 << 20; ) {
      for (const l of lines) {
        copies.push(l);
        size += l.length + 1;
      }
      copies.push('{"resourceSpans": [');
    }
    const path = tmp.file('large.jsonl', `${copies.join('\n')}\n`);
    const expected = await all(readOtlpFile(path, { name: 'large' }));
    expect(expected.problems.length).toBeGreaterThan(0);
    for (const [n, ms] of [[0, 0], [0, 200], [1, 0], [1, 200], [2, 100]]) {
      const got = await all(await readInput(path, { name: 'large' }, undefined, expected.bytes, new Answer(n, ms)));
      expect(got, `${n} workers after ${ms} ms`).toEqual(expected);
    }
  });
});
