import type { Span } from '@rootspan/engine';

const byEnd = (a: Span, b: Span): number => a.endTime - b.endTime;

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
 * end time seen is `holdMs` past its own: every service's exporter sends its spans seconds apart, so in
 * file order one service's half of a trace can reach the analyzer well before its caller's half, and be
 * analysed alone. Held for an export period, the halves arrive together, as the server's intake merges
 * live traffic.
 */
export class EndTimeWindow {
  private held: Span[] = [];
  /** `held`'s end times, in its order: merged without reading spans long out of the cache. */
  private ends: number[] = [];
  /** How many of the first `held` spans are in end-time order (what a release left); the rest came since. */
  private sorted = 0;
  private latestEnd = -Infinity;
  /** The latest end time at the last time-based release: releasing at most every quarter of `holdMs`. */
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
      if (s.endTime > this.latestEnd) this.latestEnd = s.endTime;
      if (this.held.length >= this.capacity) this.release(this.held.length - Math.floor(this.capacity / 2));
      else if (holdMs !== undefined && this.latestEnd - this.releasedAt >= holdMs / 4) this.releaseBefore(this.latestEnd - holdMs);
    }
  }

  /** Hands on everything still held. */
  flush(): void {
    if (this.held.length > 0) this.release(this.held.length);
  }

  /** Hands on, in order, the spans that ended before `t`. */
  private releaseBefore(t: number): void {
    this.releasedAt = this.latestEnd;
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
   * Sorts `held` by end time, stably, as `held.sort(byEnd)` would: the spans that came since the last
   * release are sorted alone and merged into the rest (already in order), ties to the earlier ones.
   * Re-sorting all of a 6 s hold every 1.5 s cost the CLI's analysing thread ~0.2 s per 500k spans.
   */
  private sort(): void {
    const held = this.held;
    const ends = this.ends;
    const old = this.sorted;
    const n = held.length;
    this.sorted = n;
    if (old === n) return;
    const fresh = held.slice(old).sort(byEnd);
    if (old === 0 || ends[old - 1] <= fresh[0].endTime) {
      for (let j = 0; j < fresh.length; j++) {
        held[old + j] = fresh[j];
        ends[old + j] = fresh[j].endTime;
      }
      return;
    }
    const merged: Span[] = [];
    const mergedEnds: number[] = [];
    let i = 0;
    let j = 0;
    while (i < old && j < fresh.length) {
      const end = fresh[j].endTime;
      if (ends[i] <= end) {
        merged.push(held[i]);
        mergedEnds.push(ends[i++]);
      } else {
        merged.push(fresh[j++]);
        mergedEnds.push(end);
      }
    }
    for (; i < old; i++) {
      merged.push(held[i]);
      mergedEnds.push(ends[i]);
    }
    for (; j < fresh.length; j++) {
      merged.push(fresh[j]);
      mergedEnds.push(fresh[j].endTime);
    }
    this.held = merged;
    this.ends = mergedEnds;
  }
}
