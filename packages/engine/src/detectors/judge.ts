import type { LatencyOptions, ResolvedOptions } from '../options.js';
import type { Verdict } from './verdict.js';
import type { LatencyDetector, LogWindow } from './latency.js';
import type { CallShapeDetector } from './shape.js';
import { absorbedIn, queuedIn, slowEvents, type CallTimes, type LatencyBucket } from '../ops/bucket.js';
import { RING, USUAL_PATH_SHARE, WINDOWS, copyWindow, emptyWindow, windowLongest, windowSketch, type EdgeState, type EdgeWindow, type LatencySignal, type OpState, type OpWindow } from '../ops/state.js';
import { ANCHOR_SLOWDOWN } from '../stats/baseline.js';
import type { Recorder } from '../ops/recorder.js';
import { episodeKey, opKeyOperation, opKeyService } from '../keys.js';
import { isPoolWait } from '../model/operation.js';
import { EVENT_LOOP_OPERATION, LOOP_MIN_SHIFT_MS, loopStallMs, stallSeverity } from '../model/loop.js';
import { SEVERITY_RANK } from '../incidents/severity.js';
import { pToScore } from '../stats/special.js';
import type { Severity } from '../types.js';
import { latencySeverity } from './latency.js';
import { errorSeverity } from './errors.js';
import { broadSlowdown } from './broad.js';
import { QUEUE_SUSTAIN_BUCKETS, type QueueWaitDetector } from './queue.js';

/** A tail slowdown ({@link Judge.judgeTail}) is judged on windows of at least this many successful requests. */
const TAIL_MIN_REQUESTS = 20;
/** ... with at least this share of them slow: fewer leave the p95 where it was. */
const TAIL_MIN_SHARE = 0.05;
/** ... and their count this improbable given the operation's own tail (as strict as a low error rate's test). */
const TAIL_P_MAX = 1e-7;
/**
 * ... or this improbable (3σ) while the operation's tail episode goes on: a tenth of requests a second
 * slower, proved once, is rarely proved as strictly again by every window, and its episode ended, and the
 * baselines learned the slow tail, while the fault went on (an incident resolved minutes before its fault).
 */
const TAIL_P_KEEP = 0.00135;
/**
 * ... and the p95 up by at least this much (ms): a busy host (a build, a neighbour's CPU) puts a few
 * milliseconds on a tenth of every fast call at once, a database's 1.6 ms p95 going to 5.7 ms; a tail users
 * notice is tens of milliseconds longer.
 */
const TAIL_MIN_SHIFT_MS = 20;

/**
 * A tail slowdown's severity: its p95's tier, but at most medium while fewer than a tenth of requests are
 * slow and at most high while fewer than a quarter are: most requests are not slowed at all.
 */
function tailSeverity(tier: Severity, share: number): Severity {
  const cap: Severity = share < 0.1 ? 'medium' : share < 0.25 ? 'high' : 'critical';
  return SEVERITY_RANK[tier] < SEVERITY_RANK[cap] ? tier : cap;
}

/** Drop windows an operation first requested while watched must have lived before its stop is a drop (see Judge.ended). */
const DROP_HISTORY = 5;

/** A bucket this significantly slower than its baseline is held back from learning (see learnLatency). */
const HOLD_SCORE = 3;
/**
 * A bucket where a usual call is made by half as many requests or fewer, with this p-value, is held back
 * from the shape baseline: holding only delays learning, so a weak hint suffices for a sparse caller.
 */
const SHAPE_HOLD_P = 0.05;

/**
 * How long after a bucket in which most of what is watched slowed at once (a host short of CPU), or a loop
 * sample that showed the process starved of CPU, a latency firing is taken as part of it: such spells come
 * and go over tens of seconds, at their worst in one bucket.
 */
export const SHARED_MS = 30_000;

/** Requests held together, at least, for a tail of them to be a lock's or a hang's (see `Judge.judgeHeld`). */
const HELD_MIN = 3;

interface OpFiringBase {
  verdict: Verdict;
  op: OpState;
  /** Evaluated window size in buckets. */
  size: number;
  window: OpWindow;
  /** The evidence's count where the window's requests do not give it (a stalled event loop: the turns it missed). */
  support?: number;
  /** A tail of requests held together (see `Judge.judgeHeld`): how many. */
  held?: number;
}

