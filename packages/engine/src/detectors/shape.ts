import type { BaselineOptions, ShapeOptions } from '../options.js';
import type { CallTimes } from '../ops/bucket.js';
import { CountBaseline, ShareBaseline, type CountBaselineJSON, type ShareBaselineJSON } from '../stats/baseline.js';
import { binomialCdf, binomialSf, normalSf, pToScore } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';

/** A call-shape verdict: whether a usual call went missing, a new one appeared, or requests make it more times. */
export interface ShapeVerdict extends Verdict {
  change: 'missing' | 'new' | 'more' | null;
}

/** JSON state of a {@link CallShapeDetector}: its share, and how many times per request (absent from older snapshots). */
export type CallShapeJSON = ShareBaselineJSON & { counts?: CountBaselineJSON };

/** Below this learned share a call counts as "not made before". */
const NEW_SHARE_MAX = 0.01;
/** A call is "new" only against this many parent requests without it: a rare call may not show in a few. */
const NEW_MIN_SAMPLES = 50;

/** Wilson lower bound (z = 2) of a share observed over n trials. */
function wilsonLower(share: number, n: number): number {
  const z2 = 4;
  const centre = share + z2 / (2 * n);
  const spread = 2 * Math.sqrt((share * (1 - share)) / n + z2 / (4 * n * n));
  return Math.max(0, (centre - spread) / (1 + z2 / n));
}

/**
 * A verdict of no change. Extended in place rather than copied with `{ ...quiet(), change }`: V8 let those
 * copies reach the old space, where they piled up until the next full GC (the judge makes
 * several per operation at every bucket close: a third of the memory benchmark's old-space growth).
 */
function quietShape(observed: number, expected: number, ready: boolean, score?: number, pValue?: number): ShapeVerdict {
  const v = quiet(observed, expected, ready, score, pValue) as ShapeVerdict;
  v.change = null;
  return v;
}

/**
 * A usual call is judged missing only once its share was learned over this many windows (30 s of 5 s
 * buckets): a share learned from a start-up's first requests may be the start-up's own, like the session
 * set-up statements (`SET`) a connection pool's first requests run, which later requests do not.
 */
const MISSING_MIN_WINDOWS = 6;

/** A missing call is tested against 90% of its usual share: tolerant of a slow drift in the mix. */
const MISSING_TEST_FACTOR = 0.9;

/** Requests must make a call this many times more often than usual to be an N+1-like change. */
export const MORE_RATIO = 3;
/** Normal window-to-window wobble of the calls per request, relative: guards huge windows (as latency's driftSigma). */
const MORE_DRIFT = 0.1;
/** A window whose calls per request are up this significantly (p) is held back from learning them. */
const MORE_HOLD_P = 0.05;

/**
 * Trace-shape changes for one (parent operation, child call) pair: a call most requests usually make
 * (share ≥ usualShare) that at most half as many now make, with a binomial p-value below pMax; or a call
 * almost never made (share < 1%) that now appears in ≥ newShare of the window's requests, ≥ minCalls
 * times. Judged only after minSamples parent requests were learned (a missing call after
 * {@link MISSING_MIN_WINDOWS} windows too). Anomalies are medium severity.
 */
export class CallShapeDetector {
  readonly baseline: ShareBaseline;
  /** How many times a request that makes the call makes it (see {@link judgeCount}). */
  readonly counts: CountBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;
  /** Consecutive buckets the analyzer held back from learning (a usual call clearly missing). */
  held = 0;
  /** Consecutive buckets held back from learning the calls per request (clearly more than usual). */
  countHeld = 0;

  constructor(
    baseline: BaselineOptions,
    private readonly opts: ShapeOptions,
  ) {
    this.baseline = new ShareBaseline(baseline.alpha);
    this.counts = new CountBaseline(baseline.alpha);
  }

  /** Judges a window without learning it; observed/expected are shares of parent requests (0..1). */
  judge(parentRequests: number, calls: number): ShapeVerdict {
    const b = this.baseline;
    const o = this.opts;
    const share = b.share;
    const ready = b.samples >= o.minSamples;
    const observed = parentRequests > 0 ? calls / parentRequests : 0;
    if (!ready || !(parentRequests > 0)) return quietShape(observed, share, ready);
    // Not ready to say a call is missing: the window is learned, not held back.
    if (observed < share && b.windows < MISSING_MIN_WINDOWS) return quietShape(observed, share, false);
    let change: ShapeVerdict['change'] = null;
    let pValue: number;
    let expected = share;
    if (observed < share) {
      // Tested against what the usual share could still be: 90% of it, and no more than its lower
      // confidence bound, so a share learned from a dozen requests is not taken as certain.
      expected = b.usual;
      pValue = binomialCdf(calls, parentRequests, Math.min(expected * MISSING_TEST_FACTOR, wilsonLower(expected, b.samples)));
      if (expected >= o.usualShare && observed <= expected / 2 && pValue < o.pMax) change = 'missing';
    } else {
      // A share learned as 0 would make any call infinitely unlikely; one call in all requests seen is
      // the most the baseline can rule out.
      pValue = binomialSf(calls, parentRequests, Math.max(share, 1 / b.samples));
      if (share < NEW_SHARE_MAX && b.samples >= NEW_MIN_SAMPLES && calls >= o.minCalls && observed >= o.newShare) change = 'new';
    }
    const score = pToScore(pValue);
    if (change === null) return quietShape(observed, share, true, score, pValue);
    return { anomalous: true, score, pValue, observed, expected, severity: 'medium', ready: true, change };
  }

