import type { BaselineOptions, ResolvedOptions } from '../options.js';
import type { AnomalySignal, LatencySignalSnapshot } from '../types.js';
import { LatencyDetector } from '../detectors/latency.js';
import { ErrorRateDetector } from '../detectors/errors.js';
import { TrafficDetector } from '../detectors/traffic.js';
import { TimeoutDetector } from '../detectors/timeout.js';
import { CallShapeDetector } from '../detectors/shape.js';
import { QueueWaitDetector } from '../detectors/queue.js';
import { LatencySketch } from '../stats/sketch.js';
import { latencyOptionsFor } from '../model/loop.js';
import type { Address } from '../model/operation.js';
import type { Origin } from '../trace/analyze.js';
import { ANCHOR_SLOWDOWN, logMs, ProportionBaseline } from '../stats/baseline.js';
import { chiSquareQuantile, normalSf } from '../stats/special.js';
import { HeldCounts, LaggedCounts } from '../stats/held.js';
import type { LearnedOperation } from '../trace/analyze.js';
import {
  BucketRing,
  EdgeBucket,
  LatencyBucket,
  OpBucket,
  clearMoments,
  emptyMoments,
  mergeMoments,
  mergeOrigins,
  type LogMoments,
  type OriginCounts,
} from './bucket.js';

/** Windows judged at each bucket close, in buckets: fast for busy operations, longer for sparse ones. */
export const WINDOWS = [1, 3, 12] as const;
/** Buckets of the longest window: a minute, the span a ring's windows and rates are read over. */
export const RING = 12;
/**
 * Slots of a ring: the longest window and the bucket in progress. A bucket closes once event time is well into
 * the next (see `latenessMs`), whose first traces are recorded by then: in a ring of `RING` slots they had
 * taken the window's oldest bucket, and every minute's rate (a drop's, a producer's) read 11/12 of its own.
 */
const RING_SLOTS = RING + 1;

/**
 * A bucket's p95 is learned as at most this many times the learned one: a slowdown's first bucket, before
 * any window of it fired, moved the learned p95 a tenth of the way to it (5 ms → 150 ms for a route whose
 * fifth of requests took 1.5 s), and the slowdown was then told against that. A lasting rise still gets
 * there, a fifth further each bucket.
 */
const P95_LEARN_CAP = 3;

/** An EWMA of a reporting quantile (p95), learned alongside the baseline. */
export class QuantileEwma {
  value = NaN;
  learn(x: number, alpha: number): void {
    if (!Number.isFinite(x)) return;
    this.value = Number.isNaN(this.value) ? x : (1 - alpha) * this.value + alpha * Math.min(x, P95_LEARN_CAP * this.value);
  }
}

/** A latency series' sums over a window. */
export interface LatencyWindow {
  ok: LogMoments;
  over: number;
  judged: number;
  overLastStart: number;
  overFirstEnd: number;
  /** The window's slow events (see `slowEvents`), once counted for a release time of `eventsReleaseMs` (NaN: not yet). */
  events: number;
  eventsReleaseMs: number;
}

/** Aggregate of an operation's buckets over a window. */
export interface OpWindow {
  start: number;
  end: number;
  buckets: OpBucket[];
  requests: number;
  /** Of `requests`, those counted late (see OpBucket.late). */
  late: number;
  errors: number;
  latency: LatencyWindow;
  self: LatencyWindow;
  failing: number;
  slow: number;
  diverged: number;
  okRequests: number;
}

/** Per-request decay of the share of slow requests (a memory of ~500 requests). */
const SLOW_SHARE_DECAY_PER_REQUEST = 0.002;

/** One-sided level of the upper bound on a baseline's spread in {@link LatencySignal.slowRate}. */
const SD_BOUND_P = 0.05;

/**
 * What is learned about one latency series (total duration, or self time): the baseline detector, a
 * slow anchor for gradual drifts (total only), how often single requests are `ratio`× slower than
 * typical (the heavy tail), and the usual p95 for explanations.
 */
