import { SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { IN_FLIGHT_MIN_MS, isPoolWait, type InFlightCall, type Span } from '@rootspan/engine';
import { hashId } from './hash.js';
import { toEngineSpan } from './map.js';
import type { PeerNames } from './peers.js';
import { hrTimeToMilliseconds, type FinishedSpan } from './sdk.js';

/** A span as `onStart` receives it: the SDK's live span (every SDK line), whose `ended` turns true at its end. */
type OpenSpan = FinishedSpan & { readonly ended?: boolean };

/** Counters of the in-flight table, in the processor's `stats().inFlight`. */
export interface InFlightStats {
  /** Calls open right now (at most `inFlightSize`). */
  open: number;
  /** Calls not tracked because the table was full (total since start): a hang among them is seen only when it ends. */
  dropped: number;
  /** Calls reported to the analyzer as open for over a second at the last tick. */
  reported: number;
  /** Calls forgotten after {@link MAX_OPEN_MS} open (total): a span never ended is a leak, not a hang. */
  expired: number;
  /**
   * Calls forgotten, oldest first, to make room when the table was full at a tick (total): spans an
   * instrumentation never ends must not keep a later hang's calls out.
   */
  evicted: number;
  /**
   * Calls taken as refused (total, see {@link REFUSED_WITHIN_MS}): their parent ended soon after they
   * began and their span never ended (instrumentation-ioredis leaves a refused command's span open).
   * Each was handed to the analyzer once, as a failed call ending when its parent did.
   */
  refused: number;
}

/**
 * A call open this long is forgotten (and counted in `expired`): an instrumentation that never ends its
 * span would otherwise hold a slot, and look like a hang, forever. A real hang is reported long before.
 */
export const MAX_OPEN_MS = 10 * 60_000;

/**
 * A call still open a second after its local parent ended this soon (ms) after the call began was
 * refused, not waited on, when it is a database's (a cache read the request fell back from) or its
 * request failed: a client that gave up would have waited for its timeout. Counted as a hang, a Redis
 * that refuses every command read as "Timeouts … got no answer". Another call (an HTTP request the
 * request did not wait for) stays in flight: it may be running still.
 */
export const REFUSED_WITHIN_MS = 100;

/** Failed requests' traces remembered for {@link InFlightTable.report}'s refused calls (a second's worth under an outage). */
const MAX_FAILED_TRACES = 2048;

/** Slots the table starts with; it doubles (up to twice its capacity) as more calls are open at once. */
const INITIAL_SLOTS = 64;

/**
 * Calls the host is waiting on right now: the client spans (and producer spans, and internal spans that
 * name a database) that have started and not ended, each with the span of the request it was made for.
 * A capped table, so a hang that leaves thousands of calls open costs bounded memory (calls beyond it are
 * counted in `dropped`). Every tick, {@link InFlightTable.report} lists the calls open for over
 * {@link IN_FLIGHT_MIN_MS} for the analyzer to judge (`analyzer.inFlight`). No timer per call.
 *
 * `add` and `release` are O(1) and allocate nothing: an open-addressing hash table on the span id, in
 * preallocated arrays (linear probing, deletion by backward shift, so no tombstones pile up), grown by
 * doubling only while more calls than ever before are open at once. A `Map` keyed by span would cost
 * ~50 bytes of garbage per call in V8's rehashing of a table that constantly adds and deletes.
 */
export class InFlightTable {
  private ids: Array<string | undefined> = new Array(INITIAL_SLOTS).fill(undefined);
  private spans: Array<OpenSpan | undefined> = new Array(INITIAL_SLOTS).fill(undefined);
  /** The call's local parent span, when it is a live span of this process (else null). */
  private parents: Array<OpenSpan | null> = new Array(INITIAL_SLOTS).fill(null);
  private hashes = new Int32Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  private count = 0;
  /**
   * Traces whose request (a server or consumer span) ended failed while calls were open, oldest first: a
   * call's local parent is often a framework's span (Express's request handler) with no status of its own.
   */
  private readonly failed = new Set<string>();
  dropped = 0;
  reported = 0;
  expired = 0;
  evicted = 0;
  refused = 0;

  constructor(private readonly capacity: number) {}

  /** From `onStart`: tracks the span if it is a call (returns whether it is one, tracked or counted as dropped). */
  add(span: OpenSpan, parentContext: Context): boolean {
    if (!isCall(span)) return false;
    // A remote parent (or none) is a non-recording span without `ended`: nobody here waits on its end.
    const parent = trace.getSpan(parentContext) as OpenSpan | undefined;
    const local = parent !== undefined && typeof parent.ended === 'boolean' ? parent : null;
    // A call made within a local call is part of it (knex's statement, an SDK's HTTP request), as the engine
    // counts it: the outer call is the one tracked. Not a wait for a pooled connection (Prisma's statement
    // over pg's pool): while it waits, the statement is not reported (see `report`).
    if (local !== null && !local.ended && isCallSpan(local) && !isPoolWait(span.name)) return false;
    if (this.count >= this.capacity) {
      this.dropped++;
      return true;
    }
    const id = span.spanContext().spanId;
    // At most half full: probes stay short.
    if (2 * (this.count + 1) > this.ids.length) this.grow();
    this.put(id, hashId(id), span, local);
    this.count++;
    return true;
  }

  private put(id: string, h: number, span: OpenSpan, parent: OpenSpan | null): void {
    let i = h & this.mask;
    while (this.ids[i] !== undefined) i = (i + 1) & this.mask;
    this.ids[i] = id;
    this.hashes[i] = h;
    this.spans[i] = span;
    this.parents[i] = parent;
  }

  /** Notes the trace of a request that failed while calls were open (the latest {@link MAX_FAILED_TRACES}). */
  private noteFailed(span: FinishedSpan): void {
    const traceId = span.spanContext?.()?.traceId;
    if (traceId === undefined) return;
    if (this.failed.size >= MAX_FAILED_TRACES) this.failed.delete(this.failed.values().next().value as string);
    this.failed.add(traceId);
  }

  /** Doubles the slots (rehashing what is open); allocates only when more calls are open at once than ever. */
  private grow(): void {
    const { ids, spans, parents, hashes } = this;
    const size = ids.length * 2;
    this.ids = new Array(size).fill(undefined);
    this.spans = new Array(size).fill(undefined);
    this.parents = new Array(size).fill(null);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id !== undefined) this.put(id, hashes[i], spans[i] as OpenSpan, parents[i]);
    }
  }

  /** From `onEnd`: the call answered (or failed). An empty table costs one comparison, a miss one probe. */
  release(span: FinishedSpan): boolean {
    // Only calls were tracked (a span's kind and database attributes do not go away by its end): the
    // other spans of a request (server, middleware) skip the hash and the probe.
    if (this.count === 0) return false;
    if (!isCall(span)) {
      if (span.status?.code === SpanStatusCode.ERROR && (span.kind === SpanKind.SERVER || span.kind === SpanKind.CONSUMER)) this.noteFailed(span);
      return false;
    }
    const id = span.spanContext?.()?.spanId;
    if (id === undefined) return false;
    const mask = this.mask;
    let i = hashId(id) & mask;
    for (;;) {
      const at = this.ids[i];
      if (at === undefined) return false;
      if (at === id && this.spans[i] === span) break;
      i = (i + 1) & mask;
    }
    this.count--;
    // Backward-shift deletion: entries after the hole that probed past it move into it.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const moving = this.ids[j];
      if (moving === undefined) break;
      const home = this.hashes[j] & mask;
      // The entry at j stays when its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      this.ids[i] = moving;
      this.hashes[i] = this.hashes[j];
      this.spans[i] = this.spans[j];
      this.parents[i] = this.parents[j];
      i = j;
    }
    this.ids[i] = undefined;
    this.spans[i] = undefined;
    this.parents[i] = null;
    return true;
  }

  /**
   * The calls open since before `now - IN_FLIGHT_MIN_MS` (epoch ms), as the analyzer takes them: the span
   * as it stands, ending now, and when its parent ended if it has. Calls refused (see
   * {@link REFUSED_WITHIN_MS}) go to `refused` instead, as failed spans ending when their parent did, and
   * are forgotten. A walk over the slots (a few thousand at most) once per tick; only late calls are
   * converted.
   */
  report(now: number, peers: PeerNames | undefined, refused: Span[]): InFlightCall[] {
    if (this.count >= this.capacity) this.evictOldest(this.count - Math.floor((this.capacity * 3) / 4));
    const out: InFlightCall[] = [];
    const before = now - IN_FLIGHT_MIN_MS;
    // Calls whose nested pool wait is open: they wait for a connection, not on their peer (only pool waits
    // are tracked under a call).
    let waiting: Set<OpenSpan> | undefined;
    for (let i = 0; i < this.parents.length; i++) {
      const parent = this.parents[i];
      if (parent !== null && isCallSpan(parent)) (waiting ??= new Set()).add(parent);
    }
    let expired: OpenSpan[] | undefined;
    let gone: OpenSpan[] | undefined;
    for (let i = 0; i < this.spans.length; i++) {
      const span = this.spans[i];
      if (span === undefined || waiting?.has(span)) continue;
      const start = hrTimeToMilliseconds(span.startTime);
      if (start > before) continue;
      if (now - start > MAX_OPEN_MS) {
        (expired ??= []).push(span);
        continue;
      }
      const mapped = toEngineSpan(span, peers);
      if (mapped === undefined) continue;
      const parent = this.parents[i];
      const parentEnd = parent !== null && parent.ended === true ? Math.min(now, hrTimeToMilliseconds(parent.endTime)) : undefined;
      if (parentEnd !== undefined && parentEnd - start <= REFUSED_WITHIN_MS && (namesDatabase(span) || this.failed.has(mapped.traceId))) {
        mapped.endTime = Math.max(start, parentEnd);
        mapped.status = 'error';
        refused.push(mapped);
        (gone ??= []).push(span);
        continue;
      }
      mapped.endTime = now;
      const call: InFlightCall = { span: mapped };
      if (parentEnd !== undefined) call.parentEndedAt = parentEnd;
      out.push(call);
    }
    // Removed after the walk: a deletion shifts later entries back, under the walk's feet.
    if (expired !== undefined) for (const span of expired) if (this.release(span)) this.expired++;
    if (gone !== undefined) for (const span of gone) if (this.release(span)) this.refused++;
    this.reported = out.length;
    return out;
  }

  /** Forgets the `n` calls open longest (counted in `evicted`). */
  private evictOldest(n: number): void {
    const open: OpenSpan[] = [];
    for (const span of this.spans) if (span !== undefined) open.push(span);
    open.sort((x, y) => hrTimeToMilliseconds(x.startTime) - hrTimeToMilliseconds(y.startTime));
    for (let i = 0; i < n && i < open.length; i++) if (this.release(open[i])) this.evicted++;
  }

  /** Forgets every call (shutdown: calls cut by the exit are no evidence). */
  clear(): void {
    this.ids.fill(undefined);
    this.spans.fill(undefined);
    this.parents.fill(null);
    this.failed.clear();
    this.count = 0;
    this.reported = 0;
  }

  stats(): InFlightStats {
    return { open: this.count, dropped: this.dropped, reported: this.reported, expired: this.expired, evicted: this.evicted, refused: this.refused };
  }
}

/** A client or producer span. */
function isCallSpan(span: OpenSpan): boolean {
  return span.kind === SpanKind.CLIENT || span.kind === SpanKind.PRODUCER;
}

/** A span the table tracks: a client or producer span, or an internal one naming a database (some drivers' instrumentations). */
function isCall(span: OpenSpan): boolean {
  return isCallSpan(span) || (span.kind === SpanKind.INTERNAL && namesDatabase(span));
}

function namesDatabase(span: OpenSpan): boolean {
  const a = span.attributes;
  return a !== undefined && (a['db.system'] !== undefined || a['db.system.name'] !== undefined);
}
