import type { Anomaly, AnomalyKind, AnomalySignal, Incident, IncidentEvent, IncidentsSnapshot, OperationRef, RankedOrigin } from '../types.js';
import type { ResolvedOptions } from '../options.js';
import { SHARED_MS, clearlySlower, type Firing, type OpFiring } from '../detectors/judge.js';
import { QUEUE_SUSTAIN_BUCKETS } from '../detectors/queue.js';
import type { Recorder } from '../ops/recorder.js';
import type { ChangeTracker } from '../changes.js';
import { BUCKET_EXEMPLARS, absorbedIn, badOn, givenUpIn, queuedCount, servedIn, topInstance, type CallTimes } from '../ops/bucket.js';
import { RING, WINDOWS, callsPerRequest, windowLatest, windowOrigins, windowSketch, windowFirstTraces, windowSlowTraces, type EdgeState, type OpState, type OpWindow } from '../ops/state.js';
import { episodeKey, figuresKey, opKey, opKeyLabel, opKeyOperation, opKeyService } from '../keys.js';
import { dropOrigin, originAt, rankOrigins, selfOrigins } from '../rca/attribute.js';
import { explainAnomaly, explainRoot, worstFigure, type RootFigures } from '../rca/explain.js';
import { EVENT_LOOP_OPERATION } from '../model/loop.js';
import { isPoolWait } from '../model/operation.js';
import { firstLine, label } from '../rca/format.js';
import { IncidentManager, type ExplainRoot } from './manager.js';
import { SEVERITY_RANK } from './severity.js';

/** A new process of the root's service started this long before an incident's first anomaly, or since, is named in its sentence. */
const RESTART_NEAR_MS = 60_000;
/** A deploy of the root's service first seen this long after an incident's first anomaly is named in its sentence (see ChangeTracker.changeNear). */
const DEPLOY_NEAR_MS = 15_000;

/** Onsets this many buckets apart or closer are one fault's, when they are in the same service (see IncidentManager). */
const COINCIDE_BUCKETS = 2;

/** Buckets another operation or kind of an incident's root service must stay the pick before it is named (see IncidentManagerOptions.renameHoldMs). */
const RENAME_HOLD_BUCKETS = 3;

/** Roots of incidents whose callers' requests wait without ending: a drop of theirs is that incident's. */
const HANG_KINDS: ReadonlySet<AnomalyKind> = new Set<AnomalyKind>(['timeout', 'latency']);

/** Faults of an operation that lower its own count of ended requests. */
const HANG_KINDS_AND_ERRORS: ReadonlySet<AnomalyKind> = new Set<AnomalyKind>(['timeout', 'latency', 'errors']);

/** Faults of a caller that stop the calls it makes after them. */
const CALLER_FAULT_KINDS: ReadonlySet<AnomalyKind> = new Set<AnomalyKind>(['errors', 'latency', 'timeout', 'shape']);

/** The order a bucket's firings are routed in (see settle). */
const ROUTE_ORDER: Record<Firing['kind'], number> = { errors: 0, latency: 0, timeout: 0, shape: 1, traffic: 2 };

function routeOrder(f: Firing): number {
  return f.signal === 'traffic.surge' ? -1 : ROUTE_ORDER[f.kind];
}

function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A dropping operation's caller that served at most this share of its usual requests over the drop's window dropped too (see {@link Episodes.servedLittle}). */
const CALLER_DROP_RATIO = 0.5;
/** A consumer's producer that goes on at this share of its learned rate or more still sends (see {@link Episodes.producing}). */
const PRODUCING_RATIO = 0.8;

/** A latency level outlasted its baseline once clearly slower in this many times the buckets it learned from (see {@link Episodes.adapts}) ... */
const OUTLASTED_FACTOR = 3;
/** ... and in at least this many buckets (three minutes at the defaults). */
const OUTLASTED_MIN_BUCKETS = 36;

/** Whether the level of a latency signal of `op` outlasted the baseline it departs from (see {@link Episodes.adapts}). */
function outlasted(op: OpState, signal: Firing['signal']): boolean {
  if (signal !== 'latency' && signal !== 'latency.self' && signal !== 'latency.tail') return false;
  const s = op.series(signal);
  return s.slowBuckets >= Math.max(OUTLASTED_MIN_BUCKETS, OUTLASTED_FACTOR * s.learnedBuckets);
}

/** A tail slowdown or an error rate names the process that served at least this share of its slow or failing requests (see {@link Episodes.oneInstance}). */
const ONE_INSTANCE_SHARE = 0.8;
/** …at this many times the rate of each other process (see {@link Episodes.oneInstance})… */
const ONE_INSTANCE_RATIO = 2;
/** …that served at least this many of the window's requests. */
const ONE_INSTANCE_COMPARED = 5;

/** One anomaly episode: a signal of one operation (or edge) firing, from its first firing until it ends. */
interface Episode {
  id: string;
  key: string;
  anomaly: Anomaly;
  lastFiredAt: number;
  /** Event time its signal last looked abnormal in the latest bucket (see {@link Episodes.looks}). */
  deviantAt: number;
  incidentId: string | undefined;
  target: OpState | EdgeState;
  signal: Firing['signal'];
  /** For call-pattern episodes: the callee's operation key. */
  callee: string | undefined;
  /** Joined an incident as its fault's effect (a backlog drained after it): stays so (see {@link Episodes.route}). */
  effect?: boolean;
}

/** Where episodes report to: new anomalies, and the incident manager's lifecycle events. */
export interface EpisodeListeners {
  anomaly(a: Anomaly): void;
  incident(e: IncidentEvent): void;
}

/**
 * Verdicts → episodes → ranked origins → incidents: each firing opens or extends an anomaly episode,
 * traces it back to where its failing or slow requests started, and routes it to the incident manager,
 * which asks back here for the root-cause sentence. Owns the episodes and the figures behind explanations.
 */