export class LatencySignal {
  readonly detector: LatencyDetector;
  readonly anchor: LatencyDetector | undefined;
  /** How often a request is slow, and how slow requests bunch (a stalled callee slows those in flight together). */
  readonly slowShare: ProportionBaseline;
  /** Slow counts of buckets held back from the baseline, and of the others not learned yet (see {@link learn}). */
  private readonly heldTail = new HeldCounts();
  private readonly pendingTail = new LaggedCounts();
  /** Buckets whose slow counts were learned. */
  private tailBuckets = 0;
  readonly p95 = new QuantileEwma();
  /** Consecutive buckets held back from the baseline, and from the anchor, as suspiciously slow. */
  held = 0;
  anchorHeld = 0;
  /**
   * Buckets of requests the baseline learned, and buckets clearly slower than it (see `clearlySlower`),
   * whether learned or not, in an episode or not: what `Episodes` weighs before it takes a slow level for
   * the new normal.
   */
  learnedBuckets = 0;
  slowBuckets = 0;
  /** Degrees of freedom of the last spread bound computed in {@link slowRate}, and its factor. */
  private boundK = 0;
  private boundFactor = 1;

  constructor(opts: ResolvedOptions, withAnchor: boolean) {
    this.detector = new LatencyDetector(opts.baseline, opts.latency);
    // ~20× the memory of the baseline (about 17 min at the defaults): a ramp the baseline follows still shows against it.
    this.anchor = withAnchor ? new LatencyDetector(anchorBaseline(opts.baseline), opts.latency) : undefined;
    this.slowShare = new ProportionBaseline(SLOW_SHARE_DECAY_PER_REQUEST, opts.baseline.minSamples);
  }

  /** P-value of `over` of `judged` requests `ratio`× slower than typical (see {@link slowRate}), runs counted as runs. */
  slowPValue(over: number, judged: number, ratio: number): number {
    return this.slowShare.sf(over, judged, this.slowRate(ratio));
  }

  /**
   * How often a single request is `ratio`× slower than typical, for the slow-count test: the share learned,
   * but at least what the learned spread of ln(ms) implies for a log-normal, at its 95 % upper bound. The
   * share's prior (2 %) fades over hundreds of requests, while a heavy tail (σ 0.9: 11 % of requests 3×
   * typical) shows in the spread within seconds — if not its full width from six samples: a fresh sparse
   * operation's four slow requests of four are its tail, not a fault.
   */
  private slowRate(ratio: number): number {
    const d = this.detector.baseline;
    const k = Math.max(1, d.samples - 1);
    // The bound's factor changes only when a bucket is learned; every window judged between asks for it.
    if (k !== this.boundK) {
      this.boundK = k;
      this.boundFactor = Math.sqrt(k / chiSquareQuantile(SD_BOUND_P, k));
    }
    return Math.max(this.slowShare.rate, normalSf(Math.log(ratio) / (d.sd * this.boundFactor)));
  }

  /**
   * Learns bucket `index` into the baseline (with its p95) and, separately, into the anchor. How many of its
   * requests were slow is learned a ring later once two minutes of buckets were (at once before), or, for a
   * bucket held back from the baseline, a ring later in any case, if no latency anomaly fired meanwhile
   * ({@link forgetHeld}): slow requests that come a few at a time (a paused process, a callee stalled for a
   * moment) are normal and learned all the same, but a tail that grows (a tenth of requests a second slower,
   * no bucket slow on its own) is judged against a share that has not seen it.
   */
  learn(index: number, b: LatencyBucket, alpha: number, main = true, anchor = true): void {
    if (anchor) this.anchor?.learn(b.learn);
    if (main) {
      if (b.learn.n > 0) this.learnedBuckets++;
      this.detector.learn(b.learn);
      this.pendingTail.add(index, b.judged, b.over, this.tailBuckets >= TAIL_LAG_AFTER ? RING : 0, this.learnTail);
      if (b.sketch.count >= 5) this.p95.learn(b.sketch.quantile(0.95), alpha);
    } else if (b.over > 0) {
      this.heldTail.hold(index, b.judged, b.over);
    }
    this.heldTail.release(index, RING, this.learnTail);
  }

  /** Drops the slow counts not learned yet: a latency anomaly fired, and they are part of it. */
  forgetHeld(): void {
    this.heldTail.forget();
    this.pendingTail.forget();
  }

  private readonly learnTail = (judged: number, over: number): void => {
    this.slowShare.learn(judged, over);
    this.tailBuckets++;
  };

