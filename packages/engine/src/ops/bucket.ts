import { LatencySketch } from '../stats/sketch.js';
import type { Origin } from '../trace/analyze.js';
import type { LatencyWindow } from './state.js';

/** Sum, and sum of squares, of ln(ms): mergeable, and all the latency detector needs. */
export interface LogMoments {
  n: number;
  sumLog: number;
  sumLogSq: number;
}

export function emptyMoments(): LogMoments {
  return { n: 0, sumLog: 0, sumLogSq: 0 };
}

/** Adds one sample given its {@link logMs} (computed once by the caller for several series). */
function addMoment(m: LogMoments, l: number): void {
  m.n++;
  m.sumLog += l;
  m.sumLogSq += l * l;
}

export function clearMoments(m: LogMoments): void {
  m.n = 0;
  m.sumLog = 0;
  m.sumLogSq = 0;
}

export function mergeMoments(into: LogMoments, from: LogMoments): void {
  into.n += from.n;
  into.sumLog += from.sumLog;
  into.sumLogSq += from.sumLogSq;
}

/** Calls a set of requests made to one callee: in all, and the sum of each request's count squared. */
export interface CallTimes {
  calls: number;
  squares: number;
}

/** Exemplar trace ids kept per bucket and kind. */
export const BUCKET_EXEMPLARS = 3;

/**
 * Origins counted over failing or slow requests, by operation key: `count` requests, of which `hung`
 * traced back to a call given up on (an origin of kind `timeout`), the rest to what the operation itself
 * did. Requests of one operation may do either (a callee slow for some, hung for others).
 */
export type OriginCounts = Map<string, { origin: Origin; count: number; hung: number }>;

export function countOrigin(counts: OriginCounts, origin: Origin): void {
  const hung = origin.kind === 'timeout' ? 1 : 0;
  const cur = counts.get(origin.key);
  if (cur) {
    cur.count++;
    cur.hung += hung;
  } else counts.set(origin.key, { origin, count: 1, hung });
}

export function mergeOrigins(into: OriginCounts, from: OriginCounts): void {
  for (const [key, v] of from) {
    const cur = into.get(key);
    if (cur) {
      cur.count += v.count;
      cur.hung += v.hung;
    } else into.set(key, { origin: v.origin, count: v.count, hung: v.hung });
  }
}

/** One latency series (total duration, or self time) of one bucket. */
export class LatencyBucket implements LogMoments {
  /**
   * The successful requests' moments ({@link ok}) are the bucket's own fields, and {@link learn}'s are the same
   * until an outlier is left out: sets of moments of their own in every bucket of thousands of operations
   * were 2.9 MB of the memory benchmark's 46.
   */
  n = 0;
  sumLog = 0;
  sumLogSq = 0;
  /** {@link learn}'s own moments once an outlier was left out. */
  private own: LogMoments | undefined = undefined;

  /** Successful requests (what the detector judges). */
  get ok(): LogMoments {
    return this;
  }

  /** Successful requests that were not outliers (what the baseline learns). */
  get learn(): LogMoments {
    return this.own ?? this;
  }

  /** Counts a successful request's {@link logMs} `l` in {@link ok} and, unless an `outlier`, in {@link learn}. */
  addOk(l: number, outlier: boolean): void {
    // The copy is taken before the outlier counts in ok, and both sums then add in the same order as two
    // separate sets of moments would: the same figures to the last bit.
    if (outlier && this.own === undefined) this.own = { n: this.n, sumLog: this.sumLog, sumLogSq: this.sumLogSq };
    addMoment(this, l);
    if (!outlier && this.own !== undefined) addMoment(this.own, l);
  }
  readonly sketch = new LatencySketch();
  /** Requests individually slower than `latency.ratio`× typical, of those `judged` (baseline ready). */
  over = 0;
  judged = 0;
  /** Latest start and earliest end of the `over` requests (see {@link slowEvents}). */
  overLastStart = -Infinity;
  overFirstEnd = Infinity;
  /** Start and end of the first {@link STALL_SPANS_MAX} `over` requests, flat (see {@link slowEvents}). */
  overSpans: number[] | undefined = undefined;

