import type { Span } from '../types.js';
import { ReleasedSpans } from './released.js';

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
  /**
   * B3 shared spans (see {@link TraceBuffer.join}): the shared id → the server side's service and the id it
   * took. Undefined in every trace without one.
   */
  shared: Map<string, SharedServer> | undefined;
}

/** The server side of a B3 shared span, under the id it took. */
interface SharedServer {
  service: string;
  id: string;
}

/** Appended to the shared id for the id its server side takes (`<id>.server`). */
const SHARED_SUFFIX = '.server';

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

/**
 * Span ids of released traces remembered (256 KB), of at most twice {@link RELEASED_TRACES} traces (2 × 192 KB):
 * a minute of a busy service's spans.
 */
const RELEASED_SPANS = 65_536;
const RELEASED_TRACES = 8_192;

/**
 * Up to this many spans, ids are checked by scanning the spans (the id filter skips most scans): cheaper
 * than a Map per trace, whose table is rebuilt as it grows (requests of 17 to 32 spans are common). Trace
 * analysis finds parents the same way up to this size, and beyond it takes the buffer's index of ids.
 */
export const SCAN_IDS = 32;

/** An entry as the buffer holds it: in its table and its order of last update. */
interface Held extends TraceEntry {
  /** Neighbours in the order of last placement, oldest first. */
  prev: Held | undefined;
  next: Held | undefined;
  /**
   * Span count when the trace was last found missing a parent not released before (-1: never): unchanged,
   * it still is (see {@link TraceBuffer.isStraggler}).
   */
  unreleasedAt: number;
  /** Slot in the table, and the trace id's hash. */
  slot: number;
  hash: number;
}

/** A table slot whose entry was removed: lookups probe past it, inserts reuse it. */
const TOMBSTONE = { traceId: '' } as Held;

/** Table slots to start with; it doubles while more than a quarter of them hold traces (never shrinks). */
const MIN_SLOTS = 1024;

/**
 * Per-process seed of the trace id hash, so ids crafted to collide in one process do not in another (as
 * V8 seeds its own string hashes).
 */
const SEED = (Math.random() * 0x1_0000_0000) | 0;

/**
 * Gathers spans of a trace that arrive out of order and in different batches. A trace is released when
 * every span's parent is present (or the span is an entry: a root, server or consumer span) and nothing
 * arrived for `idleMs`; one still missing parents is released after `maxWaitMs`. At most `maxTraces` are
 * held: a new trace beyond that releases the least recently updated one early.
 *
 * Traces are found through an open-addressing table of preallocated arrays rather than a Map: a Map with
 * a trace added and removed per request reallocates its hash table every few hundred traces, and those
 * tables, with the trace ids and spans they reach, were promoted to V8's old space (a third of what the
 * memory benchmark promoted). The entries form a list in order of last update, to within a quarter of
 * `idleMs` (an entry moves to the back only when its place is older than that: spans of one trace mostly
 * arrive together). Releasing walks the list from the front and stops at the first trace placed less
 * than `idleMs` ago.
 */
export class TraceBuffer {
  /** The table: an entry, {@link TOMBSTONE} or undefined (never used) per slot; a power of two long. */
  private slots: Array<Held | undefined> = new Array<Held | undefined>(MIN_SLOTS).fill(undefined);
  private hashes = new Int32Array(MIN_SLOTS);
  /**
   * Whether trace ids are hashed in full: from the first probe sequence longer than {@link MAX_PROBES} on
   * (ids crafted to collide in the characters {@link quickHash} reads).
   */
  private fullHash = false;
  /** Entries held, and slots not undefined (entries and tombstones). */
  private count = 0;
  private used = 0;
  /** The order of last placement: released and evicted from the front. */
  private head: Held | undefined;
  private tail: Held | undefined;
  /** The trace of the previous span, still held: a service's spans of one request arrive together. */
  private recent: Held | undefined;
  private lastScan = -Infinity;
  /**
   * Released entries whose consumer let go of their spans (see the Recorder), reused for new traces. Each
   * trace otherwise allocates an entry that lives `idleMs` in event time: in a fast replay that is long
   * enough to be promoted, so the old space would fill with dead entries between full GCs.
   */
  private readonly spare: Held[] = [];
  /**
   * Spans of traces released: a span whose missing parent is among them (a statement or a cache write
   * that ended after its request was answered, or given up on) waits only `idleMs`, not `maxWaitMs`, so
   * it counts near its own time rather than `maxWaitMs` later as if it were news.
   */
  private readonly released = new ReleasedSpans(RELEASED_SPANS, RELEASED_TRACES, quickHash);
  /** Traces released before they were ready because the buffer was full. */
  evictedEarly = 0;

