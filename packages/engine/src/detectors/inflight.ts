import type { Span } from '../types.js';
import type { LatencyOptions, ResolvedOptions } from '../options.js';
import type { Recorder } from '../ops/recorder.js';
import { EdgeBucket, BUCKET_EXEMPLARS } from '../ops/bucket.js';
import { EdgeState, type OpState } from '../ops/state.js';
import { isDependencyCall, peerName } from '../model/operation.js';
import { unansweredCallee } from '../ops/peers.js';
import { rejectReason } from '../model/validate.js';
import { edgeKey, opKey } from '../keys.js';
import type { EdgeFiring, Firing } from './judge.js';

/**
 * A call the host is still waiting on: a client (or producer) span that has started and not ended, as
 * the OpenTelemetry plugin sees it from `SpanProcessor.onStart`. Reported with
 * {@link Analyzer.inFlight}; the analyzer keeps only the latest report.
 */
export interface InFlightCall {
  /** The call's span as it stands; its `endTime` is the time of the report (the call has not ended). */
  span: Span;
  /** Event time (ms) the call's local parent, the request it was made for, ended while it was still open. */
  parentEndedAt?: number;
}

/** A call open this long past its parent's end, or past this whatever its baseline, counts at the earliest (ms). */
export const IN_FLIGHT_MIN_MS = 1000;
/** Edges remembered for callees never seen answering (their calls have never ended): a few, bounded. */
const MAX_SPARE_EDGES = 256;

/**
 * How long a call to `op` may stay open before it is overdue: the critical latency tier (20× at the
 * defaults) of the larger of its typical latency and its usual p95, at least {@link IN_FLIGHT_MIN_MS};
 * `criticalMs` (10 s) while its latency is not learned, for a call made under a request (`parented`).
 * An unlearned call with no parent is background work (a stream, a long poll): never overdue.
 */
export function overdueAfterMs(op: OpState | undefined, latency: LatencyOptions, parented = true): number {
  const base = op?.latency.detector.baseline;
  if (op === undefined || base === undefined || !base.ready) return parented ? latency.criticalMs : Infinity;
  const p95 = op.latency.p95.value;
  const usual = Number.isFinite(p95) ? Math.max(p95, base.typical) : base.typical;
  return Math.max(IN_FLIGHT_MIN_MS, latency.severityTiers[2] * usual);
}

/** How a report's calls of one shape (caller service, span name, peer) are named and judged. */
interface CallShape {
  callee: string;
  operation: string | null;
  virtual: boolean;
  /** For a call made under a request, and for one with no parent. */
  overdueAfter: number;
  orphanOverdueAfter: number;
  edge: string;
  /** The callee operation's state, when recorded: its ended calls are the give-up test's other side. */
  op: OpState | undefined;
}

/** Overdue calls of one kind on an edge. */
interface OverdueCalls {
  count: number;
  /** Operation of the call open longest: the first to hang, the others queue behind it. */
  operation: string | null;
  oldestMs: number;
  traces: string[];
}

/**
 * Overdue calls on one caller → callee edge in a report: those that became overdue within the bucket
 * judged (`fresh`), those overdue since before it (`stale`), of which `lately` became overdue in the
 * bucket before, and those overdue only since its end (`late`: the next bucket's, though the edge is
 * stuck already); the fresh ones also by the callee operation they call (`byOperation`, for recorded
 * operations).
 */
interface Overdue {
  caller: string;
  callee: string;
  virtual: boolean;
  fresh: OverdueCalls;
  stale: OverdueCalls;
  lately: OverdueCalls;
  late: OverdueCalls;
  byOperation: Map<OpState, OverdueCalls>;
}

function noCalls(): OverdueCalls {
  return { count: 0, operation: null, oldestMs: 0, traces: [] };
}

/** `a` when it has a call open longer than any of `b`'s, else `b`. */
function openLonger(a: OverdueCalls, b: OverdueCalls): OverdueCalls {
  return a.count > 0 && a.oldestMs > b.oldestMs ? a : b;
}

