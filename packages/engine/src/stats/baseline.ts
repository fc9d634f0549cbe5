/**
 * Learned baselines: small state machines that fold in windows the analyzer judged normal. Each starts as
 * a plain cumulative average (so the first window does not dominate) and turns into an EWMA once it has
 * seen enough. State is plain JSON through `toJSON()` / `restore(json)`.
 */
import type { BaselineOptions } from '../options.js';
import { RootspanError } from '../errors.js';
import { readState } from './json.js';
import { RunLength, type RunLengthJSON } from './runs.js';
import { chiSquareQuantile } from './special.js';
import { ShareTrend, type ShareTrendJSON } from './trend.js';

/** Latencies below this (ms) are taken as this before the log: keeps ln finite for 0 ms spans. */
export const MIN_LOG_MS = 1e-3;
/** Variance floor in log space: a perfectly constant latency still has some tolerance. */
const MIN_LOG_VARIANCE = 1e-6;

/**
 * The spread of ln(ms) a young latency baseline is taken to have at least, as if it had also learned this
 * many samples of spread {@link PRIOR_SD} (a request's latency commonly varies by a factor of 1.6 either
 * way). Its first samples say little of its spread when they are all of one kind: a table's fast statement
 * first, while a cold cache misses, and its slow report query later, mostly. Learned from those alone
 * (ln-spread 0.36), the report queries were 5× the baseline, held back from it as suspiciously slow, and
 * fired for half an hour; with the prior, they are learned from the first minute on.
 */
const PRIOR_SAMPLES = 10;
const PRIOR_SD = 0.5;

/** ln of a latency in ms, as every log-space baseline and window uses it. */
export function logMs(ms: number): number {
  return Math.log(Math.max(ms, MIN_LOG_MS));
}

/** EWMA weight of a window of n samples when `seen` were learned before; see {@link LogBaseline.learn}. */
function weight(alpha: number, n: number, seen: number): number {
  return Math.max(alpha * Math.min(1, n / 10), n / (seen + n));
}

/** JSON state of a {@link LogBaseline}. */
export interface LogBaselineJSON {
  mean: number;
  m2: number;
  samples: number;
}

/**
 * Typical latency, learned in log space (latencies are roughly log-normal): EWMAs of the mean and of the
 * second moment of ln(ms).
 */
export class LogBaseline {
  private mu = 0;
  private m2 = 0;
  private n = 0;
  // Derived, kept in ms: read for every request, changed only when a window is learned.
  private typicalMs = NaN;
  private outlierLo = 0;
  private outlierHi = Infinity;

  constructor(private readonly opts: BaselineOptions) {}

  /**
   * Folds in a window of n samples given Σ ln x and Σ (ln x)². Weight
   * `max(alpha·min(1, n/10), n/(samples + n))`: a cumulative mean at first, then an EWMA in which small
   * windows count less. n ≤ 0 is a no-op.
   */
  learn(n: number, sumLog: number, sumLogSq: number): void {
    if (!(n > 0)) return;
    const w = weight(this.opts.alpha, n, this.n);
    this.mu = (1 - w) * this.mu + (w * sumLog) / n;
    this.m2 = (1 - w) * this.m2 + (w * sumLogSq) / n;
    this.n += n;
    this.derive();
  }

  private derive(): void {
    this.typicalMs = this.n > 0 ? Math.exp(this.mu) : NaN;
    const k = this.opts.outlierSigma * this.sd;
    this.outlierLo = Math.exp(this.mu - k);
    this.outlierHi = Math.exp(this.mu + k);
  }

  /** Mean of ln(ms). */
  get mean(): number {
    return this.mu;
  }

  /**
   * Variance of ln(ms), floored at 1e-6, and while few samples were learned at least their blend with
   * {@link PRIOR_SAMPLES} samples of spread {@link PRIOR_SD} (it fades as samples come).
   */
  get variance(): number {
    const v = Math.max(this.m2 - this.mu * this.mu, MIN_LOG_VARIANCE);
    return Math.max(v, (this.n * v + PRIOR_SAMPLES * PRIOR_SD * PRIOR_SD) / (this.n + PRIOR_SAMPLES));
  }

