import { describe, expect, it } from 'vitest';
import { QuantileEwma } from '../src/ops/state.js';

describe('QuantileEwma (a learned p95)', () => {
  it('learns buckets within three times it as a plain EWMA', () => {
    const q = new QuantileEwma();
    for (const x of [5, 6, 4, 12]) q.learn(x, 0.1);
    expect(q.value).toBeCloseTo(0.9 * (0.9 * (0.9 * 5 + 0.1 * 6) + 0.1 * 4) + 0.1 * 12, 10);
  });

  it('moves a fifth at most for one slow bucket, and follows a lasting rise within a minute of buckets', () => {
    const q = new QuantileEwma();
    q.learn(5, 0.1);
    // A slowdown's first bucket, before any window of it fired: 1.5 s where the p95 was 5 ms.
    q.learn(1500, 0.1);
    expect(q.value).toBeCloseTo(6, 10);
    const rising = new QuantileEwma();
    rising.learn(5, 0.1);
    let buckets = 0;
    while (rising.value < 45 && buckets < 100) {
      rising.learn(50, 0.1);
      buckets++;
    }
    expect(buckets).toBeLessThanOrEqual(30);
  });
});
