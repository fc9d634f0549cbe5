import type { BaselineOptions, ErrorOptions } from '../options.js';
import type { Severity } from '../types.js';
import { ProportionBaseline, type ProportionBaselineJSON } from '../stats/baseline.js';
import { pToScore } from '../stats/special.js';
import { LaggedRate } from '../stats/held.js';
import { quiet, type Verdict } from './verdict.js';

/**
 * Severity of an error-rate anomaly by the observed rate, on the prototype's table: ≥ 50 % critical (its "5
 * errors in 10 requests"), > 20 % (its error-spike rule) high; below that medium from 5 %, else low (the small
 * rises the sensitive rule finds).
 */
export function errorSeverity(rate: number): Severity {
  if (rate >= 0.5) return 'critical';
  if (rate > 0.2) return 'high';
  if (rate >= 0.05) return 'medium';
  return 'low';
}

/** The smallest rise the sensitive rule looks for, in points of error rate. */
const SENSITIVE_MIN_RISE = 0.02;

/** The rate a window must reach for the sensitive rule: twice the learned one, and two points above it. */
export function sensitiveThreshold(p0: number): number {
  return Math.max(2 * p0, p0 + SENSITIVE_MIN_RISE);
}

/**
 * Whether a window's latest part (`trials`, `events`) is over what a longer window holds: a rate below the
 * one `baseline` observed, or no event in at least `minTrials` (see ErrorRateDetector.recovered).
 */
export function recoveredRate(baseline: ProportionBaseline, trials: number, events: number, minTrials: number): boolean {
  return trials > 0 && (events / trials < baseline.observed || (events === 0 && trials >= minTrials));
}

/** The smallest rise above rate `p` the sensitive rule looks for (see LaggedRate). */
export function sensitiveRise(p: number): number {
  return sensitiveThreshold(p) - p;
}

/**
 * Error-rate shifts of one operation, by a binomial test against the highest rate its learned one is
 * consistent with (the 95 % upper bound of p0, see `upperRate`) that counts errors in runs as the runs they
 * are (quasi-binomial: the counts are divided by the learned run length).
 * A window fires on the prototype's rule (≥ minRequests, ≥ minErrors, rate above `rate`, p < pMax) or, for
 * smaller rates, when it has ≥ sensitiveMinErrors errors at ≥ max(2·p0, p0 + 2 points) with p < sensitivePMax.
 * The prototype's rule, which needs no baseline, is applied as soon as the operation has answered at all
 * (the sensitive rule waits for `minSamples`): a pool that connected twice at start-up, then fails to
 * reconnect hundreds of times in an outage, would otherwise learn the outage as its baseline first.
 */
export class ErrorRateDetector {
  readonly baseline: ProportionBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;
  /** Buckets not learned yet (see {@link learnBucket}). */
  private readonly lagged: LaggedRate;

  constructor(
    baseline: BaselineOptions,
    private readonly opts: ErrorOptions,
  ) {
    this.baseline = new ProportionBaseline(opts.decayPerRequest, baseline.minSamples);
    this.lagged = new LaggedRate(this.baseline, sensitiveRise, (requests, errors) => this.learn(requests, errors));
  }

  /** Judges a window of requests and errors without learning it; observed/expected are rates (0..1). */
  judge(requests: number, errors: number): Verdict {
    const b = this.baseline;
    const o = this.opts;
    const p0 = b.rate;
    const observed = requests > 0 ? errors / requests : 0;
    // Verdicts report the rate observed; the prior-weighted p0 is only the test's null hypothesis.
    const baseline = b.observed;
    if (b.samples === 0 || !(requests > 0)) return quiet(observed, baseline, b.ready);
    // Against the highest rate the baseline is consistent with, not its estimate (see upperRate); a window
    // of more requests than the baseline remembers (a busy operation's young baseline) is told apart from it
    // by the exact conditional test too: 13 errors in the first 513 requests (2.5 % of a steady 5 %) made the
    // next minute, 293 of 5823, an incident that, never learned, lasted for good.
    const bound = b.sf(errors, requests, b.upperRate);
    const pValue = requests > b.trials ? Math.max(bound, b.sfAgainst(errors, requests)) : bound;
    const score = pToScore(pValue);
    // Above the rate it usually fails at, too: the prior pulls p0 of a rare operation that has failed
    // every time so far (a pool's reconnects during an outage) far below it.
    const anomalous =
      observed > baseline &&
      ((requests >= o.minRequests && errors >= o.minErrors && observed > o.rate && pValue < o.pMax) ||
        (b.ready && errors >= o.sensitiveMinErrors && observed >= sensitiveThreshold(p0) && pValue < o.sensitivePMax));
    if (!anomalous) return quiet(observed, baseline, b.ready, score, pValue);
    return { anomalous, score, pValue, observed, expected: baseline, severity: errorSeverity(observed), ready: b.ready };
  }

  /**
   * Whether {@link judge} could find the window anomalous at all: its rate is beyond one of the rules'
   * rates (the very numbers judge compares). No p-value: the judge asks this of every operation and
   * window at every bucket, and most windows are healthy.
   */
  mayFire(requests: number, errors: number): boolean {
    const b = this.baseline;
    const o = this.opts;
    if (b.samples === 0 || !(requests > 0)) return false;
    const p0 = b.rate;
    const observed = errors / requests;
    return (requests >= o.minRequests && errors >= o.minErrors && observed > o.rate) || (b.ready && errors >= o.sensitiveMinErrors && observed >= sensitiveThreshold(p0));
  }

  /**
   * Whether the latest part of a longer window (the next shorter window: `requests`, `errors`) fails less
   * often than the operation usually does: what the longer window holds beyond it is over. Judged on its
   * own, a window a minute long went on holding an outage after the operation had recovered; when the
   * operation had failed from the start, its baseline had learned the failures, then the recovery, and
   * the minute's mix of both read as a rise (an incident opened 15 s after the errors stopped). A latest
   * part of at least `minRequests` answered without an error is over too, whatever the baseline: a route
   * that never failed before (0 %) otherwise fired until its outage left the minute's window. A hang's
   * latest part holds calls given up on (errors) or too few answers, so it does not read as recovered.
   */
  recovered(requests: number, errors: number): boolean {
    return recoveredRate(this.baseline, requests, errors, this.opts.minRequests);
  }

  /** Learns bucket `index` `lagBuckets` late (see LaggedRate), unless an error anomaly fires meanwhile ({@link forgetHeld}). */
  learnBucket(index: number, requests: number, errors: number, lagBuckets: number): void {
    this.lagged.add(index, requests, errors, lagBuckets);
  }

  /** Drops the buckets not learned yet: an error anomaly fired, and they are part of it. */
  forgetHeld(): void {
    this.lagged.forget();
  }

  /** Learns a window (the analyzer passes only non-anomalous ones). */
  learn(requests: number, errors: number): void {
    this.baseline.learn(requests, errors);
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

  toJSON(): ProportionBaselineJSON {
    return this.baseline.toJSON();
  }

  /** Restores the baseline from {@link toJSON} output (throws a TypeError on anything else). */
  restore(json: unknown): void {
    this.baseline.restore(json);
  }
}
