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
 */
export class LaggedCounts {
  /** index and the two figures per bucket, oldest first. */
  private readonly pending: number[] = [];

  /** Adds bucket `index`'s figures, then hands `learn` those `lag` or more buckets older than it, in order. */
  add(index: number, a: number, b: number, lag: number, learn: (a: number, b: number) => void): void {
    const p = this.pending;
    p.push(index, a, b);
    let done = 0;
    while (done < p.length && index - p[done] >= lag) {
      learn(p[done + 1], p[done + 2]);
      done += 3;
    }
    if (done > 0) p.splice(0, done);
  }

  forget(): void {
    this.pending.length = 0;
  }
}