  constructor(
    private readonly limits: TraceBufferLimits,
    private readonly release: (entry: TraceEntry) => void,
  ) {}

  get size(): number {
    return this.count;
  }

  add(span: Span, now: number): AddOutcome {
    const recent = this.recent;
    const traceId = span.traceId;
    let entry: Held | undefined;
    let hash = 0;
    if (recent !== undefined && recent.traceId === traceId) entry = recent;
    else {
      const full = this.fullHash;
      hash = full ? hashOf(traceId) : quickHash(traceId);
      entry = this.find(traceId, hash);
      // The lookup may have switched the table to full hashes.
      if (entry === undefined && this.fullHash !== full) hash = hashOf(traceId);
    }
    if (entry === undefined) {
      // A span of a trace already processed, sent again: an exporter retried a batch whose answer it lost.
      if (this.released.has(hash, span.spanId, span.kind === 'server')) return 'duplicate';
      if (this.count >= this.limits.maxTraces) this.evictOldest();
      entry = this.spare.pop();
      if (entry === undefined) {
        entry = {
          traceId,
          spans: [],
          ids: undefined,
          idBitsLo: 0,
          idBitsHi: 0,
          incompleteAt: -1,
          firstAt: now,
          touchedAt: now,
          orderedAt: now,
          shared: undefined,
          prev: undefined,
          next: undefined,
          unreleasedAt: -1,
          slot: 0,
          hash,
        };
      } else {
        entry.traceId = traceId;
        entry.shared = undefined;
        entry.idBitsLo = 0;
        entry.idBitsHi = 0;
        entry.incompleteAt = -1;
        entry.unreleasedAt = -1;
        entry.firstAt = now;
        entry.touchedAt = now;
        entry.orderedAt = now;
        entry.hash = hash;
      }
      this.insert(entry);
      this.append(entry);
    } else {
      const at = mayHold(entry, span.spanId) ? indexOfSpan(entry, span.spanId) : -1;
      // A side of a shared span joined already is sent again.
      if (at >= 0 && (entry.shared?.has(span.spanId) === true || !sharedSides(entry.spans[at], span))) return 'duplicate';
      if (entry.spans.length >= this.limits.maxSpansPerTrace) return 'traceTooLarge';
      if (at >= 0) span = join(entry, at, span);
      else if (entry.shared !== undefined) span = underShared(entry.shared, span);
      if (now - entry.orderedAt >= this.limits.idleMs / 4) {
        if (entry !== this.tail) {
          this.unlink(entry);
          this.append(entry);
        }
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
    for (let entry = this.head; entry !== undefined; ) {
      // Entries behind this one were placed later still: none of them can be idle.
      if (now - entry.orderedAt < idleMs) break;
      const next = entry.next;
      if (now - entry.touchedAt >= idleMs && (now - entry.firstAt >= maxWaitMs || complete(entry) || this.isStraggler(entry))) this.drop(entry);
      entry = next;
    }
  }

  /**
   * Whether every parent `entry` misses was released (see {@link released}): its spans came after their
   * trace was processed. Asked again only once more spans came (a late query, then the handler around it).
   */
  private isStraggler(entry: Held): boolean {
    const n = entry.spans.length;
    if (entry.unreleasedAt === n) return false;
    if (parentsAccounted(entry, (id) => this.released.has(entry.hash, id))) return true;
    entry.unreleasedAt = n;
    return false;
  }

  /** Releases everything (end of input). */
  releaseAll(): void {
    while (this.head !== undefined) this.drop(this.head);
  }

  private evictOldest(): void {
    if (this.head === undefined) return;
    this.evictedEarly++;
    this.drop(this.head);
  }

  /** Takes `entry` out of the buffer, hands it to the consumer, and keeps it for reuse if it was emptied. */
  private drop(entry: Held): void {
    this.released.add(entry.hash, entry.spans);
    // A shared span's server side sent again comes under the shared id, not the one it took here.
    if (entry.shared !== undefined) this.released.add(entry.hash, [...entry.shared.keys()].map((spanId) => ({ spanId, kind: 'server' })));
    this.remove(entry);
    this.unlink(entry);
    if (this.recent === entry) this.recent = undefined;
    this.release(entry);
    if (entry.spans.length === 0 && entry.ids === undefined && this.spare.length < MAX_SPARE) {
      // A reused entry keeps no trace id alive: a dead string reached from the old space is promoted.
      entry.traceId = '';
      this.spare.push(entry);
    }
  }

  private append(entry: Held): void {
    const tail = this.tail;
    entry.prev = tail;
    entry.next = undefined;
    if (tail === undefined) this.head = entry;
    else tail.next = entry;
    this.tail = entry;
  }

  private unlink(entry: Held): void {
    const { prev, next } = entry;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
  }

  private find(traceId: string, hash: number): Held | undefined {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hash & mask, probes = 0; ; i = (i + 1) & mask) {
      const e = slots[i];
      if (e === undefined) return undefined;
      if (this.hashes[i] === hash && e !== TOMBSTONE && e.traceId === traceId) return e;
      if (++probes > MAX_PROBES && !this.fullHash) {
        this.hashInFull();
        return this.find(traceId, hashOf(traceId));
      }
    }
  }

  /** Puts `entry` (not in the table) in the first free slot of its probe sequence. */
  private insert(entry: Held): void {
    if (2 * (this.used + 1) > this.slots.length) this.rebuild();
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = entry.hash & mask;
    for (let probes = 0; ; probes++) {
      if (probes > MAX_PROBES && !this.fullHash) {
        this.hashInFull();
        entry.hash = hashOf(entry.traceId);
        this.insert(entry);
        return;
      }
      const e = slots[i];
      if (e === undefined) {
        this.used++;
        break;
      }
      if (e === TOMBSTONE) break;
      i = (i + 1) & mask;
    }
    slots[i] = entry;
    this.hashes[i] = entry.hash;
    entry.slot = i;
    this.count++;
  }

  private remove(entry: Held): void {
    const slots = this.slots;
    const i = entry.slot;
    // A slot followed by a never-used one ends every probe sequence through it: it can be never-used too.
    if (slots[(i + 1) & (slots.length - 1)] === undefined) {
      slots[i] = undefined;
      this.used--;
    } else slots[i] = TOMBSTONE;
    this.count--;
  }

  /** Switches to hashing ids in full, re-placing every entry held. */
  private hashInFull(): void {
    this.fullHash = true;
    for (let e = this.head; e !== undefined; e = e.next) e.hash = hashOf(e.traceId);
    this.rebuild();
  }

  /** Re-places every entry without tombstones, in a table twice as large once over a quarter of it is held. */
  private rebuild(): void {
    const size = 4 * (this.count + 1) > this.slots.length ? 2 * this.slots.length : this.slots.length;
    if (size === this.slots.length) {
      this.slots.fill(undefined);
    } else {
      this.slots = new Array<Held | undefined>(size).fill(undefined);
      this.hashes = new Int32Array(size);
    }
    this.used = 0;
    this.count = 0;
    for (let e = this.head; e !== undefined; e = e.next) this.insert(e);
  }
}

/** A probe sequence longer than this makes the table hash ids in full (see {@link quickHash}). */
const MAX_PROBES = 64;

/**
 * {@link hashOf} of the last eight characters of `id` and its length (W3C trace ids are random hex: eight
 * of their characters are 32 random bits). Ids made to agree in those are caught by a long probe
 * sequence, after which the table hashes in full.
 */
function quickHash(id: string): number {
  const n = id.length;
  if (n <= 8) return hashOf(id);
  let h = SEED ^ 0x811c9dc5 ^ n;
  h = Math.imul(h ^ (id.charCodeAt(n - 8) | (id.charCodeAt(n - 7) << 16)), 0x01000193);
  h = Math.imul(h ^ (id.charCodeAt(n - 6) | (id.charCodeAt(n - 5) << 16)), 0x01000193);
  h = Math.imul(h ^ (id.charCodeAt(n - 4) | (id.charCodeAt(n - 3) << 16)), 0x01000193);
  h = Math.imul(h ^ (id.charCodeAt(n - 2) | (id.charCodeAt(n - 1) << 16)), 0x01000193);
  return mix(h);
}

/**
 * A seeded FNV-1a hash of every character of `id`, two UTF-16 units per step, with a final mix for the
 * low bits the table uses.
 */
function hashOf(id: string): number {
  const n = id.length;
  let h = SEED ^ 0x811c9dc5 ^ n;
  let i = 1;
  for (; i < n; i += 2) h = Math.imul(h ^ (id.charCodeAt(i - 1) | (id.charCodeAt(i) << 16)), 0x01000193);
  if (i === n) h = Math.imul(h ^ id.charCodeAt(n - 1), 0x01000193);
  return mix(h);
}

/** A final mix, so the low bits the table uses depend on every character hashed. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
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

/** Index of the span with id `spanId` in the trace, or -1. */
function indexOfSpan(entry: TraceEntry, spanId: string): number {
  if (entry.ids !== undefined) return entry.ids.get(spanId) ?? -1;
  const spans = entry.spans;
  for (let i = 0; i < spans.length; i++) if (spans[i].spanId === spanId) return i;
  return -1;
}

/**
 * Whether two spans with one id are the two sides of a B3 shared span (Zipkin's clients join the server
 * side to the client's span id): a client and a server span of different services. Anything else with an
 * id already held is a duplicate (an exporter's retry).
 */
function sharedSides(a: Span, b: Span): boolean {
  return a.service !== b.service && ((a.kind === 'client' && b.kind === 'server') || (a.kind === 'server' && b.kind === 'client'));
}

/**
 * Joins `span` to the held span at `at`, the other side of its B3 shared span: the server side takes an id
 * of its own (`<id>.server`) under the client side, as if it had been recorded with one, and the spans its
 * service recorded under the shared id (held already, or arriving later: see {@link underShared}) are
 * moved under it. Returns the span to add. Converted to OTLP (the Collector's Zipkin receiver keeps the
 * shared id), the server side was dropped as a duplicate of its client: the callee served nothing.
 */
function join(entry: TraceEntry, at: number, span: Span): Span {
  const held = entry.spans[at];
  const server = held.kind === 'server' ? held : span;
  const shared = server.spanId;
  const side: SharedServer = { service: server.service, id: shared + SHARED_SUFFIX };
  (entry.shared ??= new Map()).set(shared, side);
  const moved: Span = { ...server, spanId: side.id, parentSpanId: shared };
  remember(entry, side.id);
  const spans = entry.spans;
  for (let i = 0; i < spans.length; i++) if (i !== at) spans[i] = underShared(entry.shared, spans[i]);
  if (server === span) return moved;
  spans[at] = moved;
  entry.ids?.set(side.id, at);
  return span;
}

/** `span`, moved under the server side of a B3 shared span when its service recorded it under the shared id. */
function underShared(shared: ReadonlyMap<string, SharedServer>, span: Span): Span {
  const parent = span.parentSpanId;
  const side = parent === undefined ? undefined : shared.get(parent);
  return side !== undefined && side.service === span.service && side.id !== span.spanId ? { ...span, parentSpanId: side.id } : span;
}

/**
 * Whether every span's parent is present (entry spans may have theirs elsewhere). Checked when a trace
 * goes idle rather than kept up to date on every arrival: once per trace instead of work per span.
 */
function complete(entry: TraceEntry): boolean {
  if (entry.incompleteAt === entry.spans.length) return false;
  if (parentsAccounted(entry, NONE_GONE)) return true;
  entry.incompleteAt = entry.spans.length;
  return false;
}

const NONE_GONE = (): boolean => false;

/** Whether every span's parent is held (an entry span's may be elsewhere) or `gone`. */
function parentsAccounted(entry: TraceEntry, gone: (parentId: string) => boolean): boolean {
  const spans = entry.spans;
  const n = spans.length;
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    const parent = span.parentSpanId;
    if (parent && !isEntryKind(span) && !(mayHold(entry, parent) && (entry.ids !== undefined ? entry.ids.has(parent) : heldAfter(spans, n, i, parent))) && !gone(parent)) return false;
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