/** An operation's signal that fired over one of its windows. */
export type OpFiring =
  | (OpFiringBase & {
      kind: 'latency';
      signal: 'latency' | 'latency.self' | 'latency.tail' | 'latency.queue';
      /** Within {@link SHARED_MS} of a bucket in which most of what is watched slowed at once (see {@link broadSlowdown}), or of a starved loop. */
      shared: boolean;
    })
  | (OpFiringBase & { kind: 'errors'; signal: 'errors' })
  | (OpFiringBase & { kind: 'traffic'; signal: 'traffic.surge' | 'traffic.drop' })
  | (OpFiringBase & { kind: 'shape'; signal: 'shape.missing-call' | 'shape.new-call' | 'shape.more-calls'; /** The callee's operation key. */ callee: string });

type ShapeFiring = Extract<OpFiring, { kind: 'shape' }>;

/** Callers giving up on an edge's callee over one of its windows. */
export interface EdgeFiring {
  kind: 'timeout';
  signal: 'timeout';
  verdict: Verdict;
  edge: EdgeState;
  size: number;
  window: EdgeWindow;
}

/** What the judge hands on: one strongest firing per signal (and callee) of each operation or edge. */
export type Firing = OpFiring | EdgeFiring;

/**
 * A closed bucket → verdicts: judges every live operation and edge over each window ending at the bucket,
 * and lets those that did not fire learn the bucket. Reads the recorder's operations; owns no state.
 */
export class Judge {
  /** Every operation's windows are summed into these in turn (a firing keeps a copy of its window). */
  private readonly windows = WINDOWS.map(emptyWindow);
  /** Callee services by caller service, of edges with a timeout episode as the bucket closes (see calleeFailing). */
  private readonly givingUp = new Map<string, Set<string>>();
  /** Calls per request to one callee, summed over a window's buckets in turn. */
  private readonly times: CallTimes = { calls: 0, squares: 0 };
  /** Per node, its operations judged and slowed in the bucket (see {@link broadSlowdown}; reused). */
  private readonly nodes = new Map<string, number[]>();
  /** The latest bucket in which most of what is watched slowed at once (see {@link broadSlowdown}). */
  private broadAt = -Infinity;
  /**
   * Whether the bucket being judged is within {@link SHARED_MS} of {@link broadAt}, or of a loop sample
   * that showed its process starved of CPU (`Recorder.starvedAt`): its latency firings are `shared`.
   */
  private shared = false;
  /** Operations whose errors fire in this close (their episodes start after it). */
  private readonly erring = new Set<string>();
  /** More-calls firings held until every operation was judged (see {@link close}). */
  private readonly moreCalls: ShapeFiring[] = [];

  constructor(private readonly options: ResolvedOptions) {}

  /**
   * Judges bucket `index`. `partial`: its request count is incomplete (traffic is neither judged nor
   * learned); `countedFrom`: first bucket whose count is whole (traffic windows reaching before it are skipped);
   * `latencyFrom`: first bucket whose latency is judged (latency windows reaching before it are skipped).
   */
  close(rec: Recorder, index: number, partial: boolean, countedFrom: number, latencyFrom: number): Firing[] {
    const firings: Firing[] = [];
    this.givingUp.clear();
    for (const edge of rec.edges.values()) {
      if (edge.active.size === 0) continue;
      let to = this.givingUp.get(edge.caller);
      if (to === undefined) this.givingUp.set(edge.caller, (to = new Set()));
      to.add(edge.calleeService);
    }
    this.erring.clear();
    this.moreCalls.length = 0;
    if (broadSlowdown(rec, index, this.nodes)) this.broadAt = index;
    const now = (index + 1) * this.options.bucketMs;
    this.shared = (index - this.broadAt) * this.options.bucketMs < SHARED_MS || now - rec.starvedAt < SHARED_MS;
    for (const op of rec.liveOps) {
      const before = firings.length + this.moreCalls.length;
      const b = op.ring.get(index);
      // Whether the bucket is clearly slower than each series' baseline: counted, and what learning holds back.
      const slow = b !== undefined && this.countSlow(op.latency, b.latency);
      const slowSelf = b !== undefined && this.countSlow(op.self, b.self);
      this.judgeOp(rec, op, index, firings, partial, countedFrom, latencyFrom);
      if (firings.length + this.moreCalls.length === before && op.active.size === 0) this.learnOp(rec, op, index, partial, slow, slowSelf);
    }
    // Requests retrying a failing callee call it, and the pool for it, more often: that is the callee's
    // fault. Its errors may fire in this very close, after its caller was judged. Each query of an N+1 loop
    // also waits for a pooled connection: the queries first, so an incident opens with their words.
    this.moreCalls.sort((a, b) => Number(isPoolWait(opKeyOperation(a.callee))) - Number(isPoolWait(opKeyOperation(b.callee))));
    for (const f of this.moreCalls) if (!calleeFailing(rec, f.op, this.givingUp, this.erring)) firings.push(f);
    for (const edge of rec.liveEdges) {
      const before = firings.length;
      this.judgeEdge(edge, index, firings);
      if (firings.length > before) edge.timeout.forgetHeld();
      else if (edge.active.size === 0) {
        const b = edge.ring.get(index);
        if (b !== undefined) edge.timeout.learnBucket(index, b.attempts, b.gaveUp, RING);
      }
    }
    return firings;
  }