export class Episodes {
  private readonly episodes = new Map<string, Episode>();
  /** Root-cause figures per operation and kind, captured when an anomaly on it last fired. */
  private readonly figures = new Map<string, RootFigures & { strength: number }>();
  /** Per service seen without loop samples, its latest late answers told (see explainRoot); bounded as the operations are. */
  private readonly lateFigures = new Map<string, NonNullable<RootFigures['late']> & { median: number }>();
  /**
   * Root-cause figures of an operation named without an anomaly of its own, at their worst in the incident
   * whose anomalies began at `since` (a slow query among a table's statements moves the route, not the
   * statement's median: its window's p95 tells it, and its last window would say "1.0×" once it ends).
   */
  private readonly unfired = new Map<string, { figures: RootFigures; strength: number; since: number }>();
  readonly manager: IncidentManager;
  nextAnomaly = 1;
  anomaliesTotal = 0;
  /** The bucket being closed (its figures are the fallback for a root cause that did not fire itself). */
  private closing = -Infinity;
  /**
   * Event time each operation's traffic last surged (a `traffic.surge` firing, backlogs let go excluded), for
   * {@link heldForLoad}; bounded as the operations are (the oldest entry goes first).
   */
  private readonly surgedAt = new Map<string, number>();
  /**
   * Per consumer operation, what {@link producing} found for its drop's latest window (`at`): told again
   * after the ring let that window go (a backlog draining for minutes updates the incident), the figure
   * stays the one its window gave.
   */
  private readonly produced = new Map<string, { at: number; figure: RootFigures['producing'] }>();
  /**
   * Episodes that ended, by key → event time they ended: until then, windows reaching back before that
   * time still hold the ended episode's buckets, and their firings are its echo, not a new deviation.
   */
  private readonly ended = new Map<string, number>();
  /**
   * Event time the last episode of a fault (not a tail slowdown, nor a surge) ended, by each service it
   * involved (see {@link faultServices}): a tail's window reaching back before it holds that fault's slow
   * requests, its aftermath (see {@link tailOfAnother}). Entries older than the longest window are dropped.
   */
  private readonly faultEnded = new Map<string, number>();
  /** As {@link faultEnded}, for failures (errors, timeouts) only: what requests held together may be (see {@link tailOfAnother}). */
  private readonly failureEnded = new Map<string, number>();
  /** As {@link ended}, for latency episodes that were in an incident: what told their held requests (see {@link heldInSlowdown}). */
  private readonly toldEnded = new Map<string, number>();
  /** Scratch for a bucket's calls to a callee (see {@link missedSince}). */
  private readonly callTimes: CallTimes = { calls: 0, squares: 0 };
  /** Operations making a call they never made before, in the bucket being settled or still (see {@link missedSince}). */
  private readonly rerouted = new Set<string>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly recorder: Recorder,
    private readonly changes: ChangeTracker,
    private readonly listeners: EpisodeListeners,
  ) {
    this.manager = new IncidentManager(
      {
        resolveAfterMs: options.resolveAfterMs,
        maxExemplars: options.maxExemplars,
        coincideMs: COINCIDE_BUCKETS * options.bucketMs,
        echoMs: Math.max(WINDOWS[WINDOWS.length - 1] * options.bucketMs, options.maxTraceWaitMs),
        renameHoldMs: RENAME_HOLD_BUCKETS * options.bucketMs,
        topology: {
          homes: (service) => this.homes(service),
          callees: (service) => this.callees(service),
          callers: (key) => this.callerServices(this.recorder.ops.get(key)),
          samplesLoop: (service) => this.recorder.samplesLoop(service),
          lateShare: (service, from, to) => this.recorder.lateShare(service, from, to),
          isPeer: (key) => this.isPeer(key),
          heldBacklog: (service, since) => this.recorder.heldBacklog(service, since),
          deployedIn: (service, from, to) => to > from && this.changes.changeNear(service, to, to - from) !== undefined,
        },
      },
      (event) => this.listeners.incident(event),
      (top, anomalies) => this.explainRoot(top, anomalies),
    );
  }

  /** Active episodes. */
  get size(): number {
    return this.episodes.size;
  }

  /** Currently active anomalies, as copies. */
  anomalies(): Anomaly[] {
    return [...this.episodes.values()].map((e) => structuredClone(e.anomaly));
  }

  /** The firings of closed bucket `index`: opens or extends episodes and routes them; ends quiet ones. */
  settle(firings: Firing[], index: number): void {
    this.closing = index;
    const now = (index + 1) * this.options.bucketMs;
    const dropping = new Set<string>();
    for (const f of firings) if (f.signal === 'traffic.drop') dropping.add(f.op.key);
    for (const ep of this.episodes.values()) if (ep.signal === 'traffic.drop') dropping.add(ep.target.key);
    const rerouted = this.rerouted;
    rerouted.clear();
    for (const f of firings) if (f.signal === 'shape.new-call') rerouted.add(f.op.key);
    for (const ep of this.episodes.values()) if (ep.signal === 'shape.new-call') rerouted.add(ep.target.key);
    // Failures and slowness first, then call-pattern changes, drops last: a caller that stops part-way,
    // or a drop caused by a caller that started failing, in this same bucket follows that failure. Surges,
    // which join no incident, before all: an incident's sentence tells one firing in the same bucket.
    // Ties by key, not in the order the analyzer first saw the operations: the same spans arriving in
    // another order open, join and number the same anomalies and incidents.
    firings.sort((a, b) => routeOrder(a) - routeOrder(b) || byKey(this.keyOf(a), this.keyOf(b)));
    const merged = this.manager.coalesced(() => {
      for (const f of firings) {
        const key = this.keyOf(f);
        const endedAt = this.ended.get(key);
        if (endedAt !== undefined && now - f.size * this.options.bucketMs < endedAt) continue;
        if (f.signal === 'latency.tail' && (this.heldInSlowdown(f, now) || this.tailOfAnother(f, now, firings))) continue;
        // A level that outlasted its baseline (see adapts) is the new normal, not news: learned afresh.
        if (f.kind === 'latency' && !this.episodes.has(key) && outlasted(f.op, f.signal)) {
          f.op.relearn(f.signal, undefined);
          continue;
        }
        // Ends of requests a hang held, let go together: no more traffic came (an alarm of +389% at a steady load).
        if (f.signal === 'traffic.surge') {
          if (this.heldBacklog(f.op, now - f.size * this.options.bucketMs, now)) continue;
          this.noteSurge(f.op.key, now);
        }
        // A drop's window keeps firing while its operation gets no requests at all (traffic stopped with a
        // fault, or for good): only a bucket with requests is new evidence, so the episode ends (and its
        // operation stops being judged) instead of firing for as long as nothing comes. Unless the window,
        // now empty of the requests before the stop, shows it worse than it was: a stop is reported as one.
        // Or while it waits to be seen lasting (see stillDown).
        if (f.signal === 'traffic.drop' && (f.op.ring.get(index)?.requests ?? 0) === 0) {
          const ep = this.episodes.get(key);
          if (ep !== undefined && ep.incidentId !== undefined && SEVERITY_RANK[f.verdict.severity ?? 'low'] <= SEVERITY_RANK[ep.anomaly.severity]) continue;
        }
        // Likewise an error window of an operation called no more since its last call succeeded (a pool
        // that reconnected once its database was back): the failures it holds are the episode's already.
        if (f.signal === 'errors' && f.op.lastOkAt > f.op.lastErrorAt && (f.op.ring.get(index)?.requests ?? 0) === 0 && this.episodes.has(key)) continue;
        this.fire(f, now, dropping);
      }
    }, now);
    // Episodes of an incident merged into another go on in that one.
    if (merged.size > 0) for (const ep of this.episodes.values()) if (ep.incidentId !== undefined) ep.incidentId = merged.get(ep.incidentId) ?? ep.incidentId;
    const end = this.options.anomalyEndMs;
    for (const ep of this.episodes.values()) {
      const looks = this.looks(ep, index);
      if (looks !== false) ep.deviantAt = now;
      // The fault itself seen now, in requests of this bucket (never of traffic or call patterns: see looks):
      // what keeps other services' anomalies joining.
      if (looks === true && ep.incidentId !== undefined) this.manager.faultSeen(ep.incidentId, now);
      // Ends once its signal has looked normal for anomalyEndMs (or nothing fired that long).
      if (now - ep.deviantAt >= end || now - ep.lastFiredAt >= end) {
        this.end(ep, now);
        this.manager.episodeEnded(ep.incidentId, ep.id);
      } else if (this.adapts(ep, now)) {
        (ep.target as OpState).relearn(ep.signal, ep.callee);
        this.end(ep, now);
        this.manager.adapted(ep.incidentId, ep.id, now);
      }
    }
    // An ended episode's echo lasts at most the longest window.
    const echo = WINDOWS[WINDOWS.length - 1] * this.options.bucketMs;
    for (const [key, at] of this.ended) if (now - at >= echo) this.ended.delete(key);
    for (const ended of [this.faultEnded, this.failureEnded, this.toldEnded]) for (const [key, at] of ended) if (now - at >= echo) ended.delete(key);
  }

  private end(ep: Episode, now: number): void {
    this.episodes.delete(ep.key);
    ep.target.active.delete(ep.key);
    this.ended.set(ep.key, now);
    if ((ep.signal === 'latency' || ep.signal === 'latency.self') && ep.incidentId !== undefined) this.toldEnded.set(ep.key, now);
    if (isFault(ep.signal)) for (const service of faultServices(ep.signal, ep.target)) this.faultEnded.set(service, now);
    if (isFailure(ep.signal)) for (const service of faultServices(ep.signal, ep.target)) this.failureEnded.set(service, now);
  }

  /**
   * Whether an episode is to become its operation's new normal: latency, traffic and call patterns do,
   * errors and timeouts never, nor anything of an operation still failing. It has lasted `adaptAfterMs`,
   * or its latency has been clearly slower than the baseline in more buckets than {@link OUTLASTED_FACTOR}
   * times those the baseline learned from (and {@link OUTLASTED_MIN_BUCKETS} at least): a baseline learned
   * from its first half minute of requests, all of one kind (a cold cache's misses, the table's fast
   * statement), was not the operation's normal, and the usual mix after them (mostly a report query on the
   * same table) fired, ended and fired again for half an hour, never learned while it fired.
   */
  private adapts(ep: Episode, now: number): boolean {
    if (ep.signal === 'errors' || ep.signal === 'timeout') return false;
    if (now - ep.anomaly.firstAt < this.options.adaptAfterMs && !outlasted(ep.target as OpState, ep.signal)) return false;
    for (const key of ep.target.active) if (this.episodes.get(key)?.signal === 'errors') return false;
    return true;
  }

  private keyOf(f: Firing): string {
    return episodeKey(f.kind === 'timeout' ? f.edge.key : f.op.key, f.signal, f.kind === 'shape' ? f.callee : undefined);
  }

  /**
   * Whether an episode's signal still looks abnormal in bucket `index` alone, with less evidence than its
   * firing needed: latency clearly slower (see clearlySlower), an error or give-up rate at ≥ 2× its
   * baseline (and 2 points up); a timeout also while the latest in-flight report shows its calls stuck.
   * Undefined when the bucket says nothing: none of its requests (not evidence of recovery), and for
   * traffic and call-pattern episodes, which end only when their windows stop firing.
   */
  private looks(ep: Episode, index: number): boolean | undefined {
    const bucketMs = this.options.bucketMs;
    if (ep.signal === 'timeout') {
      const edge = ep.target as EdgeState;
      const w = edge.window(index, 1);
      if (w.attempts === 0) return edge.stuck !== undefined ? true : undefined;
      const v = edge.timeout.judge(w.attempts, w.gaveUp);
      return raised(v.observed, v.expected);
    }
    const op = ep.target as OpState;
    if (ep.signal === 'latency.tail') {
      const w = op.window(index, 1, bucketMs).latency;
      if (w.judged === 0) return undefined;
      return raised(w.over / w.judged, op.latency.slowShare.rate);
    }
    if (ep.signal === 'latency' || ep.signal === 'latency.self') {
      const w = op.window(index, 1, bucketMs);
      const ok = ep.signal === 'latency' ? w.latency.ok : w.self.ok;
      if (ok.n === 0) return undefined;
      return clearlySlower(op.series(ep.signal).detector, ok, this.options.latency);
    }
    if (ep.signal === 'latency.queue') {
      const b = op.ring.get(index)?.queued;
      if (b === undefined || b.count === 0 || op.queue === undefined) return undefined;
      return op.queue.longIn(b);
    }
    if (ep.signal === 'errors') {
      const w = op.window(index, 1, bucketMs);
      if (w.requests === 0) return undefined;
      const v = op.errors.judge(w.requests, w.errors);
      return raised(v.observed, v.expected);
    }
    return undefined;
  }

  private fire(f: Firing, now: number, dropping: ReadonlySet<string>): void {
    const target = f.kind === 'timeout' ? f.edge : f.op;
    const key = this.keyOf(f);
    // A timeout's callee operations, by their calls given up on: its origins and its sentence both count them.
    const given = f.kind === 'timeout' ? givenUpIn(f.window.buckets) : undefined;
    const found = this.origins(f, dropping, given);
    // Callers gave up on a timeout's callee operations (its sentence names them); they waited on what those waited on.
    const origins = f.kind === 'timeout' ? found.map((o) => this.waitedOn(o, f.size)) : found;
    const top = origins[0];
    const v = f.verdict;
    const window = f.size * this.options.bucketMs;
    let service: string;
    let operation: string | null;
    let caller: OperationRef | undefined;
    let callee: OperationRef | undefined;
    let traceIds: string[];
    let samples: number;
    let count: number;
    let message: string | undefined;
    let failedIn: string | undefined;
    let absorbed: number | undefined;
    let perRequest: number | undefined;
    if (f.kind === 'timeout') {
      const w = f.window;
      service = f.edge.calleeService;
      operation = found[0].operation;
      f.edge.givenUpOperation = operation;
      caller = { service: f.edge.caller, operation: null };
      samples = w.attempts;
      count = w.gaveUp;
      traceIds = [];
      for (let i = w.buckets.length - 1; i >= 0; i--) for (const t of w.buckets[i].traces) if (traceIds.length < BUCKET_EXEMPLARS * 2) traceIds.push(t);
    } else {
      const { op, window: w } = f;
      service = op.service;
      operation = op.operation;
      samples =
        f.signal === 'latency' || f.signal === 'latency.tail' ? w.latency.ok.n :
        f.signal === 'latency.self' ? w.self.ok.n :
        f.signal === 'latency.queue' ? queuedCount(w.buckets) :
        f.kind === 'shape' ? w.okRequests :
        w.requests;
      // The bad ones the sentence counts: failed requests, or a tail's slow ones.
      count = f.signal === 'latency.tail' ? w.latency.over : w.errors;
      traceIds =
        f.kind === 'errors' ? windowFirstTraces(w.buckets, BUCKET_EXEMPLARS * 2, 'errorTraces') :
        f.signal === 'shape.missing-call' ? windowFirstTraces(w.buckets, BUCKET_EXEMPLARS * 2, 'divergedTraces') :
        windowSlowTraces(w.buckets, BUCKET_EXEMPLARS * 2);
      if (f.kind === 'errors') {
        message = messageOf(w);
        failedIn = windowLatest(w.buckets, 'failedIn');
        absorbed = absorbedIn(w.buckets);
      }
      if (f.kind === 'shape') {
        const op = this.recorder.ops.get(f.callee);
        callee = { service: op?.service ?? opKeyService(f.callee), operation: op?.operation ?? (opKeyOperation(f.callee) || null) };
        if (f.signal === 'shape.new-call') perRequest = callsPerRequest(w.buckets, f.callee);
      }
    }
    const unit = f.kind === 'latency' ? 'ms' : f.kind === 'traffic' ? 'rps' : f.signal === 'shape.more-calls' ? 'per-request' : 'ratio';
    const draft: Omit<Anomaly, 'explanation' | 'id' | 'firstAt' | 'peak'> = {
      kind: f.kind,
      signal: f.signal,
      service,
      operation,
      ...(caller ? { caller } : {}),
      ...(callee ? { callee } : {}),
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
      ...(message !== undefined ? { message } : {}),
      ...(failedIn !== undefined ? { failedIn } : {}),
    };
    const on = f.signal === 'latency.tail' ? this.oneInstance(f.op, f.window, 'slow') : f.kind === 'errors' ? this.oneInstance(f.op, f.window, 'failing') : undefined;
    if (on !== undefined) draft.instance = on.instance;
    if (f.kind !== 'timeout' && f.held !== undefined) draft.held = f.held;
    const calls = f.kind !== 'timeout' && f.op.nodeType === 'peer';
    const explanation = explainAnomaly(draft, { count, absorbed, window, slowerThan: this.options.latency.ratio, on, operations: given?.length, perRequest, calls });
    if (f.kind === 'latency' || f.kind === 'errors') {
      // The root-cause sentence describes the anomaly at its worst, not its fading tail.
      const figKey = figuresKey(f.op.key, f.kind);
      const saved = this.figures.get(figKey);
      const strength = worstness(draft.severity, draft.observed, draft.expected);
      // A new episode's story starts afresh: the figures of an earlier one are history, not its worst.
      if (saved === undefined || strength >= saved.strength || !this.episodes.has(key)) {
        this.figures.set(figKey, { ...figuresOf(f.op, f.window, f.kind, window), at: now, strength });
      }
    }
    const ep = this.episodes.get(key);
    let anomaly: Anomaly;
    if (ep === undefined) {
      this.anomaliesTotal++;
      const id = `a-${this.nextAnomaly++}`;
      anomaly = { ...draft, id, firstAt: now, explanation, peak: { at: now, observed: draft.observed, expected: draft.expected, score: draft.score, explanation } };
      const opened: Episode = { id, key, anomaly, lastFiredAt: now, deviantAt: now, incidentId: undefined, target, signal: f.signal, callee: f.kind === 'shape' ? f.callee : undefined };
      this.episodes.set(key, opened);
      target.active.add(key);
      this.listeners.anomaly(anomaly);
      this.route(opened, f, origins, now);
      return;
    }
    // An episode's severity is its worst so far: a fading tail does not downgrade what happened.
    const was = ep.anomaly;
    if (SEVERITY_RANK[was.severity] > SEVERITY_RANK[draft.severity]) draft.severity = was.severity;
    const old = was.peak;
    const peak =
      worstness(was.severity, old.observed, old.expected) > worstness(v.severity ?? 'low', draft.observed, draft.expected)
        ? old
        : { at: now, observed: draft.observed, expected: draft.expected, score: draft.score, explanation };
    // A window with no example trace of its own (a drop gone to zero) keeps the ones the episode had; a
    // slowdown shows the requests of its worst window, not the fading tail's mildly slow ones.
    if (draft.traceIds.length === 0 || (draft.kind === 'latency' && peak === old && was.traceIds.length > 0)) draft.traceIds = was.traceIds;
    // The severity is the episode's worst, the figures the latest window's: the sentence says both.
    const told = peak !== old || SEVERITY_RANK[draft.severity] <= SEVERITY_RANK[v.severity ?? 'low'] ? explanation : `${explanation}; at worst ${worstFigure(draft.kind, draft.signal, old.observed, old.expected)}`;
    ep.anomaly = { ...draft, id: ep.id, firstAt: was.firstAt, explanation: told, peak };
    ep.lastFiredAt = now;
    this.route(ep, f, origins, now);
    // Worse than ever before in this episode: listeners hear it again, same id, the new severity.
    if (SEVERITY_RANK[draft.severity] > SEVERITY_RANK[was.severity]) this.listeners.anomaly(ep.anomaly);
  }

  private route(ep: Episode, f: Firing, origins: RankedOrigin[], now: number): void {
    // A surge with healthy latency and errors is load, not a fault: it is reported, but opens no incident.
    // A drop joins another incident only when the trace graph ties it to a failing caller (its origin is then that caller's root cause, not traffic).
    const linked = f.signal !== 'traffic.drop' || origins[0]?.kind !== 'traffic';
    // A drop that joined a failure's incident as its effect stays that effect: once the trace graph no longer
    // ties it to a failing caller (the failure ended, or traffic stopped further up), it neither re-roots
    // that incident on the drop nor, after it resolved, opens a traffic incident of its own.
    if (!linked && ep.incidentId !== undefined && this.manager.failure(ep.incidentId)) return;
    if (ep.effect) {
      ep.incidentId = this.manager.join(ep.anomaly, origins, ep.incidentId, now, true);
      return;
    }
    // A call missing only from requests a stopping process cut short may join an incident as its spread, but
    // opens none. Not one its requests skip because of what traces show went wrong below them (a failing callee):
    // that is the callee's fault, told at once.
    if (ep.incidentId === undefined && f.signal === 'shape.missing-call' && ep.anomaly.cause.service === f.op.service && (this.restartIn(f, now) || !this.missedSince(ep, now))) {
      ep.incidentId = this.manager.join(ep.anomaly, origins, this.callerOfRoot(f), now);
      return;
    }
    if (ep.incidentId === undefined && f.signal === 'latency.queue' && this.seenAgain(ep, now)) {
      // Messages waiting are a symptom: an open incident that explains them (the consumer down, a lock, a
      // slow callee: the backlog drained after it) takes them as its effect, the evidence going to its root.
      ep.incidentId = this.manager.join(ep.anomaly, origins, this.incidentInCallees(f.op)?.id, now, true);
      ep.effect = ep.incidentId !== undefined;
      if (ep.effect) return;
    }
    if (ep.incidentId === undefined && f.kind === 'latency') {
      // Calls made many more times per request (an N+1) slow what they call, and the requests' waits for
      // it (a pool's connections): the call pattern's effect, told in its incident (probe 9's pool waits
      // opened a second incident for one bad deploy).
      const more = this.moreCallsBehind(f.op, origins[0]?.key);
      if (more !== undefined) {
        ep.incidentId = this.manager.join(ep.anomaly, origins, more, now, true);
        ep.effect = ep.incidentId !== undefined;
        if (ep.effect) return;
      }
    }
    if (ep.incidentId === undefined && f.kind === 'latency' && (!this.seenAgain(ep, now) || this.heldForLoad(ep, f.op))) return;
    if (ep.incidentId === undefined && !linked && !this.stillDown(ep, f.op, now)) return;
    if (f.signal === 'traffic.surge') return;
    // A slowdown below high while most of what is watched slowed at once (see broadSlowdown) is the shared
    // host's, not this operation's: it may join an incident as its spread, but opens none. So is a low one
    // (under 5×) while the plugin's loop samples show its host loaded (see Recorder.loadedAt): a host with
    // more runnable threads than CPUs slows every process and the database beside them a few times.
    const incidentId = ep.incidentId ?? this.callerOfRoot(f);
    const hostBusy = ep.anomaly.severity === 'low' && now - this.recorder.loadedAt < SHARED_MS;
    if (ep.incidentId === undefined && f.kind === 'latency' && ((f.shared && SEVERITY_RANK[ep.anomaly.severity] < SEVERITY_RANK.high) || hostBusy)) ep.incidentId = this.manager.join(ep.anomaly, origins, incidentId, now);
    else ep.incidentId = this.manager.route(ep.anomaly, origins, incidentId, now, linked);
  }

  /**
   * Whether a process of the firing operation's service started within its window or the bucket before: a
   * restart. A process stopping cuts its requests in flight short (a graceful shutdown answers its long-polls
   * at once), and those skip their later calls: a rolling restart of two instances, 30 s apart, opened a
   * "Call pattern change" incident at each step. Such a call-pattern change is reported as an anomaly, and
   * opens no incident (it may join one as its spread) until a window wholly after the restart still shows it:
   * new code that stopped making a call does, a bucket later.
   */
  private restartIn(f: OpFiring, now: number): boolean {
    return this.recorder.instances.startedSince(f.op.service, now - (f.size + 1) * this.options.bucketMs) !== undefined;
  }

  /**
   * Whether a call is missing for good: its operation makes a new call instead (its code took a new path),
   * or the requests of a bucket after the one its episode began in still miss it. A process that stops cuts
   * its requests in flight short all at once, and none of them makes its later calls (a whole fleet
   * stopped, whose long-polls answered at once, opened a "Call pattern change" incident).
   */
  private missedSince(ep: Episode, now: number): boolean {
    if (this.rerouted.has(ep.target.key)) return true;
    if (now - ep.anomaly.firstAt < this.options.bucketMs || ep.callee === undefined) return false;
    const op = ep.target as OpState;
    const b = op.ring.get(this.closing);
    const d = op.shapes.get(ep.callee);
    if (b === undefined || b.okRequests === 0 || d === undefined) return false;
    // Missing as the detector has it: made by half its usual share of the bucket's requests, or fewer.
    this.callTimes.calls = this.callTimes.squares = 0;
    return b.addCallTimes(ep.callee, this.callTimes) / b.okRequests <= d.baseline.usual / 2;
  }

  /**
   * Whether a slowdown is more than one bucket's blip. A critical one, or one of most requests at medium or
   * above, is evidence enough in its first bucket. A low one (a GC pause on a sparse route) must fire again
   * in a later bucket. A slowdown of some requests only (a tail) must be seen again on its own (see looks)
   * two buckets after its first, not fire again on a longer window still holding the first: a host whose CPU
   * is taken for a few seconds slows a share of every call of the process at once (a database's p95 of 2 ms
   * read 28 ms, 13×), and a blip of one bucket's length mostly straddles two. Such a blip is reported as an
   * anomaly, but joins or opens no incident; a tail that lasts waits two buckets more.
   */
  private seenAgain(ep: Episode, now: number): boolean {
    const a = ep.anomaly;
    if (a.severity === 'critical') return true;
    if (ep.signal !== 'latency.tail') return a.severity !== 'low' || now > a.firstAt;
    return now - a.firstAt >= 2 * this.options.bucketMs && this.looks(ep, this.closing) === true;
  }

  /**
   * Whether a drop of an operation's own traffic has lasted: it fired half a drop window ago or more, and
   * the latest bucket is still that low. A client pausing for a minute (a load's idle phase, a drain) is
   * reported as an anomaly but opens no incident: its requests are back by then. An outage in front of the
   * service still opens one, half a minute later. A consumer's drop while its producers go on sending (see
   * {@link producing}) is no pause of demand: its messages pile up in the queue from the first firing on.
   */
  private stillDown(ep: Episode, op: OpState, now: number): boolean {
    const traffic = this.options.traffic;
    if (op.traffic === undefined) return false;
    if (now - ep.anomaly.firstAt < traffic.dropWindowMs / 2 && this.producing(op, [ep.anomaly]) === undefined) return false;
    const b = op.ring.get(this.closing);
    const count = b === undefined ? 0 : b.requests - b.late;
    return count <= (traffic.dropRatio * op.traffic.baseline.rate * this.options.bucketMs) / 1000;
  }

  private noteSurge(key: string, now: number): void {
    this.surgedAt.delete(key);
    this.makeRoom(this.surgedAt);
    this.surgedAt.set(key, now);
  }

  /** Before a new key: a map kept per operation holds at most twice `maxOperations` entries, the oldest goes first. */
  private makeRoom(map: Map<string, unknown>): void {
    if (map.size >= 2 * this.options.maxOperations) map.delete(map.keys().next().value as string);
  }

  /**
   * Whether a slowdown not yet in any incident is load, not a fault: traffic surged on its request path (the
   * operation, or one calling it, or one calling that) within the slowdown's window, and either still surges
   * in the latest bucket or the slowdown is no longer seen there. A cron job's 30 checkouts at once each
   * minute queued for a few seconds in every service they went through: a latency incident a minute, up
   * to critical, naming in turn each service the batch reached, while no request failed. The anomalies are
   * reported; a slowdown that outlasts its surge opens (or joins) an incident as any other.
   */
  private heldForLoad(ep: Episode, op: OpState): boolean {
    const since = ep.anomaly.windowStart;
    const bucketMs = this.options.bucketMs;
    let surged = false;
    let surging = false;
    const visit = (key: string): void => {
      const o = this.recorder.ops.get(key);
      const t = o?.traffic;
      if (o === undefined || t === undefined) return;
      const surgesIn = (i: number): boolean => {
        const b = o.ring.get(i);
        return b !== undefined && t.surges(b.requests - b.late, bucketMs);
      };
      const at = this.surgedAt.get(key);
      let hit = at !== undefined && at >= since;
      // Before its rate is learned no surge fires: the window's buckets are tested as they would have been
      // (a cron job's first batch, 40 s after a start, opened a critical incident).
      if (!hit && !t.baseline.ready) for (let i = since / bucketMs; i <= this.closing && !hit; i++) hit = surgesIn(i);
      if (!hit) return;
      surged = true;
      if (surgesIn(this.closing)) surging = true;
    };
    // The processes on its path: a surge on any route of one takes the CPU and the event loop its other
    // requests wait for (a product page's burst slowed the checkout's database calls, 1 ms → 13 ms).
    const processes = new Set<string>();
    const onPath = (key: string): OpState | undefined => {
      visit(key);
      const o = this.recorder.ops.get(key);
      if (o?.nodeType === 'service') processes.add(o.service);
      return o;
    };
    onPath(op.key);
    for (const c of op.callers) {
      const caller = onPath(c);
      if (caller !== undefined) for (const cc of caller.callers) onPath(cc);
    }
    if (!surged) {
      for (const o of this.recorder.liveOps) {
        if (o.nodeType === 'service' && o.traffic !== undefined && processes.has(o.service)) visit(o.key);
      }
    }
    if (!surged) return false;
    return surging || this.looks(ep, this.closing) !== true;
  }

  /** Where a firing's trouble comes from; `given`, for a timeout, its {@link givenUpIn}. */
  private origins(f: Firing, dropping: ReadonlySet<string>, given: ReadonlyArray<[string, number]> = []): RankedOrigin[] {
    if (f.kind === 'timeout') {
      const { edge, window: w } = f;
      const first = w.buckets.length > 0 ? w.buckets[w.buckets.length - 1].firstOperation : null;
      const at = (op: string | null, share: number, count: number): RankedOrigin => ({ service: edge.calleeService, operation: op, key: opKey(edge.calleeService, op ?? ''), kind: 'timeout', share, count });
      // Calls still open: the one open longest hung first, the ones counted may queue behind it (a pool).
      const part = first === null ? 1 : 0.5;
      let total = 0;
      for (const [, n] of given) total += n;
      // Shares of the calls whose operation is known; the window's count spread over them alike.
      const ranked = given.length === 0 ? [at(null, part, w.gaveUp)] : given.map(([op, n]) => at(op, (part * n) / total, Math.round((w.gaveUp * n) / total)));
      if (first !== null) ranked.push(at(first, 0.5, w.gaveUp));
      return ranked;
    }
    const { op, window: w } = f;
    switch (f.signal) {
      case 'errors':
        return rankOrigins(windowOrigins(w.buckets, 'errorOrigins'), w.failing, op, 'errors', w.errors);
      case 'latency':
      case 'latency.tail':
      // Self time that grew in requests waiting on a call they never finished is the callee's (see slowOrigin).
      case 'latency.self':
        if (f.support !== undefined) return selfOrigins(op, 'latency', f.support);
        // Requests held together in its own time (see Judge.judgeHeld): the operation itself.
        if (f.held !== undefined) return selfOrigins(op, 'latency', f.held);
        return rankOrigins(windowOrigins(w.buckets, 'slowOrigins'), w.slow, op, 'latency', w.latency.ok.n);
      case 'latency.queue': {
        // A consumer whose requests slowed, most of them, falls behind for where their time went; a few slow
        // ones (its first jobs back after a restart, on cold connections) are no cause: it takes fewer than come.
        const messages = queuedCount(w.buckets);
        return 2 * w.slow >= w.requests ? rankOrigins(windowOrigins(w.buckets, 'slowOrigins'), w.slow, op, 'latency', messages) : selfOrigins(op, 'latency', messages);
      }
      case 'shape.missing-call':
        return rankOrigins(windowOrigins(w.buckets, 'shapeOrigins'), w.diverged, op, 'shape', w.okRequests);
      case 'traffic.drop': {
        // An operation slowed down or failing serves fewer requests in a window (a slow consumer falls
        // behind its queue), and so makes fewer calls; callers that fail or slow down stop making their later
        // calls: the drop is that fault's effect.
        const root = dropOrigin(op, this.recorder.ops, (caller) => dropping.has(caller.key) || this.servedLittle(caller, f.window.end, f.size));
        const own = this.faultAt(op.key, HANG_KINDS_AND_ERRORS) ?? (root === op ? undefined : this.faultAt(root.key, HANG_KINDS_AND_ERRORS));
        if (own !== undefined) return [own];
        for (const caller of root.callers) {
          const cause = this.faultAt(caller, CALLER_FAULT_KINDS);
          if (cause !== undefined) return [outageOf(op, cause)];
        }
        // Requests waiting on a hung or slow callee do not end: fewer ended because of that callee's incident.
        const waiting = this.incidentInCallees(op, HANG_KINDS)?.rootCause;
        if (waiting !== undefined) return [originAt(waiting, 1, 1)];
        // The evidence of a drop is the requests that did not come.
        return selfOrigins(root, 'traffic', Math.max(1, Math.round((f.verdict.expected - f.verdict.observed) * (w.end - w.start) / 1000)));
      }
      default:
        return selfOrigins(op, f.kind, w.requests);
    }
  }

  /**
   * What the callee operation given up on (origin `o`) was waiting for: where the most of its own slow
   * requests over the last `size` buckets spent their extra time, when at least half of them spent it
   * outside its service (a table lock held cart's transactions while web gave up on cart at 2 s, and
   * cart's spans, ended by the abort with a 200, showed only that cart was slow), or for a pool's wait
   * outside itself (a statement holding the connections); else `o`. A callee's requests are seen only where
   * it is traced.
   */
  private waitedOn(o: RankedOrigin, size: number): RankedOrigin {
    const callee = o.operation !== null ? this.recorder.ops.get(o.key) : undefined;
    // A pool's wait is a peer's, its slow calls owed to the statements that held the connections (see the
    // recorder's slowCallOrigin).
    const pool = callee !== undefined && isPoolWait(callee.operation);
    if (callee === undefined || (callee.nodeType !== 'service' && !pool) || this.closing === -Infinity) return o;
    const w = callee.window(this.closing, size, this.options.bucketMs);
    let outside = 0;
    let top: RankedOrigin | undefined;
    for (const r of rankOrigins(windowOrigins(w.buckets, 'slowOrigins'), w.slow, callee, 'latency', w.latency.ok.n)) {
      if (pool ? r.key === o.key : r.service === o.service) continue;
      outside += r.share;
      top ??= r;
    }
    return top !== undefined && 2 * outside >= 1 ? { ...top, kind: 'timeout', share: o.share * outside, count: o.count } : o;
  }

  /**
   * Whether `op` served at most {@link CALLER_DROP_RATIO} of its learned rate over the `size` buckets up to
   * `end`: a caller whose own drop has not fired yet (its drop test, over the same few requests, can cross its
   * threshold a bucket after its callee's), which would otherwise leave the callee's drop an incident of its own.
   */
  private servedLittle(op: OpState, end: number, size: number): boolean {
    const r = this.rateOver(op, end, size);
    return r !== undefined && r.now <= CALLER_DROP_RATIO * r.expected;
  }

  /**
   * `op`'s requests per second over the `size` buckets up to `end` that its ring still holds (an incident's
   * sentence is told again after its anomaly's last window), beside its learned rate; undefined before
   * that is learned, or when none of them is held.
   */
  private rateOver(op: OpState, end: number, size: number): { now: number; expected: number } | undefined {
    const rate = op.traffic?.baseline;
    if (rate === undefined || !rate.ready) return undefined;
    const { bucketMs } = this.options;
    const last = Math.round(end / bucketMs) - 1;
    const first = Math.max(last - size + 1, this.closing - RING + 1);
    if (first > last) return undefined;
    let requests = 0;
    for (let i = first; i <= last; i++) requests += op.ring.get(i)?.requests ?? 0;
    return { now: (requests * 1000) / ((last - first + 1) * bucketMs), expected: rate.rate };
  }

  /**
   * For a consumer whose traffic dropped: the busiest operation sending it messages that goes on at
   * {@link PRODUCING_RATIO} of its learned rate or more over the drop's window. A stopped consumer's drop
   * reads like less demand; its producers going on say the messages wait in its queue.
   */
  private producing(op: OpState, anomalies: readonly Anomaly[]): RootFigures['producing'] {
    if (!op.consumer) return undefined;
    const drop = anomalies.find((a) => a.signal === 'traffic.drop' && a.service === op.service && a.operation === op.operation);
    if (drop === undefined) return undefined;
    const known = this.produced.get(op.key);
    if (known !== undefined && known.at === drop.at) return known.figure;
    let best: RootFigures['producing'];
    for (const key of op.callers) {
      const caller = this.recorder.ops.get(key);
      const r = caller === undefined ? undefined : this.rateDuring(caller, drop);
      if (r === undefined || r.now < PRODUCING_RATIO * r.expected || (best !== undefined && r.now <= best.now)) continue;
      best = { label: label(opKeyService(key), opKeyOperation(key)), ...r };
    }
    this.produced.delete(op.key);
    this.makeRoom(this.produced);
    this.produced.set(op.key, { at: drop.at, figure: best });
    return best;
  }

  /**
   * For a consumer whose messages wait in its queue (a `latency.queue` anomaly): its rate from when they began
   * to wait long (the buckets that first fired it) to `end` (the end of the window whose wait is told, else
   * of the anomaly's), and its learned rate. The latest window alone may be the consumer's recovery: a worker
   * back from a restart took its backlog fast, and "it took 23 req/s of them (22 req/s usually)" was told
   * beside the wait at its peak, hiding the 16 a second it took while the wait grew.
   */
  private taking(op: OpState, anomalies: readonly Anomaly[], told: number | undefined): RootFigures['taking'] {
    const queue = anomalies.find((a) => a.signal === 'latency.queue' && a.service === op.service && a.operation === op.operation);
    if (queue === undefined) return undefined;
    const { bucketMs } = this.options;
    const end = told ?? queue.at;
    const since = Math.min(queue.windowStart, queue.firstAt - QUEUE_SUSTAIN_BUCKETS * bucketMs);
    return this.rateOver(op, end, Math.max(1, Math.round((end - since) / bucketMs)));
  }

  /** `op`'s requests per second over the window anomaly `a` was judged on (see {@link rateOver}). */
  private rateDuring(op: OpState, a: Anomaly): { now: number; expected: number } | undefined {
    return this.rateOver(op, a.at, Math.max(1, Math.round((a.at - a.windowStart) / this.options.bucketMs)));
  }

  /**
   * Where the fault of an open episode of one of `kinds` on `key` (an operation's or edge's) started: the
   * root its incident settled on, which weighs all its evidence, else the episode's own cause.
   */
  private faultAt(key: string, kinds: ReadonlySet<AnomalyKind>): RankedOrigin | undefined {
    for (const ep of this.episodes.values()) {
      // A fault's effect (see Episodes.route) is no fault of its own.
      if (ep.target.key !== key || !kinds.has(ep.anomaly.kind) || ep.effect === true) continue;
      const rc = ep.incidentId !== undefined ? this.manager.get(ep.incidentId)?.rootCause : undefined;
      const c = ep.anomaly.cause;
      return originAt(rc ?? c, c.share, c.support);
    }
    return undefined;
  }

  /**
   * For a call-pattern change: the open incident rooted in a service this operation usually calls. A
   * caller that stops part-way because a callee fails is the same cascade, linked by the trace graph,
   * even when its own requests no longer show the callee misbehaving.
   */
  private callerOfRoot(f: Firing): string | undefined {
    return f.kind === 'shape' ? this.incidentInCallees(f.op)?.id : undefined;
  }

  /**
   * The open incident rooted in a service `op` usually calls (with a root of one of `kinds`, when given),
   * while its fault goes on: one whose episodes have all ended explains nothing that happens now.
   */
  private incidentInCallees(op: OpState, kinds?: ReadonlySet<AnomalyKind>): Incident | undefined {
    const callees = new Set<string>();
    for (const key of op.shapes.keys()) callees.add(this.recorder.ops.get(key)?.service ?? opKeyService(key));
    for (const inc of this.manager.list({ status: ['active', 'acknowledged'] })) {
      if (callees.has(inc.rootCause.service) && (kinds === undefined || kinds.has(inc.rootCause.kind)) && this.manager.going(inc.id)) return inc;
    }
    return undefined;
  }

  /**
   * The incident of a call-pattern change that makes many more calls per request to `op`, or, from `op`, to
   * `origin` (where its slow requests' extra time went), if one is told.
   */
  private moreCallsBehind(op: OpState, origin: string | undefined): string | undefined {
    for (const ep of this.episodes.values()) {
      if (ep.signal !== 'shape.more-calls' || ep.incidentId === undefined) continue;
      if (ep.callee === op.key || (ep.target === op && ep.callee === origin)) return ep.incidentId;
    }
    return undefined;
  }

  /** Whether operation `key` is an uninstrumented dependency's, known only from its callers' spans. */
  private isPeer(key: string): boolean {
    return this.recorder.ops.get(key)?.nodeType === 'peer';
  }

  /** The instrumented services `service` runs in: itself if it serves requests, else the services calling it (a peer). */
  private homes(service: string): Set<string> {
    const out = new Set<string>();
    for (const op of this.recorder.ops.values()) {
      if (op.service !== service) continue;
      if (op.nodeType === 'service') return new Set([service]);
      this.callerServices(op, out);
    }
    return out;
  }

  /** Adds the services whose operations call `op` to `into`. */
  private callerServices(op: OpState | undefined, into = new Set<string>()): Set<string> {
    if (op !== undefined) for (const c of op.callers) into.add(this.recorder.ops.get(c)?.service ?? opKeyService(c));
    return into;
  }

  /** A connection pool's wait at its worst, when its connect calls are among the incident's slow operations. */
  private poolWait(anomalies: readonly Anomaly[]): RootFigures['pool'] {
    for (const a of anomalies) {
      if (a.kind !== 'latency' || !isPoolWait(a.operation)) continue;
      const { p95, window, at } = this.figures.get(figuresKey(opKey(a.service, a.operation ?? ''), 'latency')) ?? {};
      if (p95 !== undefined && window !== undefined) return { label: label(a.service, a.operation), now: p95.now, baseline: p95.baseline, window, ...(at !== undefined ? { at } : {}) };
    }
    return undefined;
  }

  /**
   * What may hold a service's event loop `heldMs` at a time: its operation whose own time over the last
   * 15 s was longest at p95, if at least half that (work that repeats); else the one whose longest own
   * time was, if at least half that (one request that held it: a synchronous wait). A lead, not a proof:
   * own time also holds waits on what no span covers, and a request in flight across a pause.
   */
  private blocker(service: string, heldMs: number): RootFigures['blocker'] {
    if (this.closing === -Infinity) return undefined;
    const size = 3;
    let best: RootFigures['blocker'];
    // Operations served in the window, and the shortest p95 of own time among them.
    let served = 0;
    let shortest = Infinity;
    for (const op of this.recorder.liveOps) {
      if (op.service !== service || op.nodeType !== 'service' || op.operation === EVENT_LOOP_OPERATION) continue;
      const w = op.window(this.closing, size, this.options.bucketMs);
      if (w.self.ok.n === 0) continue;
      const sketch = windowSketch(w.buckets, 'self');
      const p95 = sketch.quantile(0.95);
      const once = !(p95 >= heldMs / 2);
      served++;
      shortest = Math.min(shortest, p95);
      const ms = once ? sketch.max : p95;
      // Work that repeats (a long p95) leads over one long request.
      const better = best === undefined || (once === best.once ? ms > best.ms : !once);
      if (ms >= heldMs / 2 && better) best = { label: label(op.service, op.operation), ms, once, requests: w.requests, window: size * this.options.bucketMs };
    }
    // Every operation about as long by itself as the longest (half of it or more): no one of them is the lead.
    if (best !== undefined && !best.once && served >= 2 && shortest >= best.ms / 2) best.every = { operations: served, ms: shortest };
    return best;
  }

  /**
   * The one process of several running in the window that served at least {@link ONE_INSTANCE_SHARE} of its
   * slow or failing requests (one bad instance behind a load balancer), if there is one; where requests were
   * counted per process, its rate {@link ONE_INSTANCE_RATIO} times every other's that served
   * {@link ONE_INSTANCE_COMPARED} or more: one that only served most of the requests is not told (gunicorn
   * sent nine in ten of a route's requests to one of two workers, and both failed alike).
   */
  private oneInstance(op: OpState, w: OpWindow, which: 'slow' | 'failing'): { instance: string; count: number; of: number } | undefined {
    const bad = badOn(w.buckets, which);
    const top = topInstance(bad);
    if (top === undefined) return undefined;
    const of = this.recorder.instances.processes(op.service, w.start);
    if (of < 2 || top.count < ONE_INSTANCE_SHARE * (which === 'slow' ? w.latency.over : w.errors)) return undefined;
    const served = servedIn(w.buckets);
    if (served !== undefined) {
      const rate = top.count / (served.get(top.instance) ?? top.count);
      let compared = false;
      for (const [instance, n] of served) {
        if (instance === top.instance || n < ONE_INSTANCE_COMPARED) continue;
        if ((ONE_INSTANCE_RATIO * (bad.get(instance) ?? 0)) / n > rate) return undefined;
        compared = true;
      }
      if (!compared) return undefined;
    }
    return { ...top, of };
  }

  /**
   * Whether tail `f` counts requests held together (see `Judge.judgeHeld`) within its operation's own slowdown
   * told in an incident, still going or ended inside the window: they are that slowdown's. A table lock's
   * 10-s requests (their clients gave up) fired as held once their route's latency episode had ended, 50 s
   * after the lock, and opened an incident of their own beside the lock's. A slowdown that opened nothing (a
   * low one beside a row lock's four held calls) told nothing: the held calls are still the news.
   */
  private heldInSlowdown(f: OpFiring, now: number): boolean {
    if (f.held === undefined) return false;
    const from = now - f.size * this.options.bucketMs;
    for (const signal of ['latency', 'latency.self'] as const) {
      const key = episodeKey(f.op.key, signal, undefined);
      if (this.episodes.get(key)?.incidentId !== undefined || (this.toldEnded.get(key) ?? -Infinity) > from) return true;
    }
    return false;
  }

  /**
   * Whether tail slowdown `f` is another fault's: a fault firing in this close, open, or ended within its
   * window, involves its service or one its service reaches through calls, either way (what it calls,
   * transitively, and what calls it). Its slow requests are then that fault's (callers waiting out timeouts,
   * a loop of queries, a lock's waits before its errors, the backlog once it ends), told better by that
   * fault's own signal: as latency evidence they would retitle its incident. A fault of a service that only
   * shares a callee with it (a database) does not count unless the callee itself is at fault. Requests held
   * together (see `Judge.judgeHeld`) are a failure's only (callers giving up on a hang): a slowdown or a
   * traffic change beside them is their effect (the backlog a released lock lets through, a consumer stopped).
   */
  private tailOfAnother(f: OpFiring, now: number, firings: readonly Firing[]): boolean {
    const from = now - f.size * this.options.bucketMs;
    const related = this.reach(f.op.service);
    const counts = f.held === undefined ? isFault : isFailure;
    const ended = f.held === undefined ? this.faultEnded : this.failureEnded;
    for (const service of related) if ((ended.get(service) ?? -Infinity) > from) return true;
    // Slow in their own time, a process's slow requests are what other services' slowdowns traced to it wait
    // on, not their effect: a handler holding one of two sync workers for 1.5 s while every other route
    // queued in the listen backlog (probe 8).
    const own = f.op.nodeType === 'service' && f.window.self.over > 0 && 2 * f.window.self.over >= f.window.latency.over;
    const told = (ep: Episode | undefined) => ep !== undefined && own && ep.anomaly.service !== f.op.service && ep.anomaly.cause.service === f.op.service;
    for (const g of firings) if (counts(g.signal) && faultServices(g.signal, g.kind === 'timeout' ? g.edge : g.op).some((s) => related.has(s)) && !told(this.episodes.get(this.keyOf(g)))) return true;
    for (const ep of this.episodes.values()) if (counts(ep.signal) && faultServices(ep.signal, ep.target).some((s) => related.has(s)) && !told(ep)) return true;
    return false;
  }

  /**
   * `service` and every service or peer it reaches through the caller → callee edges, downstream and upstream.
   * The adjacency is built once per call: one pass over the edges, not one per service reached.
   */
  private reach(service: string): Set<string> {
    const down = new Map<string, string[]>();
    const up = new Map<string, string[]>();
    for (const edge of this.recorder.edges.values()) {
      appendTo(down, edge.caller, edge.calleeService);
      appendTo(up, edge.calleeService, edge.caller);
    }
    const out = new Set([service]);
    for (const next of [down, up]) {
      const todo = [service];
      const seen = new Set([service]);
      while (todo.length > 0) {
        for (const to of next.get(todo.pop() as string) ?? []) {
          if (seen.has(to)) continue;
          seen.add(to);
          out.add(to);
          todo.push(to);
        }
      }
    }
    return out;
  }

  /** The services and peers `service` calls, from the caller → callee edges. */
  private callees(service: string): Set<string> {
    const out = new Set<string>();
    for (const edge of this.recorder.edges.values()) if (edge.caller === service) out.add(edge.calleeService);
    return out;
  }

  private explainRoot(top: RankedOrigin, anomalies: readonly Anomaly[]): ReturnType<ExplainRoot> {
    // Figures from when the root cause's own anomaly last fired; else its last 15 s (it may not have fired itself).
    let figures: RootFigures = {};
    const now = (this.closing + 1) * this.options.bucketMs;
    const op = this.recorder.ops.get(top.key);
    const firstAt = Math.min(...anomalies.map((a) => a.firstAt));
    if (top.kind === 'latency' || top.kind === 'errors') {
      const key = figuresKey(top.key, top.kind);
      const saved = this.figures.get(key);
      // Figures taken before the incident's first anomaly are another fault's: a pool starved 13 minutes
      // after a slow query opened "mysql SELECT products p95 337 ms (88×)", the query's figures, for 813 ms.
      if (saved !== undefined && (saved.at ?? -Infinity) >= firstAt) figures = saved;
      else if (op !== undefined && this.closing > -Infinity) figures = this.worstUnfired(key, { ...figuresOf(op, op.window(this.closing, 3, this.options.bucketMs), top.kind, 3 * this.options.bucketMs), at: now }, firstAt);
    }
    const pool = this.poolWait(anomalies);
    if (pool !== undefined) figures = { ...figures, pool };
    if (pool !== undefined || anomalies.some((a) => a.kind === 'timeout' && isPoolWait(a.operation))) {
      // What the waits waited for (or gave up on): the root's long calls, each holding a connection, since
      // the windows the incident's anomalies judged began.
      const held = this.recorder.heldCalls(top.key, Math.min(...anomalies.map((a) => a.windowStart)));
      if (held !== undefined) figures = { ...figures, held };
    }
    if (top.operation === EVENT_LOOP_OPERATION && figures.p95 !== undefined) {
      // The hold told: the loop's own anomaly's (one long hold among free ticks leaves the window's p95 low).
      let heldMs = figures.p95.now;
      for (const a of anomalies) if (a.service === top.service && a.operation === top.operation && a.kind === 'latency') heldMs = Math.max(heldMs, a.observed);
      const idle = this.recorder.idleHold(top.service, heldMs);
      if (idle !== undefined) figures = { ...figures, idle };
      const blocker = this.blocker(top.service, heldMs);
      if (blocker !== undefined) figures = { ...figures, blocker };
    } else if (top.operation === EVENT_LOOP_OPERATION && this.closing > -Infinity) {
      // A loop seen only from outside (no samples of it): its calls' late answers tell the hold, the
      // latest seen in the incident once they stop.
      const window = 3 * this.options.bucketMs;
      const fresh = this.recorder.lateAnswers(top.service, now - window);
      if (fresh !== undefined) {
        const late = { label: opKeyLabel(fresh.peerKey), ms: fresh.ms, calls: fresh.calls, atLeast: fresh.atLeast, window, at: now, median: fresh.median, requests: fresh.requests };
        this.lateFigures.delete(top.service);
        this.makeRoom(this.lateFigures);
        this.lateFigures.set(top.service, late);
      }
      const late = this.lateFigures.get(top.service);
      if (late !== undefined && late.at >= firstAt) {
        figures = { ...figures, late };
        // A late answer may wait out several holds back to back: the typical wait stands for one.
        const blocker = this.blocker(top.service, late.median);
        if (blocker !== undefined) figures = { ...figures, blocker };
      }
    }
    const restartedAt = this.recorder.instances.startedSince(top.service, firstAt - RESTART_NEAR_MS);
    if (restartedAt !== undefined) {
      const deploy = this.changes.changeNear(top.service, restartedAt, DEPLOY_NEAR_MS, DEPLOY_NEAR_MS);
      figures = { ...figures, restart: { at: restartedAt, bucketMs: this.options.bucketMs, ...(deploy ? { deploy } : {}) } };
    }
    const taking = op !== undefined && top.kind === 'latency' ? this.taking(op, anomalies, figures.at) : undefined;
    if (taking !== undefined) figures = { ...figures, taking };
    if (top.kind === 'traffic' && op !== undefined) {
      const producing = this.producing(op, anomalies);
      if (producing !== undefined) figures = { ...figures, producing };
      // Called, by no caller in view: its requests come from another process, where the drop started.
      else if (op.called && op.callers.size === 0 && op.nodeType !== 'peer') figures = { ...figures, unseenCallers: op.consumer ? 'messages' : 'requests' };
    }
    const surge = this.surgeAmong(top, anomalies);
    if (surge !== undefined) figures = { ...figures, surge };
    // A deploy whose restart's refused calls opened the incident is first seen just after: it is this one's too.
    const change = this.changes.changeNear(top.service, firstAt, this.options.changeWindowMs, DEPLOY_NEAR_MS);
    const calls = (a: Anomaly) => this.isPeer(opKey(a.service, a.operation ?? ''));
    return { explanation: explainRoot(top, anomalies, figures, change, firstAt, this.options.latency, now, calls), ...(change ? { change } : {}) };
  }

  /**
   * The explanation of the strongest traffic surge still firing on a service of the incident (its root's,
   * or one of its anomalies'), at its peak, if any: its latest window, mostly after the flood, told probe
   * 11's tenfold surge as +170%. Surges join no incident (load is not a fault), so they are looked up among
   * the episodes (a backlog let go fired none: see {@link heldBacklog}).
   */
  private surgeAmong(top: RankedOrigin, anomalies: readonly Anomaly[]): string | undefined {
    let best: Anomaly['peak'] | undefined;
    for (const ep of this.episodes.values()) {
      if (ep.signal !== 'traffic.surge') continue;
      const a = ep.anomaly;
      if (a.service !== top.service && !anomalies.some((m) => m.service === a.service)) continue;
      if (best === undefined || a.peak.observed / a.peak.expected > best.observed / best.expected) best = a.peak;
    }
    return best?.explanation;
  }

  /**
   * Whether more requests of `op` ending in [from, to) is a backlog let go, not more traffic: requests are
   * counted as they end, and those took half the window or more on average, so most of them began before it
   * (requests a hang held, ending together once it let go). Little's law: a flood of arrivals ends at the
   * rate it came. Failed requests count too: a client that retried a dead Redis twenty times failed its
   * queued commands together, and their requests ended at seven times the rate they came.
   */
  private heldBacklog(op: OpState, from: number, to: number): boolean {
    const { bucketMs } = this.options;
    let ms = 0;
    let n = 0;
    for (let i = Math.floor(from / bucketMs); i * bucketMs < to; i++) {
      const b = op.ring.get(i);
      if (b === undefined) continue;
      ms += b.latency.sketch.sum + b.failedMs;
      n += b.latency.sketch.count + b.errors;
    }
    return n > 0 && 2 * (ms / n) >= to - from;
  }

  /** `now` (the figures of an operation that did not fire, key `key`), or the worst kept since `since`. */
  private worstUnfired(key: string, now: RootFigures, since: number): RootFigures {
    // Worse is higher: a window faster than its baseline is no worse for being far from it.
    const strength = now.p95 !== undefined ? Math.log((now.p95.now + 1e-3) / (now.p95.baseline + 1e-3)) : now.errors !== undefined ? now.errors.rate - now.errors.baseline : -Infinity;
    const saved = this.unfired.get(key);
    if (saved !== undefined && saved.since === since && saved.strength > strength) return saved.figures;
    if (saved === undefined) this.makeRoom(this.unfired);
    this.unfired.set(key, { figures: now, strength, since });
    return now;
  }

  toJSON(): { nextAnomaly: number; anomaliesTotal: number; incidents: IncidentsSnapshot } {
    return { nextAnomaly: this.nextAnomaly, anomaliesTotal: this.anomaliesTotal, incidents: this.manager.toJSON() };
  }
}

