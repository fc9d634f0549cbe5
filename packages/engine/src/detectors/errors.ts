import type { BaselineOptions, ErrorOptions } from '../options.js';
import type { Severity } from '../types.js';
import { ProportionBaseline, type ProportionBaselineJSON } from '../stats/baseline.js';
import { binomialSf, pToScore } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';

/** A bucket whose errors are this unlikely under the baseline is held back from learning (3σ). */
const HOLD_P = 0.00135;
/** Weight of one failing bucket in the learned run length, once past the first few. */
const RUN_ALPHA = 0.1;
/** A bucket's errors count at most this many times what independent errors would give (a fault's bucket learned before it fired). */
const MAX_RUN = 5;

/** JSON state of an {@link ErrorRateDetector}: its rate baseline, and how errors bunch. */
export interface ErrorRateDetectorJSON extends ProportionBaselineJSON {
  /** Learned run length (see {@link ErrorRateDetector.runLength}); absent in older snapshots (1). */
  runs?: number;
  /** Failing buckets it was learned from. */
  runBuckets?: number;
}

/** Severity of an error-rate anomaly by the observed rate: ≥ 0.9 critical, ≥ 0.5 high, ≥ 0.2 medium. */
export function errorSeverity(rate: number): Severity {
  if (rate >= 0.9) return 'critical';
  if (rate >= 0.5) return 'high';
  if (rate >= 0.2) return 'medium';
  return 'low';
}

/**
 * Error-rate shifts of one operation, by a binomial test against its learned error rate p0 that counts
 * errors in runs as the runs they are (quasi-binomial: the counts are divided by the learned run length).
 * A window fires on the prototype's rule (≥ minRequests, ≥ minErrors, rate above `rate`, p < pMax) or, for
 * smaller rates, when it has ≥ sensitiveMinErrors errors at ≥ max(2·p0, p0 + 2 points) with p < sensitivePMax.
 */
export class ErrorRateDetector {
  readonly baseline: ProportionBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;
  /** Buckets held back from learning (see {@link learnBucket}) as requests, errors pairs, since bucket `heldSince`. */
  private held: number[] = [];
  private heldSince = 0;
  private runs = 1;
  private runBuckets = 0;

  constructor(
    baseline: BaselineOptions,
    private readonly opts: ErrorOptions,
  ) {
    this.baseline = new ProportionBaseline(opts.decayPerRequest, baseline.minSamples);
  }

  /** Judges a window of requests and errors without learning it; observed/expected are rates (0..1). */
  judge(requests: number, errors: number): Verdict {
    const b = this.baseline;
    const o = this.opts;
    const p0 = b.rate;
    const observed = requests > 0 ? errors / requests : 0;
    // Verdicts report the rate observed; the prior-weighted p0 is only the test's null hypothesis.
    const baseline = b.observed;
    if (!b.ready || !(requests > 0)) return quiet(observed, baseline, b.ready);
    const pValue = this.pValue(requests, errors);
    const score = pToScore(pValue);
    // Above the rate it usually fails at, too: the prior pulls p0 of a rare operation that has failed
    // every time so far (a pool's reconnects during an outage) far below it.
    const anomalous =
      observed > baseline &&
      ((requests >= o.minRequests && errors >= o.minErrors && observed > o.rate && pValue < o.pMax) ||
        (errors >= o.sensitiveMinErrors && observed >= Math.max(2 * p0, p0 + 0.02) && pValue < o.sensitivePMax));
    if (!anomalous) return quiet(observed, baseline, true, score, pValue);
    return { anomalous, score, pValue, observed, expected: baseline, severity: errorSeverity(observed), ready: true };
  }