  toJSON(): LatencySignalSnapshot {
    return {
      detector: this.detector.toJSON(),
      anchor: this.anchor?.toJSON() ?? null,
      slowShare: this.slowShare.toJSON(),
      p95: Number.isNaN(this.p95.value) ? null : this.p95.value,
    };
  }

  restore(s: LatencySignalSnapshot): void {
    this.detector.restore(s.detector);
    if (this.anchor && s.anchor !== null) this.anchor.restore(s.anchor);
    this.slowShare.restore(s.slowShare);
    // A restored share has its history: its slow counts go on being learned a ring late.
    if (this.slowShare.ready) this.tailBuckets = TAIL_LAG_AFTER;
    if (s.p95 !== null) this.p95.value = s.p95;
  }
}

/** The anchors' baseline options, by the options they slow down: one object for every operation's anchors. */
const anchorBaselines = new WeakMap<BaselineOptions, BaselineOptions>();

function anchorBaseline(baseline: BaselineOptions): BaselineOptions {
  let slow = anchorBaselines.get(baseline);
  if (slow === undefined) {
    slow = { ...baseline, alpha: baseline.alpha / ANCHOR_SLOWDOWN };
    anchorBaselines.set(baseline, slow);
  }
  return slow;
}

/** Buckets of slow counts learned as they close before each is learned a ring late: two minutes of history. */
const TAIL_LAG_AFTER = 2 * RING;

/** A call made by at least this share of an operation's requests is its usual path: a request skipping it diverged. */
export const USUAL_PATH_SHARE = 0.9;


/** A latency this many baseline sd from typical, clamped to 1.5×–2× either way, is unusual for one request. */
const UNUSUAL_SD = 3;
const UNUSUAL_MIN_LOG_RATIO = Math.log(1.5);
const UNUSUAL_MAX_LOG_RATIO = Math.log(2);

/** A callee made by fewer of an operation's requests than this, as learned, is new to it (see OpState.newCallee). */
const NEW_CALLEE_SHARE = 0.01;

/** An operation: a service's server operation, or an operation on an uninstrumented peer (a database). */
export class OpState implements LearnedOperation {
  readonly ring: BucketRing<OpBucket>;
  /** Replaced by {@link relearn} (as are `self`, `traffic` and a shape's detector); never cache them. */
  latency: LatencySignal;
  self: LatencySignal;
  readonly errors: ErrorRateDetector;
  traffic: TrafficDetector | undefined;
  readonly shapes = new Map<string, CallShapeDetector>();
  /** Whether its requests are messages it consumes (a consumer span's operation). */
  consumer = false;
  /** For a consumer: how long its messages wait in their queue, made on the first wait measured (see EntryFact.queued). */
  queue: QueueWaitDetector | undefined = undefined;
  /** Whether a request of it had a parent span: a caller, seen in {@link callers} unless it is in another process. */
  called = false;
  /** Operations seen calling this one (for tracing traffic drops upstream). */
  readonly callers = new Set<string>();
  /** Successful requests learned for trace shape: a call first seen later starts from share 0 over these. */
  shapeSamples = 0;
  /** Callee keys nearly every request makes (share ≥ {@link USUAL_PATH_SHARE}), once shape is learned. */
  usual: readonly string[] = [];
  /** For a peer: the address its first call went to (see the recorder), if the span named one. */
  address: Address | undefined = undefined;
  /** Whether `address` was read (once per operation). */
  addressRead = false;
  /** For a peer: itself as the origin of its slow calls (see the recorder), made once. */
  ownOrigin: Origin | undefined = undefined;
  /** Last bucket index with data. */
  lastIndex = -Infinity;
  /** End time (event ms) of the latest request that failed, and of the latest that did not. */
  lastErrorAt = -Infinity;
  lastOkAt = -Infinity;
  /** Active anomaly episodes on this operation, by signal. */
  readonly active = new Set<string>();
  /** In the recorder's live set (kept by the recorder). */
  live = false;
  /** Let go from the live set for a whole ring without a request (see Recorder.prune), not back since. */
  letGo = false;
  /**
   * Times it came back after being let go. Its rate from before a silence the judge did not see is no
   * expectation: each return learns traffic afresh. From the second on it comes and goes (a batch job's
   * route, a client that calls in sessions): its stops are its normal, and its drops are not judged —
   * until it has been live without a break for `adaptAfterMs` (then 0 again).
   */
  returns = 0;
  /** Bucket index from which it has been live without a break. */
  liveSince = -Infinity;
  /** Bucket index of its first request (Infinity before one). */
  firstIndex = Infinity;
  /**
   * Has answered a request with anything but a 4xx. Until then every request was refused as the client's
   * fault (a scanner's paths, a removed endpoint): when such requests stop, nothing stopped working, so
   * its traffic drops are not judged.
   */
  served = false;
  /** An overflow operation (in the recorder's overflow set: never live). */
  overflow = false;
  /** The caller key last remembered in `callers` (the recorder's shortcut). */
  lastCaller: string | undefined = undefined;
  /** The options its latency signals judge with (see {@link latencyOptionsFor}). */
  private readonly latencyOpts: ResolvedOptions;