  /** Counts one `over` request that ran from `start` to `end`. */
  addOver(start: number, end: number): void {
    this.over++;
    if (start > this.overLastStart) this.overLastStart = start;
    if (end < this.overFirstEnd) this.overFirstEnd = end;
    const spans = (this.overSpans ??= []);
    if (spans.length < 2 * STALL_SPANS_MAX) spans.push(start, end);
  }
  /**
   * How many of the `over` requests each process (`Span.instance`) served, for a service's total latency
   * only (one bad instance of several); created on first use, at most {@link SLOW_INSTANCES_MAX} processes.
   */
  slowOn: Map<string, number> | undefined = undefined;

  /** Counts one `over` request served by `instance`. */
  slowOnInstance(instance: string): void {
    countIn((this.slowOn ??= new Map()), instance, 1, SLOW_INSTANCES_MAX);
  }

  reset(): void {
    clearMoments(this);
    this.own = undefined;
    this.sketch.clear();
    this.over = 0;
    this.judged = 0;
    this.overLastStart = -Infinity;
    this.overFirstEnd = Infinity;
    if (this.overSpans !== undefined) this.overSpans.length = 0;
    this.slowOn = undefined;
  }
}

/**
 * Processes counted per bucket in {@link LatencyBucket.slowOn} and {@link OpBucket.failedOn}: naming the one
 * instance that served most of a window's slow or failing requests needs only the few that did; a fleet past
 * this is not told apart.
 */
const SLOW_INSTANCES_MAX = 64;

/** How many of a window's requests each process served, if counted in every bucket that had any (see {@link OpBucket.servedOn}). */
export function servedIn(buckets: readonly OpBucket[]): Map<string, number> | undefined {
  for (const b of buckets) if (b.requests > 0 && (b.servedOn === undefined || b.servedOn.size >= SLOW_INSTANCES_MAX)) return undefined;
  return sumCounts(buckets.map((b) => b.servedOn));
}

/** How many of a window's slow (`'slow'`) or failing requests each process served. */
export function badOn(buckets: readonly OpBucket[], which: 'slow' | 'failing'): Map<string, number> {
  return sumCounts(buckets.map((b) => (which === 'slow' ? b.latency.slowOn : b.failedOn)));
}

/** The process that served the most of `counts` (see {@link badOn}), and how many (undefined: none). */
export function topInstance(counts: ReadonlyMap<string, number>): { instance: string; count: number } | undefined {
  let top: { instance: string; count: number } | undefined;
  for (const [instance, count] of counts) if (top === undefined || count > top.count) top = { instance, count };
  return top;
}

/**
 * Adds `n` to `key`'s count; a key not yet counted is added only while there are fewer than `max` (a
 * per-bucket tally stays bounded, the ones it has keep counting).
 */
function countIn(counts: Map<string, number>, key: string, n: number, max: number): void {
  const had = counts.get(key);
  if (had !== undefined) counts.set(key, had + n);
  else if (counts.size < max) counts.set(key, n);
}

/** Per-key sums of a window's per-bucket tallies, keys in the order first met. */
function sumCounts(tallies: Iterable<Map<string, number> | undefined>): Map<string, number> {
  const all = new Map<string, number>();
  for (const t of tallies) if (t !== undefined) for (const [k, n] of t) all.set(k, (all.get(k) ?? 0) + n);
  return all;
}

/**
 * The callee operations given up on in a timeout window's buckets, with how many calls each, most first
 * (ties: the one given up on latest first).
 */
export function givenUpIn(buckets: readonly EdgeBucket[]): Array<[string, number]> {
  const newestFirst: Array<Map<string, number> | undefined> = [];
  for (let i = buckets.length - 1; i >= 0; i--) newestFirst.push(buckets[i].givenUp);
  return [...sumCounts(newestFirst)].sort((a, b) => b[1] - a[1]);
}

