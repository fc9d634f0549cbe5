import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LatencySketch } from '../../src/stats/sketch.js';
import { quantileSorted } from '../../src/stats/robust.js';
import { logNormal, mulberry32 } from '../helpers/random.js';

const QS = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];

function samples(seed: number, n: number, median: number, sigma: number): number[] {
  const rng = mulberry32(seed);
  return Array.from({ length: n }, () => logNormal(rng, median, sigma));
}

/** The sketch's q-quantile is within relative accuracy a of a sample value at (about) that rank. */
function expectAccurate(sketch: LatencySketch, values: number[], a: number): void {
  const sorted = [...values].sort((x, y) => x - y);
  for (const q of QS) {
    // Lower rank rounding: the sketch answers the order statistic at rank q·(n − 1).
    const exact = sorted[Math.floor(q * (sorted.length - 1))];
    expect(Math.abs(sketch.quantile(q) / exact - 1), `q=${q}`).toBeLessThanOrEqual(a + 1e-12);
  }
}

describe('LatencySketch', () => {
  it('answers quantiles within its relative accuracy on 10k log-normal latencies', () => {
    const values = samples(1, 10_000, 40, 0.8);
    const s = new LatencySketch();
    for (const v of values) s.add(v);
    expectAccurate(s, values, 0.02);
    expect(s.count).toBe(10_000);
    expect(s.sum).toBeCloseTo(values.reduce((a, b) => a + b, 0), 6);
    expect(s.min).toBe(Math.min(...values));
    expect(s.max).toBe(Math.max(...values));
    expect(s.quantile(0)).toBe(s.min);
    expect(s.quantile(1)).toBe(s.max);
    // Interpolated quantiles agree within the accuracy too (ranks are dense here).
    const sorted = [...values].sort((x, y) => x - y);
    expect(Math.abs(s.quantile(0.5) / quantileSorted(sorted, 0.5) - 1)).toBeLessThan(0.021);
  });

  it('honours a tighter accuracy', () => {
    const values = samples(2, 10_000, 3, 1.5);
    const s = new LatencySketch(0.005);
    for (const v of values) s.add(v);
    expectAccurate(s, values, 0.005);
  });

  it('merging equals sketching the union, including into itself', () => {
    const a = samples(3, 3000, 10, 0.5);
    const b = samples(4, 5000, 2000, 0.4); // far apart: forces the bin array to grow
    const sa = new LatencySketch();
    const sb = new LatencySketch();
    const union = new LatencySketch();
    for (const v of a) sa.add(v), union.add(v);
    for (const v of b) sb.add(v), union.add(v);
    sa.merge(sb);
    expect(sa.toJSON()).toEqual({ ...union.toJSON(), sum: expect.closeTo(union.sum, 6) });
    for (const q of QS) expect(sa.quantile(q)).toBe(union.quantile(q));
    expect(sb.count).toBe(5000); // merge leaves its argument alone

    const doubled = LatencySketch.fromJSON(union.toJSON());
    doubled.merge(doubled);
    expect(doubled.count).toBe(16_000);
    expect(doubled.quantile(0.3)).toBe(union.quantile(0.3));
  });

  it('merged into an empty sketch, a wide binned one keeps every count (a window of bucket sketches)', () => {
    // Twelve buckets of 90 requests, σ 0.3: each spans ~30 bins, more than the empty sketch's first 16.
    const buckets = Array.from({ length: 12 }, (_, i) => samples(10 + i, 90, 8, 0.3));
    const window = new LatencySketch();
    const union = new LatencySketch();
    for (const values of buckets) {
      const b = new LatencySketch();
      for (const v of values) b.add(v), union.add(v);
      window.merge(b);
    }
    expect(window.count).toBe(1080);
    expect(window.toJSON()).toEqual({ ...union.toJSON(), sum: expect.closeTo(union.sum, 6) });
    // Before: the lower bins were lost, and p95 = p99 = the largest value.
    expectAccurate(window, buckets.flat(), 0.02);
    // From an empty, never-binned sketch too.
    const wide = new LatencySketch();
    for (const v of samples(30, 500, 5, 1.5)) wide.add(v);
    const into = new LatencySketch();
    into.merge(wide);
    expect(into.toJSON()).toEqual(wide.toJSON());
  });

  it('keeps its first few values exactly, then bins them without losing any', () => {
    const values = samples(9, 40, 25, 0.6);
    const s = new LatencySketch();
    for (let k = 0; k < values.length; k++) {
      s.add(values[k]);
      const seen = values.slice(0, k + 1).sort((x, y) => x - y);
      // Exact while few (the order statistic itself), within the accuracy once binned.
      const median = seen[Math.floor(0.5 * (seen.length - 1))];
      if (k < 8) expect(s.quantile(0.5)).toBe(median);
      else expect(Math.abs(s.quantile(0.5) / median - 1)).toBeLessThanOrEqual(0.02 + 1e-12);
      expect(s.count).toBe(k + 1);
    }
    expectAccurate(s, values, 0.02);
    // Exact and binned sketches merge both ways, and serialise alike.
    const few = new LatencySketch();
    for (const v of values.slice(0, 5)) few.add(v);
    const many = new LatencySketch();
    for (const v of values.slice(5)) many.add(v);
    const intoMany = LatencySketch.fromJSON(many.toJSON());
    intoMany.merge(few);
    few.merge(many);
    expect(few.toJSON()).toEqual({ ...s.toJSON(), sum: expect.closeTo(s.sum, 6) });
    expect(intoMany.toJSON()).toEqual({ ...s.toJSON(), sum: expect.closeTo(s.sum, 6) });
    few.clear();
    few.add(3);
    expect(few.quantile(0.5)).toBeCloseTo(3, 1);
  });

  it('replays its exact values in the order added (sums are order-sensitive), with two values as with more', () => {
    // 1 + 1e16 rounds back to 1e16, so a sum tells the order its terms came in.
    for (const values of [[1e16, 1], [1, 1e16], [1e16, 1, 1], [1, 1, 1e16]]) {
      const s = new LatencySketch();
      for (const v of values) s.add(v);
      const into = new LatencySketch();
      into.add(1);
      into.merge(s);
      expect(into.sum).toBe(values.reduce((sum, v) => sum + v, 1));
      expect(into.count).toBe(values.length + 1);
      expect(s.quantile(0.5)).toBe([...values].sort((x, y) => x - y)[Math.floor(0.5 * (values.length - 1))]);
      // Cleared, it keeps nothing of them.
      s.clear();
      s.add(2);
      s.add(5);
      expect([s.quantile(0.25), s.quantile(1), s.sum]).toEqual([2, 5, 7]);
    }
  });

  it('adding a value with its logarithm equals adding the value, exact and binned, cleared and reused', () => {
    const rand = mulberry32(7);
    const plain = new LatencySketch();
    const logged = new LatencySketch();
    for (const n of [3, 40, 500]) {
      for (let i = 0; i < n; i++) {
        const x = i % 50 === 0 ? 1e-5 * rand() : logNormal(rand, 20, 1.2);
        plain.add(x);
        logged.addWithLog(x, Math.log(x));
      }
      expect(logged.toJSON()).toEqual(plain.toJSON());
      expect(logged.quantile(0.99)).toBe(plain.quantile(0.99));
      plain.clear();
      logged.clear();
    }
  });

  it('adding with the logarithm bins like adding, for any values over many decades (bins grown and re-centred)', () => {
    const ms = fc.double({ min: 1e-3, max: 3.6e6, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.array(ms, { maxLength: 120 }), { minLength: 1, maxLength: 4 }), (rounds) => {
        const plain = new LatencySketch();
        const logged = new LatencySketch();
        for (const values of rounds) {
          for (const x of values) {
            plain.add(x);
            logged.addWithLog(x, Math.log(x));
          }
          expect(logged.toJSON()).toEqual(plain.toJSON());
          for (const q of QS) expect(logged.quantile(q)).toBe(plain.quantile(q));
          plain.clear();
          logged.clear();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to merge sketches of different accuracy', () => {
    expect(() => new LatencySketch(0.02).merge(new LatencySketch(0.01))).toThrow(/relative accuracy differs/);
  });

  it('round-trips through plain JSON', () => {
    const s = new LatencySketch();
    for (const v of samples(5, 500, 25, 0.7)) s.add(v);
    s.add(0);
    s.add(120, 3);
    const json = JSON.parse(JSON.stringify(s.toJSON()));
    expect(json.counts.length).toBeLessThan(200); // trimmed to the used range
    const back = LatencySketch.fromJSON(json);
    expect(back.toJSON()).toEqual(s.toJSON());
    expect(back.count).toBe(s.count);
    for (const q of QS) expect(back.quantile(q)).toBe(s.quantile(q));
    expect(() => LatencySketch.fromJSON({ a: 0.02, offset: 1.5, counts: [], zero: 0, sum: 0, min: null, max: null })).toThrow(TypeError);
    expect(() => LatencySketch.fromJSON({ ...json, min: null })).toThrow(TypeError);
    expect(() => LatencySketch.fromJSON('nope')).toThrow(TypeError);
  });

  it('is well-defined when empty', () => {
    const s = new LatencySketch();
    expect(s.count).toBe(0);
    expect(s.quantile(0.5)).toBeNaN();
    expect(s.min).toBeNaN();
    expect(s.max).toBeNaN();
    expect(s.mean).toBeNaN();
    const json = s.toJSON();
    expect(json).toEqual({ a: 0.02, offset: 0, counts: [], zero: 0, sum: 0, min: null, max: null });
    expect(LatencySketch.fromJSON(json).quantile(0.5)).toBeNaN();
    s.merge(new LatencySketch());
    expect(s.count).toBe(0);
  });

  it('counts zero, sub-microsecond and negative values in the zero bin; ignores non-finite ones', () => {
    const s = new LatencySketch();
    s.add(-5);
    s.add(0);
    s.add(1e-9);
    s.add(NaN);
    s.add(Infinity);
    s.add(5, 0);
    s.add(10, 3);
    expect(s.count).toBe(6);
    expect(s.toJSON().zero).toBe(3);
    expect(s.min).toBe(-5);
    expect(s.quantile(0.3)).toBe(0); // rank 1.5: in the zero bin, reported as 0
    expect(Math.abs(s.quantile(0.7) / 10 - 1)).toBeLessThanOrEqual(0.02);
  });

  it('clear() empties it and the reused sketch works anywhere on the scale', () => {
    const s = new LatencySketch();
    for (const v of samples(6, 100, 5, 0.3)) s.add(v);
    s.clear();
    expect(s.count).toBe(0);
    expect(s.quantile(0.5)).toBeNaN();
    const values = samples(7, 1000, 50_000, 0.3); // far from the old range: re-centres in place
    for (const v of values) s.add(v);
    expectAccurate(s, values, 0.02);
    expect(s.count).toBe(1000);
  });

  it('weights: add(x, n) equals n adds', () => {
    const a = new LatencySketch();
    const b = new LatencySketch();
    a.add(42, 5);
    for (let i = 0; i < 5; i++) b.add(42);
    expect(a.toJSON()).toEqual(b.toJSON());
    expect(a.mean).toBe(42);
  });
});
