import type { ProportionBaseline } from './baseline.js';

/**
 * Buckets of counts (trials, events) held back from a rate's learning while they might be the start of a
 * fault, learned once `holdBuckets` buckets have passed without an anomaly ({@link forget} drops them when
 * one fires: they are part of it). A fault on a sparse operation must not raise the rate it is judged
 * against while later windows gather the evidence, and what turns out to be normal (errors or slow
 * requests that come a few at a time) is learned all the same, only later.
 */
export class HeldCounts {
  /** trials, events pairs, oldest first. */
  private readonly held: number[] = [];
  private since = 0;

  /** Holds back bucket `index`'s counts. */
  hold(index: number, trials: number, events: number): void {
    if (this.held.length === 0) this.since = index;
    this.held.push(trials, events);
  }

  /** At bucket `index`, once the oldest held is `holdBuckets` old, hands everything held to `learn`, in order. */
  release(index: number, holdBuckets: number, learn: (trials: number, events: number) => void): void {
    if (this.held.length === 0 || index - this.since < holdBuckets) return;
    for (let i = 0; i < this.held.length; i += 2) learn(this.held[i], this.held[i + 1]);
    this.held.length = 0;
  }

  forget(): void {
    this.held.length = 0;
  }
}

/**
 * Buckets of two figures each (an error rate's requests and errors, a slow share's judged and slow
 * requests, a traffic rate's request count and bucket length) learned only once they are `lag` buckets
 * old: a window of the last `lag` buckets is judged against a baseline that has not seen them ({@link forget}
 * drops them when an anomaly fires: they are part of it). Learned as it came, a small, steady rise (8 %
 * errors on a route that fails 0.2 % of the time, a request or two a bucket) lifted the baseline faster than
 * its windows gathered the errors to prove it.
 *
 * Bucket indexes increase from call to call (buckets close in order). The figures wait in slots by index
 * (one array of pairs, made on the first bucket that has to wait, grown only for a longer lag): four of
 * these per operation, at the cardinality cap, kept in lists of (index, a, b) triples grown by push, were
 * 3.2 MB of the memory benchmark's heap.
 */
export class LaggedCounts {
  /** Bucket i's figures at pair i mod (length / 2); NaN first: no bucket waiting there. */
  private slots: number[] | undefined = undefined;
  /** Oldest and newest index that may be waiting (first > last: none). */
  private first = 0;
  private last = -1;

  /** Adds bucket `index`'s figures, then hands `learn` those `lag` or more buckets older than it, in order. */
  add(index: number, a: number, b: number, lag: number, learn: (a: number, b: number) => void): void {
    const until = index - lag;
    const slots = this.slots;
    if (slots !== undefined) {
      const n = slots.length >> 1;
      const end = Math.min(this.last, until);
      let i = this.first;
      for (; i <= end; i++) {
        const s = slotOf(i, n);
        if (!Number.isNaN(slots[s])) {
          learn(slots[s], slots[s + 1]);
          slots[s] = NaN;
        }
      }
      this.first = i;
    }
    if (index <= until) {
      learn(a, b);
      return;
    }
    if (this.first > this.last) this.first = index;
    this.put(index, a, b);
    this.last = index;
  }

  /** Puts bucket `index` (newer than any waiting) in its slot, the array made or grown to hold every index waiting. */
  private put(index: number, a: number, b: number): void {
    let slots = this.slots;
    const span = index - this.first + 1;
    if (slots === undefined || span > slots.length >> 1) {
      const grown: number[] = new Array(2 * Math.max(span, MIN_SLOTS)).fill(NaN);
      if (slots !== undefined) {
        const n = slots.length >> 1;
        const m = grown.length >> 1;
        for (let i = this.first; i <= this.last; i++) {
          const from = slotOf(i, n);
          const to = slotOf(i, m);
          grown[to] = slots[from];
          grown[to + 1] = slots[from + 1];
        }
      }
      this.slots = slots = grown;
    }
    const s = slotOf(index, slots.length >> 1);
    slots[s] = a;
    slots[s + 1] = b;
  }

