import type { BaselineOptions, ErrorOptions } from '../options.js';
import type { Severity } from '../types.js';
import { ProportionBaseline, type ProportionBaselineJSON } from '../stats/baseline.js';
import { binomialSf, pToScore } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';

/** Severity of an error-rate anomaly by the observed rate: ≥ 0.9 critical, ≥ 0.5 high, ≥ 0.2 medium. */
export function errorSeverity(rate: number): Severity {
  if (rate >= 0.9) return 'critical';
  if (rate >= 0.5) return 'high';
  if (rate >= 0.2) return 'medium';
  return 'low';
}

/**
 * Error-rate shifts of one operation, by an exact binomial test against its learned error rate p0.
 * A window fires on the prototype's rule (≥ minRequests, rate above `rate`, p < pMax) or, for smaller
 * rates, when it has ≥ sensitiveMinErrors errors at ≥ max(2·p0, p0 + 2 points) with p < sensitivePMax.
 */
export class ErrorRateDetector {
  readonly baseline: ProportionBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;

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
    const pValue = binomialSf(errors, requests, p0);
    const score = pToScore(pValue);
    // Above the rate it usually fails at, too: the prior pulls p0 of a rare operation that has failed
    // every time so far (a pool's reconnects during an outage) far below it.
    const anomalous =
      observed > baseline &&
      ((requests >= o.minRequests && observed > o.rate && pValue < o.pMax) ||
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
    return (requests >= o.minRequests && observed > o.rate) || (errors >= o.sensitiveMinErrors && observed >= Math.max(2 * p0, p0 + 0.02));
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
