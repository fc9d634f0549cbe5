import type { BaselineOptions, ShapeOptions } from '../options.js';
import { ShareBaseline, type ShareBaselineJSON } from '../stats/baseline.js';
import { binomialCdf, binomialSf, pToScore } from '../stats/special.js';
import { quiet, type Verdict } from './verdict.js';

/** A call-shape verdict: whether a usual call went missing or a new one appeared. */
export interface ShapeVerdict extends Verdict {
  change: 'missing' | 'new' | null;
}

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

/**
 * Trace-shape changes for one (parent operation, child call) pair: a call most requests usually make
 * (share ≥ usualShare) that at most half as many now make, with a binomial p-value below pMax; or a call
 * almost never made (share < 1%) that now appears in ≥ newShare of the window's requests, ≥ minCalls
 * times. Judged only after minSamples parent requests were learned (a missing call after
 * {@link MISSING_MIN_WINDOWS} windows too). Anomalies are medium severity.
 */
export class CallShapeDetector {
  readonly baseline: ShareBaseline;
  /** Event time of the last {@link observe} (ms); NaN before any. */
  lastT = NaN;
  /** Consecutive buckets the analyzer held back from learning (a usual call clearly missing). */
  held = 0;

  constructor(
    baseline: BaselineOptions,
    private readonly opts: ShapeOptions,
  ) {
    this.baseline = new ShareBaseline(baseline.alpha);
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

  /** Judges a window, then learns it unless anomalous. */
  observe(t: number, parentRequests: number, calls: number): ShapeVerdict {
    this.lastT = t;
    const v = this.judge(parentRequests, calls);
    if (!v.anomalous) this.learn(parentRequests, calls);
    return v;
  }

  toJSON(): ShareBaselineJSON {
    return this.baseline.toJSON();
  }

  /** Restores the baseline from {@link toJSON} output (throws a TypeError on anything else). */
  restore(json: unknown): void {
    this.baseline.restore(json);
  }
}