  private judgeOp(rec: Recorder, op: OpState, index: number, out: Firing[], partial: boolean, countedFrom: number, latencyFrom: number): void {
    const { bucketMs } = this.options;
    let latency: OpFiring | undefined;
    let errors: OpFiring | undefined;
    let self: OpFiring | undefined;
    let tail: OpFiring | undefined;
    const windows = op.fillWindows(index, bucketMs, this.windows);
    for (let k = 0; k < WINDOWS.length; k++) {
      const size = WINDOWS[k];
      const w = windows[k];
      if (w.latency.ok.n > 0 && index - size + 1 >= latencyFrom) {
        latency = this.judgeLatency(op, op.latency, w, size, 'latency', latency);
        // A peer's self time is its latency; a service's self time shows a fault of its own code. An event loop's
        // samples have no children: their self time is their latency, one anomaly told twice.
        if (op.nodeType === 'service' && op.operation !== EVENT_LOOP_OPERATION) self = this.judgeLatency(op, op.self, w, size, 'latency.self', self);
        tail = this.judgeTail(op, w, size, tail);
      }
      if (op.errors.mayFire(w.requests, w.errors) && (k === 0 || !op.errors.recovered(windows[k - 1].requests, windows[k - 1].errors))) {
        const v = op.errors.judge(w.requests, w.errors);
        if (v.anomalous && (errors === undefined || v.score > errors.verdict.score)) {
          errors = { signal: 'errors', kind: 'errors', verdict: v, op, size, window: copyWindow(w) };
        }
      }
    }
    if (latency === undefined && op.operation === EVENT_LOOP_OPERATION && index >= latencyFrom) latency = this.loopHeld(op, windows[0], WINDOWS[0]);
    const queue = op.queue !== undefined ? this.judgeQueue(op, windows, index, latencyFrom) : undefined;
    if (queue) out.push(queue);
    if (latency) out.push(latency);
    if (self) out.push(self);
    // A slowdown of most requests is told by its typical latency's figures, its tail with them.
    if (latency || self) tail = undefined;
    else if (tail) out.push(tail);
    if (latency || self || tail) {
      op.latency.forgetHeld();
      op.self.forgetHeld();
    }
    if (errors) {
      // Failed calls their requests survived (retried, or handled with a fallback) are told at the severity
      // of the failures users saw: a vendor's 429s that a retry got past, a callee's restart a cache covered.
      const absorbed = absorbedIn(errors.window.buckets);
      if (absorbed > 0) errors.verdict = { ...errors.verdict, severity: errorSeverity(Math.max(0, errors.window.errors - absorbed) / errors.window.requests) };
      out.push(errors);
      this.erring.add(op.key);
      op.errors.forgetHeld();
    }
    if (op.traffic !== undefined && !partial) {
      let traffic: OpFiring | undefined;
      for (let k = 0; k < WINDOWS.length; k++) {
        const size = WINDOWS[k];
        const w = windows[k];
        if (index - size + 1 < countedFrom || !op.traffic.mayFire(w.requests, size * bucketMs)) continue;
        let v = op.traffic.judge(w.requests, size * bucketMs);
        // Requests counted late are an earlier bucket's: a lock's release ended a minute of held traces at
        // once, 155 of them in one bucket, 5× the rate. (A drop keeps them: its window holds their buckets.)
        if (v.direction === 'surge' && w.late > 0) v = op.traffic.judge(w.requests - w.late, size * bucketMs);
        // A drop is judged over dropWindowMs or longer: a pause of seconds is not an outage. Nor is the stop
        // of an operation that comes and goes (see OpState.returns), or of one that refused every request.
        if (v.direction === 'drop' && (size * bucketMs < this.options.traffic.dropWindowMs || op.returns >= 2 || !op.served || this.ended(op, index, countedFrom))) continue;
        if (v.anomalous && v.direction && (traffic === undefined || v.score > traffic.verdict.score)) {
          traffic = { signal: `traffic.${v.direction}`, kind: 'traffic', verdict: v, op, size, window: copyWindow(w) };
        }
      }
      if (traffic) {
        out.push(traffic);
        op.traffic.forgetHeld();
      }
    }
    if (op.traffic !== undefined) this.judgeShape(rec, op, windows, out);
  }