  /**
   * Whether {@link judge} could find the window anomalous at all: its rate is beyond one of the rules'
   * rates (the very numbers judge compares). No p-value: the judge asks this of every operation and
   * window at every bucket, and most windows are healthy.
   */
  mayFire(requests: number, errors: number): boolean {
    const b = this.baseline;
    const o = this.opts;
    if (!b.ready || !(requests > 0)) return false;
    const p0 = b.rate;
    const observed = errors / requests;
    return (requests >= o.minRequests && errors >= o.minErrors && observed > o.rate) || (errors >= o.sensitiveMinErrors && observed >= Math.max(2 * p0, p0 + 0.02));
  }

  /**
   * Learns a bucket that did not fire (bucket `index`), unless its errors are clearly above the baseline
   * (p < 0.00135, as latency's hold). Such a bucket is held back for `holdBuckets` buckets, then learned if
   * no error anomaly fired meanwhile ({@link forgetHeld}): a fault on a sparse operation must not raise the
   * baseline while later windows gather the errors to prove it, and errors that come a few in a row on a
   * healthy route are learned all the same, only later.
   */
  learnBucket(index: number, requests: number, errors: number, holdBuckets: number): void {
    if (this.suspicious(requests, errors)) {
      if (this.held.length === 0) this.heldSince = index;
      this.held.push(requests, errors);
    } else {
      this.learn(requests, errors);
    }
    if (this.held.length > 0 && index - this.heldSince >= holdBuckets) {
      for (let i = 0; i < this.held.length; i += 2) this.learn(this.held[i], this.held[i + 1]);
      this.forgetHeld();
    }
  }

  /** Drops the buckets held back: an error anomaly fired, and they are part of it. */
  forgetHeld(): void {
    this.held.length = 0;
  }

  /**
   * How many errors a failing bucket usually has, over what independent errors at the learned rate would
   * give: 1 when requests fail one at a time, about k when they fail k in a row (a reset connection failing
   * the requests queued on it, a retry failing again). At least 1.
   */
  get runLength(): number {
    return Math.max(1, this.runs);
  }

  /** P-value of `errors` of `requests` under the baseline, runs counted as runs. */
  private pValue(requests: number, errors: number): number {
    const c = this.runLength;
    return binomialSf(errors / c, requests / c, this.baseline.rate);
  }

  private suspicious(requests: number, errors: number): boolean {
    return this.baseline.ready && errors > requests * this.opts.rate && this.pValue(requests, errors) < HOLD_P;
  }

  /** Learns a window (the analyzer passes only non-anomalous ones). */
  learn(requests: number, errors: number): void {
    const b = this.baseline;
    if (errors > 0 && b.ready) {
      // Errors independent at rate p give n·p / (1 − (1 − p)^n) errors in a bucket that has any.
      const p = b.rate;
      const expected = (requests * p) / -Math.expm1(requests * Math.log1p(-p));
      const w = Math.max(RUN_ALPHA, 1 / (this.runBuckets + 2));
      this.runs = (1 - w) * this.runs + w * Math.min(MAX_RUN, errors / expected);
      this.runBuckets++;
    }
    b.learn(requests, errors);
  }

  /**
   * Judges a window, then learns it unless anomalous. Argument order matches {@link judge}
   * (requests, then errors).
   */
  observe(t: number, requests: number, errors: number): Verdict {
    this.lastT = t;
    const v = this.judge(requests, errors);
    if (!v.anomalous) this.learn(requests, errors);
    return v;
  }

  toJSON(): ErrorRateDetectorJSON {
    return { ...this.baseline.toJSON(), runs: this.runs, runBuckets: this.runBuckets };
  }

  /** Restores the state from {@link toJSON} output (throws a TypeError on anything else; an older snapshot's errors count as independent). */
  restore(json: unknown): void {
    this.baseline.restore(json);
    const { runs, runBuckets } = json as ErrorRateDetectorJSON;
    this.runs = typeof runs === 'number' && runs > 0 && runs <= MAX_RUN ? runs : 1;
    this.runBuckets = typeof runBuckets === 'number' && runBuckets >= 0 && Number.isFinite(runBuckets) ? runBuckets : 0;
  }
}
