import type { BaselineOptions, TrafficOptions } from '../options.js';
import { LaggedCounts } from '../stats/held.js';
import type { Severity } from '../types.js';
import { ANCHOR_SLOWDOWN, RateBaseline, type RateBaselineJSON } from '../stats/baseline.js';
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
 * A bucket this unlikely low is held back from learning (see TrafficDetector.learn). Generous: holding a
 * normal bucket only delays its learning, learning a drop's first buckets hides the drop.
 */
const HOLD_P = 0.05;
/** Buckets held back in a row at most: a drop lasting longer is the new normal. */
const HOLD_BUCKETS = 12;
/** Buckets learned before {@link TrafficDetector.surges} judges a count: a rate from fewer is a guess. */
const EARLY_BUCKETS = 4;

/** JSON state of a {@link TrafficDetector}: its rate baseline, and how much the learned buckets varied. */
export interface TrafficDetectorJSON extends RateBaselineJSON {
  /** EWMA of a learned bucket's squared deviation from the rate, in requests² (absent in older snapshots). */
  m2?: number;
  /** The slow anchor rate (absent in older snapshots: it starts from the rate). */
  anchor?: RateBaselineJSON;
}

/**
 * Surges and drops of one operation's request count against its learned rate, by a quasi-Poisson test:
 * the counts are scaled by the traffic's own dispersion (a learned bucket's variance over its mean, at
 * least 1), so bursty traffic, whose quiet spells are normal, needs a proportionally larger change than
 * steady traffic, and a ratio alone never fires. The expected count is also widened by `slack` in the
 * direction of the test (diurnal swell). Surges of sparse operations are tested against at least one
 * request per the baseline's memory (~1/alpha buckets), so a lone request after a quiet spell is never a
 * surge.
 */
export class TrafficDetector {
  readonly baseline: RateBaseline;
  /**
   * The rate learned {@link ANCHOR_SLOWDOWN}× slower: a drop and a surge are judged against it too. A sparse
   * route's surge too small to fire (0.5 → 1.5 req/s) is learned by the rate within a minute, and its return
   * to normal minutes later read as a drop of 70 %; against the slow rate it is what it is, a return. So is
   * the traffic coming back after an outage the rate learned for minutes (requests that failed before
   * reaching the operation, a client backing off): a "surge" against the outage's rate.
   */
  readonly anchor: RateBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;
  /** EWMA of a learned bucket's squared deviation from the rate before it (requests²). */
  private m2 = 0;
  /** Duration of the last bucket learned (ms). */
  private bucketMs = 0;
  /** Clearly low buckets held back in a row (see {@link learn}). */
  private held = 0;
  /** Buckets not learned yet (see {@link learnBucket}). */
  private readonly pending = new LaggedCounts();
  private readonly learnLater = (count: number, durationMs: number): void => this.learn(count, durationMs);

  constructor(
    private readonly baselineOpts: BaselineOptions,
    private readonly opts: TrafficOptions,
  ) {
    this.baseline = new RateBaseline(baselineOpts.alpha, opts.minBuckets);
    this.anchor = new RateBaseline(baselineOpts.alpha / ANCHOR_SLOWDOWN, opts.minBuckets);
  }

  /**
   * Variance over mean of a learned bucket's request count: 1 for Poisson traffic, more for bursty
   * traffic (never taken below 1: evenly paced load is still judged as Poisson).
   */
  get dispersion(): number {
    const mean = (this.baseline.rate * this.bucketMs) / 1000;
    return mean > 0 ? Math.max(1, this.m2 / mean) : 1;
  }

  /**
   * Whether {@link judge} could find `count` anomalous at all: the count is beyond the surge or drop ratio.
   * No allocation and no p-value: the analyzer asks this of every operation and window at every bucket.
   */
  mayFire(count: number, durationMs: number): boolean {
    const b = this.baseline;
    if (!b.ready || !(durationMs > 0)) return false;
    const lambda = (b.rate * durationMs) / 1000;
    if (count < lambda) return count <= this.opts.dropRatio * lambda && count <= (this.opts.dropRatio * this.anchor.rate * durationMs) / 1000;
    return count >= this.opts.surgeRatio * this.surgeExpected(durationMs) && count >= (this.opts.surgeRatio * this.anchor.rate * durationMs) / 1000;
  }

  /** Requests a surge test expects over `durationMs`: at least the rate the baseline can resolve (see RateBaseline.resolution). */
  private surgeExpected(durationMs: number): number {
    return (Math.max(this.baseline.rate, this.baseline.resolution) * durationMs) / 1000;
  }

  /**
   * Whether `count` looks like the start of a drop: beyond the drop ratio, and below the learned rate by
   * more than its variation readily explains (quasi-Poisson p < {@link HOLD_P}).
   */
  private clearlyLow(count: number, durationMs: number): boolean {
    const lambda = (this.baseline.rate * durationMs) / 1000;
    const d = this.dispersion;
    return count <= this.opts.dropRatio * lambda && poissonCdf(count / d, lambda / d) < HOLD_P;
  }