  /**
   * Whether an operation that stopped had only begun: first requested while this analyzer watched (a drop
   * window after its first whole bucket or later) and used for fewer than {@link DROP_HISTORY} drop windows
   * since. Its short life is all there is to its rate: an upload, a batch, a feature tried for two minutes
   * has ended when it stops. An operation found running when watching began has a life before it, unseen:
   * its stop is a drop.
   */
  private ended(op: OpState, index: number, countedFrom: number): boolean {
    const dropBuckets = this.options.traffic.dropWindowMs / this.options.bucketMs;
    return op.firstIndex >= countedFrom + dropBuckets && index - op.firstIndex < DROP_HISTORY * dropBuckets;
  }

  /**
   * Guards against heavy tails (GC pauses, cold caches), which can lift a small window's mean of logs:
   * the window's median must have moved too, and unless the shift is large and very significant (the
   * sensitive rule), the number of individually slow requests must be unlikely given how often that
   * normally happens. Slow requests one brief stall held together count as one slow event, in either test;
   * a stall lets go of what it held at once, and each request then ends after the rest of its work: within
   * `releaseMs`, the operation's typical latency (for self time too, whose own typical is far shorter).
   */
  private latencyConfirmed(signal: LatencySignal, w: OpWindow, which: 'latency' | 'self', v: Verdict, anchor: boolean, median: number, releaseMs: number): boolean {
    const o = this.options.latency;
    if (median < o.sensitiveRatio * v.expected) return false;
    const lw = w[which];
    // A stall as long as a held event loop's that is an anomaly on its own (a row lock held for seconds,
    // then released) is no pause to discount: its requests count one by one.
    const brief = windowLongest(w.buckets, which) < loopStallMs(o);
    let events: number | undefined;
    if (lw.ok.n >= o.sensitiveMinSamples && v.score >= o.sensitiveZ) {
      // The rule tests the mean of logs as if each request were its own evidence. Requests one brief stall
      // (a GC pause over a burst) held are one: where slow requests are a quarter of the window and mostly
      // held by stalls, the slow events decide.
      if (!brief || 4 * lw.over < lw.judged) return true;
      events = slowEvents(lw, w.buckets, which, releaseMs);
      if (2 * events > lw.over) return true;
    } else if (anchor) {
      // The anchor only catches slow drifts, on busy windows: its tail statistics are the main baseline's.
      return false;
    }
    // Counting requests first, as judgeTail does: they are never fewer than the events, so a window they
    // do not confirm the events cannot.
    if (lw.judged === 0 || signal.slowPValue(lw.over, lw.judged, o.ratio) >= o.slowPMax) return false;
    return !brief || signal.slowPValue(events ?? slowEvents(lw, w.buckets, which, releaseMs), lw.judged, o.ratio) < o.slowPMax;
  }