function addCall(calls: OverdueCalls, operation: string | null, age: number, traceId: string): void {
  calls.count++;
  if (calls.count === 1 || age > calls.oldestMs) {
    calls.oldestMs = age;
    calls.operation = operation;
  }
  if (calls.traces.length < BUCKET_EXEMPLARS * 2 && !calls.traces.includes(traceId)) calls.traces.push(traceId);
}

/**
 * Hangs while they happen: calls still open far past their callee's usual time, or past the end of the
 * request that made them, are calls that got no answer. At each closed bucket, the latest report is
 * judged per caller → callee edge by the edge's own give-up test (see TimeoutDetector), over the calls of
 * the last bucket-width before the report: those that ended there plus the overdue ones; and, where the
 * edge's calls do not show it, per callee operation over that operation's own calls. A firing is an
 * ordinary `timeout` firing on that edge, so its episode and incident name the callee, before any of the
 * hung calls (or the requests waiting on them) ends. The engine has no timer: the caller reports in its
 * own clock, and a report older than a bucket is ignored.
 */
export class InFlightCalls {
  private calls: readonly InFlightCall[] = [];
  private at = -Infinity;
  /** Edges for callees that have never answered, so never recorded (a dependency hung from the start). */
  private readonly spare = new Map<string, EdgeState>();
  /** Edges the latest judged report showed stuck (see {@link markStuck}). */
  private readonly stuck: EdgeState[] = [];

  constructor(private readonly options: ResolvedOptions) {}

  /** Replaces the report: `calls` open at event time `at` (copied; invalid spans are skipped when judged). False, the last report kept, for anything but an array and a finite time. */
  report(calls: readonly InFlightCall[], at: number): boolean {
    if (!Number.isFinite(at) || !Array.isArray(calls)) return false;
    this.calls = calls.slice();
    this.at = at;
    return true;
  }

  /** Whether a report with calls in it is waiting to be judged (windows must keep closing for it). */
  get pending(): boolean {
    return this.calls.length > 0;
  }

  /**
   * `fired` (the judge's firings of bucket `index`) plus a timeout firing for each edge the latest report
   * shows hung, unless the judge already fired on that edge. `now` is the analyzer's event time.
   */
  addFirings(fired: Firing[], rec: Recorder, now: number | null, index: number): Firing[] {
    for (const edge of this.stuck) edge.stuck = undefined;
    this.stuck.length = 0;
    if (this.calls.length === 0) return fired;
    if (now === null || now - this.at > this.options.bucketMs) {
      // Stale: whoever reported stopped (or event time moved on without them).
      this.calls = [];
      return fired;
    }
    for (const o of this.overdue(rec, index).values()) {
      const key = edgeKey(o.caller, o.callee);
      const edge = rec.edges.get(key) ?? this.spareEdge(key, o);
      if (edge === undefined) continue;
      const stuck = this.markStuck(edge, o);
      if (fired.some((f) => f.kind === 'timeout' && f.edge.key === key)) continue;
      const firing = stuck && edge.active.size === 0 ? this.judgeStuck(edge, o, index) : this.judge(edge, o, index);
      if (firing !== undefined) fired.push(firing);
    }
    return fired;
  }