  constructor(
    readonly key: string,
    readonly service: string,
    readonly operation: string,
    /** `peer` until it is known to be served by an instrumented service (see {@link servedHere}). */
    public nodeType: 'service' | 'peer',
    private readonly opts: ResolvedOptions,
    /** Spare buckets shared with the recorder's other operations (see {@link BucketRing.releaseBefore}). */
    pool?: OpBucket[],
  ) {
    this.ring = new BucketRing(RING_SLOTS, newOpBucket, pool);
    this.latencyOpts = latencyOptionsFor(operation, opts);
    this.latency = new LatencySignal(this.latencyOpts, true);
    // A peer's self time is its latency: only services have a separate self-time signal worth judging.
    this.self = new LatencySignal(this.latencyOpts, true);
    this.errors = new ErrorRateDetector(opts.baseline, opts.errors);
    this.traffic = nodeType === 'service' ? new TrafficDetector(opts.baseline, opts.traffic) : undefined;
  }

  /**
   * Its own service's span served a request of it: it is that service's operation, not a peer's. An
   * operation is first seen as a peer's when calls to it come before anything answers them (an analyzer
   * started mid-stream, another exporter's batch with the callee's spans still to come); left a peer, it
   * was judged without its traffic or the trace graph below it (its failures were its own).
   */
  servedHere(): void {
    if (this.nodeType === 'service') return;
    this.nodeType = 'service';
    this.traffic = new TrafficDetector(this.opts.baseline, this.opts.traffic);
  }

  /** Typical duration (ms), once the baseline is ready. */
  typicalLatency(): number | undefined {
    const b = this.latency.detector.baseline;
    return b.ready ? b.typical : undefined;
  }

  /** How many times a request that calls `calleeKey` usually calls it, once learned. */
  usualCalls(calleeKey: string): number | undefined {
    return this.shapes.get(calleeKey)?.usualCount();
  }

  /**
   * Whether its requests (almost) never called `calleeKey` before, once its call shape is learned (false
   * before): no detector, or one whose learned share is under {@link NEW_CALLEE_SHARE} (a detector is made
   * as soon as a judged bucket holds the call, and learns nothing while its anomaly goes on).
   */
  newCallee(calleeKey: string): boolean {
    if (this.shapeSamples < this.opts.shape.minSamples) return false;
    const d = this.shapes.get(calleeKey);
    return d === undefined || d.baseline.share < NEW_CALLEE_SHARE;
  }

  /** Typical self time (ms), once its baseline is ready. */
  typicalSelf(): number | undefined {
    const b = this.self.detector.baseline;
    return b.ready ? b.typical : undefined;
  }

  /** Whether one request's `ms` is far from the learned latency, either way (false while unlearned). */
  unusualLatency(ms: number): boolean {
    // Against the slow anchor: the main baseline soon learns a fault that makes calls faster.
    const b = this.latency.anchor?.baseline;
    if (b === undefined || !b.ready) return false;
    // 3 sd, but never past 2× (a short or warm-up-inflated history overstates the spread) nor under 1.5×.
    return Math.abs(logMs(ms) - b.mean) >= Math.min(Math.max(UNUSUAL_SD * b.sd, UNUSUAL_MIN_LOG_RATIO), UNUSUAL_MAX_LOG_RATIO);
  }