/**
 * One operation's statistics for one bucket of event time. Reused (reset) as the ring turns. The maps
 * and exemplar lists are created on first use, and dropped at reset: most buckets of most operations
 * never see an error, a slow request or (for peers) a call, and at the cardinality cap every byte per
 * bucket counts 12× (clearing a Map would allocate a new table anyway).
 */
export class OpBucket {
  index = -1;
  requests = 0;
  /**
   * Of `requests`, those that ended in a bucket already closed (their traces held for late spans): counted
   * here rather than lost, but no traffic of this bucket's.
   */
  late = 0;
  errors = 0;
  readonly latency = new LatencyBucket();
  readonly self = new LatencyBucket();
  failing = 0;
  /** How long the failed requests took, in all (ms): with the latency sketch's, what a backlog's requests waited. */
  failedMs = 0;
  /**
   * How many of the failed requests each process (`Span.instance`) served, for a service's operation (one bad
   * instance of several: a canary's bug); created on first use, at most {@link SLOW_INSTANCES_MAX} processes.
   */
  failedOn: Map<string, number> | undefined;
  /**
   * How many requests each process served, for an operation of a service seen running as several: with
   * {@link failedOn} and the slow counts, whether one process fails (or slows) more than the others, or
   * only serves more. Created on first use, at most {@link SLOW_INSTANCES_MAX} processes.
   */
  servedOn: Map<string, number> | undefined;
  /** Failed calls to this operation whose requests succeeded all the same (see CallFact.absorbed). */
  absorbed = 0;
  errorOrigins: OriginCounts | undefined;
  slow = 0;
  slowOrigins: OriginCounts | undefined;
  /** Successful requests that skipped a usual call, and where each left its usual path. */
  diverged = 0;
  shapeOrigins: OriginCounts | undefined;
  /**
   * Served requests (neither failed nor refused as the client's fault), and how many of them made each
   * call (trace shape): `callees[i]` was called by `callCounts[3i]` requests, in the order first seen
   * ({@link countCall}, {@link addCallee}), which made `callCounts[3i + 1]` calls to it in all,
   * `callCounts[3i + 2]` the sum of each request's count squared (how many times per request, and how that
   * varies: N+1 queries). Parallel arrays, not a Map: an operation makes few distinct calls, and arrays of
   * exactly that size are the smallest store (a Map's table, or an array grown by push, holds 17 slots for
   * one callee).
   */
  okRequests = 0;
  callees: string[] | undefined;
  callCounts: number[] | undefined;
  /** Every callee in `calls` has its operation's call-shape detector (set by the judge once the bucket closed). */
  calleesKnown = false;
  /** Exemplars: the first failing requests' traces, the first requests missing a usual call, and the slowest requests' (see {@link addSlow}). */
  errorTraces: string[] | undefined;
  divergedTraces: string[] | undefined;
  slowTraces: string[] | undefined;
  /** How slow each of `slowTraces` was (ms: a request's or call's duration, a message's wait). */
  slowMs: number[] | undefined;
  /** What the bucket's latest failing request that said anything said (see errorMessage). */
  errorMessage: string | undefined;
  /** Where the bucket's latest failing request that failed in its own code failed (see EntryFact.failedIn). */
  failedIn: string | undefined;
  /** For a consumer: how long its messages waited in their queue (see EntryFact.queued), made on the first. */
  queued: LatencySketch | undefined;

  /**
   * Counts a request's `times` calls to `callee` if the bucket has it; false if it is new here (see
   * {@link addCallee}).
   */
  countCall(callee: string, times: number): boolean {
    const i = this.callees === undefined ? -1 : this.callees.indexOf(callee);
    if (i < 0) return false;
    const c = this.callCounts as number[];
    c[3 * i]++;
    c[3 * i + 1] += times;
    c[3 * i + 2] += times * times;
    return true;
  }