  /** Standard deviation of ln(ms). */
  get sd(): number {
    return Math.sqrt(this.variance);
  }

  /** Samples learned. */
  get samples(): number {
    return this.n;
  }

  /** Whether enough samples were learned to judge (≥ minSamples). */
  get ready(): boolean {
    return this.n >= this.opts.minSamples;
  }

  /** Typical latency in ms: exp(mean), the median of a log-normal; NaN before any sample. */
  get typical(): number {
    return this.typicalMs;
  }

  /** Whether x (ms) is further than outlierSigma sd from the mean in log space (never before ready). */
  isOutlier(x: number): boolean {
    if (!this.ready) return false;
    const ms = Math.max(x, MIN_LOG_MS);
    return ms > this.outlierHi || ms < this.outlierLo;
  }

  toJSON(): LogBaselineJSON {
    return { mean: this.mu, m2: this.m2, samples: this.n };
  }

  /** Replaces the state with {@link toJSON} output; throws a TypeError on anything else. */
  restore(json: unknown): void {
    const s = readState(json, ['mean', 'm2', 'samples'], 'LogBaseline');
    this.mu = s.mean;
    this.m2 = s.m2;
    this.n = s.samples;
    this.derive();
  }
}

/** JSON state of a {@link ProportionBaseline} (with its run length). */
export interface ProportionBaselineJSON extends RunLengthJSON {
  events: number;
  trials: number;
  samples: number;
}

/** Events and requests of the rate's prior (see {@link ProportionBaseline.rate}). */
const PRIOR_EVENTS = 0.5;
const PRIOR_TRIALS = 25;
/** Confidence of {@link ProportionBaseline.upperRate}. */
const UPPER_BOUND_P = 0.95;

/**
 * The usual share of requests that fail (or are given up on, or are slow), with a memory counted in
 * requests rather than time, so quiet and busy operations forget at the same pace per request; and how
 * such events bunch ({@link runs}), which its test ({@link sf}) counts as the runs they are.
 */
export class ProportionBaseline {
  /** How events bunch, learned from the windows learned once the rate is ready. */
  readonly runs = new RunLength();
  private e = 0;
  private c = 0;
  private n = 0;
  private readonly powers: Float64Array;
  /** {@link upperRate} and the events and trials it was computed for. */
  private bound = 1;
  private boundE = NaN;
  private boundC = NaN;

  /**
   * @param decayPerRequest each learned request decays the history by this fraction (memory ~1/x requests).
   * @param minSamples requests learned before {@link ready}.
   */
  constructor(
    private readonly decayPerRequest: number,
    private readonly minSamples: number,
  ) {
    this.powers = powersOf(decayPerRequest);
  }

  /** Folds in a window of n requests of which k were events (errors). n ≤ 0 is a no-op. */
  learn(n: number, k: number): void {
    if (!(n > 0)) return;
    if (this.ready) this.runs.learn(n, k, this.rate);
    const f = decayOver(this.powers, 1 - this.decayPerRequest, n);
    this.e = this.e * f + k;
    this.c = this.c * f + n;
    this.n += n;
  }

  /**
   * The rate the tests use, (E + 0.5) / (C + 25): the observed rate with a weak internal prior of 2%
   * that fades as requests are learned. A conservative (non-zero) prior keeps exact tests on few samples
   * from firing on one error just because no error was seen yet. Reports show {@link observed}.
   */
  get rate(): number {
    return (this.e + PRIOR_EVENTS) / (this.c + PRIOR_TRIALS);
  }

  /**
   * The rate actually observed over the baseline's memory: 0 after no errors. What reports and sentences
   * show; {@link rate} (with its prior) is only what the tests compare against.
   */
  get observed(): number {
    return this.c > 0 ? this.e / this.c : 0;
  }

  /** Requests learned (undecayed). */
  get samples(): number {
    return this.n;
  }