  /** The latency series a latency signal judges: own time for `latency.self`, else the requests' latency. */
  series(signal: 'latency' | 'latency.self' | 'latency.tail'): LatencySignal {
    return signal === 'latency.self' ? this.self : this.latency;
  }

  /**
   * Forgets what one signal learned, so it learns its current level afresh as a new operation's would
   * (see `adaptAfterMs`); a call-pattern signal forgets only its `callee`. Errors are never forgotten.
   */
  relearn(signal: AnomalySignal, callee: string | undefined): void {
    if (signal === 'latency' || signal === 'latency.tail') this.latency = new LatencySignal(this.latencyOpts, true);
    else if (signal === 'latency.self') this.self = new LatencySignal(this.latencyOpts, true);
    else if (signal === 'latency.queue') this.queue &&= this.newQueue();
    else if (signal === 'traffic.surge' || signal === 'traffic.drop') this.traffic &&= new TrafficDetector(this.opts.baseline, this.opts.traffic);
    else if ((signal === 'shape.missing-call' || signal === 'shape.new-call' || signal === 'shape.more-calls') && callee !== undefined && this.shapes.has(callee)) {
      this.shapes.set(callee, new CallShapeDetector(this.opts.baseline, this.opts.shape));
    }
  }

  /** A queue-wait baseline of its own (see {@link queue}). */
  newQueue(): QueueWaitDetector {
    return new QueueWaitDetector(this.opts.baseline, this.opts.latency);
  }

  shape(callee: string): CallShapeDetector {
    let d = this.shapes.get(callee);
    if (d === undefined) {
      d = new CallShapeDetector(this.opts.baseline, this.opts.shape);
      this.shapes.set(callee, d);
    }
    return d;
  }

  /** Sums the buckets of the `size` buckets ending at `last`. */
  window(last: number, size: number, bucketMs: number): OpWindow {
    const w = emptyWindow();
    sumInto(w, this.ring, last, size, bucketMs);
    return w;
  }

  /**
   * Fills `into[k]` with the window of `WINDOWS[k]` buckets ending at `last`, for every k: the judge's
   * windows at each bucket close, without allocating (this runs for every live operation). The windows
   * are the caller's scratch: a firing keeps a {@link copyWindow copy}.
   */
  fillWindows(last: number, bucketMs: number, into: readonly OpWindow[]): readonly OpWindow[] {
    for (let k = 0; k < WINDOWS.length; k++) {
      const w = into[k];
      resetWindow(w);
      sumInto(w, this.ring, last, WINDOWS[k], bucketMs);
    }
    return into;
  }
}

function newOpBucket(): OpBucket {
  return new OpBucket();
}

/** A window of nothing, to fill. */
export function emptyWindow(): OpWindow {
  return {
    start: 0,
    end: 0,
    buckets: [],
    requests: 0,
    late: 0,
    errors: 0,
    latency: { ok: emptyMoments(), over: 0, judged: 0, overLastStart: -Infinity, overFirstEnd: Infinity, events: 0, eventsReleaseMs: NaN },
    self: { ok: emptyMoments(), over: 0, judged: 0, overLastStart: -Infinity, overFirstEnd: Infinity, events: 0, eventsReleaseMs: NaN },
    failing: 0,
    slow: 0,
    diverged: 0,
    okRequests: 0,
  };
}

/** A window of its own, for a firing to keep after the scratch window it was judged on is refilled. */
export function copyWindow(w: OpWindow): OpWindow {
  return {
    ...w,
    buckets: w.buckets.slice(),
    latency: { ...w.latency, ok: { ...w.latency.ok } },
    self: { ...w.self, ok: { ...w.self.ok } },
  };
}

/** Empties a window's sums; its bucket list is overwritten by {@link sumInto}. */
function resetWindow(w: OpWindow): void {
  w.requests = 0;
  w.late = 0;
  w.errors = 0;
  resetLatency(w.latency);
  resetLatency(w.self);
  w.failing = 0;
  w.slow = 0;
  w.diverged = 0;
  w.okRequests = 0;
}

function resetLatency(lw: LatencyWindow): void {
  clearMoments(lw.ok);
  lw.over = 0;
  lw.judged = 0;
  lw.overLastStart = -Infinity;
  lw.overFirstEnd = Infinity;
  lw.eventsReleaseMs = NaN;
}