  /**
   * The report's overdue calls, by edge. A hang leaves thousands of calls of a few shapes open: each
   * shape (service → call name → peer, nested so no key string is built per call) is named once.
   */
  private overdue(rec: Recorder, index: number): Map<string, Overdue> {
    const out = new Map<string, Overdue>();
    const shapes = new Map<string, Map<string, Map<string, CallShape>>>();
    const { bucketMs } = this.options;
    // The window judged is bucket `index`, as every other firing's: a call due after its end (the report
    // comes a lateness later) is the next window's, or a sentence's "in the last 5 s" counted it early.
    const end = (index + 1) * bucketMs;
    const freshFrom = end - bucketMs;
    for (const call of this.calls) {
      const span = call?.span;
      if (span === undefined || span === null || rejectReason(span) !== null) continue;
      const age = this.at - span.startTime;
      if (!(age >= IN_FLIGHT_MIN_MS)) continue;
      const peer = peerName(span);
      const callName = rec.names.callName(span, peer);
      let byName = shapes.get(span.service);
      if (byName === undefined) shapes.set(span.service, (byName = new Map()));
      let byPeer = byName.get(callName);
      if (byPeer === undefined) byName.set(callName, (byPeer = new Map()));
      let shape = byPeer.get(peer);
      if (shape === undefined) byPeer.set(peer, (shape = this.shapeOf(span, peer, callName, rec)));
      const parentEndedAt = call.parentEndedAt;
      const abandoned = parentEndedAt !== undefined && parentEndedAt <= this.at;
      const dueAfter = span.parentSpanId ? shape.overdueAfter : shape.orphanOverdueAfter;
      if (!abandoned && age < dueAfter) continue;
      const dueAt = Math.min(span.startTime + dueAfter, abandoned ? Math.max(parentEndedAt, span.startTime + IN_FLIGHT_MIN_MS) : Infinity);
      let o = out.get(shape.edge);
      if (o === undefined) {
        o = { caller: span.service, callee: shape.callee, virtual: shape.virtual, fresh: noCalls(), stale: noCalls(), lately: noCalls(), late: noCalls(), byOperation: new Map() };
        out.set(shape.edge, o);
      }
      if (dueAt > end) {
        addCall(o.late, shape.operation, age, span.traceId);
        continue;
      }
      const fresh = dueAt > freshFrom;
      addCall(fresh ? o.fresh : o.stale, shape.operation, age, span.traceId);
      if (!fresh && dueAt > freshFrom - bucketMs) addCall(o.lately, shape.operation, age, span.traceId);
      if (fresh && shape.op !== undefined) {
        let byOp = o.byOperation.get(shape.op);
        if (byOp === undefined) o.byOperation.set(shape.op, (byOp = noCalls()));
        addCall(byOp, shape.operation, age, span.traceId);
      }
    }
    return out;
  }

  /**
   * Marks `edge` stuck ({@link EdgeState.stuck}) when none of its calls ended since its oldest overdue call
   * was first due: the callee answers nothing, before (or without) the give-up test finding a hang. A pool
   * whose connections all hang makes requests fail waiting for one, with no span of the call they skipped
   * (Knex's acquire timeout): such a failure is the callee's (see the trace analysis' skipped calls). A
   * call left open while others are answered (a span its instrumentation never ends) marks nothing.
   */
  private markStuck(edge: EdgeState, o: Overdue): boolean {
    const oldest = openLonger(o.stale, openLonger(o.fresh, o.late));
    if (!(edge.lastEndAt < this.at - oldest.oldestMs + IN_FLIGHT_MIN_MS)) return false;
    edge.stuck = oldest.operation;
    this.stuck.push(edge);
    return true;
  }

  /** Names a call as trace analysis names one whose answer is missing (see callFact), and when it is overdue. */
  private shapeOf(span: Span, peer: string, callName: string, rec: Recorder): CallShape {
    const { service: callee, operation, virtual } = unansweredCallee(span.service, peer, callName, undefined, isDependencyCall(span), {
      resolvePeer: (p, name, caller) => rec.peers.resolve(p, name, caller),
    });
    const op = rec.ops.get(opKey(callee, operation ?? ''));
    const { latency } = this.options;
    return {
      callee,
      operation,
      virtual,
      overdueAfter: overdueAfterMs(op, latency),
      orphanOverdueAfter: overdueAfterMs(op, latency, false),
      edge: edgeKey(span.service, callee),
      op,
    };
  }

  private spareEdge(key: string, o: Overdue): EdgeState | undefined {
    let edge = this.spare.get(key);
    if (edge === undefined && this.spare.size < MAX_SPARE_EDGES) {
      edge = new EdgeState(key, o.caller, o.callee, o.virtual, this.options);
      this.spare.set(key, edge);
    }
    return edge;
  }

