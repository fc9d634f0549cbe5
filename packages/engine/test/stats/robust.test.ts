import { describe, expect, it } from 'vitest';
import { iqrFences, isIqrOutlier, quantileSorted, zScore } from '../../src/stats/robust.js';

describe('zScore', () => {
  it('standardises', () => {
    expect(zScore(13, 10, 2)).toBe(1.5);
    expect(zScore(7, 10, 2)).toBe(-1.5);
  });

  it('without spread: 0 at the mean, ±Infinity elsewhere', () => {
    expect(zScore(5, 5, 0)).toBe(0);
    expect(zScore(6, 5, 0)).toBe(Infinity);
    expect(zScore(4, 5, -1)).toBe(-Infinity);
  });
});

describe('quantileSorted', () => {
  const xs = [1, 2, 4, 8];

  it('interpolates linearly between order statistics', () => {
    expect(quantileSorted(xs, 0)).toBe(1);
    expect(quantileSorted(xs, 1)).toBe(8);
    expect(quantileSorted(xs, 0.5)).toBe(3);
    expect(quantileSorted(xs, 0.25)).toBe(1.75);
  });

  it('clamps q and is NaN when empty', () => {
    expect(quantileSorted(xs, -1)).toBe(1);
    expect(quantileSorted(xs, 2)).toBe(8);
    expect(quantileSorted([7], 0.3)).toBe(7);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });
});

describe('IQR fences', () => {
  it('computes Tukey fences without reordering the input', () => {
    const values = [9, 1, 5, 3, 7];
    const f = iqrFences(values);
    expect(values).toEqual([9, 1, 5, 3, 7]);
    expect(f).toEqual({ q1: 3, q3: 7, iqr: 4, lower: -3, upper: 13 });
    expect(iqrFences(values, 3).upper).toBe(19);
  });

  it('flags values strictly outside', () => {
    const f = iqrFences([9, 1, 5, 3, 7]);
    expect(isIqrOutlier(13, f)).toBe(false);
    expect(isIqrOutlier(13.01, f)).toBe(true);
    expect(isIqrOutlier(-3, f)).toBe(false);
    expect(isIqrOutlier(-3.5, f)).toBe(true);
  });
});
