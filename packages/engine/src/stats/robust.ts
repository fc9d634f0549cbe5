/** Small robust-statistics helpers: z-scores, interpolated quantiles and Tukey's IQR fences. */

/** (x − mean) / sd; with no spread (sd ≤ 0) any difference is infinitely surprising, none is 0. */
export function zScore(x: number, mean: number, sd: number): number {
  if (sd > 0) return (x - mean) / sd;
  if (x === mean) return 0;
  return x > mean ? Infinity : -Infinity;
}

/** The q-quantile (q clamped to [0, 1]) of ascending `sorted`, linearly interpolated; NaN when empty. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Tukey's fences: values outside [q1 − k·iqr, q3 + k·iqr] are outliers. */
export interface IqrFences {
  q1: number;
  q3: number;
  iqr: number;
  lower: number;
  upper: number;
}

/** Tukey's fences of `values` (any order; not modified). All NaN when empty. */
export function iqrFences(values: readonly number[], k = 1.5): IqrFences {
  const sorted = Float64Array.from(values).sort();
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  return { q1, q3, iqr, lower: q1 - k * iqr, upper: q3 + k * iqr };
}

/** Whether x lies strictly outside the fences. */
export function isIqrOutlier(x: number, fences: IqrFences): boolean {
  return x < fences.lower || x > fences.upper;
}