/**
 * A drop's cause found through its callers' failing calls: when that is a failure in the dropping
 * operation's own service (not answering, or failing), the drop is the same outage of that service, not the
 * doing of its operation named the root (a dead process's `POST /reserve` gets no requests because nothing
 * answers, not because of its `GET /stock`). A sibling that is slow may hold what the service serves (an
 * event loop a query blocks): that one stays the cause.
 */
function outageOf(op: OpState, cause: RankedOrigin): RankedOrigin {
  if (cause.service !== op.service || cause.operation === op.operation || cause.kind === 'latency') return cause;
  return { ...cause, operation: op.operation, key: op.key };
}

/** What the window's latest failing request said, as sentences quote it. */
function messageOf(w: OpWindow): string | undefined {
  const m = windowLatest(w.buckets, 'errorMessage');
  const line = m === undefined ? '' : firstLine(m);
  return line === '' ? undefined : line;
}

/** The root-cause figures of an operation over a window (`window` ms wide): p95 against its baseline p95, or its error rate. */
function figuresOf(op: OpState, w: OpWindow, kind: 'latency' | 'errors', window: number): RootFigures {
  if (kind === 'errors') {
    if (!(w.requests > 0)) return {};
    const message = messageOf(w);
    const failedIn = windowLatest(w.buckets, 'failedIn');
    const never = op.lastOkAt === -Infinity;
    const absorbed = absorbedIn(w.buckets);
    return {
      window,
      errors: { rate: w.errors / w.requests, baseline: op.errors.baseline.observed, errors: w.errors, requests: w.requests, ...(message !== undefined ? { message } : {}), ...(failedIn !== undefined ? { failedIn } : {}), ...(never ? { never } : {}), ...(absorbed > 0 ? { absorbed } : {}) },
    };
  }
  if (w.latency.ok.n === 0) return {};
  return {
    window,
    p95:
      op.nodeType === 'peer'
        ? { now: windowSketch(w.buckets, 'latency').quantile(0.95), baseline: op.latency.p95.value, what: 'latency' }
        : { now: windowSketch(w.buckets, 'self').quantile(0.95), baseline: op.self.p95.value, what: 'self-time' },
  };
}