/**
 * Adds the buckets of the `size` buckets ending at `last` to an empty window, oldest first. The bucket list
 * is overwritten in place and cut to length, not emptied first: `length = 0` would free its storage, and the
 * judge's scratch windows would allocate it again for every live operation at every bucket close.
 */
function sumInto(w: OpWindow, ring: BucketRing<OpBucket>, last: number, size: number, bucketMs: number): void {
  w.start = (last - size + 1) * bucketMs;
  w.end = (last + 1) * bucketMs;
  const buckets = w.buckets;
  let n = 0;
  for (let i = last - size + 1; i <= last; i++) {
    const b = ring.get(i);
    if (b === undefined) continue;
    buckets[n++] = b;
    w.requests += b.requests;
    w.late += b.late;
    w.errors += b.errors;
    addLatency(w.latency, b.latency);
    addLatency(w.self, b.self);
    w.failing += b.failing;
    w.slow += b.slow;
    w.diverged += b.diverged;
    w.okRequests += b.okRequests;
  }
  // Setting `length` is a call into the runtime: skipped when the window holds as many buckets as before.
  if (buckets.length !== n) buckets.length = n;
}

function addLatency(w: LatencyWindow, b: LatencyBucket): void {
  mergeMoments(w.ok, b.ok);
  w.over += b.over;
  w.judged += b.judged;
  if (b.overLastStart > w.overLastStart) w.overLastStart = b.overLastStart;
  if (b.overFirstEnd < w.overFirstEnd) w.overFirstEnd = b.overFirstEnd;
}

/** The merged sketch of one latency series over a window's buckets (built only when needed: it costs a merge per bucket). */
export function windowSketch(buckets: readonly OpBucket[], which: 'latency' | 'self'): LatencySketch {
  const out = new LatencySketch();
  for (const b of buckets) out.merge(b[which].sketch);
  return out;
}

/** The longest request of one latency series over a window's buckets (0 when none). */
export function windowLongest(buckets: readonly OpBucket[], which: 'latency' | 'self'): number {
  let longest = 0;
  for (const b of buckets) {
    const sketch = b[which].sketch;
    if (sketch.count > 0 && sketch.max > longest) longest = sketch.max;
  }
  return longest;
}

export function windowOrigins(buckets: readonly OpBucket[], which: 'errorOrigins' | 'slowOrigins' | 'shapeOrigins'): OriginCounts {
  const out: OriginCounts = new Map();
  for (const b of buckets) {
    const counts = b[which];
    if (counts !== undefined) mergeOrigins(out, counts);
  }
  return out;
}

/** What the latest bucket in the window that knows it says of its failing requests: their message, or where they failed. */
export function windowLatest(buckets: readonly OpBucket[], which: 'errorMessage' | 'failedIn'): string | undefined {
  for (let i = buckets.length - 1; i >= 0; i--) if (buckets[i][which] !== undefined) return buckets[i][which];
  return undefined;
}

/** How many times, on average, the window's successful requests that called `callee` called it; undefined when none did. */
export function callsPerRequest(buckets: readonly OpBucket[], callee: string): number | undefined {
  const times = { calls: 0, squares: 0 };
  let made = 0;
  for (const b of buckets) made += b.addCallTimes(callee, times);
  return made > 0 ? times.calls / made : undefined;
}

/** Up to `max` of the window's exemplars of failing requests, or of requests missing a usual call, newest buckets first. */
export function windowFirstTraces(buckets: readonly OpBucket[], max: number, which: 'errorTraces' | 'divergedTraces'): string[] {
  const out: string[] = [];
  for (let i = buckets.length - 1; i >= 0 && out.length < max; i--) {
    for (const t of buckets[i][which] ?? []) if (out.length < max && !out.includes(t)) out.push(t);
  }
  return out;
}

/** Up to `max` of the window's slowest exemplars (see {@link OpBucket.addSlow}), slowest first. */
export function windowSlowTraces(buckets: readonly OpBucket[], max: number): string[] {
  const all: Array<[string, number]> = [];
  for (const b of buckets) {
    const ids = b.slowTraces;
    if (ids !== undefined) for (let i = 0; i < ids.length; i++) all.push([ids[i], (b.slowMs as number[])[i]]);
  }
  all.sort((x, y) => y[1] - x[1]);
  const out: string[] = [];
  for (const [t] of all) if (out.length < max && !out.includes(t)) out.push(t);
  return out;
}