  /** Counts one request served by `instance`. */
  servedOnInstance(instance: string): void {
    countIn((this.servedOn ??= new Map()), instance, 1, SLOW_INSTANCES_MAX);
  }

  /** Counts one failed request served by `instance`. */
  failedOnInstance(instance: string): void {
    countIn((this.failedOn ??= new Map()), instance, 1, SLOW_INSTANCES_MAX);
  }

  /**
   * Keeps trace `traceId`, slow by `ms`, as an exemplar if it is one of the bucket's {@link BUCKET_EXEMPLARS}
   * slowest: the first few slow requests of a bucket a stall ends in are the mildly slow ones of its healthy
   * part as often as the held ones.
   */
  addSlow(traceId: string, ms: number): void {
    const ids = (this.slowTraces ??= []);
    const took = (this.slowMs ??= []);
    if (ids.length < BUCKET_EXEMPLARS) {
      ids.push(traceId);
      took.push(ms);
      return;
    }
    let least = 0;
    for (let i = 1; i < took.length; i++) if (took[i] < took[least]) least = i;
    if (ms > took[least]) {
      ids[least] = traceId;
      took[least] = ms;
    }
  }

  /** Distinct callees counted in the bucket. */
  get calleeCount(): number {
    return this.callees === undefined ? 0 : this.callees.length;
  }

  /** Counts a request's `times` calls to a callee new to the bucket (grown by one exactly: concat copies to size). */
  addCallee(callee: string, times: number): void {
    if (this.callees === undefined) {
      this.callees = [callee];
      this.callCounts = [1, times, times * times];
    } else {
      this.callees = this.callees.concat(callee);
      this.callCounts = (this.callCounts as number[]).concat(1, times, times * times);
    }
  }

  /**
   * Adds the bucket's calls to `callee` (in all, and their per-request squares) into `into`; returns how
   * many of the bucket's successful requests called it.
   */
  addCallTimes(callee: string, into: CallTimes): number {
    const i = this.callees === undefined ? -1 : this.callees.indexOf(callee);
    if (i < 0) return 0;
    const c = this.callCounts as number[];
    into.calls += c[3 * i + 1];
    into.squares += c[3 * i + 2];
    return c[3 * i];
  }

  /**
   * Whether another operation may take this bucket over: a sketch that went over to bins stays binned
   * when cleared (quantiles of its next few values would be binned, not exact), so such a bucket stays
   * with its own operation, as if there were no pool, and every result stays what it was.
   */
  reusable(): boolean {
    return this.latency.sketch.exact && this.self.sketch.exact;
  }

  reset(index: number): void {
    this.index = index;
    this.requests = 0;
    this.late = 0;
    this.errors = 0;
    this.latency.reset();
    this.self.reset();
    this.failing = 0;
    this.failedMs = 0;
    this.absorbed = 0;
    this.errorOrigins = undefined;
    this.slow = 0;
    this.slowOrigins = undefined;
    this.diverged = 0;
    this.shapeOrigins = undefined;
    this.okRequests = 0;
    // Emptying an array drops its storage anyway: a new one of the right size is made when needed.
    this.callees = undefined;
    this.callCounts = undefined;
    this.calleesKnown = false;
    this.failedOn = this.servedOn = undefined;
    this.errorTraces = this.divergedTraces = undefined;
    this.slowTraces = this.slowMs = undefined;
    this.errorMessage = this.failedIn = undefined;
    this.queued = undefined;
  }
}

/** The waits of a window's buckets (see OpBucket.queued), merged. */
export function queuedIn(buckets: readonly OpBucket[]): LatencySketch {
  const out = new LatencySketch();
  for (const b of buckets) if (b.queued !== undefined) out.merge(b.queued);
  return out;
}

