/** Long calls kept per caller and callee: a pool's worth, and some. */
const SAMPLES = 32;
/** A kept call that ended this long before a new one gives its place up first (the longest window, 60 s, and as much). */
const STALE_MS = 120_000;

/**
 * A service's recent calls to one callee (a database) that took `LOOP_MIN_SHIFT_MS` or more beyond their
 * statement's typical time, each holding a pooled connection meanwhile. Seen from outside (no calls in
 * flight), they say what a pool's waits waited for: a row lock held ten `SELECT … FOR UPDATE` for up to
 * 29.6 s, a pool of ten, while every other request waited in `pg-pool.connect`, and the statements' typical
 * time (3.1 ms over 420 calls) never moved.
 */
export class HeldCalls {
  private readonly from = new Float64Array(SAMPLES);
  private readonly to = new Float64Array(SAMPLES);
  private readonly key: string[] = new Array<string>(SAMPLES).fill('');
  private next = 0;
  /** What {@link most} and {@link longest} answer (reused: read it at once). */
  private readonly found = { key: '', ms: 0 };

  /**
   * A call of statement `key` from `from` to `to`. Once all are taken it replaces one ended before the longest
   * window, else the shortest kept (if shorter than it): a lock's ten 30 s waits are what a pool's waits
   * waited for, not the hundreds of calls its backlog then slowed by a few hundred ms, which came after.
   */
  note(key: string, from: number, to: number): void {
    let at = this.next;
    if (this.key[at] !== '' && this.to[at] >= to - STALE_MS) {
      for (let i = 0; i < SAMPLES; i++) {
        if (this.to[i] < to - STALE_MS) {
          at = i;
          break;
        }
        if (this.to[i] - this.from[i] < this.to[at] - this.from[at]) at = i;
      }
      if (this.to[at] >= to - STALE_MS && this.to[at] - this.from[at] >= to - from) return;
    }
    this.from[at] = from;
    this.to[at] = to;
    this.key[at] = key;
    if (at === this.next) this.next = (this.next + 1) % SAMPLES;
  }

  /**
   * Adds the durations (ms) of statement `key`'s held calls that ended from `since` on to `into`; returns
   * whether the count may be short (every call kept is one of them).
   */
  collect(key: string, since: number, into: number[]): boolean {
    let calls = 0;
    for (let i = 0; i < SAMPLES; i++) {
      if (this.key[i] !== key || this.to[i] < since) continue;
      calls++;
      into.push(this.to[i] - this.from[i]);
    }
    return calls === SAMPLES;
  }

  /** The longest call kept that ended from `since` on: its statement and length (ms); undefined if none. */
  longest(since: number): { key: string; ms: number } | undefined {
    let best = -1;
    for (let i = 0; i < SAMPLES; i++) {
      if (this.key[i] === '' || this.to[i] < since) continue;
      if (best < 0 || this.to[i] - this.from[i] > this.to[best] - this.from[best]) best = i;
    }
    if (best < 0) return undefined;
    this.found.key = this.key[best];
    this.found.ms = this.to[best] - this.from[best];
    return this.found;
  }

  /** The statement whose one call overlapped `start`..`end` most, and by how much (ms); undefined if none did. */
  most(start: number, end: number): { key: string; ms: number } | undefined {
    let best = -1;
    let most = 0;
    for (let i = 0; i < SAMPLES; i++) {
      if (this.key[i] === '') continue;
      const overlap = Math.min(end, this.to[i]) - Math.max(start, this.from[i]);
      if (overlap > most) {
        most = overlap;
        best = i;
      }
    }
    if (best < 0) return undefined;
    this.found.key = this.key[best];
    this.found.ms = most;
    return this.found;
  }
}