  /**
   * A slowdown of some requests only (one instance of several, a cache-miss path, a lock taken now and then):
   * the median does not move, so {@link judgeLatency} cannot see it, but the p95 users feel does. Fires when
   * the window has {@link TAIL_MIN_REQUESTS}, a material share of them `ratio`× slower than typical
   * ({@link TAIL_MIN_SHARE}: enough to move the p95), far more than the operation's own tail explains (p <
   * {@link TAIL_P_MAX}, or {@link TAIL_P_KEEP} while its episode goes on; bunched slow requests counted as
   * runs, those all in flight at one instant as one stall), and its p95 `ratio`× the learned p95 and
   * {@link TAIL_MIN_SHIFT_MS} above it. Keeps the stronger firing. The event loop's samples are ticks, each
   * its longest hold: a tail there is a block that comes back every few ticks (a job of 300 ms every 2 s left
   * half the ticks free, so the typical hold moved too little, while an eighth of requests waited up to
   * 300 ms), and its p95 must be {@link LOOP_MIN_SHIFT_MS} above the learned one: more ticks holding a
   * request as traffic grows is load, and leaves the p95 where it was.
   * Beside another fault on its call path it is that fault's (see `Episodes.tailOfAnother`). Requests held
   * together, too few for any of this, are judged first (see {@link judgeHeld}).
   */
  private judgeTail(op: OpState, w: OpWindow, size: number, best: OpFiring | undefined): OpFiring | undefined {
    const held = this.judgeHeld(op, w, size);
    if (held !== undefined) return best === undefined || held.verdict.score > best.verdict.score ? held : best;
    const lw = w.latency;
    if (lw.judged < TAIL_MIN_REQUESTS || lw.over < TAIL_MIN_SHARE * lw.judged) return best;
    const o = this.options.latency;
    const signal = op.latency;
    const expected = signal.p95.value;
    if (!(expected > 0)) return best;
    // The test first: it is cheaper than merging the window's sketches, and rejects most healthy windows.
    // Counting requests, then (only if that passes) the slow events they are: never more, so never likelier.
    if (!tailPasses(op, signal.slowPValue(lw.over, lw.judged, o.ratio))) return best;
    const pValue = signal.slowPValue(slowEvents(lw, w.buckets, 'latency', signal.detector.baseline.typical), lw.judged, o.ratio);
    if (!tailPasses(op, pValue)) return best;
    const observed = windowSketch(w.buckets, 'latency').quantile(0.95);
    const minShift = op.operation === EVENT_LOOP_OPERATION ? LOOP_MIN_SHIFT_MS : TAIL_MIN_SHIFT_MS;
    if (observed < o.ratio * expected || observed - expected < Math.max(o.minShiftMs, minShift)) return best;
    const score = pToScore(pValue);
    if (best !== undefined && score <= best.verdict.score) return best;
    const severity = tailSeverity(latencySeverity(observed / expected, observed, o), lw.over / lw.judged);
    return { signal: 'latency.tail', kind: 'latency', verdict: { anomalous: true, score, pValue, observed, expected, severity, ready: true }, op, size, window: copyWindow(w), shared: this.shared };
  }

  /**
   * Requests held together far past anything the operation does, then let go (a row lock, a hung connection):
   * {@link HELD_MIN} or more in flight at one instant, each `criticalMs` or longer and the critical tier ×
   * its learned p95. Too few to move a p95 — 4 UPDATEs of 270 blocked 30 s by a lock while a worker's queue
   * backed up behind them — and neither a GC pause nor a slow download holds several that long at once.
   * A service's requests are held in their own time (a lock it does not trace): held in a call, they are
   * that call's. Told as a tail whose observed figure is the longest (`held`: how many).
   */
  private judgeHeld(op: OpState, w: OpWindow, size: number): OpFiring | undefined {
    if (op.operation === EVENT_LOOP_OPERATION) return undefined;
    const which = op.nodeType === 'service' ? 'self' : 'latency';
    // Held requests are slow ones (each counted `over`): most windows of most operations stop here.
    if (w[which].over < HELD_MIN) return undefined;
    const o = this.options.latency;
    const p95 = op[which].p95.value;
    if (!(p95 > 0)) return undefined;
    const floor = Math.max(o.criticalMs, o.severityTiers[2] * p95);
    if (windowLongest(w.buckets, which) < floor) return undefined;
    let held = 0;
    let lastStart = -Infinity;
    let firstEnd = Infinity;
    let longest = 0;
    for (const b of w.buckets) {
      const spans = b[which].overSpans;
      if (spans === undefined) continue;
      for (let i = 0; i < spans.length; i += 2) {
        const ms = spans[i + 1] - spans[i];
        if (ms < floor) continue;
        held++;
        if (spans[i] > lastStart) lastStart = spans[i];
        if (spans[i + 1] < firstEnd) firstEnd = spans[i + 1];
        if (ms > longest) longest = ms;
      }
    }
    if (held < HELD_MIN || lastStart >= firstEnd) return undefined;
    const verdict: Verdict = { anomalous: true, score: Math.log2(longest / p95), pValue: 0, observed: longest, expected: p95, severity: latencySeverity(longest / p95, longest, o), ready: true };
    return { signal: 'latency.tail', kind: 'latency', verdict, op, size, window: copyWindow(w), shared: this.shared, held };
  }