  /** Requests in the baseline's memory (decayed): how many the rate is estimated from. */
  get trials(): number {
    return this.c;
  }

  /** Whether enough requests were learned to judge (≥ minSamples). */
  get ready(): boolean {
    return this.n >= this.minSamples;
  }

  /**
   * The highest rate the baseline's memory is consistent with at 95 % (one-sided): the exact Poisson upper
   * bound on its events (counted as runs), over its requests with the prior's. What a window is tested
   * against when a low estimate must not make an ordinary rate look like a rise: 0 errors in the last 500
   * requests of an operation that fails 0.5 % of the time happens (8 %), and 7 of the next 232 then read as
   * p < 1e-7 against the estimate (a false alarm on healthy traffic).
   */
  get upperRate(): number {
    if (this.e !== this.boundE || this.c !== this.boundC) {
      this.boundE = this.e;
      this.boundC = this.c;
      const r = this.runs.value;
      this.bound = Math.min(1, (r * chiSquareQuantile(UPPER_BOUND_P, (2 * this.e) / r + 2)) / 2 / (this.c + PRIOR_TRIALS));
    }
    return this.bound;
  }

  /**
   * P(≥ `events` of `trials`) if the window fails at the rate the baseline failed at, with the baseline's
   * own uncertainty: given the events of both (the baseline's with its prior), the chance that as many fall
   * in the window, whose share of their requests is `trials / (trials + C)` (the exact conditional test of
   * two rates), runs counted as runs. Tends to {@link sf} at the estimate as the baseline's memory outgrows
   * the window. What a window larger than the baseline's memory is tested with (see `ErrorRateDetector.judge`).
   */
  sfAgainst(events: number, trials: number): number {
    return this.runs.sf(events, events + this.e + PRIOR_EVENTS, trials / (trials + this.c + PRIOR_TRIALS));
  }

  /** P(≥ `events` of `trials`) at rate `p` (default {@link rate}), runs counted as runs. */
  sf(events: number, trials: number, p = this.rate): number {
    return this.runs.sf(events, trials, p);
  }

  toJSON(): ProportionBaselineJSON {
    return { events: this.e, trials: this.c, samples: this.n, ...this.runs.toJSON() };
  }

  /** Replaces the state with {@link toJSON} output; throws a TypeError on anything else (a state without a run length: independent events). */
  restore(json: unknown): void {
    const s = readState(json, ['events', 'trials', 'samples'], 'ProportionBaseline');
    this.e = s.events;
    this.c = s.trials;
    this.n = s.samples;
    this.runs.restore(s as RunLengthJSON);
  }
}

/** Request counts up to this have their decay factor kept once computed. */
const POWERS = 4096;
/** Per decay fraction: (1 − decay)^n by n, NaN until computed (every operation learns at every bucket). */
const powerTables = new Map<number, Float64Array>();
/** Decay fractions given tables (options hold a few); others compute every power. */
const MAX_POWER_TABLES = 8;
const NO_POWERS = new Float64Array(0);

function powersOf(decay: number): Float64Array {
  let table = powerTables.get(decay);
  if (table === undefined) {
    if (powerTables.size >= MAX_POWER_TABLES) return NO_POWERS;
    table = new Float64Array(POWERS).fill(NaN);
    powerTables.set(decay, table);
  }
  return table;
}

/** `Math.pow(base, n)`, from `powers` (base's table) for small whole n: the same number, without the pow. */
function decayOver(powers: Float64Array, base: number, n: number): number {
  if (n < powers.length && Number.isInteger(n)) {
    const cached = powers[n];
    if (!Number.isNaN(cached)) return cached;
    return (powers[n] = Math.pow(base, n));
  }
  return Math.pow(base, n);
}

/** JSON state of a {@link RateBaseline}. */
export interface RateBaselineJSON {
  rate: number;
  buckets: number;
  bucketMs: number;
}

/**
 * How much slower an anchor baseline learns than the main one (~17 min of 5 s buckets at α = 0.1): what
 * the main baseline followed over minutes still shows against it (a latency ramp; a surge it learned, then
 * left).
 */