  /**
   * The edge's give-up test over bucket `c`: the calls that ended in it plus the calls that became overdue
   * in it, each counted once as an ended call is. While no call ends or becomes overdue (a
   * hang that blocks new calls: a pool whose connections all wait, waits that have no span of their own as
   * in mysql2 or Knex), calls overdue since before stand in for them: all of them to hold a hang already
   * found (a timeout episode on the edge), those that became overdue in the width before to find one (the
   * calls answered just before the hang outnumbered them then). Older ones are leftovers (a lost answer, a
   * span its instrumentation never ends) and say nothing of now: not once the callee answers again, nor
   * once calls stop being made.
   */
  private judge(edge: EdgeState, o: Overdue, c: number): EdgeFiring | undefined {
    const bucket = edge.ring.get(c);
    const ended = bucket?.attempts ?? 0;
    const endedGaveUp = Math.min(ended, bucket?.gaveUp ?? 0);
    const stalled = o.fresh.count === 0 && ended === 0;
    const calls = !stalled ? o.fresh : edge.active.size > 0 ? o.stale : o.lately;
    if (calls.count === 0) return undefined;
    // The call open longest may be overdue since before the window (the first to hang, the others queue
    // behind it): it is named beside the calls counted.
    const first = o.stale.count > 0 && o.stale.oldestMs > calls.oldestMs ? o.stale.operation : null;
    const firing = this.test(edge, c, ended + calls.count, endedGaveUp + calls.count, calls, first);
    if (stalled) return firing;
    const byOp = (op: OpState, opCalls: OverdueCalls, named: string | null = null) =>
      this.test(edge, c, (op.ring.get(c)?.requests ?? 0) + opCalls.count, opCalls.count, opCalls, named);
    if (firing !== undefined) {
      // Counted over the named operation's own calls when they show it too.
      for (const [op, opCalls] of o.byOperation) if (op.operation === calls.operation) return byOp(op, opCalls, first) ?? firing;
      return firing;
    }
    // One statement hung among many answered ones (a row lock): the edge's healthy calls dilute it, so each
    // callee operation is also judged over its own calls.
    let worst: EdgeFiring | undefined;
    for (const [op, opCalls] of o.byOperation) {
      const f = byOp(op, opCalls);
      if (f !== undefined && (worst === undefined || f.window.gaveUp > worst.window.gaveUp)) worst = f;
    }
    return worst;
  }

  /**
   * The give-up test of a stuck edge ({@link markStuck}) with no hang found yet: none of its calls was
   * answered since its oldest overdue one was due, so the attempts are the calls that became overdue in
   * buckets `c` and `c - 1`, all given up on. The calls answered before the hang, still inside bucket `c`,
   * are no attempts of it: counted, they outnumbered a pool's few hung calls, and the hang was found a
   * bucket later (10 s into a table lock, not 5).
   */
  private judgeStuck(edge: EdgeState, o: Overdue, c: number): EdgeFiring | undefined {
    const { fresh, lately } = o;
    const count = fresh.count + lately.count;
    const oldest = openLonger(lately, fresh);
    const calls: OverdueCalls = { count, operation: oldest.operation, oldestMs: oldest.oldestMs, traces: [...fresh.traces, ...lately.traces].slice(0, BUCKET_EXEMPLARS * 2) };
    return this.test(edge, c, count, count, calls);
  }

  /**
   * The edge's give-up test over `attempts` of which `gaveUp` got no answer, `calls` the overdue ones among
   * them; `first`: the operation of a call open longer than those, if any.
   */
  private test(edge: EdgeState, c: number, attempts: number, gaveUp: number, calls: OverdueCalls, first: string | null = null): EdgeFiring | undefined {
    const verdict = edge.timeout.judge(attempts, gaveUp);
    if (!verdict.anomalous) return undefined;
    const open = new EdgeBucket();
    open.reset(c);
    open.attempts = attempts;
    open.gaveUp = gaveUp;
    open.maxWait = calls.oldestMs;
    if (calls.operation !== null) open.countGiveUp(calls.operation, gaveUp);
    if (first !== calls.operation) open.firstOperation = first;
    open.traces.push(...calls.traces);
    return { kind: 'timeout', signal: 'timeout', verdict, edge, size: 1, window: { attempts, errors: 0, gaveUp, maxWait: calls.oldestMs, buckets: [open] } };
  }
}
