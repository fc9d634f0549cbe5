import type { Span } from '@rootspan/engine';
import { hasValidIds, mapSpan } from './map.js';
import type { PeerNames } from './peers.js';
import type { InternalSpanPruner } from './prune.js';
import { checkCapacity } from './queue.js';
import type { FinishedSpan } from './sdk.js';

/**
 * Ended spans waiting for the drain, as `onEnd` leaves them: a fixed-capacity ring of engine spans, so
 * queuing allocates nothing per span beyond what the engine keeps.
 *
 * `onEnd` does all the per-span work right away, while the span is still in the CPU's caches (read a
 * second later by the drain, after many other requests' objects went through the same caches, every span
 * cost cache misses): it prunes ({@link InternalSpanPruner}: four of the five spans of an Express request,
 * which then take no slot and are never read again) and converts the others ({@link mapSpan}: the fields
 * and the analysed attributes). The ring holds no SDK span, so none is kept alive past the exporter's
 * processor. The drain only hands the engine spans over.
 */
export class EndedSpans {
  private readonly spans: Array<Span | null>;
  /** Per slot, 1 when its span's parent is local: it is re-parented past pruned spans as it is taken. */
  private readonly local: Uint8Array;
  private head = 0;
  private size = 0;

  constructor(
    readonly capacity: number,
    private readonly peers: PeerNames | undefined,
    private readonly pruner: InternalSpanPruner,
  ) {
    checkCapacity(capacity);
    this.spans = new Array<Span | null>(capacity).fill(null);
    this.local = new Uint8Array(capacity);
  }

  /** Spans waiting. */
  get length(): number {
    return this.size;
  }

  /**
   * Prunes or converts and keeps an ended span; false when it had to be kept and the ring is full (nothing
   * kept). A span without valid ids names nothing to analyse: it is accepted and forgotten.
   */
  push(span: FinishedSpan): boolean {
    const ctx = span.spanContext();
    const traceId = ctx?.traceId;
    const spanId = ctx?.spanId;
    if (!hasValidIds(traceId, spanId)) return true;
    const parentCtx = span.parentSpanContext;
    if (this.pruner.prune(span, traceId, spanId as string)) return true;
    if (this.size === this.capacity) return false;
    const mapped = mapSpan(span, traceId, spanId as string, this.peers);
    let i = this.head + this.size;
    if (i >= this.capacity) i -= this.capacity;
    this.spans[i] = mapped;
    this.local[i] = mapped.parentSpanId !== undefined && parentCtx?.isRemote !== true ? 1 : 0;
    this.size++;
    return true;
  }

  /**
   * Up to `max` waiting spans, oldest first, forgotten here. Each is re-parented past the spans pruned so
   * far ({@link InternalSpanPruner.keep}) as it is handed over, not as it ended: a parent that ended after it
   * but before the drain (a Koa middleware's span, which ends after the calls made under the middlewares it
   * wraps) was pruned too.
   */
  take(max: number): Span[] {
    const n = Math.min(max, this.size);
    const out = new Array<Span>(n);
    for (let k = 0; k < n; k++) {
      const i = this.head;
      const span = this.spans[i] as Span;
      if (this.local[i] === 1) this.pruner.keep(span, false);
      out[k] = span;
      this.spans[i] = null;
      this.head = i + 1 === this.capacity ? 0 : i + 1;
    }
    this.size -= n;
    return out;
  }

  /** Forgets everything waiting. */
  clear(): void {
    this.spans.fill(null);
    this.head = 0;
    this.size = 0;
  }
}
