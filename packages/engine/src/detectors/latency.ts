import type { BaselineOptions, LatencyOptions } from '../options.js';
import type { Severity } from '../types.js';
import { LogBaseline, logMs, type LogBaselineJSON } from '../stats/baseline.js';
import { pToScore, studentTSf } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';

/**
 * The sensitive rule (below `ratio`) needs typical latency up by this many `minShiftMs`: on a route of a
 * millisecond or two, 2.4× is what a CPU shared with another process does to every operation at once.
 */
const SENSITIVE_SHIFT = 5;

/** A window of latencies summarised in log space: mergeable by adding fields. */
export interface LogWindow {
  n: number;
  sumLog: number;
  sumLogSq: number;
}

/** The {@link LogWindow} of some latencies (ms). */
export function logWindowOf(values: readonly number[]): LogWindow {
  const w: LogWindow = { n: 0, sumLog: 0, sumLogSq: 0 };
  for (const v of values) {
    const l = logMs(v);
    w.n++;
    w.sumLog += l;
    w.sumLogSq += l * l;
  }
  return w;
}

/** Latency severity tiers: [from, to) in multiples of the baseline; critical also above `criticalMs`. */
export interface LatencyTiers {
  low: [number, number];
  medium: [number, number];
  high: [number, number];
  /** Critical at or above this ratio. */
  critical: number;
  /** ... or when typical latency is above this (ms), whatever the ratio. */
  criticalMs: number;
}

/**
 * The one severity table of latency anomalies, from the options: "low" starts at the lowest ratio any
 * latency rule fires at (the busy-operation `sensitiveRatio`, 1.5× by default; the prototype's 3× rule
 * fires inside the same tier), then `severityTiers`. Every latency severity, in anomalies and in
 * incident sentences, is {@link latencySeverity} of this table; the READMEs print {@link describeLatencyTiers}.
 */
export function latencyTiers(opts: Pick<LatencyOptions, 'ratio' | 'sensitiveRatio' | 'severityTiers' | 'criticalMs'>): LatencyTiers {
  const [medium, high, critical] = opts.severityTiers;
  return { low: [Math.min(opts.ratio, opts.sensitiveRatio), medium], medium: [medium, high], high: [high, critical], critical, criticalMs: opts.criticalMs };
}

/** The table in words: "low 1.5–5×, medium 5–10×, high 10–20×, critical > 20× or > 10 s". */
export function describeLatencyTiers(t: LatencyTiers): string {
  return `low ${t.low[0]}–${t.low[1]}×, medium ${t.medium[0]}–${t.medium[1]}×, high ${t.high[0]}–${t.high[1]}×, critical > ${t.critical}× or > ${t.criticalMs / 1000} s`;
}

/** The tier of a latency ratio (and typical latency, ms) in the {@link latencyTiers} table; null below "low". */
export function latencyTier(ratio: number, observedMs: number, opts: LatencyOptions): Severity | null {
  const t = latencyTiers(opts);
  if (observedMs > t.criticalMs || ratio >= t.critical) return 'critical';
  if (ratio >= t.high[0]) return 'high';
  if (ratio >= t.medium[0]) return 'medium';
  return ratio >= t.low[0] ? 'low' : null;
}

/** Severity of a latency anomaly: its {@link latencyTier} (every rule fires at or above "low"). */
export function latencySeverity(ratio: number, observedMs: number, opts: LatencyOptions): Severity {
  return latencyTier(ratio, observedMs, opts) ?? 'low';
}

/**
 * The window of one sample {@link LatencyDetector.observe} judges, shared: judging keeps nothing of it, and
 * one per detector (thousands of operations, two or three detectors each) was 0.6 MB of heap.
 */
const one: LogWindow = { n: 1, sumLog: 0, sumLogSq: 0 };

