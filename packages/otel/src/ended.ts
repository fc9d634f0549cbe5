import type { Span } from '@rootspan/engine';
import { hasValidIds, mapSpan } from './map.js';
import type { PeerNames } from './peers.js';
import { prunable } from './prune.js';
import { checkCapacity } from './queue.js';
import type { FinishedSpan } from './sdk.js';

/**
 * Ended spans waiting for the drain, as `onEnd` leaves them: a fixed-capacity ring of parallel,
 * preallocated slots (struct of arrays), so queuing allocates nothing per span beyond what the engine keeps.
 *
 * Why `onEnd` reads the span instead of only queuing it: it runs right after the SDK finished the span, while
 * the span's objects are still in the CPU's caches. Read a second later by the drain, after many other
 * requests' objects went through the same caches (and the span was moved by a scavenge), every span cost
 * cache misses, and pulling them back evicted the host's own data. On the host benchmark's Express service
 * (paired windows at 75 req/s) this saved ~17 µs of server CPU per request, of ~80 that rootspan added.
 * So `onEnd` keeps what the drain needs in this ring:
 *
 * - a span the pruner may leave out (internal, with a parent, not failed: four of the five spans of an Express
 *   request): its trace, span and parent ids only, plus the SDK span itself (a reference; the exporter's
 *   processor holds it anyway), read again only in the rare case that the pruner keeps it after all;
 * - any other span: the engine span, converted right away ({@link mapSpan}: the fields and the analysed
 *   attributes, the same object the drain used to build).
 */
export class EndedSpans {
  /** The engine span (converted in `onEnd`), or null for a span the pruner may leave out. */
  private readonly mapped: Array<Span | null>;
  /** The SDK span of a span the pruner may leave out (null otherwise). */
  private readonly spans: Array<FinishedSpan | null>;
  private readonly traceIds: Array<string | null>;
  private readonly spanIds: Array<string | null>;
  private readonly parentIds: Array<string | null>;
  /** Bit 0: the parent is remote (it ended in another process). */
  private readonly flags: Uint8Array;
  private head = 0;
  private size = 0;

  constructor(
    readonly capacity: number,
    private readonly peers: PeerNames | undefined,
  ) {
    checkCapacity(capacity);
    this.mapped = new Array<Span | null>(capacity).fill(null);
    this.spans = new Array<FinishedSpan | null>(capacity).fill(null);
    this.traceIds = new Array<string | null>(capacity).fill(null);
    this.spanIds = new Array<string | null>(capacity).fill(null);
    this.parentIds = new Array<string | null>(capacity).fill(null);
    this.flags = new Uint8Array(capacity);
  }

  /** Spans waiting. */
  get length(): number {
    return this.size;
  }

  /**
   * Keeps what the drain needs of an ended span; false when the ring is full (nothing kept). A span without
   * valid ids names nothing to analyse: it is accepted and forgotten.
   */
  push(span: FinishedSpan): boolean {
    if (this.size === this.capacity) return false;
    const ctx = span.spanContext();
    const traceId = ctx?.traceId;
    const spanId = ctx?.spanId;
    if (!hasValidIds(traceId, spanId)) return true;
    const parentCtx = span.parentSpanContext;
    let i = this.head + this.size;
    if (i >= this.capacity) i -= this.capacity;
    if (prunable(span)) {
      this.mapped[i] = null;
      this.spans[i] = span;
      this.parentIds[i] = (parentCtx as { spanId: string }).spanId;
    } else {
      this.mapped[i] = mapSpan(span, traceId, spanId as string, this.peers);
      this.spans[i] = null;
      this.parentIds[i] = null;
    }
    this.traceIds[i] = traceId;
    this.spanIds[i] = spanId as string;
    this.flags[i] = parentCtx?.isRemote === true ? 1 : 0;
    this.size++;
    return true;
  }

  /**
   * Hands up to `max` waiting spans to `each`, oldest first, and forgets them: `mapped` is the engine span, or
   * null with `span` set for one the pruner may leave out.
   */
  take(max: number, each: (mapped: Span | null, span: FinishedSpan | null, traceId: string, spanId: string, parentId: string | null, parentRemote: boolean) => void): void {
    const n = Math.min(max, this.size);
    for (let k = 0; k < n; k++) {
      const i = this.head;
      const mapped = this.mapped[i];
      const span = this.spans[i];
      const traceId = this.traceIds[i] as string;
      const spanId = this.spanIds[i] as string;
      const parentId = this.parentIds[i];
      // Released before the call, so the slot is free whatever `each` does.
      this.mapped[i] = null;
      this.spans[i] = null;
      this.traceIds[i] = null;
      this.spanIds[i] = null;
      this.parentIds[i] = null;
      this.head = i + 1 === this.capacity ? 0 : i + 1;
      this.size--;
      each(mapped, span, traceId, spanId, parentId, this.flags[i] === 1);
    }
  }

  /** Forgets everything waiting. */
  clear(): void {
    this.mapped.fill(null);
    this.spans.fill(null);
    this.traceIds.fill(null);
    this.spanIds.fill(null);
    this.parentIds.fill(null);
    this.head = 0;
    this.size = 0;
  }
}
