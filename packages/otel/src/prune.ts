import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Span } from '@rootspan/engine';
import { hashPair, pairB } from './hash.js';
import { parentIdOf } from './map.js';
import type { FinishedSpan } from './sdk.js';

/**
 * Pruned spans (and awaited parents) remembered per generation: with four pruned spans per request, the
 * last few thousand requests of a busy service; a span ending later than that under a pruned parent keeps
 * its parent's id (as a straggler does anyway).
 */
const IDS_PER_GENERATION = 16_384;
/** Pruned ancestors followed up from one kept span at most (a malformed cycle stops here). */
const MAX_HOPS = 64;

/** Slots of a generation's table: twice its ids, so it is at most half full and probes stay short. */
const SLOTS = 2 * IDS_PER_GENERATION;

/**
 * Span ids with a value each, in the trace they belong to: found by span id, answered only for the same
 * trace, so span ids that repeat across traces (a test's or a custom generator's counters) never mix two
 * traces. An open-addressing table (linear probing) over preallocated arrays: a note costs one pass over the
 * id for its two hashes and a probe or two, allocates nothing, and a generation is emptied by zeroing its slots. A `Map` here
 * cost ~6× as much per note, most of it in rehashing and collecting tables that fill and are dropped.
 *
 * An id is held as its two hashes ({@link hashPair}: 60 bits; two of the 32k ids held agree
 * in both about once in 10^9 tables), not as its string: the pruned spans' ids are referenced from nowhere
 * else, and holding them for the few thousand requests a generation lasts had V8 copy each one twice and
 * promote it to the old space (a fifth of what the processor cost a request). The trace ids and values
 * kept are the strings the spans kept for analysis hold anyway.
 */
class Generation<V> {
  /** Entry index + 1 by slot; 0 is an empty slot. */
  private readonly slots = new Uint16Array(SLOTS);
  /** Per entry, its id's two hashes. */
  private readonly keys = new Int32Array(2 * IDS_PER_GENERATION);
  private readonly traces: string[] = [];
  private readonly values: V[] = [];
  size = 0;

  /** The entry of the id hashed `a`, `b`, or -1 - the empty slot where it would go. */
  private find(a: number, b: number): number {
    const keys = this.keys;
    for (let s = a & (SLOTS - 1); ; s = (s + 1) & (SLOTS - 1)) {
      const k = this.slots[s];
      if (k === 0) return -1 - s;
      if (keys[2 * k - 2] === a && keys[2 * k - 1] === b) return k - 1;
    }
  }

  get(traceId: string, a: number, b: number): V | undefined {
    const i = this.find(a, b);
    return i >= 0 && this.traces[i] === traceId ? this.values[i] : undefined;
  }

  /** Notes `value` for the id hashed `a`, `b` in `traceId` (the same id of another trace is forgotten here). */
  set(traceId: string, a: number, b: number, value: V): void {
    let i = this.find(a, b);
    if (i < 0) {
      this.slots[-1 - i] = this.size + 1;
      i = this.size++;
      this.keys[2 * i] = a;
      this.keys[2 * i + 1] = b;
    }
    this.traces[i] = traceId;
    this.values[i] = value;
  }

  /** Forgets every id; the entries are overwritten as new ids come. */
  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }
}

/**
 * {@link Generation}s of span ids, two at a time: an id is forgotten once the generation after its own has
 * filled up, so memory is bounded whatever the traffic.
 */
class IdGenerations<V> {
  private current = new Generation<V>();
  private previous = new Generation<V>();

  /** The value noted for the id hashed `a`, `b` ({@link hashPair}) in `traceId`. */
  get(traceId: string, a: number, b: number): V | undefined {
    // Nothing noted (no kept span under an internal one yet, the usual Express request): no probing at all.
    if (this.current.size === 0 && this.previous.size === 0) return undefined;
    const v = this.current.get(traceId, a, b);
    return v !== undefined ? v : this.previous.get(traceId, a, b);
  }

  set(traceId: string, a: number, b: number, value: V): void {
    if (this.current.size >= IDS_PER_GENERATION) {
      const oldest = this.previous;
      oldest.clear();
      this.previous = this.current;
      this.current = oldest;
    }
    this.current.set(traceId, a, b, value);
  }
}