/** Aggregate of an edge's buckets over a window. */
export interface EdgeWindow {
  attempts: number;
  errors: number;
  gaveUp: number;
  maxWait: number;
  buckets: EdgeBucket[];
}

/** Calls an edge keeps to tell whether its caller runs them side by side (see EdgeState.concurrent). */
const RECENT_CALLS = 8;
/**
 * How long two calls must overlap to count as side by side (ms): a synchronous driver's calls may seem to
 * overlap by a fraction of a millisecond where a tracer takes start times from a millisecond clock.
 */
const MIN_OVERLAP_MS = 2;

/** A caller service → callee edge, judged for callers giving up (timeouts, no answer). */
export class EdgeState {
  readonly ring = new BucketRing(RING_SLOTS, () => new EdgeBucket());
  readonly timeout: TimeoutDetector;
  lastIndex = -Infinity;
  /** First bucket index with a call since this process started (-Infinity when restored from a snapshot). */
  firstIndex = Infinity;
  calls = 0;
  errorsTotal = 0;
  readonly active = new Set<string>();
  /** The callee operation its latest timeout firing named (what the caller gives up on while `active`). */
  givenUpOperation: string | null = null;
  /** Event time the latest of its calls ended. */
  lastEndAt = -Infinity;
  /** Event time the latest of its calls that did not fail ended: the callee answering, whichever of its operations. */
  lastOkAt = -Infinity;
  /**
   * While the latest in-flight report shows the edge stuck (calls overdue, none answered since the first
   * of them was due; see InFlightCalls), the callee operation the oldest of them calls; else undefined.
   */
  stuck: string | null | undefined = undefined;
  /** In the recorder's live set (kept by the recorder). */
  live = false;
  /**
   * Whether two of its calls from different traces were seen in flight at once: the caller runs them side by
   * side (an asynchronous client), so none of them holds its event loop. A synchronous driver's never do.
   */
  concurrent = false;
  /** Its latest calls (see {@link noteCall}): start and end, and their traces. */
  private readonly recent = new Float64Array(2 * RECENT_CALLS);
  private readonly recentTraces: string[] = new Array<string>(RECENT_CALLS).fill('');
  private nextRecent = 0;

  constructor(
    readonly key: string,
    readonly caller: string,
    readonly calleeService: string,
    readonly virtual: boolean,
    opts: ResolvedOptions,
  ) {
    this.timeout = new TimeoutDetector(opts.baseline, opts.timeout);
  }

  /** A call from `start` to `end` in trace `traceId`: sets {@link concurrent} once one overlaps another by {@link MIN_OVERLAP_MS}. */
  noteCall(start: number, end: number, traceId: string): void {
    // A shorter call overlaps none by that much (most calls to a database, kept off the ring's scan).
    if (this.concurrent || end - start < MIN_OVERLAP_MS) return;
    for (let i = 0; i < RECENT_CALLS; i++) {
      const t = this.recentTraces[i];
      if (t !== '' && t !== traceId && Math.min(end, this.recent[2 * i + 1]) - Math.max(start, this.recent[2 * i]) >= MIN_OVERLAP_MS) {
        this.concurrent = true;
        return;
      }
    }
    this.recent[2 * this.nextRecent] = start;
    this.recent[2 * this.nextRecent + 1] = end;
    this.recentTraces[this.nextRecent] = traceId;
    this.nextRecent = (this.nextRecent + 1) % RECENT_CALLS;
  }

  window(last: number, size: number): EdgeWindow {
    let attempts = 0;
    let errors = 0;
    let gaveUp = 0;
    let maxWait = 0;
    const buckets: EdgeBucket[] = [];
    for (let i = last - size + 1; i <= last; i++) {
      const b = this.ring.get(i);
      if (b === undefined) continue;
      buckets.push(b);
      attempts += b.attempts;
      errors += b.errors;
      gaveUp += b.gaveUp;
      if (b.maxWait > maxWait) maxWait = b.maxWait;
    }
    return { attempts, errors, gaveUp, maxWait, buckets };
  }
}
