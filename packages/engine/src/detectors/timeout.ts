import type { BaselineOptions, TimeoutOptions } from '../options.js';
import type { Severity } from '../types.js';
import { ProportionBaseline, type ProportionBaselineJSON } from '../stats/baseline.js';
import { pToScore } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';
import { errorSeverity, recoveredRate, sensitiveRise, sensitiveThreshold } from './errors.js';
import { LaggedRate } from '../stats/held.js';

/** Memory of the give-up rate, per attempt (~500 attempts). */
const DECAY_PER_ATTEMPT = 0.002;

/**
 * Severity of a timeout anomaly: a call given up on failed, so by the give-up rate on the error table
 * ({@link errorSeverity}: ≥ 50 % critical, > 20 % high, ≥ 5 % medium).
 */
export function timeoutSeverity(attempts: number, gaveUp: number): Severity {
  return errorSeverity(gaveUp / attempts);
}

/**
 * Callers giving up on a callee over one caller→callee edge: attempts with no successful answer (the
 * client gave up, no server span answered, or an error came back without an answer).
 *
 * Fires when a window has ≥ minAttempts attempts, a give-up share ≥ `rate`, and a binomial p-value
 * against the learned give-up rate below `pMax`, give-ups in runs counted as runs
 * ({@link ProportionBaseline.runs}: a callee stalled for a moment makes its caller give up on a few
 * consecutive calls). This test runs even before the baseline is ready: the rate's conservative 2%
 * prior keeps it from firing on a lone failure, and a brand-new edge that never answers is exactly what
 * it should catch. As in the prototype, a window where *every* one of
 * ≥ minAttempts attempts was given up on also fires once the baseline is ready, whatever the p-value
 * (an edge that usually loses some calls still counts when it loses all). Smaller shares fire by the
 * sensitive rule, as error rates do: once the baseline is ready, ≥ `sensitiveMinGiveUps` give-ups at twice
 * the learned share and two points above it, p < `sensitivePMax` against the share's 95 % upper bound. A
 * caller that times out on the 35 % of its calls to a recommender that miss its cache (15 % of all of
 * them, 2 % before) falls back and fails nothing: below 20 %, its give-ups were told for 10 s of a minute.
 */
export class TimeoutDetector {
  readonly baseline: ProportionBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;
  /** Buckets not learned yet (see {@link learnBucket}). */
  private readonly lagged: LaggedRate;

  constructor(
    baseline: BaselineOptions,
    private readonly opts: TimeoutOptions,
  ) {
    this.baseline = new ProportionBaseline(DECAY_PER_ATTEMPT, baseline.minSamples);
    this.lagged = new LaggedRate(this.baseline, sensitiveRise, (attempts, gaveUp) => this.learn(attempts, gaveUp));
  }

  /** Judges a window without learning it; observed/expected are give-up rates (0..1). */
  judge(attempts: number, gaveUp: number): Verdict {
    const b = this.baseline;
    const o = this.opts;
    const p0 = b.rate;
    const observed = attempts > 0 ? gaveUp / attempts : 0;
    if (!(attempts >= o.minAttempts)) return quiet(observed, p0, b.ready);
    const pValue = b.sf(gaveUp, attempts);
    const score = pToScore(pValue);
    const anomalous = (observed >= o.rate && pValue < o.pMax) || (b.ready && (gaveUp === attempts || this.sensitive(attempts, gaveUp)));
    if (!anomalous) return quiet(observed, p0, b.ready, score, pValue);
    return { anomalous, score, pValue, observed, expected: p0, severity: timeoutSeverity(attempts, gaveUp), ready: b.ready };
  }

  /**
   * Whether {@link judge} could find the window anomalous at all: enough attempts, and a give-up rate
   * beyond `rate` or every attempt given up on (the very numbers judge compares). No p-value: the judge
   * asks this of every edge and window at every bucket.
   */
  mayFire(attempts: number, gaveUp: number): boolean {
    const o = this.opts;
    if (!(attempts >= o.minAttempts)) return false;
    const observed = attempts > 0 ? gaveUp / attempts : 0;
    return observed >= o.rate || (this.baseline.ready && (gaveUp === attempts || (gaveUp >= o.sensitiveMinGiveUps && observed >= sensitiveThreshold(this.baseline.rate))));
  }

  /** The sensitive rule (see the class): a smaller share, clearly above the highest the learned one allows. */
  private sensitive(attempts: number, gaveUp: number): boolean {
    const b = this.baseline;
    return gaveUp >= this.opts.sensitiveMinGiveUps && gaveUp / attempts >= sensitiveThreshold(b.rate) && b.sf(gaveUp, attempts, b.upperRate) < this.opts.sensitivePMax;
  }

  /**
   * Whether the latest part of a longer window (the next shorter window) gives up less often than the edge
   * usually does, or on none of at least `minAttempts` calls: what the longer window holds beyond it is
   * over (see ErrorRateDetector.recovered). A hang's latest part holds give-ups or no calls that ended.
   */
  recovered(attempts: number, gaveUp: number): boolean {
    return recoveredRate(this.baseline, attempts, gaveUp, this.opts.minAttempts);
  }

  /** Learns bucket `index` `lagBuckets` late (see LaggedRate), unless a timeout anomaly fires meanwhile ({@link forgetHeld}). */
  learnBucket(index: number, attempts: number, gaveUp: number, lagBuckets: number): void {
    this.lagged.add(index, attempts, gaveUp, lagBuckets);
  }

  /** Drops the buckets not learned yet: a timeout anomaly fired, and they are part of it. */
  forgetHeld(): void {
    this.lagged.forget();
  }

  /** Learns a window (the analyzer passes only non-anomalous ones). */
  learn(attempts: number, gaveUp: number): void {
    this.baseline.learn(attempts, gaveUp);
  }

  /** Judges a window, then learns it unless anomalous. */
  observe(t: number, attempts: number, gaveUp: number): Verdict {
    this.lastT = t;
    const v = this.judge(attempts, gaveUp);
    if (!v.anomalous) this.learn(attempts, gaveUp);
    return v;
  }

  toJSON(): ProportionBaselineJSON {
    return this.baseline.toJSON();
  }

  /** Restores the baseline from {@link toJSON} output (throws a TypeError on anything else). */
  restore(json: unknown): void {
    this.baseline.restore(json);
  }
}
