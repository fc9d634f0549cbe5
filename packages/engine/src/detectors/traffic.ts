import type { BaselineOptions, TrafficOptions } from '../options.js';
import type { Severity } from '../types.js';
import { RateBaseline, type RateBaselineJSON } from '../stats/baseline.js';
import { poissonCdf, poissonSf, pToScore } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';

/** A traffic verdict: which way the rate moved when anomalous. */
export interface TrafficVerdict extends Verdict {
  direction: 'surge' | 'drop' | null;
}

/**
 * Severity of a traffic anomaly on its own: a drop to ≤ 10% of the expected rate is medium (the operation
 * has all but stopped, but fewer requests alone may be a client pausing), other drops low; surges are low,
 * medium from 5× up. A drop explained by a failing caller joins that caller's incident, whose severity
 * is its failure's.
 */
export function trafficSeverity(direction: 'surge' | 'drop', observed: number, expected: number): Severity {
  if (direction === 'drop') return observed <= 0.1 * expected ? 'medium' : 'low';
  return observed >= 5 * expected ? 'medium' : 'low';
}

/**
 * Surges and drops of one operation's request count against its learned rate, by a Poisson test.
 * Real traffic is over-dispersed (diurnal swell, bursts), so the expected count is widened by `slack`
 * in the direction of the test before computing the p-value. Surges of sparse operations are tested
 * against at least one request per the baseline's memory (~1/alpha buckets), so a lone request after
 * a quiet spell is never a surge.
 */
export class TrafficDetector {
  readonly baseline: RateBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;

  constructor(
    baseline: BaselineOptions,
    private readonly opts: TrafficOptions,
  ) {
    this.baseline = new RateBaseline(baseline.alpha, opts.minBuckets);
  }

  /**
   * Whether {@link judge} could find `count` anomalous at all: the count is beyond the surge or drop ratio.
   * No allocation and no p-value: the analyzer asks this of every operation and window at every bucket.
   */
  mayFire(count: number, durationMs: number): boolean {
    const b = this.baseline;
    if (!b.ready || !(durationMs > 0)) return false;
    const lambda = (b.rate * durationMs) / 1000;
    if (count < lambda) return count <= this.opts.dropRatio * lambda;
    return count >= this.opts.surgeRatio * this.surgeExpected(durationMs);
  }

  /** Requests a surge test expects over `durationMs`: at least the rate the baseline can resolve (see RateBaseline.resolution). */
  private surgeExpected(durationMs: number): number {
    return (Math.max(this.baseline.rate, this.baseline.resolution) * durationMs) / 1000;
  }

  /** Judges `count` requests over `durationMs` without learning; observed/expected are requests/s. */
  judge(count: number, durationMs: number): TrafficVerdict {
    const b = this.baseline;
    const o = this.opts;
    const expected = b.rate;
    const observed = durationMs > 0 ? (count * 1000) / durationMs : 0;
    if (!b.ready || !(durationMs > 0)) return calm(observed, expected, b.ready, 1);
    const lambda = (expected * durationMs) / 1000;
    const lambdaUp = this.surgeExpected(durationMs);
    const up = count >= lambda;
    const pValue = up ? poissonSf(count, lambdaUp * (1 + o.slack)) : poissonCdf(count, lambda * (1 - o.slack));
    // Beyond the surge/drop ratio (the same test as mayFire) and significant.
    const direction = pValue < o.pMax && this.mayFire(count, durationMs) ? (up ? 'surge' : 'drop') : null;
    if (direction === null) return calm(observed, expected, true, pValue);
    const severity = trafficSeverity(direction, observed, expected);
    return { anomalous: true, score: pToScore(pValue), pValue, observed, expected, severity, ready: true, direction };
  }

  /** Learns a bucket (the analyzer passes only non-anomalous ones, including empty buckets as 0). */
  learn(count: number, durationMs: number): void {
    this.baseline.learn(count, durationMs);
  }

  /** Judges a bucket, then learns it unless anomalous. */
  observe(t: number, count: number, durationMs: number): TrafficVerdict {
    this.lastT = t;
    const v = this.judge(count, durationMs);
    if (!v.anomalous) this.learn(count, durationMs);
    return v;
  }

  toJSON(): RateBaselineJSON {
    return this.baseline.toJSON();
  }

  /** Restores the baseline from {@link toJSON} output (throws a TypeError on anything else). */
  restore(json: unknown): void {
    this.baseline.restore(json);
  }
}

function calm(observed: number, expected: number, ready: boolean, pValue: number): TrafficVerdict {
  return { ...quiet(observed, expected, ready, pToScore(pValue), pValue), direction: null };
}