  forget(): void {
    const slots = this.slots;
    if (slots !== undefined) for (let i = 0; i < slots.length; i += 2) slots[i] = NaN;
    this.first = 0;
    this.last = -1;
  }
}

/** Where bucket `index`'s pair is in an array of `n` pairs (a negative index too). */
function slotOf(index: number, n: number): number {
  return 2 * (((index % n) + n) % n);
}

/** Slots a {@link LaggedCounts} is made with: a ring's buckets and the one being added, the longest lag its users ask. */
const MIN_SLOTS = 13;

/** Standard errors of a learned rate that must fit in the smallest rise looked for before buckets are held back a ring (see {@link LaggedRate}). */
const SETTLED_Z = 3;
/** Buckets a ready rate not yet settled holds buckets back: the judge's middle window (`WINDOWS[1]`, 15 s). */
const YOUNG_LAG = 3;

/**
 * A proportion's buckets (trials, events: requests and errors, calls and calls given up on) learned late:
 * at once while the baseline is not ready (learned from its start, failures and all), {@link YOUNG_LAG}
 * buckets later while it is not settled, then once they are `lagBuckets` old (the judge's longest window),
 * unless an anomaly fired meanwhile ({@link forget}): each window is judged against a baseline that has not
 * seen it. A fault on a sparse operation, or a small rise on a busy one, must not raise the baseline while
 * the windows gather the events to prove it (8 % errors, learned as they came, lifted a 0.2 % baseline out
 * of the sensitive rule's reach within a minute at most traffic rates; a recommender's give-ups, 0.1 % →
 * 1.9 % in the fault's first 15 s); events that turn out to be normal are learned all the same, only a
 * window later.
 */
export class LaggedRate {
  /** Buckets not learned yet. */
  private readonly pending = new LaggedCounts();
  /** Index and trials of the buckets of the last ring with trials, oldest first (see {@link settled}). */
  private readonly recent: number[] = [];
  /** Their trials. */
  private recentTrials = 0;
  /** The first bucket learned (NaN before). */
  private firstIndex = NaN;

  /**
   * `rise(p)`: the smallest rise above rate `p` the detector's sensitive rule looks for; `learn` learns a
   * bucket's counts into `baseline`.
   */
  constructor(
    private readonly baseline: ProportionBaseline,
    private readonly rise: (p: number) => number,
    private readonly learn: (trials: number, events: number) => void,
  ) {}

  /** Adds bucket `index`, and learns what is old enough. */
  add(index: number, trials: number, events: number, lagBuckets: number): void {
    const recent = this.recent;
    let from = 0;
    while (from < recent.length && recent[from] <= index - lagBuckets) this.recentTrials -= recent[(from += 2) - 1];
    if (from > 0) recent.splice(0, from);
    recent.push(index, trials);
    this.recentTrials += trials;
    if (!(this.firstIndex <= index)) this.firstIndex = index;
    const lag = !this.baseline.ready ? 0 : this.settled(index, lagBuckets) ? lagBuckets : Math.min(lagBuckets, YOUNG_LAG);
    this.pending.add(index, trials, events, lag, this.learn);
  }

  /** Drops the buckets not learned yet: an anomaly fired, and they are part of it. */
  forget(): void {
    this.pending.forget();
  }

  /**
   * Whether the learned rate is known well enough to hold buckets back from it a ring: its standard error at
   * most a third of the smallest rise looked for, or the baseline holds at least a third of the trials of
   * the last `lagBuckets` buckets, once it has seen that many (its standard error is then at most √3 times a
   * window's, which testing against its upper bound leaves room for). Held back a ring from a busy
   * operation's first seconds, a rate under-learned there (1 error in 71 requests of a steady 5 %) stayed
   * where it was, the first minute's windows fired on the operation's usual rate, nothing was learned while
   * they did, and its normal errors were an incident for good.
   */
  private settled(index: number, lagBuckets: number): boolean {
    const b = this.baseline;
    const p = b.rate;
    const rise = this.rise(p);
    if (SETTLED_Z * SETTLED_Z * p * (1 - p) <= rise * rise * b.trials) return true;
    return index - this.firstIndex >= lagBuckets && 3 * b.trials >= this.recentTrials;
  }
}