  /** Judges one latency series of a window against its baseline and its slow anchor; keeps the stronger firing. */
  private judgeLatency(
    op: OpState,
    signal: LatencySignal,
    w: OpWindow,
    size: number,
    name: 'latency' | 'latency.self',
    best: OpFiring | undefined,
  ): OpFiring | undefined {
    const which = name === 'latency' ? 'latency' : 'self';
    const ok = w[which].ok;
    // The window's median, merged from its buckets' sketches only when a verdict needs confirming, and once.
    let median: number | undefined;
    for (let d = 0; d < 2; d++) {
      const detector = d === 0 ? signal.detector : signal.anchor;
      // Only the verdicts that fire matter here: the p-value is computed for windows that may.
      if (detector === undefined || !detector.mayFire(ok)) continue;
      const v = detector.judge(ok);
      if (v.anomalous && (best === undefined || v.score > best.verdict.score)) {
        median ??= windowSketch(w.buckets, which).quantile(0.5);
        if (this.latencyConfirmed(signal, w, which, v, d === 1, median, op.latency.detector.baseline.typical)) best = { signal: name, kind: 'latency', verdict: v, op, size, window: copyWindow(w), shared: this.shared };
      }
    }
    return best;
  }

  /**
   * A consumer's messages waiting in their queue (see {@link QueueWaitDetector}), over each window; keeps
   * the firing of the longest wait. Judged from `latencyFrom`, as latency is: an analyzer started in a backlog learns it.
   */
  private judgeQueue(op: OpState, windows: readonly OpWindow[], index: number, latencyFrom: number): OpFiring | undefined {
    const detector = op.queue as QueueWaitDetector;
    if (!detector.ready) return undefined;
    // A backlog lasts: a batch enqueued at once (a cron's emails) drains within a bucket or two.
    for (let i = index - QUEUE_SUSTAIN_BUCKETS + 1; i <= index; i++) {
      const waits = op.ring.get(i)?.queued;
      if (waits === undefined || !detector.longIn(waits)) return undefined;
    }
    let best: OpFiring | undefined;
    for (let k = 0; k < WINDOWS.length; k++) {
      const size = WINDOWS[k];
      if (index - size + 1 < latencyFrom) break;
      const w = windows[k];
      const v = detector.judge(queuedIn(w.buckets));
      // The longest typical wait: a backlog grows, and a long window's median lags its latest messages.
      if (v.anomalous && (best === undefined || v.observed > best.verdict.observed)) best = { signal: 'latency.queue', kind: 'latency', verdict: v, op, size, window: copyWindow(w), shared: this.shared };
    }
    return best;
  }

  /**
   * One hold of the event loop of {@link loopStallMs} or more in the window: the service answered nothing
   * for that long (a synchronous block, a paused process). One tick among the window's others leaves its
   * typical hold as it was, so it is judged on its own. Score: doublings over the typical hold; severity by
   * its length ({@link stallSeverity}).
   */
  private loopHeld(op: OpState, w: OpWindow, size: number): OpFiring | undefined {
    const base = op.latency.detector.baseline;
    if (!base.ready) return undefined;
    const longest = windowLongest(w.buckets, 'latency');
    const latency = this.options.latency;
    if (!(longest >= loopStallMs(latency))) return undefined;
    const verdict: Verdict = { anomalous: true, score: Math.log2(longest / base.typical), pValue: 0, observed: longest, expected: base.typical, severity: stallSeverity(longest, latency), ready: true };
    // One sample, but it stands for every turn of the loop the hold took.
    return { signal: 'latency', kind: 'latency', verdict, op, size, window: copyWindow(w), support: Math.round(longest / base.typical), shared: this.shared };
  }

  /**
   * Trace shape over every window, like latency: a short window catches a call that stopped at once
   * before the buckets learned meanwhile wash it out of the baseline; the long one catches sparse callers.
   */
  private judgeShape(rec: Recorder, op: OpState, windows: readonly OpWindow[], out: Firing[]): void {
    const whole = windows[windows.length - 1];
    if (whole.okRequests === 0) return;
    // A closed bucket takes no more calls: its callees are known once it has been through here.
    for (const b of whole.buckets) {
      if (b.callees !== undefined && !b.calleesKnown) for (const key of b.callees) shapeDetector(op, key);
      b.calleesKnown = true;
    }
    const all = whole.buckets;
    const times = this.times;
    for (const [key, d] of op.shapes) {
      if (renamed(rec, op, key)) continue;
      let best: OpFiring | undefined;
      let more: ShapeFiring | undefined;
      // Each window's buckets are the newest of the whole window's: one pass, newest first, sums them all.
      let made = 0;
      let summed = 0;
      times.calls = times.squares = 0;
      for (let k = 0; k < windows.length; k++) {
        const w = windows[k];
        for (; summed < w.buckets.length; summed++) made += all[all.length - 1 - summed].addCallTimes(key, times);
        if (d.mayFireCount(made, times)) {
          const v = d.judgeCount(made, times);
          if (v.anomalous && (more === undefined || v.score > more.verdict.score)) {
            more = { signal: 'shape.more-calls', kind: 'shape', verdict: v, op, size: WINDOWS[k], window: copyWindow(w), callee: key };
          }
        }
        if (!d.mayFire(w.okRequests, made)) continue;
        const v = d.judge(w.okRequests, made);
        if (v.anomalous && v.change && (best === undefined || v.score > best.verdict.score)) {
          best = { signal: `shape.${v.change === 'missing' ? 'missing' : 'new'}-call`, kind: 'shape', verdict: v, op, size: WINDOWS[k], window: copyWindow(w), callee: key };
        }
      }
      if (best) out.push(best);
      if (more) this.moreCalls.push(more);
    }
  }

