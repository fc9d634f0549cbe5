/**
 * Emulates each service's BatchSpanProcessor: a span is queued when it ends and exported at the
 * service's next timer tick. Services' timers are not aligned (each gets a seeded phase), so the spans
 * of one trace reach the Collector in several batches, children before parents, remote parts later.
 */
import type { Span } from '@rootspan/engine';
import { hashString, mix32 } from './random.js';
import type { SpanBatch } from './types.js';

function byEndTime(a: Span, b: Span): number {
  return a.endTime - b.endTime;
}

export class Batcher {
  /** Timer offset of each service within the interval, ms. */
  private readonly phase: number[];
  /** Services in increasing phase: the flush order within one interval. */
  private readonly order: number[];
  /** Interval number -> per-service queue. */
  private readonly slots = new Map<number, Array<Span[] | undefined>>();
  /** Lowest interval number not yet emitted. */
  private next: number;

  constructor(
    private readonly services: readonly string[],
    private readonly intervalMs: number,
    private readonly maxBatch: number,
    seed: number,
    start: number,
  ) {
    if (!(intervalMs > 0) || !(maxBatch >= 1)) throw new Error('batchIntervalMs and maxBatchSize must be positive');
    this.phase = services.map((name) => (mix32(seed ^ hashString(name)) / 4294967296) * intervalMs);
    this.order = services.map((_, i) => i).sort((a, b) => this.phase[a] - this.phase[b] || a - b);
    this.next = Math.floor(start / intervalMs) - 1;
  }

  /** Queues a finished span of service `s` for its next export tick. */
  add(s: number, span: Span): void {
    const k = Math.ceil((span.endTime - this.phase[s]) / this.intervalMs);
    let slot = this.slots.get(k);
    if (slot === undefined) {
      slot = new Array<Span[] | undefined>(this.services.length);
      this.slots.set(k, slot);
    }
    const q = slot[s];
    if (q === undefined) slot[s] = [span];
    else q.push(span);
  }

  /**
   * Emits (into `out`) every batch whose export time is before `t`. Safe once no span ending before `t`
   * can still be added, i.e. `t` is the start of the next request: spans never end before they start.
   */
  drainBefore(t: number, out: SpanBatch[]): void {
    while ((this.next + 1) * this.intervalMs <= t) {
      this.emit(this.next, out);
      this.next++;
    }
  }

  /** Emits everything still queued, in export order. */
  drainAll(out: SpanBatch[]): void {
    const keys = [...this.slots.keys()].sort((a, b) => a - b);
    for (const k of keys) this.emit(k, out);
    this.next = keys.length ? keys[keys.length - 1] + 1 : this.next;
  }

  private emit(k: number, out: SpanBatch[]): void {
    const slot = this.slots.get(k);
    if (slot === undefined) return;
    this.slots.delete(k);
    for (const s of this.order) {
      const q = slot[s];
      if (q === undefined) continue;
      q.sort(byEndTime);
      const flushAt = k * this.intervalMs + this.phase[s];
      for (let i = 0; i < q.length; i += this.maxBatch) {
        out.push({ service: this.services[s], flushAt, spans: q.length <= this.maxBatch ? q : q.slice(i, i + this.maxBatch) });
      }
    }
  }
}