/** Orders moments of an episode by how bad they were: severity first, then the size of the deviation. */
function worstness(severity: Anomaly['severity'], observed: number, expected: number): number {
  const effect = Math.abs(Math.log((observed + 1e-3) / (expected + 1e-3)));
  return SEVERITY_RANK[severity] * 1000 + Math.min(effect, 999);
}

/** A rate clearly up on its baseline: at least twice it, and two points more. */
function raised(observed: number, expected: number): boolean {
  return observed >= Math.max(2 * expected, expected + 0.02);
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}

/** Whether an episode's signal is of a fault: not a tail slowdown (see {@link Episodes.tailOfAnother}), nor a surge (load). */
function isFault(signal: AnomalySignal): boolean {
  return signal !== 'latency.tail' && signal !== 'traffic.surge';
}

/** Whether an episode of `signal` is a failure: requests failed, or callers gave up. */
function isFailure(signal: AnomalySignal): boolean {
  return signal === 'errors' || signal === 'timeout';
}

/** The services a fault involves: its operation's service, or both ends of the call edge its callers give up on. */
function faultServices(signal: AnomalySignal, target: OpState | EdgeState): string[] {
  if (signal !== 'timeout') return [(target as OpState).service];
  const edge = target as EdgeState;
  return [edge.caller, edge.calleeService];
}

function appendTo(lists: Map<string, string[]>, key: string, value: string): void {
  const list = lists.get(key);
  if (list === undefined) lists.set(key, [value]);
  else list.push(value);
}