/**
 * Whether the pruner may leave `span` out, from the span alone: an internal span with a parent, not failed (no
 * ERROR status, no 5xx HTTP status code), not a GraphQL operation's. Whether it does depends on the spans of its trace kept so far.
 */
export function prunable(span: FinishedSpan): boolean {
  if (span.kind !== SpanKind.INTERNAL) return false;
  // A parentless internal span is the request itself (a job, a script): the engine counts it.
  if (!parentIdOf(span) || span.status?.code === SpanStatusCode.ERROR) return false;
  const a = span.attributes;
  if (a === undefined) return true;
  // The engine reads an HTTP status of 5xx as a failure even without an ERROR status, and names a GraphQL
  // request by its operation's span. Any other status an internal span carries says nothing more than its
  // request's: @fastify/otel's handler and hook spans carry the response's 200, and none was pruned.
  const code = a['http.response.status_code'] ?? a['http.status_code'];
  return (code === undefined || Number(code) < 500) && a['graphql.operation.type'] === undefined;
}

/**
 * Leaves out the INTERNAL spans the engine learns nothing from, before they cost anything. In the engine
 * an internal span with a parent is neither a request nor a call: it only links the calls below it to
 * their request and, when it failed, locates an error. Express alone adds one per middleware and one per
 * route handler (four of the five spans of a small JSON endpoint).
 *
 * An internal span is pruned when it has a parent, did not fail (no ERROR status, no 5xx HTTP status code), does
 * not execute a GraphQL operation (its span names the request) and no span handed to the analyzer so far names it
 * as its parent. A kept span is re-parented to its nearest ancestor that was not pruned as it is handed over
 * ({@link keep}: by the processor's drain, or once the exporter's whole batch was pruned), which the engine's
 * traversals (calls made through internal spans, first failure, self time) treat the same. Spans come here in
 * the order they end, mostly children before parents: a handler's span ends after the calls made under it,
 * and Koa's middleware spans each after the ones they wrap; re-parented only when handed over, those are
 * pruned too. Span ids are remembered with their trace in two generations of flat maps rather than in
 * notes per trace: a pruned span costs one lookup and one insert, and keeps no object of its own alive. A child arriving after its pruned parent was forgotten keeps that parent's id,
 * as a straggler arriving after its trace was analysed does anyway.
 */
export class InternalSpanPruner {
  /** Spans pruned since start. */
  pruned = 0;
  /** Pruned span id → its parent's id. */
  private readonly prunedIds = new IdGenerations<string>();
  /** Ids kept spans handed over name as their (local) parent: such a span is never pruned. */
  private readonly awaited = new IdGenerations<true>();

  /**
   * Whether to leave `span` out: {@link prunable}, and no span handed over so far names it as its parent.
   * Call for every span, in the order they end.
   */
  prune(span: FinishedSpan, traceId: string, spanId: string): boolean {
    if (!prunable(span)) return false;
    // One hash of the id for both tables.
    const a = hashPair(spanId);
    const b = pairB;
    if (this.awaited.get(traceId, a, b) !== undefined) return false;
    this.prunedIds.set(traceId, a, b, parentIdOf(span) as string);
    this.pruned++;
    return true;
  }

  /** For a kept span as it is handed to the analyzer: re-parents it past pruned spans and notes that its parent must be kept. */
  keep(mapped: Span, parentIsRemote: boolean | undefined): void {
    let parent = mapped.parentSpanId;
    // A remote parent ended in another process: it never comes here.
    if (parent === undefined || parentIsRemote === true) return;
    // Up the chain of pruned ancestors: a parent may have been pruned after its own child was (a handler
    // span that ended before a call made under its pruned helper).
    const traceId = mapped.traceId;
    let a = hashPair(parent);
    let b = pairB;
    for (let hops = 0; hops < MAX_HOPS; hops++) {
      const up = this.prunedIds.get(traceId, a, b);
      if (up === undefined) break;
      parent = up;
      a = hashPair(parent);
      b = pairB;
    }
    mapped.parentSpanId = parent;
    if (this.awaited.get(traceId, a, b) === undefined) this.awaited.set(traceId, a, b, true);
  }
}