  /**
   * Whether {@link judge} could find a change at all: a usual call made by half as many requests or
   * fewer, or a call almost never made that now is (the very numbers judge compares). No p-value: the
   * judge asks this of every operation, callee and window at every bucket.
   */
  mayFire(parentRequests: number, calls: number): boolean {
    const b = this.baseline;
    const o = this.opts;
    if (!(b.samples >= o.minSamples) || !(parentRequests > 0)) return false;
    const share = b.share;
    const observed = calls / parentRequests;
    if (observed < share) {
      const usual = b.usual;
      return usual >= o.usualShare && observed <= usual / 2 && b.windows >= MISSING_MIN_WINDOWS;
    }
    return share < NEW_SHARE_MAX && b.samples >= NEW_MIN_SAMPLES && calls >= o.minCalls && observed >= o.newShare;
  }

  /** Learns a window (the analyzer passes only non-anomalous ones). */
  learn(parentRequests: number, calls: number): void {
    this.baseline.learn(parentRequests, calls);
  }

  /**
   * Judges how many times the window's `requests` that made the call made it (`t`) against the learned
   * calls per request: an N+1 pattern (a loop of queries where there was one, a page size gone from 5 to
   * 60). Fires at {@link MORE_RATIO}× the usual count or more, with a normal test (see countPValue) below
   * the `pMax` of missing calls; judged once `minSamples` requests and six windows were learned, and only on
   * windows of at least `minCalls` requests. Medium severity, as other call-shape changes.
   */
  judgeCount(requests: number, t: CallTimes): ShapeVerdict {
    const c = this.counts;
    const expected = c.mean;
    const observed = requests > 0 ? t.calls / requests : 0;
    const ready = this.countsReady();
    if (!ready || !(requests >= this.opts.minCalls)) return quietShape(observed, expected, ready);
    const pValue = this.countPValue(requests, t);
    const score = pToScore(pValue);
    if (!(observed >= MORE_RATIO * expected && pValue < this.opts.pMax)) return quietShape(observed, expected, true, score, pValue);
    return { anomalous: true, score, pValue, observed, expected, severity: 'medium', ready: true, change: 'more' };
  }

  /** Whether {@link judgeCount} could fire at all: ready, enough requests, and the ratio (no p-value). */
  mayFireCount(requests: number, t: CallTimes): boolean {
    return this.countsReady() && requests >= this.opts.minCalls && t.calls >= MORE_RATIO * this.counts.mean * requests;
  }

  /** Calls per request that makes the call, once {@link countsReady}. */
  usualCount(): number | undefined {
    return this.countsReady() ? this.counts.mean : undefined;
  }

  /** The calls per request were learned over `minSamples` requests and six windows. */
  private countsReady(): boolean {
    return this.counts.samples >= this.opts.minSamples && this.counts.windows >= MISSING_MIN_WINDOWS;
  }

  /**
   * Learns a bucket's calls per request, unless they are clearly up ({@link MORE_RATIO}×, p < 0.05) and
   * have not been for a whole ring yet (`ring` buckets): a change on a sparse route is not learned while its
   * windows gather the requests to prove it; one that lasts longer is the new normal.
   */
  learnCount(requests: number, t: CallTimes, ring: number): void {
    if (!(requests > 0)) return;
    const c = this.counts;
    const observed = t.calls / requests;
    const up = c.samples > 0 && observed >= MORE_RATIO * c.mean && this.countPValue(requests, t) < MORE_HOLD_P;
    this.countHeld = up ? this.countHeld + 1 : 0;
    if (this.countHeld === 0 || this.countHeld > ring) c.learn(requests, t.calls, t.squares);
  }

  /**
   * One-sided p-value of the window's calls per request against the learned mean. The variance is the
   * largest of the learned one, the window's own (a few requests that make 40 calls where most make 3 are
   * the spread of the counts, not a shift of them) and the count itself (Poisson).
   */
  private countPValue(requests: number, t: CallTimes): number {
    const c = this.counts;
    const expected = c.mean;
    const observed = t.calls / requests;
    const own = requests > 1 ? ((t.squares / requests - observed * observed) * requests) / (requests - 1) : 0;
    const sd = Math.sqrt(Math.max(c.variance, own, expected) / requests + (MORE_DRIFT * expected) ** 2);
    return sd > 0 ? normalSf((observed - expected) / sd) : observed > expected ? 0 : 1;
  }

  /** Judges a window, then learns it unless anomalous. */
  observe(t: number, parentRequests: number, calls: number): ShapeVerdict {
    this.lastT = t;
    const v = this.judge(parentRequests, calls);
    if (!v.anomalous) this.learn(parentRequests, calls);
    return v;
  }

  toJSON(): CallShapeJSON {
    return { ...this.baseline.toJSON(), counts: this.counts.toJSON() };
  }

  /** Restores the baselines from {@link toJSON} output (throws a TypeError on anything else). */
  restore(json: unknown): void {
    this.baseline.restore(json);
    const counts = (json as CallShapeJSON).counts;
    if (counts !== undefined) this.counts.restore(counts);
  }
}