export const ANCHOR_SLOWDOWN = 20;

/** The usual request rate (per second): an EWMA over buckets, a cumulative mean for the first ones. */
export class RateBaseline {
  private r = 0;
  private b = 0;
  /** Duration of the last bucket learned (0 before any). */
  private ms = 0;

  /**
   * @param alpha EWMA weight of one bucket.
   * @param minBuckets buckets learned before {@link ready}.
   */
  constructor(
    private readonly alpha: number,
    private readonly minBuckets: number,
  ) {}

  /** Folds in a bucket of `count` requests over `durationMs`. durationMs ≤ 0 is a no-op. */
  learn(count: number, durationMs: number): void {
    if (!(durationMs > 0)) return;
    const w = Math.max(this.alpha, 1 / (this.b + 1));
    this.r = (1 - w) * this.r + (w * count * 1000) / durationMs;
    this.b++;
    this.ms = durationMs;
  }

  /** Requests per second. */
  get rate(): number {
    return this.r;
  }

  /**
   * The smallest rate (per second) the EWMA can tell apart from silence: one request over its memory of
   * ~1/alpha buckets. Between a sparse operation's requests the EWMA decays towards 0, where any single
   * request would look infinitely unlikely. 0 before any bucket.
   */
  get resolution(): number {
    return this.ms > 0 ? (this.alpha * 1000) / this.ms : 0;
  }

  /** Buckets learned. */
  get buckets(): number {
    return this.b;
  }

  /** Whether enough buckets were learned to judge (≥ minBuckets). */
  get ready(): boolean {
    return this.b >= this.minBuckets;
  }

  toJSON(): RateBaselineJSON {
    return { rate: this.r, buckets: this.b, bucketMs: this.ms };
  }

  /** Replaces the state with {@link toJSON} output; throws a TypeError on anything else. */
  restore(json: unknown): void {
    const s = readState(json, ['rate', 'buckets', 'bucketMs'], 'RateBaseline');
    this.r = s.rate;
    this.b = s.buckets;
    this.ms = s.bucketMs;
  }
}

/** How many times longer the slow share of a {@link ShareBaseline} remembers (~8 min of 5 s windows at α = 0.1). */
const SLOW_SHARE_MEMORY = 10;

/** JSON state of a {@link ShareBaseline}. */
export interface ShareBaselineJSON {
  share: number;
  /** The slow share (absent from snapshots written before it: read as `share`). */
  slow?: number;
  samples: number;
  /** Windows learned (absent from snapshots written before it was counted: read as many). */
  windows?: number;
  /** The fitted trend (absent from snapshots written before it: no trend). */
  trend?: ShareTrendJSON;
}

/** Windows a snapshot without a window count is taken to have learned: a baseline in use is past its start. */
const WINDOWS_BEFORE_COUNTED = 1_000;

/** The usual share of a parent operation's requests that make a given child call. */
export class ShareBaseline {
  private s = 0;
  private slow = 0;
  private n = 0;
  private w = 0;
  private readonly trend: ShareTrend;

  /** @param alpha EWMA weight of a window of ≥ 10 parent requests. */
  constructor(private readonly alpha: number) {
    this.trend = new ShareTrend(1 - alpha);
  }

  /** Folds in a window of parent requests of which `calls` made the call. parentRequests ≤ 0 is a no-op. */
  learn(parentRequests: number, calls: number): void {
    if (!(parentRequests > 0)) return;
    const w = weight(this.alpha, parentRequests, this.n);
    const ws = weight(this.alpha / SLOW_SHARE_MEMORY, parentRequests, this.n);
    this.s = (1 - w) * this.s + (w * calls) / parentRequests;
    this.slow = (1 - ws) * this.slow + (ws * calls) / parentRequests;
    this.trend.add(parentRequests, calls / parentRequests);
    this.n += parentRequests;
    this.w++;
  }

  /** Share of parent requests making the call, in [0, 1] for sane input. */
  get share(): number {
    return this.s;
  }

