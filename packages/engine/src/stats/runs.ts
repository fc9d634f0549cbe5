import { binomialSf } from './special.js';

/** Weight of one bucket with events in the learned run length, once past the first few. */
const RUN_ALPHA = 0.1;
/** A bucket's events count at most this many times what independent events would give (a fault's bucket learned before it fired). */
const MAX_RUN = 5;

/** JSON state of a {@link RunLength} (absent in snapshots from before it: 1, independent). */
export interface RunLengthJSON {
  runs?: number;
  runBuckets?: number;
}

/**
 * How many events (errors, calls given up on) a bucket that has any usually holds, over what independent
 * events at the learned rate would give: 1 when requests fail one at a time, about k when they fail k in a
 * row (a reset connection failing the requests queued on it, a retry failing again, a callee stalled for a
 * few consecutive calls). At least 1. Rate tests divide their counts by it (quasi-binomial), as the traffic
 * test divides by the traffic's dispersion, so a run counts as the one event it is.
 */
export class RunLength {
  private runs = 1;
  private buckets = 0;

  get value(): number {
    return Math.max(1, this.runs);
  }

  /** Learns a bucket of `trials` with `events`, given the rate `p` learned before it. */
  learn(trials: number, events: number, p: number): void {
    if (!(events > 0) || !(p > 0 && p < 1)) return;
    // Events independent at rate p give n·p / (1 − (1 − p)^n) events in a bucket that has any.
    const expected = (trials * p) / -Math.expm1(trials * Math.log1p(-p));
    const w = Math.max(RUN_ALPHA, 1 / (this.buckets + 2));
    this.runs = (1 - w) * this.runs + w * Math.min(MAX_RUN, events / expected);
    this.buckets++;
  }

  /** P(≥ `events` of `trials`) at rate `p`, runs counted as runs. */
  sf(events: number, trials: number, p: number): number {
    const c = this.value;
    return binomialSf(events / c, trials / c, p);
  }

  toJSON(): Required<RunLengthJSON> {
    return { runs: this.runs, runBuckets: this.buckets };
  }

  /** Restores from {@link toJSON} output; anything else (an older snapshot) counts events as independent. */
  restore(json: RunLengthJSON): void {
    const { runs, runBuckets } = json;
    this.runs = typeof runs === 'number' && runs > 0 && runs <= MAX_RUN ? runs : 1;
    this.buckets = typeof runBuckets === 'number' && runBuckets >= 0 && Number.isFinite(runBuckets) ? runBuckets : 0;
  }
}