  /**
   * Whether `count` requests over `durationMs` are a surge by {@link judge}'s test, also before the baseline
   * is ready (from its {@link EARLY_BUCKETS}th bucket, against the rate learned so far): no surge fires then,
   * but a slowdown under a burst in a service's first minute is load as much as one an hour later.
   */
  surges(count: number, durationMs: number): boolean {
    if (this.baseline.buckets < EARLY_BUCKETS || !(durationMs > 0)) return false;
    return count >= this.opts.surgeRatio * this.surgeExpected(durationMs) && this.surgePValue(count, durationMs) < this.opts.pMax;
  }

  /**
   * P-value of `count` requests over `durationMs` as a surge: quasi-Poisson (a count of a process d times
   * as variable as Poisson carries 1/d of the evidence), against the surge's expected count widened by `slack`.
   */
  private surgePValue(count: number, durationMs: number): number {
    const d = this.dispersion;
    return poissonSf(count / d, (this.surgeExpected(durationMs) * (1 + this.opts.slack)) / d);
  }

  /** Judges `count` requests over `durationMs` without learning; observed/expected are requests/s. */
  judge(count: number, durationMs: number): TrafficVerdict {
    const b = this.baseline;
    const o = this.opts;
    const expected = b.rate;
    const observed = durationMs > 0 ? (count * 1000) / durationMs : 0;
    if (!b.ready || !(durationMs > 0)) return calm(observed, expected, b.ready, 1);
    const lambda = (expected * durationMs) / 1000;
    const up = count >= lambda;
    // Quasi-Poisson, as surgePValue: a count of a process d times as variable as Poisson carries 1/d of the evidence.
    const d = this.dispersion;
    const pValue = up ? this.surgePValue(count, durationMs) : poissonCdf(count / d, (lambda * (1 - o.slack)) / d);
    // Beyond the surge/drop ratio (the same test as mayFire) and significant.
    const direction = pValue < o.pMax && this.mayFire(count, durationMs) ? (up ? 'surge' : 'drop') : null;
    if (direction === null) return calm(observed, expected, true, pValue);
    const severity = trafficSeverity(direction, observed, expected);
    return { anomalous: true, score: pToScore(pValue), pValue, observed, expected, severity, ready: true, direction };
  }

  /**
   * Learns bucket `index` ({@link learn}): at once until the rate has `2 × lagBuckets` buckets of history,
   * then once it is `lagBuckets` old (the judge's longest window), if no traffic anomaly fired meanwhile
   * ({@link forgetHeld}): each window is judged against a rate that has not seen it. Learned as it came, a
   * sparse route's surge (0.3 → 1.5 req/s) lifted its rate within a minute and never fired.
   */
  learnBucket(index: number, count: number, durationMs: number, lagBuckets: number): void {
    this.pending.add(index, count, durationMs, this.baseline.buckets >= 2 * lagBuckets ? lagBuckets : 0, this.learnLater);
  }

  /** Drops the buckets not learned yet: a traffic anomaly fired, and they are part of it. */
  forgetHeld(): void {
    this.pending.forget();
  }

  /** Learns a bucket (the analyzer passes only non-anomalous ones, including empty buckets as 0). */
  learn(count: number, durationMs: number): void {
    if (!(durationMs > 0)) return;
    const b = this.baseline;
    // A bucket clearly short of the rate (given the traffic's own variation) may be a drop building up
    // over the minute a drop is judged on: held back for up to a minute of buckets (then it is the new
    // normal), so neither the rate nor its variation learns the drop it should be judged against.
    if (b.ready && this.held < HOLD_BUCKETS && this.clearlyLow(count, durationMs)) {
      this.held++;
      return;
    }
    this.held = 0;
    if (b.buckets > 0) {
      const deviation = count - (b.rate * durationMs) / 1000;
      const w = Math.max(this.baselineOpts.alpha, 1 / b.buckets);
      this.m2 = (1 - w) * this.m2 + w * deviation * deviation;
    }
    b.learn(count, durationMs);
    this.anchor.learn(count, durationMs);
    this.bucketMs = durationMs;
  }

  /** Judges a bucket, then learns it unless anomalous. */
  observe(t: number, count: number, durationMs: number): TrafficVerdict {
    this.lastT = t;
    const v = this.judge(count, durationMs);
    if (!v.anomalous) this.learn(count, durationMs);
    return v;
  }

  toJSON(): TrafficDetectorJSON {
    return { ...this.baseline.toJSON(), m2: this.m2, anchor: this.anchor.toJSON() };
  }

  /** Restores the state from {@link toJSON} output (throws on anything else; an older snapshot's traffic counts as Poisson). */
  restore(json: unknown): void {
    this.baseline.restore(json);
    const { m2, bucketMs, anchor } = json as TrafficDetectorJSON;
    this.anchor.restore(anchor ?? json);
    this.m2 = Number.isFinite(m2) && (m2 as number) >= 0 ? (m2 as number) : 0;
    this.bucketMs = bucketMs;
  }
}

/** Extended in place, not copied: spread copies of each verdict reached V8’s old space (see quietShape in shape.ts). */
function calm(observed: number, expected: number, ready: boolean, pValue: number): TrafficVerdict {
  const v = quiet(observed, expected, ready, pToScore(pValue), pValue) as TrafficVerdict;
  v.direction = null;
  return v;
}
