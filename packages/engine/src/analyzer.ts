import type {
  Anomaly,
  AnomalyKind,
  AnalyzerStats,
  DropCounters,
  Incident,
  IncidentEvent,
  IngestResult,
  OperationBaseline,
  OperationMetrics,
  OperationRef,
  ServiceGraph,
  Span,
} from './types.js';
import type { Analyzer, IncidentFilter } from './api.js';
import { resolveOptions, type AnalyzerOptions, type ResolvedOptions } from './options.js';
import { rejectReason } from './model/validate.js';
import { OperationNames, opKey } from './model/operation.js';
import { TraceBuffer, type TraceEntry } from './trace/buffer.js';
import { analyzeTrace, type CallFact, type EntryFact, type TraceContext } from './trace/analyze.js';
import { BUCKET_EXEMPLARS, addExemplar, addMoment, countOrigin, type LatencyBucket, type OpBucket } from './ops/bucket.js';
import { ANCHOR_SLOWDOWN, EdgeState, LatencySignal, OpState, RING, USUAL_PATH_SHARE, WINDOWS, windowOrigins, windowSketch, windowTraces, type OpWindow } from './ops/state.js';
import type { Verdict } from './detectors/verdict.js';
import type { LatencyDetector } from './detectors/latency.js';
import { ChangeTracker } from './changes.js';
import { binomialSf } from './stats/special.js';
import { logMs } from './stats/baseline.js';
import { IncidentManager, SEVERITY_RANK, type RankedOrigin } from './incidents/manager.js';
import { dropOrigin, rankOrigins, selfOrigins } from './rca/attribute.js';
import { explainAnomaly, explainRoot, type RootFigures } from './rca/explain.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, checkSnapshot, type AnalyzerSnapshot } from './snapshot.js';
import { RollupAccumulator, rollupBuckets, type OperationRollup } from './rollup.js';

/** A latency this many baseline sd from typical, clamped to 1.5×–2× either way, is unusual for one request. */
const UNUSUAL_SD = 3;
const UNUSUAL_MIN_LOG_RATIO = Math.log(1.5);
const UNUSUAL_MAX_LOG_RATIO = Math.log(2);
const NO_CALLS: readonly string[] = [];
/** A bucket this significantly slower than its baseline is held back from learning (see learnLatency). */
const HOLD_SCORE = 3;
/**
 * A bucket where a usual call is made by half as many requests or fewer, with this p-value, is held back
 * from the shape baseline: holding only delays learning, so a weak hint suffices for a sparse caller.
 */
const SHAPE_HOLD_P = 0.05;

/** Peers remembered (peer name → instrumented service), and call names per peer. */
const MAX_CALL_NAMES_PER_PEER = 1000;

interface Firing {
  signal: string;
  kind: AnomalyKind;
  verdict: Verdict;
  op?: OpState;
  edge?: EdgeState;
  /** Evaluated window size in buckets. */
  size: number;
  opWindow?: OpWindow;
  edgeWindow?: ReturnType<EdgeState['window']>;
  /** For shape anomalies: the callee key. */
  callee?: string;
}

interface Episode {
  id: string;
  key: string;
  anomaly: Anomaly;
  lastFiredAt: number;
  incidentId: string | undefined;
  target: OpState | EdgeState;
  signal: string;
}

/**
 * Creates an analyzer. Options are validated here (a TypeError names a bad option); nothing else throws.
 *
 * @example
 * const analyzer = createAnalyzer();
 * analyzer.onIncident((e) => console.log(e.type, e.incident.title, e.incident.rootCause.explanation));
 * analyzer.ingest(spans);
 * analyzer.flush();
 */
export function createAnalyzer(options?: AnalyzerOptions): Analyzer {
  return new StreamingAnalyzer(resolveOptions(options));
}