  /** Learns bucket `index` of `op`; `slow`, `slowSelf`: whether it is clearly slower than its latency and self-time baselines. */
  private learnOp(rec: Recorder, op: OpState, index: number, partial: boolean, slow: boolean, slowSelf: boolean): void {
    const b = op.ring.get(index);
    const { alpha } = this.options.baseline;
    if (!partial) op.traffic?.learnBucket(index, b ? b.requests : 0, this.options.bucketMs, RING);
    if (b === undefined) return;
    this.learnLatency(index, op.latency, b.latency, alpha, slow);
    this.learnLatency(index, op.self, b.self, alpha, slowSelf);
    if (b.queued !== undefined) op.queue?.learn(b.queued, RING);
    op.errors.learnBucket(index, b.requests, b.errors, RING);
    // While a callee fails, requests that succeed do so another way (a cache's misses fall back to the
    // database): that call pattern is the fault's, and learned it would make the return to normal a change.
    if (op.traffic !== undefined && b.okRequests > 0 && !calleeFailing(rec, op, this.givingUp)) {
      if (b.callees !== undefined) for (const key of b.callees) shapeDetector(op, key);
      const times = this.times;
      for (const [key, d] of op.shapes) {
        times.calls = times.squares = 0;
        const made = b.addCallTimes(key, times);
        // As for latency: a usual call clearly missing from a bucket that has not fired yet is held back.
        // Its p-value is computed only for a usual call made by half as many requests or fewer.
        const usual = d.baseline.usual;
        const missing = usual >= this.options.shape.usualShare && made / b.okRequests <= usual / 2 && heldBack(d.judge(b.okRequests, made));
        d.held = missing ? d.held + 1 : 0;
        if (d.held === 0 || d.held > RING) d.learn(b.okRequests, made);
        if (made > 0) d.learnCount(made, times, RING);
      }
      op.shapeSamples += b.okRequests;
      if (op.shapeSamples >= this.options.shape.minSamples) {
        op.usual = usualPath(rec, op);
      }
    }
  }

  /**
   * Learns a bucket of one latency series unless it is clearly slower than the baseline (p < 0.00135 and
   * `sensitiveRatio`× up) without having fired yet: a fault on a sparse operation must not be learned
   * while its windows gather the samples to prove it. The baseline holds for at most one ring, the slow
   * anchor for as long as its own memory (so a ramp stays visible against it); a level that lasts longer
   * is the new normal and is learned.
   */
  private learnLatency(index: number, signal: LatencySignal, b: LatencyBucket, alpha: number, main: boolean): void {
    const anchor = signal.anchor !== undefined && this.suspicious(signal.anchor, b);
    signal.held = main ? signal.held + 1 : 0;
    signal.anchorHeld = anchor ? signal.anchorHeld + 1 : 0;
    signal.learn(index, b, alpha, signal.held <= 0 || signal.held > RING, signal.anchorHeld <= 0 || signal.anchorHeld > RING * ANCHOR_SLOWDOWN);
  }

  /** Whether a bucket is clearly slower than the series' baseline; counts it if so (see {@link LatencySignal.slowBuckets}). */
  private countSlow(signal: LatencySignal, b: LatencyBucket): boolean {
    if (!this.suspicious(signal.detector, b)) return false;
    signal.slowBuckets++;
    return true;
  }

  private suspicious(detector: LatencyDetector, b: LatencyBucket): boolean {
    return clearlySlower(detector, b.ok, this.options.latency);
  }