/** How many messages a window's buckets measured the wait of (see OpBucket.queued). */
export function queuedCount(buckets: readonly OpBucket[]): number {
  let n = 0;
  for (const b of buckets) n += b.queued?.count ?? 0;
  return n;
}

/** Failed calls of a window's buckets whose requests succeeded all the same (see OpBucket.absorbed). */
export function absorbedIn(buckets: readonly OpBucket[]): number {
  let n = 0;
  for (const b of buckets) n += b.absorbed;
  return n;
}

/** Keeps a trace id as an exemplar while the list has room. */
export function addExemplar(list: string[], traceId: string): void {
  if (list.length < BUCKET_EXEMPLARS) list.push(traceId);
}

/** Distinct callee operations whose give-ups an {@link EdgeBucket} counts. */
export const MAX_GIVEN_UP_OPERATIONS = 8;

/** One caller→callee edge's attempts for one bucket. */
export class EdgeBucket {
  index = -1;
  attempts = 0;
  errors = 0;
  gaveUp = 0;
  /** Longest wait before giving up, ms. */
  maxWait = 0;
  /**
   * How many calls to each callee operation were given up on, when known, in the order first given up on
   * (at most {@link MAX_GIVEN_UP_OPERATIONS} operations; calls of further ones count in `gaveUp` only): an
   * edge whose calls to two operations hang is told by the one given up on most, not by whichever was last.
   * Created on the first give-up.
   */
  givenUp: Map<string, number> | undefined = undefined;
  /**
   * For calls still open (see InFlightCalls): the operation of the one open longest when it is another
   * than the one most {@link givenUp} (the first to hang; the calls counted queue behind it), else null.
   */
  firstOperation: string | null = null;
  readonly traces: string[] = [];

  reset(index: number): void {
    this.index = index;
    this.attempts = 0;
    this.errors = 0;
    this.gaveUp = 0;
    this.maxWait = 0;
    this.givenUp = undefined;
    this.firstOperation = null;
    this.traces.length = 0;
  }

  /** Counts `n` calls to callee operation `operation` given up on (see {@link givenUp}). */
  countGiveUp(operation: string, n = 1): void {
    countIn((this.givenUp ??= new Map()), operation, n, MAX_GIVEN_UP_OPERATIONS);
  }
}

/**
 * A fixed ring of buckets: `at(i)` gives bucket i, recycling the slot of i - size. Bucket i is only
 * valid while `slot.index === i`, so stale slots read as empty without being cleared. With a `pool`
 * (shared by the rings of one recorder), {@link releaseBefore} hands stale buckets back for any ring to
 * reuse: an operation seen once a minute then holds one bucket, not a ring of them.
 */
export class BucketRing<B extends { index: number; reset(index: number): void; reusable?(): boolean }> {
  private readonly slots: Array<B | undefined>;
  /**
   * The bucket `at` gave last (undefined once released): an operation's requests mostly land in the bucket
   * of the one before, and then need no slot arithmetic.
   */
  private last: B | undefined = undefined;

  constructor(
    readonly size: number,
    private readonly make: () => B,
    private readonly pool?: B[],
  ) {
    this.slots = new Array(size);
  }

  /** The bucket for index i, created or recycled for writing. */
  at(i: number): B {
    const last = this.last;
    if (last !== undefined && last.index === i) return last;
    const b = this.slot(i);
    this.last = b;
    return b;
  }

  private slot(i: number): B {
    const s = i % this.size;
    let b = this.slots[s];
    if (b === undefined) {
      b = this.pool?.pop() ?? this.make();
      this.slots[s] = b;
      b.reset(i);
    } else if (b.index !== i) {
      b.reset(i);
    }
    return b;
  }

  /** The bucket for index i if it holds data for i, else undefined (read only). */
  get(i: number): B | undefined {
    const b = this.slots[i % this.size];
    return b !== undefined && b.index === i ? b : undefined;
  }

