import type { Span } from '../types.js';

/** Spans of one trace gathered so far. */
export interface TraceEntry {
  traceId: string;
  spans: Span[];
  /**
   * Span id → index in `spans`, once the trace is too large for a linear duplicate check (trace analysis
   * finds parents in it too).
   */
  ids: Map<string, number> | undefined;
  /**
   * A 60-bit filter of the span ids held (two Smis, see {@link idBit}): a new span whose bit is not set
   * cannot be a duplicate, and skips the scan of the trace's spans.
   */
  idBitsLo: number;
  idBitsHi: number;
  /** Span count when the trace was last found missing a parent (-1: never): unchanged, it still is. */
  incompleteAt: number;
  /** Event time of the first and latest arrival. */
  firstAt: number;
  touchedAt: number;
  /** Event time the entry last took its place at the back of the buffer's order. */
  orderedAt: number;
}

export interface TraceBufferLimits {
  maxTraces: number;
  maxSpansPerTrace: number;
  idleMs: number;
  maxWaitMs: number;
}

/** What {@link TraceBuffer.add} did with a span. */
export type AddOutcome = 'ok' | 'duplicate' | 'traceTooLarge';

/** At most this many released entries are kept for reuse. */
const MAX_SPARE = 4096;

/** Up to this many spans, ids are checked by scanning the spans: cheaper than a Map per trace. */
const SCAN_IDS = 16;

/**
 * Gathers spans of a trace that arrive out of order and in different batches. A trace is released when
 * every span's parent is present (or the span is an entry: a root, server or consumer span) and nothing
 * arrived for `idleMs`; one still missing parents is released after `maxWaitMs`. At most `maxTraces` are
 * held: a new trace beyond that releases the least recently updated one early.
 *
 * The Map is kept in order of last update, to within a quarter of `idleMs` (an entry moves to the back,
 * by delete + re-insert, only when its place is older than that: spans of one trace mostly arrive
 * together, and moving on every span costs more than the rest of `add`). Releasing scans from the front
 * and stops at the first trace placed less than `idleMs` ago.
 */
export class TraceBuffer {
  private readonly traces = new Map<string, TraceEntry>();
  /** The trace of the previous span, still held: a service's spans of one request arrive together. */
  private recent: TraceEntry | undefined;
  private lastScan = -Infinity;
  /**
   * Released entries whose consumer let go of their spans (see the Recorder), reused for new traces. Each
   * trace otherwise allocates an entry that lives `idleMs` in event time: in a fast replay that is long
   * enough to be promoted, so the old space would fill with dead entries between full GCs.
   */
  private readonly spare: TraceEntry[] = [];
  /** Traces released before they were ready because the buffer was full. */
  evictedEarly = 0;

  constructor(
    private readonly limits: TraceBufferLimits,
    private readonly release: (entry: TraceEntry) => void,
  ) {}

  get size(): number {
    return this.traces.size;
  }

  add(span: Span, now: number): AddOutcome {
    const recent = this.recent;
    let entry = recent !== undefined && recent.traceId === span.traceId ? recent : this.traces.get(span.traceId);
    if (entry === undefined) {
      if (this.traces.size >= this.limits.maxTraces) this.evictOldest();
      entry = this.spare.pop();
      if (entry === undefined) {
        entry = {
          traceId: span.traceId,
          spans: [],
          ids: undefined,
          idBitsLo: 0,
          idBitsHi: 0,
          incompleteAt: -1,
          firstAt: now,
          touchedAt: now,
          orderedAt: now,
        };
      } else {
        entry.traceId = span.traceId;
        entry.idBitsLo = 0;
        entry.idBitsHi = 0;
        entry.incompleteAt = -1;
        entry.firstAt = now;
        entry.touchedAt = now;
        entry.orderedAt = now;
      }
      this.traces.set(span.traceId, entry);
    } else {
      if (mayHold(entry, span.spanId) && hasSpan(entry, span.spanId)) return 'duplicate';
      if (entry.spans.length >= this.limits.maxSpansPerTrace) return 'traceTooLarge';
      if (now - entry.orderedAt >= this.limits.idleMs / 4) {
        this.traces.delete(span.traceId);
        this.traces.set(span.traceId, entry);
        entry.orderedAt = now;
      }
    }
    this.recent = entry;
    entry.touchedAt = now;
    entry.spans.push(span);
    remember(entry, span.spanId);
    if (entry.ids !== undefined) entry.ids.set(span.spanId, entry.spans.length - 1);
    else if (entry.spans.length > SCAN_IDS) entry.ids = indexIds(entry.spans);
    return 'ok';
  }