  private judgeEdge(edge: EdgeState, index: number, out: Firing[]): void {
    let best: EdgeFiring | undefined;
    let shorter: EdgeWindow | undefined;
    for (const size of WINDOWS) {
      const w = edge.window(index, size);
      const latest = shorter;
      shorter = w;
      if (w.attempts === 0 || !edge.timeout.mayFire(w.attempts, w.gaveUp) || (latest !== undefined && edge.timeout.recovered(latest.attempts, latest.gaveUp))) continue;
      const v = edge.timeout.judge(w.attempts, w.gaveUp);
      if (v.anomalous && (best === undefined || v.score > best.verdict.score)) {
        best = { signal: 'timeout', kind: 'timeout', verdict: v, edge, size, window: w };
      }
    }
    if (best) out.push(best);
  }
}

/**
 * Whether a window (a bucket) is clearly slower than a latency baseline on its own: significant at
 * p < 0.00135 and `sensitiveRatio`× up. Such a bucket is not learned, and keeps a latency episode going.
 */
export function clearlySlower(detector: LatencyDetector, w: LogWindow, opts: LatencyOptions): boolean {
  // The ratio first: the p-value is computed only for a window that is that much slower.
  if (w.n === 0 || !detector.readyAndAtLeast(w, opts.sensitiveRatio)) return false;
  const v = detector.judge(w, 1);
  return v.ready && v.score >= HOLD_SCORE && v.observed >= opts.sensitiveRatio * v.expected;
}

/**
 * Whether `op`'s calls to `key` went by a name that is gone: a peer named by its address until traces
 * showed which service answers it, or a known service whose operation was not learned yet while `op` now
 * calls a named operation of it. Those calls are now counted under the operation's name, so the old name
 * "missing" is a rename, not a change in what the caller does.
 */
function renamed(rec: Recorder, op: OpState, key: string): boolean {
  const callee = rec.ops.get(key);
  if (callee !== undefined) return callee.nodeType === 'peer' && rec.peers.resolve(callee.service, callee.operation, undefined) !== undefined;
  if (opKeyOperation(key) !== '') return false;
  const service = opKeyService(key);
  for (const other of op.shapes.keys()) if (other !== key && opKeyService(other) === service) return true;
  return false;
}

/**
 * The callees of `op` on its usual path, in the order of its shapes: the array it had when that has not
 * changed (the usual case, at every bucket close of every operation), so nothing new is kept alive.
 */
function usualPath(rec: Recorder, op: OpState): readonly string[] {
  const prev = op.usual;
  let n = 0;
  let same = true;
  for (const [key, d] of op.shapes) {
    if (d.baseline.share < USUAL_PATH_SHARE || renamed(rec, op, key)) continue;
    if (prev[n] !== key) same = false;
    n++;
  }
  if (same && n === prev.length) return prev;
  const usual: string[] = [];
  for (const [key, d] of op.shapes) if (d.baseline.share >= USUAL_PATH_SHARE && !renamed(rec, op, key)) usual.push(key);
  return usual;
}

/**
 * Whether an operation `op` calls is failing now: an errors episode of its own (or errors firing in this
 * close: `erring`), or a timeout episode on the edge to its service (`givingUp`: callee services by caller
 * service, from edges with an episode).
 */
function calleeFailing(rec: Recorder, op: OpState, givingUp: ReadonlyMap<string, ReadonlySet<string>>, erring?: ReadonlySet<string>): boolean {
  const toServices = givingUp.get(op.service);
  for (const key of op.shapes.keys()) {
    if (erring?.has(key)) return true;
    const callee = rec.ops.get(key);
    if (callee === undefined) continue;
    if (callee.active.size > 0 && callee.active.has(episodeKey(key, 'errors'))) return true;
    if (toServices !== undefined && toServices.has(callee.service)) return true;
  }
  return false;
}

/** Whether a bucket's call-shape verdict is significant enough to hold the bucket back from learning. */
function heldBack(v: Verdict): boolean {
  return v.ready && v.pValue < SHAPE_HOLD_P;
}

/** A call seen for the first time after many requests without it starts from "never made" (share 0). */
function shapeDetector(op: OpState, callee: string): CallShapeDetector {
  const existing = op.shapes.get(callee);
  if (existing !== undefined) return existing;
  const d = op.shape(callee);
  if (op.shapeSamples > 0) d.learn(op.shapeSamples, 0);
  return d;
}

/** Whether a tail test's p-value fires: {@link TAIL_P_MAX}, or {@link TAIL_P_KEEP} while the operation's tail episode goes on (asked only then). */
function tailPasses(op: OpState, p: number): boolean {
  return p < TAIL_P_MAX || (p < TAIL_P_KEEP && op.active.has(episodeKey(op.key, 'latency.tail')));
}