/**
 * Latency shifts of one operation against a learned log-normal baseline. A window fires when its
 * geometric mean (≈ median) is `ratio`× the baseline AND significant (score ≥ zMin); busy windows also
 * fire on smaller but very significant shifts (`sensitiveRatio`, `sensitiveZ`, {@link SENSITIVE_SHIFT}), and anything slower than
 * `criticalMs` needs only the smaller ratio. Every rule also needs typical latency up by `minShiftMs`:
 * a sub-millisecond operation 3× slower is still not an incident. `driftSigma` bounds the score on huge
 * windows, where any tiny shift would otherwise be "significant".
 *
 * The test is honest about short history: the window's mean of logs is compared with the baseline's by
 * Student's t, with the baseline's own uncertainty (its variance over its sample count, Bessel-corrected)
 * in the standard error and `samples − 1` degrees of freedom, so an operation is judged from
 * `minSamples` on and a baseline of five samples needs a far larger shift than one of five thousand.
 * The score is the normal z with the same p-value, so thresholds mean the same at any history length.
 */
export class LatencyDetector {
  readonly baseline: LogBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;

  constructor(
    baseline: BaselineOptions,
    private readonly opts: LatencyOptions,
  ) {
    this.baseline = new LogBaseline(baseline);
  }

  /** Judges a window against the baseline without learning it. observed/expected are in ms. */
  judge(w: LogWindow, minWindowSamples = this.opts.minWindowSamples): Verdict {
    const b = this.baseline;
    const o = this.opts;
    const expected = b.typical;
    const m = w.sumLog / w.n;
    const observed = Math.exp(m);
    if (!b.ready || !(w.n > 0)) return quiet(observed, expected, b.ready);
    const ratio = observed / expected;
    const nb = b.samples;
    const variance = nb > 1 ? (b.variance * nb) / (nb - 1) : b.variance;
    const t = (m - b.mean) / Math.sqrt(variance * (1 / w.n + 1 / nb) + o.driftSigma * o.driftSigma);
    const pValue = studentTSf(t, Math.max(1, nb - 1));
    const score = pToScore(pValue);
    const shift = observed - expected;
    const anomalous =
      w.n >= minWindowSamples &&
      shift >= o.minShiftMs &&
      ((ratio >= o.ratio && score >= o.zMin) ||
        (w.n >= o.sensitiveMinSamples && ratio >= o.sensitiveRatio && score >= o.sensitiveZ && shift >= SENSITIVE_SHIFT * o.minShiftMs) ||
        (observed >= o.criticalMs && ratio >= o.sensitiveRatio && score >= o.zMin));
    if (!anomalous) return quiet(observed, expected, true, score, pValue);
    return { anomalous, score, pValue, observed, expected, severity: latencySeverity(ratio, observed, o), ready: true };
  }

  /**
   * Whether {@link judge} could find window `w` anomalous at all: enough samples, and typical latency up
   * by `minShiftMs` and by the smallest ratio of any rule, the very numbers judge compares. No p-value:
   * the judge asks this of every operation, series and window at every bucket, and most are healthy.
   */
  mayFire(w: LogWindow, minWindowSamples = this.opts.minWindowSamples): boolean {
    const b = this.baseline;
    const o = this.opts;
    if (!b.ready || !(w.n > 0) || !(w.n >= minWindowSamples)) return false;
    const expected = b.typical;
    const observed = Math.exp(w.sumLog / w.n);
    return observed - expected >= o.minShiftMs && observed / expected >= Math.min(o.ratio, o.sensitiveRatio);
  }

  /** Whether {@link judge} would report `w` ready and observed ≥ `ratio` × expected (no p-value needed for that). */
  readyAndAtLeast(w: LogWindow, ratio: number): boolean {
    const b = this.baseline;
    return b.ready && w.n > 0 && Math.exp(w.sumLog / w.n) >= ratio * b.typical;
  }

  /** Learns a window (the analyzer passes only non-anomalous windows, without outliers). */
  learn(w: LogWindow): void {
    this.baseline.learn(w.n, w.sumLog, w.sumLogSq);
  }

  /** Judges one latency x (ms) as a window of one, then learns it unless anomalous or an outlier. */
  observe(t: number, x: number): Verdict {
    this.lastT = t;
    const l = logMs(x);
    const w = one;
    w.sumLog = l;
    w.sumLogSq = l * l;
    const v = this.judge(w, 1);
    if (!v.anomalous && !this.baseline.isOutlier(x)) this.learn(w);
    return v;
  }

  toJSON(): LogBaselineJSON {
    return this.baseline.toJSON();
  }

  /** Restores the baseline from {@link toJSON} output (throws a TypeError on anything else). */
  restore(json: unknown): void {
    this.baseline.restore(json);
  }
}
