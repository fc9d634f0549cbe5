import type { BaselineOptions, LatencyOptions } from '../options.js';
import type { LatencySketch } from '../stats/sketch.js';
import type { QueueWaitSnapshot, Severity } from '../types.js';
import { readState } from '../stats/json.js';
import { binomialSf, pToScore } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';

/** A window is judged from this many messages taken. */
export const QUEUE_MIN_MESSAGES = 10;
/**
 * The typical wait must be up by at least this much (ms): a consumer a few hundred milliseconds behind
 * now and then (a GC pause, a burst) is no backlog, however short its usual wait.
 */
export const QUEUE_MIN_EXTRA_MS = 1000;
/**
 * Buckets in a row whose median wait must each be long (15 s at the defaults): a backlog lasts, while a
 * batch enqueued at once (a cron's emails) drains within a bucket or two.
 */
export const QUEUE_SUSTAIN_BUCKETS = 3;
/** Waits from which a backlog is medium, high and critical (ms); below the first, low. */
export const QUEUE_SEVERITY_MS: readonly [number, number, number] = [5_000, 30_000, 120_000];
/**
 * A bucket whose median wait is `ratio`× typical, above the learned p95 and this much longer (ms) is held
 * back from learning: a backlog's first seconds, before it has grown to {@link QUEUE_MIN_EXTRA_MS}.
 */
const QUEUE_HOLD_EXTRA_MS = 100;
/** A message waits longer than the learned p95 this often while nothing is wrong. */
const OVER_P95 = 0.05;

/** Severity of a backlog whose messages typically wait `ms`. */
export function queueSeverity(ms: number): Severity {
  const [medium, high, critical] = QUEUE_SEVERITY_MS;
  return ms >= critical ? 'critical' : ms >= high ? 'high' : ms >= medium ? 'medium' : 'low';
}

/**
 * How long a consumer's messages wait in their queue before it takes them (its span's start minus its
 * producer span's end): a consumer that takes fewer messages than come (fewer instances, less concurrency,
 * more messages) falls behind, each message as fast as ever once taken, so only the wait shows it.
 *
 * Learns an EWMA of each bucket's median and p95 wait. A window fires when it has
 * {@link QUEUE_MIN_MESSAGES}, and its median wait is `ratio`× the learned typical, above the learned p95
 * (half the window's messages waited longer than one in twenty used to: a binomial p-value, the score) and
 * {@link QUEUE_MIN_EXTRA_MS} longer than typical, and so was each of the last {@link QUEUE_SUSTAIN_BUCKETS}
 * buckets' (the judge asks). Its severity is the wait's ({@link queueSeverity}): a backlog is as bad as how
 * late the work is, whatever its usual wait.
 */
export class QueueWaitDetector {
  /** EWMA of learned buckets' median wait (ms); NaN before the first. */
  typical = NaN;
  /** EWMA of their p95 wait (ms). */
  p95 = NaN;
  /** Messages learned. */
  samples = 0;
  /** Consecutive buckets held back from learning as clearly longer (see {@link learn}). */
  held = 0;

  constructor(
    private readonly baseline: BaselineOptions,
    private readonly latency: LatencyOptions,
  ) {}

  get ready(): boolean {
    return this.samples >= this.baseline.minSamples;
  }

  /** The wait a window's median must reach to fire (`extra`: {@link QUEUE_MIN_EXTRA_MS}), or a bucket's to be held back. */
  private bar(extra: number): number {
    return Math.max(this.latency.ratio * this.typical, this.p95, this.typical + extra);
  }

  /** Whether waits of median `median` (ms) are clearly longer than learned (what an episode goes on with). */
  longer(median: number): boolean {
    return this.ready && median >= this.bar(QUEUE_MIN_EXTRA_MS);
  }

  /** Whether a bucket's waits are {@link longer} than learned: some, and their median. */
  longIn(waits: LatencySketch): boolean {
    return waits.count > 0 && this.longer(waits.quantile(0.5));
  }

  /**
   * Learns a bucket's waits, unless its median is clearly longer than learned: a backlog that grows must not
   * be learned while its windows gather messages, for at most `ring` buckets (then it is the new normal).
   */
  learn(waits: LatencySketch, ring: number): void {
    if (waits.count === 0) return;
    const median = waits.quantile(0.5);
    this.held = this.ready && median >= this.bar(QUEUE_HOLD_EXTRA_MS) ? this.held + 1 : 0;
    if (this.held > 0 && this.held <= ring) return;
    const { alpha } = this.baseline;
    const p95 = waits.quantile(0.95);
    this.typical = Number.isNaN(this.typical) ? median : (1 - alpha) * this.typical + alpha * median;
    this.p95 = Number.isNaN(this.p95) ? p95 : (1 - alpha) * this.p95 + alpha * p95;
    this.samples += waits.count;
  }

  /** Judges a window's waits. */
  judge(waits: LatencySketch): Verdict {
    const n = waits.count;
    const median = n > 0 ? waits.quantile(0.5) : 0;
    if (n < QUEUE_MIN_MESSAGES || !this.longer(median)) return quiet(median, this.typical, this.ready);
    const pValue = binomialSf(Math.ceil(n / 2), n, OVER_P95);
    return { anomalous: true, score: pToScore(pValue), pValue, observed: median, expected: this.typical, severity: queueSeverity(median), ready: true };
  }

  toJSON(): QueueWaitSnapshot {
    // Nothing learned yet (no bucket): zeros, read back as nothing.
    return this.samples === 0 ? { typical: 0, p95: 0, samples: 0 } : { typical: this.typical, p95: this.p95, samples: this.samples };
  }

  /** Replaces the state with {@link toJSON} output; throws a RootspanError on anything else. */
  restore(json: unknown): void {
    const s = readState(json, ['typical', 'p95', 'samples'], 'QueueWait');
    this.samples = s.samples;
    this.typical = s.samples === 0 ? NaN : s.typical;
    this.p95 = s.samples === 0 ? NaN : s.p95;
  }
}