  /**
   * Returns the {@link OpBucket.reusable reusable} buckets of indexes below `oldest` to the pool (without
   * a pool: nothing to do); the others stay in their slot for this ring to recycle, as without a pool.
   */
  releaseBefore(oldest: number): void {
    const pool = this.pool;
    if (pool === undefined) return;
    for (let s = 0; s < this.size; s++) {
      const b = this.slots[s];
      if (b !== undefined && b.index < oldest && b.reusable?.() !== false) {
        this.slots[s] = undefined;
        pool.push(b);
        if (b === this.last) this.last = undefined;
      }
    }
  }
}

/** Slow requests per bucket whose times are kept for {@link slowEvents}; past them each counts alone. */
const STALL_SPANS_MAX = 64;
/** Slow requests released together that {@link slowEvents} counts as one stall, at least. */
const STALL_MIN = 3;

/**
 * Scratch for {@link slowEvents}: the window's slow requests as [start, end] pairs, their order by end, and
 * which are in a stall. Written by index up to the window's count and never emptied, so their storage is
 * kept from call to call.
 */
const stallSpans: number[] = [];
const stallOrder: number[] = [];
const stallGrouped: boolean[] = [];

/**
 * How many slow events the `over` slow requests of a window's buckets are, for one latency series: those
 * that one stall (a GC pause, a blocked event loop, a callee stalled for a moment) slowed together are one.
 * All in flight at one same instant (the latest to start began before the first to end ended): one. Else
 * groups of {@link STALL_MIN} or more requests in flight when the first of the group ended, and released
 * within `releaseMs` of it (a pause lets go of what it held at once: each then ends after its own work),
 * each group one event. A busy operation's GC pause of 200 ms holds a dozen requests beside its ordinary
 * slow ones: counted one by one they read as a tail gone wrong (p < 1e-7), every few minutes.
 */
export function slowEvents(
  w: LatencyWindow,
  buckets: readonly OpBucket[],
  which: 'latency' | 'self',
  releaseMs: number,
): number {
  if (w.over <= 1) return w.over;
  if (w.overLastStart < w.overFirstEnd) return 1;
  // Asked again of the same window (its median shift, for the main baseline and the anchor; its tail): counted once.
  if (w.eventsReleaseMs === releaseMs) return w.events;
  const spans = stallSpans;
  let written = 0;
  for (const b of buckets) {
    const s = b[which].overSpans;
    if (s !== undefined) for (let i = 0; i < s.length; i++) spans[written++] = s[i];
  }
  const kept = written / 2;
  const order = stallOrder;
  const grouped = stallGrouped;
  for (let i = 0; i < kept; i++) {
    grouped[i] = false;
    // By end, ties in gathering order (a stable sort): buckets come in order and requests mostly end in the
    // order they were recorded, so an insertion sort moves few and calls no comparator (and a bucket keeps
    // at most STALL_SPANS_MAX).
    const end = spans[2 * i + 1];
    let j = i - 1;
    for (; j >= 0 && spans[2 * order[j] + 1] > end; j--) order[j + 1] = order[j];
    order[j + 1] = i;
  }
  // Greedily by end: the first request not in a stall yet ends at `at`; those released within releaseMs of
  // it that were in flight then are one stall with it, if there are STALL_MIN of them.
  let events = w.over - kept;
  for (let i = 0; i < kept; i++) {
    if (grouped[i]) continue;
    events++;
    const at = spans[2 * order[i] + 1];
    let members = 1;
    for (let j = i + 1; j < kept && spans[2 * order[j] + 1] <= at + releaseMs; j++) if (!grouped[j] && spans[2 * order[j]] < at) members++;
    // Two slow requests ending together happen by chance in a slow tail; a pause holds more.
    if (members < STALL_MIN) continue;
    for (let j = i + 1; j < kept && spans[2 * order[j] + 1] <= at + releaseMs; j++) if (spans[2 * order[j]] < at) grouped[j] = true;
  }
  w.events = events;
  w.eventsReleaseMs = releaseMs;
  return events;
}