class StreamingAnalyzer implements Analyzer {
  readonly options: ResolvedOptions;
  private clock: number | null = null;
  /** Event time at which ingest next releases traces and closes buckets. */
  private nextAdvance = -Infinity;
  /** Last closed bucket index. */
  private closed = -Infinity;
  /**
   * First bucket whose request count is whole; traffic windows reaching before it hold no counts to judge.
   * From the start it is the first bucket. After a restore the process restarted mid-bucket and saw nothing
   * of the buckets before: traffic is judged and learned only from the bucket after the first one with data
   * (Infinity until then).
   */
  private countedFrom = -Infinity;
  private readonly ops = new Map<string, OpState>();
  private readonly edges = new Map<string, EdgeState>();
  /** caller → callee → edge: looked up per call without building a key string. */
  private readonly edgeIndex = new Map<string, Map<string, EdgeState>>();
  private readonly liveOps = new Set<OpState>();
  private readonly liveEdges = new Set<EdgeState>();
  private readonly peers = new Map<string, Peer>();
  private buffer: TraceBuffer;
  private changes: ChangeTracker;
  private manager: IncidentManager;
  private readonly episodes = new Map<string, Episode>();
  /** Root-cause figures per operation and kind, captured when an anomaly on it last fired. */
  private readonly figures = new Map<string, RootFigures & { strength: number }>();
  private nextAnomaly = 1;
  private anomaliesTotal = 0;
  private readonly anomalyListeners = new Set<(a: Anomaly) => void>();
  private readonly incidentListeners = new Set<(e: IncidentEvent) => void>();
  private readonly rollupListeners = new Set<(rollups: OperationRollup[]) => void>();
  /** Rollups in progress, summed only while someone listens. */
  private readonly rollups: RollupAccumulator;
  private listenerErrors = 0;
  private ingested = 0;
  private accepted = 0;
  private tracesProcessed = 0;
  private readonly drops: DropCounters = {
    invalid: 0,
    badTime: 0,
    late: 0,
    traceBuffer: 0,
    traceTooLarge: 0,
    cardinality: 0,
    duplicate: 0,
  };
  private readonly ctx: TraceContext;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.rollups = new RollupAccumulator(rollupBuckets(options.bucketMs), options.bucketMs);
    this.buffer = this.newBuffer();
    this.changes = new ChangeTracker(options.maxOperations);
    this.manager = this.newManager();
    this.ctx = {
      // Room for each tracked operation's name and key, and as many again for raw names seen on the way.
      names: new OperationNames(options.maxOperations * 4),
      typicalLatency: (key) => {
        const b = this.ops.get(key)?.latency.detector.baseline;
        return b && b.ready ? b.typical : undefined;
      },
      typicalSelf: (key) => {
        const b = this.ops.get(key)?.self.detector.baseline;
        return b && b.ready ? b.typical : undefined;
      },
      unusualLatency: (key, ms) => {
        // Against the slow anchor: the main baseline soon learns a fault that makes calls faster.
        const b = this.ops.get(key)?.latency.anchor?.baseline;
        if (b === undefined || !b.ready) return false;
        // 3 sd, but never past 2× (a short or warm-up-inflated history overstates the spread) nor under 1.5×.
        return Math.abs(logMs(ms) - b.mean) >= Math.min(Math.max(UNUSUAL_SD * b.sd, UNUSUAL_MIN_LOG_RATIO), UNUSUAL_MAX_LOG_RATIO);
      },
      usualCalls: (key) => this.ops.get(key)?.usual ?? NO_CALLS,
      resolvePeer: (peer, callName, callerKey) => {
        const p = this.peers.get(peer);
        if (p === undefined) return undefined;
        // The caller's own history first; the call name alone is ambiguous when several callers use it.
        const operation = (callerKey !== undefined ? p.byCaller.get(callerKey)?.get(callName) : undefined) ?? p.calls.get(callName);
        return { service: p.service, operation: operation ?? null };
      },
      learnPeer: (peer, callName, callerKey, service, operation) => {
        let p = this.peers.get(peer);
        if (p === undefined || p.service !== service) {
          if (p === undefined && this.peers.size >= this.options.maxOperations) return;
          p = newPeer(service);
          this.peers.set(peer, p);
        }
        remember(p, p.calls, callName, operation);
        if (callerKey !== undefined) rememberFrom(p, callerKey, callName, operation);
      },
    };
  }

  private newBuffer(): TraceBuffer {
    const o = this.options;
    return new TraceBuffer(
      { maxTraces: o.maxTraces, maxSpansPerTrace: o.maxSpansPerTrace, idleMs: o.traceIdleMs, maxWaitMs: o.maxTraceWaitMs },
      (entry) => this.processTrace(entry),
    );
  }

  private newManager(): IncidentManager {
    return new IncidentManager(
      { resolveAfterMs: this.options.resolveAfterMs, maxExemplars: this.options.maxExemplars },
      (event) => this.emitIncident(event),
      (top, anomalies) => this.explainRoot(top, anomalies),
    );
  }

  // ---- input -------------------------------------------------------------------------------------

  ingest(spans: readonly Span[] | Span): IngestResult {
    const list: readonly Span[] = Array.isArray(spans) ? spans : [spans as Span];
    let accepted = 0;
    const lateBefore = this.lateCutoff();
    for (let i = 0; i < list.length; i++) {
      const span = list[i];
      this.ingested++;
      const reason = rejectReason(span);
      if (reason !== null) {
        this.drops[reason]++;
        continue;
      }
      if (span.endTime < lateBefore) {
        this.drops.late++;
        continue;
      }
      if (this.clock === null) this.start(span.endTime);
      if (span.endTime > (this.clock as number)) {
        this.clock = span.endTime;
        // Windows must close as event time passes inside a large batch too, or the bucket ring would wrap.
        if (this.clock >= this.nextAdvance) this.advance(this.clock);
      }
      const outcome = this.buffer.add(span, this.clock as number);
      if (outcome !== 'ok') {
        this.drops[outcome]++;
        continue;
      }
      this.changes.observe(span.service, span.serviceVersion, span.startTime);
      accepted++;
    }
    this.accepted += accepted;
    const injected = this.options.clock?.();
    this.advance(injected !== undefined && Number.isFinite(injected) ? Math.max(injected, this.clock ?? injected) : this.clock);
    return { accepted, dropped: list.length - accepted };
  }

  advanceTo(t: number): void {
    if (!Number.isFinite(t)) return;
    if (this.clock === null) this.start(t);
    this.advance(t);
  }

  flush(): void {
    if (this.clock === null) return;
    this.buffer.releaseAll();
    // Close every bucket that has data, as if the allowed lateness had passed, without jumping further.
    const last = Math.floor(this.clock / this.options.bucketMs);
    while (this.closed < last) this.closeBucket(++this.closed);
    // The period in progress is reported as it stands (a later, complete rollup of it replaces this one).
    if (!this.rollups.ends(this.closed)) this.emitRollups(this.closed, true);
    this.manager.tick((this.closed + 1) * this.options.bucketMs);
  }

  /** Spans ending before this can no longer be placed in any window (their trace would have been processed). */
  private lateCutoff(): number {
    return this.clock === null ? -Infinity : this.clock - this.options.maxTraceWaitMs - this.options.latenessMs;
  }

  private start(t: number): void {
    this.clock = t;
    this.closed = Math.floor(t / this.options.bucketMs) - 1;
    // A restored analyzer (no clock yet) keeps waiting for its first whole bucket.
    if (this.countedFrom !== Infinity) this.countedFrom = this.closed + 1;
  }

  private advance(t: number | null): void {
    if (t === null || this.clock === null) return;
    if (t > this.clock) this.clock = t;
    this.nextAdvance = this.clock + this.options.traceIdleMs / 4;
    this.buffer.releaseReady(this.clock);
    const { bucketMs, latenessMs } = this.options;
    const closable = Math.floor((this.clock - latenessMs) / bucketMs) - 1;
    while (this.closed < closable) {
      if (this.liveOps.size === 0 && this.liveEdges.size === 0 && this.episodes.size === 0) {
        this.closed = closable;
        break;
      }
      this.closeBucket(++this.closed);
    }
    this.manager.tick((this.closed + 1) * bucketMs);
  }

  // ---- per-trace recording -----------------------------------------------------------------------

  private processTrace(entry: TraceEntry): void {
    this.tracesProcessed++;
    const { entries, calls } = analyzeTrace(entry.spans, this.ctx);
    for (const e of entries) this.recordEntry(e);
    for (const c of calls) this.recordCall(c);
  }

  private bucketIndex(t: number): number {
    const i = Math.floor(t / this.options.bucketMs);
    // Spans of traces held for their parents land in the first open bucket rather than being lost.
    return i > this.closed ? i : this.closed + 1;
  }

  /** The operation `key` (= opKey(service, operation), already built by trace analysis), created on first use. */
  private op(key: string, service: string, operation: string, nodeType: 'service' | 'peer'): OpState | undefined {
    let op = this.ops.get(key);
    if (op === undefined) {
      if (this.ops.size >= this.options.maxOperations) {
        this.drops.cardinality++;
        return undefined;
      }
      op = new OpState(key, service, operation, nodeType, this.options);
      this.ops.set(key, op);
    }
    return op;
  }

  private recordEntry(e: EntryFact): void {
    const op = this.op(e.key, e.service, e.operation, 'service');
    if (op === undefined) return;
    const b = this.touch(op, this.bucketIndex(e.span.endTime));
    if (e.error) {
      b.errors++;
      if (e.errorOrigin) {
        b.failing++;
        countOrigin((b.errorOrigins ??= new Map()), e.errorOrigin);
      }
      addExemplar((b.errorTraces ??= []), e.span.traceId);
      return;
    }
    this.recordLatency(op, b, e.duration, e.self);
    b.okRequests++;
    if (e.calls.length > 0) {
      const calls = (b.calls ??= new Map());
      for (const callee of e.calls) calls.set(callee, (calls.get(callee) ?? 0) + 1);
    }
    if (e.shapeOrigin) {
      b.diverged++;
      countOrigin((b.shapeOrigins ??= new Map()), e.shapeOrigin);
    }
    if (e.slowOrigin) {
      b.slow++;
      countOrigin((b.slowOrigins ??= new Map()), e.slowOrigin);
      addExemplar((b.slowTraces ??= []), e.span.traceId);
    }
  }

  /** Counts one request into an operation's bucket `idx`, keeping the operation live. */
  private touch(op: OpState, idx: number): OpBucket {
    const b = op.ring.at(idx);
    if (idx > op.lastIndex) op.lastIndex = idx;
    this.liveOps.add(op);
    b.requests++;
    return b;
  }

  private recordLatency(op: OpState, b: OpBucket, duration: number, self: number): void {
    this.recordSeries(op.latency, b.latency, duration);
    this.recordSeries(op.self, b.self, self);
  }

  private recordSeries(signal: LatencySignal, b: LatencyBucket, ms: number): void {
    const base = signal.detector.baseline;
    if (base.ready) {
      b.judged++;
      if (ms > this.options.latency.ratio * base.typical) b.over++;
    }
    const l = logMs(ms);
    addMoment(b.ok, l);
    b.sketch.add(ms);
    if (!base.isOutlier(ms)) addMoment(b.learn, l);
  }

  private addEdge(caller: string, callee: string, virtual: boolean): EdgeState {
    const edge = new EdgeState(`${caller}\u0002${callee}`, caller, callee, virtual, this.options);
    this.indexEdge(edge);
    return edge;
  }

  private indexEdge(edge: EdgeState): void {
    this.edges.set(edge.key, edge);
    let byCallee = this.edgeIndex.get(edge.caller);
    if (byCallee === undefined) {
      byCallee = new Map();
      this.edgeIndex.set(edge.caller, byCallee);
    }
    byCallee.set(edge.calleeService, edge);
  }

  private recordCall(c: CallFact): void {
    const idx = this.bucketIndex(c.span.endTime);
    let edge = this.edgeIndex.get(c.callerService)?.get(c.calleeService);
    if (edge === undefined) {
      if (this.edges.size >= this.options.maxOperations) {
        this.drops.cardinality++;
        return;
      }
      edge = this.addEdge(c.callerService, c.calleeService, c.virtual);
    }
    const eb = edge.ring.at(idx);
    if (idx > edge.lastIndex) edge.lastIndex = idx;
    this.liveEdges.add(edge);
    edge.calls++;
    eb.attempts++;
    if (c.error) {
      edge.errorsTotal++;
      eb.errors++;
    }
    if (c.gaveUp) {
      eb.gaveUp++;
      if (c.calleeOperation !== null) eb.calleeOperation = c.calleeOperation;
      if (c.duration > eb.maxWait) eb.maxWait = c.duration;
      addExemplar(eb.traces, c.span.traceId);
    }
    if (c.callerKey !== undefined && !c.virtual && c.calleeOperation !== null) {
      this.ops.get(c.calleeKey)?.callers.add(c.callerKey);
    }
    if (!c.virtual) return;
    // An uninstrumented peer (database, cache): the client span is all we know of it.
    const op = this.op(c.calleeKey, c.calleeService, c.calleeOperation ?? '', 'peer');
    if (op === undefined) return;
    if (c.callerKey !== undefined) op.callers.add(c.callerKey);
    const b = this.touch(op, idx);
    if (c.error) {
      b.errors++;
      addExemplar((b.errorTraces ??= []), c.span.traceId);
    } else {
      this.recordLatency(op, b, c.duration, c.duration);
      b.okRequests++;
    }
  }

  // ---- bucket close: judge, learn, attribute, route ----------------------------------------------

  private closeBucket(index: number): void {
    const { bucketMs } = this.options;
    const now = (index + 1) * bucketMs;
    // The last bucket at the end of input is only partly covered: its request count says nothing about rates.
    if (this.countedFrom === Infinity && this.liveOps.size > 0) this.countedFrom = index + 1;
    const partial = (this.clock !== null && now > this.clock) || index < this.countedFrom;
    const firings: Firing[] = [];
    for (const op of this.liveOps) {
      // Kept live one bucket past its last data, so a window of pure silence is judged once.
      if (op.lastIndex < index - RING && op.active.size === 0) {
        this.liveOps.delete(op);
        continue;
      }
      const before = firings.length;
      this.judgeOp(op, index, firings, partial);
      if (firings.length === before && op.active.size === 0) this.learnOp(op, index, partial);
    }
    for (const edge of this.liveEdges) {
      if (edge.lastIndex <= index - RING && edge.active.size === 0) {
        this.liveEdges.delete(edge);
        continue;
      }
      const before = firings.length;
      this.judgeEdge(edge, index, firings);
      if (firings.length === before && edge.active.size === 0) {
        const b = edge.ring.get(index);
        if (b !== undefined) edge.timeout.learn(b.attempts, b.gaveUp);
      }
    }
    const dropping = new Set<string>();
    for (const f of firings) if (f.signal === 'traffic.drop' && f.op) dropping.add(f.op.key);
    for (const ep of this.episodes.values()) if (ep.signal === 'traffic.drop') dropping.add(ep.target.key);
    // Drops last: a drop caused by a caller that started failing in this same bucket follows that failure.
    firings.sort((a, b) => Number(a.signal === 'traffic.drop') - Number(b.signal === 'traffic.drop'));
    for (const f of firings) this.fire(f, now, dropping);
    for (const ep of this.episodes.values()) {
      if (now - ep.lastFiredAt >= this.options.anomalyEndMs) {
        this.episodes.delete(ep.key);
        ep.target.active.delete(ep.key);
        this.manager.episodeEnded(ep.incidentId, ep.id);
      }
    }
    if (this.rollupListeners.size > 0) {
      this.rollups.add(this.liveOps, index);
      if (this.rollups.ends(index)) this.emitRollups(index, false);
    }
  }

  private judgeOp(op: OpState, index: number, out: Firing[], partial: boolean): void {
    const { bucketMs } = this.options;
    let latency: Firing | undefined;
    let errors: Firing | undefined;
    let self: Firing | undefined;
    const windows = WINDOWS.map((size) => op.window(index, size, bucketMs));
    for (let k = 0; k < WINDOWS.length; k++) {
      const size = WINDOWS[k];
      const w = windows[k];
      if (w.latency.ok.n > 0) {
        latency = this.judgeLatency(op, op.latency, w, size, 'latency', latency);
        // A peer's self time is its latency; a service's self time shows a fault of its own code.
        if (op.nodeType === 'service') self = this.judgeLatency(op, op.self, w, size, 'latency.self', self);
      }
      if (w.requests > 0) {
        const v = op.errors.judge(w.requests, w.errors);
        if (v.anomalous && (errors === undefined || v.score > errors.verdict.score)) {
          errors = { signal: 'errors', kind: 'errors', verdict: v, op, size, opWindow: w };
        }
      }
    }
    if (latency) out.push(latency);
    if (self) out.push(self);
    if (errors) out.push(errors);
    if (op.traffic !== undefined && !partial) {
      let traffic: Firing | undefined;
      for (let k = 0; k < WINDOWS.length; k++) {
        const size = WINDOWS[k];
        const w = windows[k];
        if (index - size + 1 < this.countedFrom || !op.traffic.mayFire(w.requests, size * bucketMs)) continue;
        const v = op.traffic.judge(w.requests, size * bucketMs);
        if (v.anomalous && v.direction && (traffic === undefined || v.score > traffic.verdict.score)) {
          traffic = { signal: `traffic.${v.direction}`, kind: 'traffic', verdict: v, op, size, opWindow: w };
        }
      }
      if (traffic) out.push(traffic);
    }
    if (op.traffic !== undefined) this.judgeShape(op, windows, out);
  }

  /**
   * Guards against heavy tails (GC pauses, cold caches), which can lift a small window's mean of logs:
   * the window's median must have moved too, and unless the shift is large and very significant (the
   * sensitive rule), the number of individually slow requests must be unlikely given how often that
   * normally happens.
   */
  private latencyConfirmed(signal: LatencySignal, w: OpWindow, which: 'latency' | 'self', v: Verdict, anchor: boolean): boolean {
    const o = this.options.latency;
    const median = windowSketch(w.buckets, which).quantile(0.5);
    if (median < o.sensitiveRatio * v.expected) return false;
    const lw = w[which];
    if (lw.ok.n >= o.sensitiveMinSamples && v.score >= o.sensitiveZ) return true;
    // The anchor only catches slow drifts, on busy windows: its tail statistics are the main baseline's.
    if (anchor) return false;
    return lw.judged > 0 && binomialSf(lw.over, lw.judged, signal.slowShare.rate) < o.slowPMax;
  }

  /** Judges one latency series of a window against its baseline and its slow anchor; keeps the stronger firing. */
  private judgeLatency(op: OpState, signal: LatencySignal, w: OpWindow, size: number, name: 'latency' | 'latency.self', best: Firing | undefined): Firing | undefined {
    const which = name === 'latency' ? 'latency' : 'self';
    const ok = w[which].ok;
    for (const detector of [signal.detector, signal.anchor]) {
      if (detector === undefined) continue;
      const v = detector.judge(ok);
      if (v.anomalous && (best === undefined || v.score > best.verdict.score) && this.latencyConfirmed(signal, w, which, v, detector === signal.anchor)) {
        best = { signal: name, kind: 'latency', verdict: v, op, size, opWindow: w };
      }
    }
    return best;
  }

  /**
   * Trace shape over every window, like latency: a short window catches a call that stopped at once
   * before the buckets learned meanwhile wash it out of the baseline; the long one catches sparse callers.
   */
  private judgeShape(op: OpState, windows: readonly OpWindow[], out: Firing[]): void {
    const whole = windows[windows.length - 1];
    if (whole.okRequests === 0) return;
    for (const b of whole.buckets) if (b.calls !== undefined) for (const key of b.calls.keys()) this.shapeDetector(op, key);
    for (const [key, d] of op.shapes) {
      let best: Firing | undefined;
      for (let k = 0; k < windows.length; k++) {
        const w = windows[k];
        if (w.okRequests === 0) continue;
        // Summed per call rather than into a Map: this runs for every operation at every bucket.
        let made = 0;
        for (const b of w.buckets) made += b.calls?.get(key) ?? 0;
        const v = d.judge(w.okRequests, made);
        if (v.anomalous && v.change && (best === undefined || v.score > best.verdict.score)) {
          best = { signal: `shape.${v.change}-call`, kind: 'shape', verdict: v, op, size: WINDOWS[k], opWindow: w, callee: key };
        }
      }
      if (best) out.push(best);
    }
  }

  /** A call seen for the first time after many requests without it starts from "never made" (share 0). */
  private shapeDetector(op: OpState, callee: string) {
    const existing = op.shapes.get(callee);
    if (existing !== undefined) return existing;
    const d = op.shape(callee);
    if (op.shapeSamples > 0) d.learn(op.shapeSamples, 0);
    return d;
  }

  private learnOp(op: OpState, index: number, partial: boolean): void {
    const b = op.ring.get(index);
    const { alpha } = this.options.baseline;
    if (!partial) op.traffic?.learn(b ? b.requests : 0, this.options.bucketMs);
    if (b === undefined) return;
    this.learnLatency(op.latency, b.latency, alpha);
    this.learnLatency(op.self, b.self, alpha);
    op.errors.learn(b.requests, b.errors);
    if (op.traffic !== undefined && b.okRequests > 0) {
      if (b.calls !== undefined) for (const key of b.calls.keys()) this.shapeDetector(op, key);
      for (const [key, d] of op.shapes) {
        const made = b.calls?.get(key) ?? 0;
        // As for latency: a usual call clearly missing from a bucket that has not fired yet is held back.
        const v = d.judge(b.okRequests, made);
        const missing = v.ready && v.expected >= this.options.shape.usualShare && v.observed <= v.expected / 2 && v.pValue < SHAPE_HOLD_P;
        d.held = missing ? d.held + 1 : 0;
        if (d.held === 0 || d.held > RING) d.learn(b.okRequests, made);
      }
      op.shapeSamples += b.okRequests;
      if (op.shapeSamples >= this.options.shape.minSamples) {
        const usual: string[] = [];
        for (const [key, d] of op.shapes) if (d.baseline.share >= USUAL_PATH_SHARE) usual.push(key);
        op.usual = usual;
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
  private learnLatency(signal: LatencySignal, b: LatencyBucket, alpha: number): void {
    const main = this.suspicious(signal.detector, b);
    const anchor = signal.anchor !== undefined && this.suspicious(signal.anchor, b);
    signal.held = main ? signal.held + 1 : 0;
    signal.anchorHeld = anchor ? signal.anchorHeld + 1 : 0;
    signal.learn(b, alpha, signal.held <= 0 || signal.held > RING, signal.anchorHeld <= 0 || signal.anchorHeld > RING * ANCHOR_SLOWDOWN);
  }

  private suspicious(detector: LatencyDetector, b: LatencyBucket): boolean {
    if (b.ok.n === 0) return false;
    const v = detector.judge(b.ok);
    return v.ready && v.score >= HOLD_SCORE && v.observed >= this.options.latency.sensitiveRatio * v.expected;
  }

  private judgeEdge(edge: EdgeState, index: number, out: Firing[]): void {
    let best: Firing | undefined;
    for (const size of WINDOWS) {
      const w = edge.window(index, size);
      if (w.attempts === 0) continue;
      const v = edge.timeout.judge(w.attempts, w.gaveUp);
      if (v.anomalous && (best === undefined || v.score > best.verdict.score)) {
        best = { signal: 'timeout', kind: 'timeout', verdict: v, edge, size, edgeWindow: w };
      }
    }
    if (best) out.push(best);
  }

  private fire(f: Firing, now: number, dropping: ReadonlySet<string>): void {
    const target = (f.op ?? f.edge) as OpState | EdgeState;
    const key = `${target.key}|${f.signal}${f.callee ? `|${f.callee}` : ''}`;
    const origins = this.origins(f, dropping);
    const top = origins[0];
    const v = f.verdict;
    const window = f.size * this.options.bucketMs;
    let service: string;
    let operation: string | null;
    let caller: OperationRef | undefined;
    let traceIds: string[];
    let samples: number;
    let count: number;
    if (f.edge) {
      const w = f.edgeWindow as NonNullable<Firing['edgeWindow']>;
      service = f.edge.calleeService;
      operation = top.operation;
      caller = { service: f.edge.caller, operation: null };
      samples = w.attempts;
      count = w.gaveUp;
      traceIds = [];
      for (let i = w.buckets.length - 1; i >= 0; i--) for (const t of w.buckets[i].traces) if (traceIds.length < BUCKET_EXEMPLARS * 2) traceIds.push(t);
    } else {
      const op = f.op as OpState;
      const w = f.opWindow as OpWindow;
      service = op.service;
      operation = op.operation;
      samples = f.signal === 'latency' ? w.latency.ok.n : f.signal === 'latency.self' ? w.self.ok.n : f.kind === 'shape' ? w.okRequests : w.requests;
      count = w.errors;
      traceIds = windowTraces(w.buckets, f.kind === 'errors' ? 'errorTraces' : 'slowTraces', BUCKET_EXEMPLARS * 2);
      if (f.callee) {
        const callee = this.ops.get(f.callee);
        const [s, o] = f.callee.split('\u0001');
        caller = { service: callee?.service ?? s, operation: callee?.operation ?? (o || null) };
      }
    }
    const unit = f.kind === 'latency' ? 'ms' : f.kind === 'traffic' ? 'rps' : 'ratio';
    const draft: Omit<Anomaly, 'explanation' | 'id' | 'firstAt' | 'peak'> = {
      kind: f.kind,
      signal: f.signal,
      service,
      operation,
      ...(caller ? { caller } : {}),
      at: now,
      windowStart: now - window,
      observed: v.observed,
      expected: v.expected,
      unit,
      score: round(v.score),
      pValue: v.pValue,
      severity: v.severity ?? 'low',
      samples,
      cause: { service: top.service, operation: top.operation, kind: top.kind, support: top.count, share: round(top.share) },
      traceIds,
    };
    const explanation = explainAnomaly(draft, { errors: count, window });
    if (f.op && (f.kind === 'latency' || f.kind === 'errors')) {
      // The root-cause sentence describes the anomaly at its worst, not its fading tail.
      const figKey = `${f.op.key}|${f.kind}`;
      const saved = this.figures.get(figKey);
      const strength = worstness(draft.severity, draft.observed, draft.expected);
      if (saved === undefined || strength >= saved.strength) {
        this.figures.set(figKey, { ...this.figuresOf(f.op, f.opWindow as OpWindow, f.kind), strength });
      }
    }
    let ep = this.episodes.get(key);
    const isNew = ep === undefined;
    if (ep === undefined) {
      this.anomaliesTotal++;
      ep = {
        id: `a-${this.nextAnomaly++}`,
        key,
        anomaly: undefined as unknown as Anomaly,
        lastFiredAt: now,
        incidentId: undefined,
        target,
        signal: f.signal,
      };
      this.episodes.set(key, ep);
      target.active.add(key);
    }
    // An episode's severity is its worst so far: a fading tail does not downgrade what happened.
    if (!isNew && SEVERITY_RANK[ep.anomaly.severity] > SEVERITY_RANK[draft.severity]) draft.severity = ep.anomaly.severity;
    const old = isNew ? undefined : ep.anomaly.peak;
    const peak =
      old !== undefined && worstness(ep.anomaly.severity, old.observed, old.expected) > worstness(v.severity ?? 'low', draft.observed, draft.expected)
        ? old
        : { at: now, observed: draft.observed, expected: draft.expected, score: draft.score, explanation };
    ep.anomaly = { ...draft, id: ep.id, firstAt: isNew ? now : ep.anomaly.firstAt, explanation, peak };
    ep.lastFiredAt = now;
    if (isNew) this.emitAnomaly(ep.anomaly);
    // A surge with healthy latency and errors is load, not a fault: it is reported, but opens no incident.
    if (f.signal !== 'traffic.surge') ep.incidentId = this.manager.route(ep.anomaly, origins, ep.incidentId ?? this.callerOfRoot(f), now);
  }

  private origins(f: Firing, dropping: ReadonlySet<string>): RankedOrigin[] {
    if (f.edge) {
      const edge = f.edge;
      const w = f.edgeWindow as NonNullable<Firing['edgeWindow']>;
      let operation: string | null = null;
      for (const b of w.buckets) if (b.calleeOperation !== null) operation = b.calleeOperation;
      return [{ service: edge.calleeService, operation, key: opKey(edge.calleeService, operation ?? ''), kind: 'timeout', share: 1, count: w.gaveUp }];
    }
    const op = f.op as OpState;
    const w = f.opWindow as OpWindow;
    switch (f.signal) {
      case 'errors':
        return rankOrigins(windowOrigins(w.buckets, 'errorOrigins'), w.failing, op, 'errors', w.errors);
      case 'latency':
        return rankOrigins(windowOrigins(w.buckets, 'slowOrigins'), w.slow, op, 'latency', w.latency.ok.n);
      case 'shape.missing-call':
        return rankOrigins(windowOrigins(w.buckets, 'shapeOrigins'), w.diverged, op, 'shape', w.okRequests);
      case 'traffic.drop': {
        const root = dropOrigin(op, this.ops, dropping);
        // Callers that fail or slow down stop making their later calls: the drop is that fault's effect.
        for (const caller of root.callers) {
          for (const ep of this.episodes.values()) {
            const k = ep.anomaly.kind;
            if (ep.target.key === caller && (k === 'errors' || k === 'latency' || k === 'timeout' || k === 'shape')) {
              // The root the caller's incident settled on, which weighs all its evidence, else the episode's own cause.
              const rc = ep.incidentId !== undefined ? this.manager.get(ep.incidentId)?.rootCause : undefined;
              const c = ep.anomaly.cause;
              const at = rc ?? c;
              return [{ service: at.service, operation: at.operation, key: opKey(at.service, at.operation ?? ''), kind: at.kind, share: c.share, count: c.support }];
            }
          }
        }
        // The evidence of a drop is the requests that did not come.
        return selfOrigins(root, 'traffic', Math.max(1, Math.round((f.verdict.expected - f.verdict.observed) * (w.end - w.start) / 1000)));
      }
      default:
        return selfOrigins(op, f.kind, w.requests);
    }
  }

  /**
   * For a call-pattern change: the open incident rooted in a service this operation usually calls. A
   * caller that stops part-way because a callee fails is the same cascade, linked by the trace graph,
   * even when its own requests no longer show the callee misbehaving.
   */
  private callerOfRoot(f: Firing): string | undefined {
    if (f.kind !== 'shape' || f.op === undefined) return undefined;
    const callees = new Set<string>();
    for (const key of f.op.shapes.keys()) callees.add(this.ops.get(key)?.service ?? key.slice(0, key.indexOf('\u0001')));
    for (const inc of this.manager.list({ status: ['active', 'acknowledged'] })) if (callees.has(inc.rootCause.service)) return inc.id;
    return undefined;
  }

  /** The root-cause figures of an operation over a window: p95 against its baseline p95, or its error rate. */
  private figuresOf(op: OpState, w: OpWindow, kind: 'latency' | 'errors'): RootFigures {
    if (kind === 'errors') {
      return w.requests > 0 ? { errors: { rate: w.errors / w.requests, baseline: op.errors.baseline.observed, errors: w.errors, requests: w.requests } } : {};
    }
    if (w.latency.ok.n === 0) return {};
    return {
      p95:
        op.nodeType === 'peer'
          ? { now: windowSketch(w.buckets, 'latency').quantile(0.95), baseline: op.latency.p95.value, what: 'latency' }
          : { now: windowSketch(w.buckets, 'self').quantile(0.95), baseline: op.self.p95.value, what: 'self-time' },
    };
  }

  private explainRoot(top: RankedOrigin, anomalies: readonly Anomaly[]): { explanation: string; change?: ReturnType<ChangeTracker['changeBefore']> } {
    // Figures from when the root cause's own anomaly last fired; else its last 15 s (it may not have fired itself).
    let figures: RootFigures = {};
    const op = this.ops.get(top.key);
    if (top.kind === 'latency' || top.kind === 'errors') {
      const saved = this.figures.get(`${top.key}|${top.kind}`);
      if (saved !== undefined) figures = saved;
      else if (op !== undefined && this.closed > -Infinity) figures = this.figuresOf(op, op.window(this.closed, 3, this.options.bucketMs), top.kind);
    }
    const firstAt = Math.min(...anomalies.map((a) => a.firstAt));
    const change = this.changes.changeBefore(top.service, firstAt, this.options.changeWindowMs);
    return { explanation: explainRoot(top, anomalies, figures, change, firstAt), ...(change ? { change } : {}) };
  }

  // ---- listeners ---------------------------------------------------------------------------------

  onAnomaly(listener: (anomaly: Anomaly) => void): () => void {
    this.anomalyListeners.add(listener);
    return () => this.anomalyListeners.delete(listener);
  }

  onIncident(listener: (event: IncidentEvent) => void): () => void {
    this.incidentListeners.add(listener);
    return () => this.incidentListeners.delete(listener);
  }

  onRollup(listener: (rollups: OperationRollup[]) => void): () => void {
    this.rollupListeners.add(listener);
    return () => this.rollupListeners.delete(listener);
  }

  private emitRollups(last: number, partial: boolean): void {
    if (this.rollupListeners.size === 0) return;
    const rollups = this.rollups.take(last, partial);
    if (rollups.length === 0) return;
    for (const l of this.rollupListeners) {
      try {
        l(this.rollupListeners.size === 1 ? rollups : structuredClone(rollups));
      } catch {
        this.listenerErrors++;
      }
    }
  }

  private emitAnomaly(a: Anomaly): void {
    for (const l of this.anomalyListeners) {
      try {
        l(structuredClone(a));
      } catch {
        this.listenerErrors++;
      }
    }
  }

  private emitIncident(e: IncidentEvent): void {
    for (const l of this.incidentListeners) {
      try {
        l(e);
      } catch {
        this.listenerErrors++;
      }
    }
  }

  // ---- queries -----------------------------------------------------------------------------------

  incidents(filter?: IncidentFilter): Incident[] {
    return this.manager.list(filter);
  }

  incident(id: string): Incident | undefined {
    return this.manager.get(id);
  }

  anomalies(): Anomaly[] {
    return [...this.episodes.values()].map((e) => structuredClone(e.anomaly));
  }

  acknowledge(id: string): Incident | undefined {
    return this.manager.acknowledge(id, this.clock ?? 0);
  }

  resolve(id: string): Incident | undefined {
    return this.manager.resolve(id, this.clock ?? 0);
  }

  metrics(): OperationMetrics[] {
    const out: OperationMetrics[] = [];
    if (this.closed === -Infinity) return out;
    const { bucketMs } = this.options;
    for (const op of this.ops.values()) {
      const w = op.window(this.closed, RING, bucketMs);
      const seconds = (w.end - w.start) / 1000;
      const sk = w.latency.ok.n > 0 ? { latency: windowSketch(w.buckets, 'latency'), self: windowSketch(w.buckets, 'self') } : undefined;
      out.push({
        service: op.service,
        operation: op.operation,
        nodeType: op.nodeType,
        windowStart: w.start,
        windowEnd: w.end,
        requests: w.requests,
        errors: w.errors,
        rate: w.requests / seconds,
        errorRate: w.requests > 0 ? w.errors / w.requests : 0,
        latency: sk ? { p50: sk.latency.quantile(0.5), p95: sk.latency.quantile(0.95), p99: sk.latency.quantile(0.99), mean: sk.latency.mean } : null,
        selfTime: sk ? { p50: sk.self.quantile(0.5), p95: sk.self.quantile(0.95), p99: sk.self.quantile(0.99) } : null,
        anomalous: op.active.size > 0,
      });
    }
    return out;
  }

  baselines(): OperationBaseline[] {
    return [...this.ops.values()].map((op) => {
      const lat = op.latency.detector.baseline;
      const self = op.self.detector.baseline;
      return {
        service: op.service,
        operation: op.operation,
        nodeType: op.nodeType,
        samples: lat.samples,
        ready: lat.ready,
        latency: lat.samples > 0 ? { typical: lat.typical, p95: op.latency.p95.value, stddevLog: lat.sd } : null,
        selfTime: self.samples > 0 ? { typical: self.typical, p95: op.self.p95.value } : null,
        errorRate: op.errors.baseline.observed,
        rate: op.traffic ? op.traffic.baseline.rate : 0,
        calls: [...op.shapes].map(([callee, d]) => ({ callee: callee.replace('\u0001', ' '), share: d.baseline.share })).filter((c) => c.share > 0),
      };
    });
  }

  serviceGraph(): ServiceGraph {
    const nodes = new Map<string, ServiceGraph['nodes'][number]>();
    for (const op of this.ops.values()) {
      let n = nodes.get(op.service);
      if (n === undefined) {
        n = { service: op.service, type: op.nodeType, operations: [], anomalous: false };
        nodes.set(op.service, n);
      }
      n.operations.push(op.operation);
      if (op.active.size > 0) n.anomalous = true;
    }
    const edges: ServiceGraph['edges'] = [];
    for (const e of this.edges.values()) {
      if (!nodes.has(e.calleeService)) {
        nodes.set(e.calleeService, { service: e.calleeService, type: e.virtual ? 'peer' : 'service', operations: [], anomalous: false });
      }
      if (!nodes.has(e.caller)) nodes.set(e.caller, { service: e.caller, type: 'service', operations: [], anomalous: false });
      edges.push({ from: e.caller, to: e.calleeService, calls: e.calls, errors: e.errorsTotal, anomalous: e.active.size > 0 });
    }
    return { nodes: [...nodes.values()], edges };
  }

  stats(): AnalyzerStats {
    let dropped = 0;
    for (const v of Object.values(this.drops)) dropped += v;
    return {
      ingested: this.ingested,
      accepted: this.accepted,
      dropped,
      droppedBy: { ...this.drops },
      traces: { buffered: this.buffer.size, processed: this.tracesProcessed, evictedEarly: this.buffer.evictedEarly },
      operations: this.ops.size,
      listenerErrors: this.listenerErrors,
      anomalies: { active: this.episodes.size, total: this.anomaliesTotal },
      incidents: this.manager.counts(),
      now: this.clock,
      watermark: this.closed === -Infinity ? null : (this.closed + 1) * this.options.bucketMs,
    };
  }

  now(): number | null {
    return this.clock;
  }

  // ---- persistence -------------------------------------------------------------------------------

  snapshot(): AnalyzerSnapshot {
    return {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      clock: this.clock,
      closed: this.closed === -Infinity ? null : this.closed,
      nextAnomaly: this.nextAnomaly,
      anomaliesTotal: this.anomaliesTotal,
      operations: [...this.ops.values()].map((op) => ({
        service: op.service,
        operation: op.operation,
        nodeType: op.nodeType,
        latency: op.latency.toJSON(),
        self: op.self.toJSON(),
        errors: op.errors.toJSON(),
        traffic: op.traffic?.toJSON() ?? null,
        shapeSamples: op.shapeSamples,
        shapes: [...op.shapes].map(([k, d]) => [k, d.toJSON()]),
        callers: [...op.callers],
      })),
      edges: [...this.edges.values()].map((e) => ({
        caller: e.caller,
        callee: e.calleeService,
        virtual: e.virtual,
        calls: e.calls,
        errors: e.errorsTotal,
        timeout: e.timeout.toJSON(),
      })),
      peers: [...this.peers].map(([peer, p]) => ({ peer, service: p.service, calls: peerCalls(p) })),
      versions: this.changes.toJSON(),
      incidents: this.manager.toJSON(),
      counters: { ingested: this.ingested, accepted: this.accepted, tracesProcessed: this.tracesProcessed, drops: { ...this.drops } },
    };
  }

  restore(s: AnalyzerSnapshot): void {
    checkSnapshot(s);
    // Everything is built aside first: a snapshot that fails part-way leaves the analyzer as it was.
    const ops: OpState[] = s.operations.map((o) => {
      const op = new OpState(opKey(o.service, o.operation), o.service, o.operation, o.nodeType, this.options);
      op.latency.restore(o.latency);
      op.self.restore(o.self);
      op.errors.restore(o.errors);
      if (o.traffic && op.traffic) op.traffic.restore(o.traffic);
      op.shapeSamples = o.shapeSamples;
      for (const [k, d] of o.shapes) op.shape(k).restore(d);
      for (const c of o.callers) op.callers.add(c);
      return op;
    });
    const edges: EdgeState[] = s.edges.map((e) => {
      const edge = new EdgeState(`${e.caller}\u0002${e.callee}`, e.caller, e.callee, e.virtual, this.options);
      edge.calls = e.calls;
      edge.errorsTotal = e.errors;
      edge.timeout.restore(e.timeout);
      return edge;
    });
    const peers = s.peers.map((p) => [p.peer, restorePeer(p.service, p.calls)] as const);
    const changes = new ChangeTracker(this.options.maxOperations);
    changes.restore(s.versions);
    const manager = this.newManager();
    manager.restore(s.incidents);

    this.ops.clear();
    for (const op of ops) this.ops.set(op.key, op);
    this.edges.clear();
    this.edgeIndex.clear();
    for (const edge of edges) this.indexEdge(edge);
    this.peers.clear();
    for (const [peer, p] of peers) this.peers.set(peer, p);
    this.liveOps.clear();
    this.liveEdges.clear();
    this.episodes.clear();
    this.figures.clear();
    this.rollups.clear();
    // Buffered traces belong to the state being replaced: they are dropped with it.
    const evictedEarly = this.buffer.evictedEarly;
    this.buffer = this.newBuffer();
    this.buffer.evictedEarly = evictedEarly;
    this.changes = changes;
    this.manager = manager;
    this.clock = s.clock;
    this.nextAdvance = -Infinity;
    this.closed = s.closed === null ? -Infinity : s.closed;
    this.countedFrom = Infinity;
    this.nextAnomaly = s.nextAnomaly;
    this.anomaliesTotal = s.anomaliesTotal;
    this.ingested = s.counters.ingested;
    this.accepted = s.counters.accepted;
    this.tracesProcessed = s.counters.tracesProcessed;
    Object.assign(this.drops, s.counters.drops);
  }
}

/**
 * The instrumented service behind a peer name, and which of its operations calls by a given name reach:
 * by name alone, and by name from each calling operation (nested, so the hot path builds no key strings).
 */
interface Peer {
  service: string;
  calls: Map<string, string>;
  byCaller: Map<string, Map<string, string>>;
  /** Mappings held in all, for the per-peer bound. */
  size: number;
}

function newPeer(service: string): Peer {
  return { service, calls: new Map(), byCaller: new Map(), size: 0 };
}

/** Separates the calling operation from the call name in a snapshot's flat list. */
const CALLER_SEP = '\u0003';

function peerCalls(p: Peer): Array<[string, string]> {
  const out = [...p.calls];
  for (const [caller, calls] of p.byCaller) for (const [name, op] of calls) out.push([`${caller}${CALLER_SEP}${name}`, op]);
  return out;
}

function restorePeer(service: string, calls: ReadonlyArray<[string, string]>): Peer {
  const p = newPeer(service);
  for (const [key, op] of calls) {
    const sep = key.indexOf(CALLER_SEP);
    if (sep < 0) {
      remember(p, p.calls, key, op);
      continue;
    }
    rememberFrom(p, key.slice(0, sep), key.slice(sep + 1), op);
  }
  return p;
}

/** {@link remember} for calls made from the caller operation `callerKey`. */
function rememberFrom(peer: Peer, callerKey: string, name: string, operation: string): void {
  let mine = peer.byCaller.get(callerKey);
  if (mine === undefined) peer.byCaller.set(callerKey, (mine = new Map()));
  remember(peer, mine, name, operation);
}

/** Sets a call-name mapping only when it changes, within the per-peer bound. */
function remember(peer: Peer, calls: Map<string, string>, name: string, operation: string): void {
  const cur = calls.get(name);
  if (cur === operation) return;
  if (cur !== undefined) calls.set(name, operation);
  else if (peer.size < MAX_CALL_NAMES_PER_PEER) {
    calls.set(name, operation);
    peer.size++;
  }
}

/** Orders moments of an episode by how bad they were: severity first, then the size of the deviation. */
function worstness(severity: Anomaly['severity'], observed: number, expected: number): number {
  const effect = Math.abs(Math.log((observed + 1e-3) / (expected + 1e-3)));
  return SEVERITY_RANK[severity] * 1000 + Math.min(effect, 999);
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}