  /** Releases every trace that is ready at event time `now`. Cheap to call often. */
  releaseReady(now: number): void {
    // Scanning past traces still waiting for parents costs time, so scan at most four times per idle period.
    if (now - this.lastScan < this.limits.idleMs / 4) return;
    this.lastScan = now;
    const { idleMs, maxWaitMs } = this.limits;
    for (const entry of this.traces.values()) {
      // Entries behind this one were placed later still: none of them can be idle.
      if (now - entry.orderedAt < idleMs) break;
      if (now - entry.touchedAt < idleMs) continue;
      if (now - entry.firstAt >= maxWaitMs || complete(entry)) {
        this.traces.delete(entry.traceId);
        this.forget(entry);
        this.release(entry);
        this.recycle(entry);
      }
    }
  }

  private forget(entry: TraceEntry): void {
    if (this.recent === entry) this.recent = undefined;
  }

  /** Releases everything (end of input). */
  releaseAll(): void {
    this.recent = undefined;
    for (const entry of this.traces.values()) {
      this.traces.delete(entry.traceId);
      this.release(entry);
      this.recycle(entry);
    }
  }

  /** Keeps a released entry for reuse if its consumer emptied it (one that kept the spans keeps the entry). */
  private recycle(entry: TraceEntry): void {
    if (entry.spans.length === 0 && entry.ids === undefined && this.spare.length < MAX_SPARE) this.spare.push(entry);
  }

  private evictOldest(): void {
    const first = this.traces.values().next();
    if (first.done) return;
    this.traces.delete(first.value.traceId);
    this.forget(first.value);
    this.evictedEarly++;
    this.release(first.value);
    this.recycle(first.value);
  }
}

/** Span id → position, built without a pair per span. */
function indexIds(spans: readonly Span[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (let i = 0; i < spans.length; i++) ids.set(spans[i].spanId, i);
  return ids;
}

/** Spans that start a service's local work: roots, servers and consumers. Their parent may live elsewhere. */
export function isEntryKind(span: Span): boolean {
  return !span.parentSpanId || span.kind === 'server' || span.kind === 'consumer';
}

/** Bits of {@link TraceEntry}'s id filter: 30 in each of its two small integers. */
const ID_BITS = 30;

/** The filter bit of a span id, from two of its characters (ids are mostly random hex). */
function idBit(spanId: string): number {
  const n = spanId.length;
  return ((spanId.charCodeAt(n - 1) << 3) ^ spanId.charCodeAt(n >> 1)) % (2 * ID_BITS);
}

function remember(entry: TraceEntry, spanId: string): void {
  const bit = idBit(spanId);
  if (bit < ID_BITS) entry.idBitsLo |= 1 << bit;
  else entry.idBitsHi |= 1 << (bit - ID_BITS);
}

/** False when no span with this id can be in the trace; true when one may be. */
function mayHold(entry: TraceEntry, spanId: string): boolean {
  const bit = idBit(spanId);
  return bit < ID_BITS ? (entry.idBitsLo & (1 << bit)) !== 0 : (entry.idBitsHi & (1 << (bit - ID_BITS))) !== 0;
}

function hasSpan(entry: TraceEntry, spanId: string): boolean {
  if (entry.ids !== undefined) return entry.ids.has(spanId);
  const spans = entry.spans;
  for (let i = 0; i < spans.length; i++) if (spans[i].spanId === spanId) return true;
  return false;
}

/**
 * Whether every span's parent is present (entry spans may have theirs elsewhere). Checked when a trace
 * goes idle rather than kept up to date on every arrival: once per trace instead of work per span.
 */
function complete(entry: TraceEntry): boolean {
  const spans = entry.spans;
  const n = spans.length;
  if (entry.incompleteAt === n) return false;
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    const parent = span.parentSpanId;
    if (parent && !isEntryKind(span) && !(mayHold(entry, parent) && (entry.ids !== undefined ? entry.ids.has(parent) : heldAfter(spans, n, i, parent)))) {
      entry.incompleteAt = n;
      return false;
    }
  }
  return true;
}

/**
 * Whether a span has id `spanId`, searched from `spans[i + 1]` on, wrapping around to `spans[i]`: spans are
 * exported as they end, children before parents, so a parent mostly comes soon after its child.
 */
function heldAfter(spans: readonly Span[], n: number, i: number, spanId: string): boolean {
  for (let j = i + 1; j < n; j++) if (spans[j].spanId === spanId) return true;
  for (let j = 0; j <= i; j++) if (spans[j].spanId === spanId) return true;
  return false;
}
