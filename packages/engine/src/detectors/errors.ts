import type { BaselineOptions, ErrorOptions } from '../options.js';
import type { Severity } from '../types.js';
import { ProportionBaseline, type ProportionBaselineJSON } from '../stats/baseline.js';
import { pToScore } from '../stats/special.js';
import { LaggedCounts } from '../stats/held.js';
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

/**
 * Error-rate shifts of one operation, by a binomial test against its learned error rate p0 that counts
 * errors in runs as the runs they are (quasi-binomial: the counts are divided by the learned run length).
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
  private readonly pending = new LaggedCounts();
  private readonly learnLater = (requests: number, errors: number): void => this.learn(requests, errors);

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
    if (b.samples === 0 || !(requests > 0)) return quiet(observed, baseline, b.ready);
    const pValue = b.sf(errors, requests);
    const score = pToScore(pValue);
    // Above the rate it usually fails at, too: the prior pulls p0 of a rare operation that has failed
    // every time so far (a pool's reconnects during an outage) far below it.
    const anomalous =
      observed > baseline &&
      ((requests >= o.minRequests && errors >= o.minErrors && observed > o.rate && pValue < o.pMax) ||
        (b.ready && errors >= o.sensitiveMinErrors && observed >= Math.max(2 * p0, p0 + 0.02) && pValue < o.sensitivePMax));
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
    return (requests >= o.minRequests && errors >= o.minErrors && observed > o.rate) || (b.ready && errors >= o.sensitiveMinErrors && observed >= Math.max(2 * p0, p0 + 0.02));
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
    return requests > 0 && (errors / requests < this.baseline.observed || (errors === 0 && requests >= this.opts.minRequests));
  }

  /**
   * Learns bucket `index`: at once while the baseline is not ready (an operation is learned from its start,
   * failures and all), then once it is `lagBuckets` old (the judge's longest window), if no error anomaly
   * fired meanwhile ({@link forgetHeld}): each window is judged against a baseline that has not seen it. A
   * fault on a sparse operation, or a small rise on a busy one, must not raise the baseline while the
   * windows gather the errors to prove it (8 % errors, learned as they came, lifted a 0.2 % baseline out of
   * the sensitive rule's reach within a minute at most traffic rates); errors that turn out to be normal
   * are learned all the same, only a window later.
   */
  learnBucket(index: number, requests: number, errors: number, lagBuckets: number): void {
    this.pending.add(index, requests, errors, this.baseline.ready ? lagBuckets : 0, this.learnLater);
  }

  /** Drops the buckets not learned yet: an error anomaly fired, and they are part of it. */
  forgetHeld(): void {
    this.pending.forget();
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
