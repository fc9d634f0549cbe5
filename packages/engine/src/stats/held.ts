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