  /**
   * The share a call is usually made at: the lower of {@link share}, a slow one ({@link SLOW_SHARE_MEMORY}×
   * its memory) and, while the share has been falling steadily, where its trend has got to. A call made by
   * most requests only for the last minute (a flushed cache's misses going to the database) is not one they
   * usually make, and its return to normal no missing call; nor is a share still falling (a cache warming
   * up after a start) usual at the level it fell from.
   */
  get usual(): number {
    const usual = Math.min(this.s, this.slow);
    const falling = this.trend.fallingLevel();
    return falling === undefined ? usual : Math.min(usual, falling);
  }

  /** Parent requests learned. */
  get samples(): number {
    return this.n;
  }

  /** Windows learned (calls to {@link learn} with parent requests). */
  get windows(): number {
    return this.w;
  }

  toJSON(): ShareBaselineJSON {
    return { share: this.s, slow: this.slow, samples: this.n, windows: this.w, trend: this.trend.toJSON() };
  }

  /** Replaces the state with {@link toJSON} output; throws a TypeError on anything else. */
  restore(json: unknown): void {
    const s = readState(json, ['share', 'samples'], 'ShareBaseline');
    const windows = (json as ShareBaselineJSON).windows;
    if (windows !== undefined && !Number.isFinite(windows)) throw new RootspanError('ERR_SNAPSHOT_MALFORMED', 'ShareBaseline state field windows must be a finite number');
    const slow = (json as ShareBaselineJSON).slow;
    if (slow !== undefined && !Number.isFinite(slow)) throw new RootspanError('ERR_SNAPSHOT_MALFORMED', 'ShareBaseline state field slow must be a finite number');
    this.s = s.share;
    this.slow = slow ?? s.share;
    this.n = s.samples;
    this.w = windows ?? WINDOWS_BEFORE_COUNTED;
    const trend = (json as ShareBaselineJSON).trend;
    if (trend !== undefined) this.trend.restore(trend);
  }
}

/** JSON state of a {@link CountBaseline}. */
export interface CountBaselineJSON {
  mean: number;
  /** EWMA of the squared count. */
  square: number;
  samples: number;
  windows: number;
}

/**
 * How many times a request that makes a call makes it (an N+1 query pattern is many): EWMAs of the
 * per-request count and of its square over windows, weighted as {@link ShareBaseline}'s, so the variance
 * holds both how requests differ (one customer has 3 orders, another 40) and how windows do.
 */
export class CountBaseline {
  private m = 0;
  private s2 = 0;
  private n = 0;
  private w = 0;

  /** @param alpha EWMA weight of a window of ≥ 10 requests. */
  constructor(private readonly alpha: number) {}

  /** Folds in a window of `requests` that made the call `calls` times in all (`squares`: sum of each one's count squared). */
  learn(requests: number, calls: number, squares: number): void {
    if (!(requests > 0)) return;
    const w = weight(this.alpha, requests, this.n);
    this.m = (1 - w) * this.m + (w * calls) / requests;
    this.s2 = (1 - w) * this.s2 + (w * squares) / requests;
    this.n += requests;
    this.w++;
  }

  /** Calls per request that makes the call. */
  get mean(): number {
    return this.m;
  }

  /** Variance of the per-request count (≥ 0). */
  get variance(): number {
    return Math.max(0, this.s2 - this.m * this.m);
  }

  /** Requests learned. */
  get samples(): number {
    return this.n;
  }

  /** Windows learned. */
  get windows(): number {
    return this.w;
  }

  toJSON(): CountBaselineJSON {
    return { mean: this.m, square: this.s2, samples: this.n, windows: this.w };
  }

  /** Replaces the state with {@link toJSON} output; throws a TypeError on anything else. */
  restore(json: unknown): void {
    const s = readState(json, ['mean', 'square', 'samples', 'windows'], 'CountBaseline');
    this.m = s.mean;
    this.s2 = s.square;
    this.n = s.samples;
    this.w = s.windows;
  }
}
