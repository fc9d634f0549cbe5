import type { Span } from '@rootspan/engine';

/**
 * Event time a streamed span is held for its trace's other spans: the SDK BatchSpanProcessor's 5 s export
 * delay plus the export itself.
 */
export const EXPORT_HOLD_MS = 6000;

/**
 * Hands spans on in end-time order within a bounded window (`rootspan analyze`, and `rootspan serve` for
 * recorded data). An OTLP document lists each service's spans
 * together, so in file order a later service's spans would reach the analyzer minutes "late"; sorting the
 * whole document would hold all of it. The window holds up to `capacity` spans: when full, the earlier
 * half (by end time) goes on and the rest waits, so memory stays bounded and only disorder wider than
 * the window remains (which the analyzer counts as late, never silently).
 *
 * With `holdMs` (streamed JSONL: each line is one exporter's batch), a span also goes on once the latest
 * start time seen is `holdMs` past its end: every service's exporter sends its spans seconds apart, so in
 * file order one service's half of a trace can reach the analyzer well before its caller's half, and be
 * analysed alone. Held for an export period, the halves arrive together, as the server's intake merges
 * live traffic. Starts, not ends, say how far the input has got: a file written as spans start (a
 * generator's, a per-trace download's) lists a long span (a 50 s job) where it began, and its end, far
 * ahead of the spans around it, would hand them all on at once and then the long span, moving the
 * analyzer's clock past the spans still to come (dropped as late).
 */
export class EndTimeWindow {
  private held: Span[] = [];
  /** `held`'s end times, in its order: merged without reading spans long out of the cache. */
  private ends: number[] = [];
  /** How many of the first `held` spans are in end-time order (what a release left); the rest came since. */
  private sorted = 0;
  /** The latest start time seen (a span's end when it ends before it starts). */
  private latestStart = -Infinity;
  /** The latest start time at the last time-based release: releasing at most every quarter of `holdMs`. */
  private releasedAt = -Infinity;

  constructor(
    private readonly capacity: number,
    private readonly deliver: (spans: Span[]) => void,
    private readonly holdMs?: number,
  ) {}

  /**
   * Takes spans in input order. Whether to hand some on is decided after each span, so what is handed on,
   * and when, depends only on the order of the spans, never on how they were split into calls (a reader's
   * batches differ with its threads).
   */
  push(spans: readonly Span[]): void {
    const holdMs = this.holdMs;
    for (const s of spans) {
      this.held.push(s);
      this.ends.push(s.endTime);
      const start = s.startTime < s.endTime ? s.startTime : s.endTime;
      if (start > this.latestStart) this.latestStart = start;
      if (this.held.length >= this.capacity) this.release(this.held.length - Math.floor(this.capacity / 2));
      else if (holdMs !== undefined && this.latestStart - this.releasedAt >= holdMs / 4) this.releaseBefore(this.latestStart - holdMs);
    }
  }

  /** Hands on everything still held. */
  flush(): void {
    if (this.held.length > 0) this.release(this.held.length);
  }

  /** Hands on, in order, the spans that ended before `t`. */
  private releaseBefore(t: number): void {
    this.releasedAt = this.latestStart;
    this.sort();
    let lo = 0;
    let hi = this.held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) this.deliver(this.take(lo));
  }

  private release(n: number): void {
    this.sort();
    this.deliver(this.take(n));
  }

  /** The first `n` held spans (sorted), no longer held; the rest stay in order. */
  private take(n: number): Span[] {
    const out = this.held.splice(0, n);
    this.ends.splice(0, n);
    this.sorted = this.held.length;
    return out;
  }

  /**
   * Sorts `held` by end time, stably (as `held.sort((a, b) => a.endTime - b.endTime)` would): the spans
   * that came since the last release are sorted alone and merged into the rest (already in order), ties
   * to the earlier ones. Re-sorting all of a 6 s hold every 1.5 s was the CLI's analysing
   * thread's largest cost outside the engine in a CPU profile (258 MB file).
   */
  private sort(): void {
    const held = this.held;
    const ends = this.ends;
    const old = this.sorted;
    const n = held.length;
    this.sorted = n;
    if (old === n) return;
    const fresh = held.slice(old);
    const freshEnds = ends.slice(old);
    sortByEnd(fresh, freshEnds);
    if (old === 0 || ends[old - 1] <= freshEnds[0]) {
      for (let j = 0; j < fresh.length; j++) {
        held[old + j] = fresh[j];
        ends[old + j] = freshEnds[j];
      }
      return;
    }
    const merged: Span[] = [];
    const mergedEnds: number[] = [];
    let i = 0;
    let j = 0;
    while (i < old && j < fresh.length) {
      if (freshEnds[j] < ends[i]) {
        merged.push(fresh[j]);
        mergedEnds.push(freshEnds[j++]);
      } else {
        merged.push(held[i]);
        mergedEnds.push(ends[i++]);
      }
    }
    for (; i < old; i++) {
      merged.push(held[i]);
      mergedEnds.push(ends[i]);
    }
    for (; j < fresh.length; j++) {
      merged.push(fresh[j]);
      mergedEnds.push(freshEnds[j]);
    }
    this.held = merged;
    this.ends = mergedEnds;
  }
}

/**
 * Sorts `spans` by their end times `ends` (sorted alongside), stably: a merge sort of the runs already in
 * order (each exporter's batch mostly is), comparing numbers in place of calling a comparator on spans.
 */
export function sortByEnd(spans: Span[], ends: number[]): void {
  const n = spans.length;
  let runs = [0];
  for (let i = 1; i < n; i++) if (ends[i] < ends[i - 1]) runs.push(i);
  runs.push(n);
  let a = spans;
  let ae = ends;
  let b = new Array<Span>(n);
  let be = new Array<number>(n);
  while (runs.length > 2) {
    const next = [0];
    for (let r = 0; r + 1 < runs.length; r += 2) {
      const lo = runs[r];
      const mid = runs[r + 1];
      const hi = r + 2 < runs.length ? runs[r + 2] : mid;
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (ae[j] < ae[i]) {
          b[k] = a[j];
          be[k++] = ae[j++];
        } else {
          b[k] = a[i];
          be[k++] = ae[i++];
        }
      }
      for (; i < mid; i++, k++) {
        b[k] = a[i];
        be[k] = ae[i];
      }
      for (; j < hi; j++, k++) {
        b[k] = a[j];
        be[k] = ae[j];
      }
      next.push(hi);
    }
    [a, b] = [b, a];
    [ae, be] = [be, ae];
    runs = next;
  }
  if (a !== spans) {
    for (let i = 0; i < n; i++) {
      spans[i] = a[i];
      ends[i] = ae[i];
    }
  }
}
