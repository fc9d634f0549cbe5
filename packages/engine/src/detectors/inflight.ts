import type { Span } from '../types.js';
import type { LatencyOptions, ResolvedOptions } from '../options.js';
import type { Recorder } from '../ops/recorder.js';
import { EdgeBucket, BUCKET_EXEMPLARS } from '../ops/bucket.js';
import { EdgeState, type OpState } from '../ops/state.js';
import { clientOperation, isDependencyCall, peerName } from '../model/operation.js';
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
}

/** Overdue calls on one caller → callee edge in a report. */
interface Overdue {
  caller: string;
  callee: string;
  virtual: boolean;
  count: number;
  /** Operation of the call open longest: the first to hang, the others queue behind it. */
  operation: string | null;
  oldestMs: number;
  traces: string[];
}

/**
 * Hangs while they happen: calls still open far past their callee's usual time, or past the end of the
 * request that made them, are calls that got no answer. At each closed bucket, the latest report is
 * judged per caller → callee edge by the edge's own give-up test (see TimeoutDetector), over the calls of
 * the last bucket-width before the report: those that ended there plus the overdue ones. A firing is an
 * ordinary `timeout` firing on that edge, so its episode and incident name the callee, before any of the
 * hung calls (or the requests waiting on them) ends. The engine has no timer: the caller reports in its
 * own clock, and a report older than a bucket is ignored.
 */
export class InFlightCalls {
  private calls: readonly InFlightCall[] = [];
  private at = -Infinity;
  /** Edges for callees that have never answered, so never recorded (a dependency hung from the start). */
  private readonly spare = new Map<string, EdgeState>();

  constructor(private readonly options: ResolvedOptions) {}

  /** Replaces the report: `calls` open at event time `at` (copied; invalid spans are skipped when judged). */
  report(calls: readonly InFlightCall[], at: number): void {
    if (!Number.isFinite(at) || !Array.isArray(calls)) return;
    this.calls = calls.slice();
    this.at = at;
  }

  /** Whether a report with calls in it is waiting to be judged (windows must keep closing for it). */
  get pending(): boolean {
    return this.calls.length > 0;
  }

  /**
   * `fired` (the judge's firings of bucket `index`) plus a timeout firing for each edge the latest report
   * shows hung, unless the judge already fired on that edge. `now` is the analyzer's event time.
   */
  addFirings(fired: Firing[], rec: Recorder, now: number | null): Firing[] {
    if (this.calls.length === 0) return fired;
    if (now === null || now - this.at > this.options.bucketMs) {
      // Stale: whoever reported stopped (or event time moved on without them).
      this.calls = [];
      return fired;
    }
    for (const o of this.overdue(rec).values()) {
      const key = edgeKey(o.caller, o.callee);
      if (fired.some((f) => f.kind === 'timeout' && f.edge.key === key)) continue;
      const edge = rec.edges.get(key) ?? this.spareEdge(key, o);
      if (edge === undefined) continue;
      const firing = this.judge(edge, o);
      if (firing !== undefined) fired.push(firing);
    }
    return fired;
  }

  /**
   * The report's overdue calls, by edge. A hang leaves thousands of calls of a few shapes open: each
   * shape (service → call name → peer, nested so no key string is built per call) is named once.
   */
  private overdue(rec: Recorder): Map<string, Overdue> {
    const out = new Map<string, Overdue>();
    const shapes = new Map<string, Map<string, Map<string, CallShape>>>();
    for (const call of this.calls) {
      const span = call?.span;
      if (span === undefined || span === null || rejectReason(span) !== null) continue;
      const age = this.at - span.startTime;
      if (!(age >= IN_FLIGHT_MIN_MS)) continue;
      const peer = peerName(span);
      // The call's name is its path where it has one: its operation is then made only for a new shape.
      const path = rec.names.callPath(span, peer);
      const callName = path ?? clientOperation(span);
      let byName = shapes.get(span.service);
      if (byName === undefined) shapes.set(span.service, (byName = new Map()));
      let byPeer = byName.get(callName);
      if (byPeer === undefined) byName.set(callName, (byPeer = new Map()));
      let shape = byPeer.get(peer);
      if (shape === undefined) byPeer.set(peer, (shape = this.shapeOf(span, peer, callName, path === undefined ? callName : clientOperation(span), rec)));
      const abandoned = call.parentEndedAt !== undefined && call.parentEndedAt <= this.at;
      if (!abandoned && age < (span.parentSpanId ? shape.overdueAfter : shape.orphanOverdueAfter)) continue;
      const { callee, operation } = shape;
      let o = out.get(shape.edge);
      if (o === undefined) {
        o = { caller: span.service, callee, virtual: shape.virtual, count: 0, operation, oldestMs: age, traces: [] };
        out.set(shape.edge, o);
      }
      o.count++;
      if (age > o.oldestMs) {
        o.oldestMs = age;
        o.operation = operation;
      }
      if (o.traces.length < BUCKET_EXEMPLARS * 2 && !o.traces.includes(span.traceId)) o.traces.push(span.traceId);
    }
    return out;
  }

  /** Names a call as trace analysis names one whose answer is missing (see callFact), and when it is overdue. */
  private shapeOf(span: Span, peer: string, callName: string, called: string, rec: Recorder): CallShape {
    const { service: callee, operation, virtual } = unansweredCallee(span.service, peer, callName, called, undefined, isDependencyCall(span), {
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
   * The edge's give-up test over the last bucket-width before the report: the calls that ended in it
   * (the current bucket, and the share of the previous one still inside the width) plus the overdue ones.
   */
  private judge(edge: EdgeState, o: Overdue): EdgeFiring | undefined {
    const { bucketMs } = this.options;
    const c = Math.floor(this.at / bucketMs);
    const before = 1 - (this.at - c * bucketMs) / bucketMs;
    const cur = edge.ring.get(c);
    const prev = edge.ring.get(c - 1);
    const ended = (cur?.attempts ?? 0) + Math.round(before * (prev?.attempts ?? 0));
    const endedGaveUp = (cur?.gaveUp ?? 0) + Math.round(before * (prev?.gaveUp ?? 0));
    const attempts = ended + o.count;
    const gaveUp = Math.min(endedGaveUp, ended) + o.count;
    const verdict = edge.timeout.judge(attempts, gaveUp);
    if (!verdict.anomalous) return undefined;
    const open = new EdgeBucket();
    open.reset(c);
    open.attempts = attempts;
    open.gaveUp = gaveUp;
    open.maxWait = o.oldestMs;
    open.calleeOperation = o.operation;
    open.traces.push(...o.traces);
    return { kind: 'timeout', signal: 'timeout', verdict, edge, size: 1, window: { attempts, errors: 0, gaveUp, maxWait: o.oldestMs, buckets: [open] } };
  }
}
