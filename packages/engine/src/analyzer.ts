import type { Anomaly, AnalyzerSnapshot, AnalyzerStats, DropCounters, Incident, IncidentEvent, IncidentFilter, IncidentNote, IngestResult, OperationBaseline, OperationMetrics, ServiceGraph, Span } from './types.js';
import type { Analyzer } from './api.js';
import { resolveOptions, type AnalyzerOptions, type ResolvedOptions } from './options.js';
import { rejectReason, type RejectReason } from './model/validate.js';
import { boundSpan } from './model/bound.js';
import { TraceBuffer } from './trace/buffer.js';
import { PeerTable } from './ops/peers.js';
import { Recorder } from './ops/recorder.js';
import { Judge } from './detectors/judge.js';
import { InFlightCalls, type InFlightCall } from './detectors/inflight.js';
import { Episodes, type EpisodeListeners } from './incidents/episodes.js';
import { ChangeTracker } from './changes.js';
import { baselinesOf, metricsOf, serviceGraphOf, statsOf } from './queries.js';
import { restoreStages, restoredDrops, takeSnapshot } from './snapshot.js';
import { RollupAccumulator, rollupBuckets, type OperationRollup } from './rollup.js';
import { CLOCK_JUMP_MS, FUTURE_RUN, MAX_FUTURE_SKEW_MS } from './limits.js';
import { EVENT_LOOP_OPERATION } from './model/loop.js';
import { AheadRun } from './ahead.js';

/**
 * Creates an analyzer. Options are validated here (a {@link RootspanError} names a bad option); nothing
 * else throws.
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

/**
 * The face: intake, the event-time clock and lateness, and listeners. Spans flow one way through the
 * stages: trace buffer → recorder (facts → buckets) → judge (closed bucket → firings) → episodes
 * (firings → anomalies → incidents).
 */
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
  /**
   * First bucket whose latency windows are judged when spans name their processes (a central analyzer): a
   * fresh one's first `instanceWarmupMs` are learned but not judged, as the processes it finds may have
   * started with it (a deploy of everything, a demo) and be compiling and connecting; −∞ after a restore
   * (they ran before, and are known).
   */
  private latencyFrom = -Infinity;
  /** Event time is moved by someone else (the `clock` option, or `advanceTo` was called): a replay's is not. */
  private driven: boolean;
  /** Spans in a row that ended beyond the skew window (in a replay, enough of them move event time). */
  private aheadRun = 0;
  /** The spans of that run (fewer than {@link FUTURE_RUN}), counted `future` unless it moves event time. */
  private readonly aheadHeld: Span[] = [];
  /** Latest event time given by whoever drives it (`advanceTo`, the `clock` option); -Infinity until then. */
  private drivenAt = -Infinity;
  /** Spans of a fast clock placed at the driven event time (see {@link fastClock}), or moved back in a replay (see {@link AheadRun}). */
  private shiftedAhead = 0;
  /** A replay's spans that started well past event time, counted `future` while held (see {@link AheadRun}). */
  private readonly startedAhead = new AheadRun();
  /** The first service an accepted span came from, and whether another one has since. */
  private firstService: string | undefined = undefined;
  private manyServices = false;
  private buffer: TraceBuffer;
  private recorder: Recorder;
  private readonly judge: Judge;
  /** Calls the host still waits on (issue 21): hangs judged before any span of them ends. */
  private readonly inflight: InFlightCalls;
  private episodes: Episodes;
  private changes: ChangeTracker;
  private readonly anomalyListeners = new Set<(a: Anomaly) => void>();
  private readonly incidentListeners = new Set<(e: IncidentEvent) => void>();
  private readonly rollupListeners = new Set<(rollups: OperationRollup[]) => void>();
  private readonly toListeners: EpisodeListeners = {
    anomaly: (a) => this.deliver(this.anomalyListeners, a, false),
    incident: (e) => this.deliver(this.incidentListeners, e, true),
  };
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
    future: 0,
    traceTooLarge: 0,
    duplicate: 0,
  };

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.driven = options.clock !== undefined;
    this.rollups = new RollupAccumulator(rollupBuckets(options.bucketMs), options.bucketMs);
    this.buffer = this.newBuffer();
    this.recorder = new Recorder(options, new PeerTable(options.maxOperations));
    this.judge = new Judge(options);
    this.inflight = new InFlightCalls(options);
    this.changes = new ChangeTracker(options.maxOperations);
    this.episodes = new Episodes(options, this.recorder, this.changes, this.toListeners);
  }

  private newBuffer(): TraceBuffer {
    const o = this.options;
    return new TraceBuffer(
      { maxTraces: o.maxTraces, maxSpansPerTrace: o.maxSpansPerTrace, idleMs: o.traceIdleMs, maxWaitMs: o.maxTraceWaitMs },
      (entry) => {
        this.tracesProcessed++;
        this.recorder.record(entry, this.closed);
      },
    );
  }

  // ---- input -------------------------------------------------------------------------------------

  ingest(spans: readonly Span[] | Span): IngestResult {
    const list: readonly Span[] = Array.isArray(spans) ? spans : [spans as Span];
    let accepted = 0;
    const reading = this.options.clock?.();
    if (reading !== undefined && reading > this.drivenAt) this.drivenAt = reading;
    // The driver's clock moved on far past event time while nothing came (a process restarted on state saved
    // half an hour before): the gap closes first, or the first spans after it were dropped as from the future.
    if (reading !== undefined && this.clock !== null && reading > this.clock + CLOCK_JUMP_MS && Number.isFinite(reading)) this.advance(reading);
    const lateBefore = this.lateCutoff();
    // A span may end this far past the driven event time before its host's clock is taken to be fast.
    const aheadBefore = this.drivenAt === -Infinity ? Infinity : this.drivenAt + this.options.maxTraceWaitMs / 2;
    const latestEnd = this.latestEnd();
    for (let i = 0; i < list.length; i++) {
      const span = list[i];
      this.ingested++;
      let reason: RejectReason | null;
      let kept: Span;
      try {
        reason = rejectReason(span);
        // Reads every attribute: an object whose getter throws is no span, and must not throw into the caller.
        kept = reason === null ? boundSpan(span) : span;
      } catch {
        reason = 'invalid';
        kept = span;
      }
      if (reason !== null) {
        this.drops[reason]++;
        continue;
      }
      if (span.endTime < lateBefore) {
        this.drops.late++;
        continue;
      }
      if (span.endTime > latestEnd) {
        this.drops.future++;
        continue;
      }
      if (this.clock === null) this.start(span.endTime);
      else if (span.endTime > this.clock + MAX_FUTURE_SKEW_MS) {
        // A wrong clock, unless a replay's stream has moved on: then event time follows it, and the run's
        // spans held so far are taken after all (a first span far in the past cost the next fifteen).
        if (this.driven || ++this.aheadRun < FUTURE_RUN) {
          this.drops.future++;
          if (!this.driven) this.aheadHeld.push(kept);
          continue;
        }
        this.jumpTo(span.endTime);
        this.accepted += this.takeHeld(aheadBefore);
      } else if (!this.driven && span.startTime > this.clock + this.options.maxTraceWaitMs / 2) {
        // Started well past event time in a replay: the stream moved on, or this host's clock is fast (see AheadRun).
        this.drops.future++;
        if (this.startedAhead.add(kept, !this.manyServices)) this.accepted += this.takeAhead(false, aheadBefore);
        continue;
      }
      if (this.aheadRun !== 0) {
        this.aheadRun = 0;
        this.aheadHeld.length = 0;
      }
      // An on-time span after spans that started well ahead: those came from a fast clock.
      if (this.startedAhead.spans.length > 0) this.accepted += this.takeAhead(true, aheadBefore);
      if (this.take(kept, aheadBefore)) accepted++;
    }
    this.accepted += accepted;
    const injected = this.options.clock?.();
    if (injected !== undefined && Number.isFinite(injected)) this.advance(Math.max(injected, this.clock ?? injected));
    // A replay's releases and closes happen where its spans move event time, never where its batches
    // happen to end: the same spans give the same incidents however they are batched.
    else if (this.driven || (this.clock !== null && this.clock >= this.nextAdvance)) this.advance(this.clock);
    return { accepted, dropped: list.length - accepted };
  }

  /** Places an accepted span in event time and in its trace; false when the trace buffer refuses it (counted). */
  private take(kept: Span, aheadBefore: number): boolean {
    if (kept.endTime > aheadBefore) kept = this.fastClock(kept);
    if (kept.endTime > (this.clock as number)) {
      this.clock = kept.endTime;
      // Windows must close as event time passes inside a large batch too, or the bucket ring would wrap.
      if (this.clock >= this.nextAdvance) this.advance(this.clock);
    }
    const outcome = this.buffer.add(kept, this.clock as number);
    if (outcome !== 'ok') {
      this.drops[outcome]++;
      return false;
    }
    if (!this.manyServices) {
      if (this.firstService === undefined) this.firstService = kept.service;
      else if (kept.service !== this.firstService) this.manyServices = true;
    }
    // A long hold of a service's event loop is known before the requests of its backlog are recorded.
    if (kept.name === EVENT_LOOP_OPERATION) this.recorder.noteLoop(kept);
    else if (kept.kind === 'producer') this.recorder.noteSent(kept);
    this.changes.observe(kept.service, kept.serviceVersion, kept.startTime);
    this.recorder.instances.observe(kept.service, kept.instance, kept.startTime);
    return true;
  }

  /** The spans that started ahead (see {@link AheadRun}), as they are or, from a `fast` clock, moved back to event time: the number taken. */
  private takeAhead(fast: boolean, aheadBefore: number): number {
    const run = this.startedAhead;
    const spans = fast ? run.shifted(this.clock as number) : run.spans;
    this.drops.future -= spans.length;
    if (fast) this.shiftedAhead += spans.length;
    let taken = 0;
    for (const s of spans) if (this.take(s, aheadBefore)) taken++;
    run.spans.length = 0;
    return taken;
  }

  /** The run's spans held as `future` (see {@link aheadHeld}) once it moved event time: taken, or late. */
  private takeHeld(aheadBefore: number): number {
    const lateBefore = this.lateCutoff();
    let taken = 0;
    for (const held of this.aheadHeld) {
      this.drops.future--;
      if (held.endTime < lateBefore) this.drops.late++;
      else if (this.take(held, aheadBefore)) taken++;
    }
    this.aheadHeld.length = 0;
    return taken;
  }

  inFlight(calls: readonly InFlightCall[], at: number): void {
    if (this.inflight.report(calls, at)) this.recorder.noteOpen(calls);
  }

  advanceTo(t: number): void {
    if (!Number.isFinite(t)) return;
    // Driven from now on: what a replay held for what came next is taken as it is.
    if (this.startedAhead.spans.length > 0) this.accepted += this.takeAhead(false, Infinity);
    this.driven = true;
    if (t > this.drivenAt) this.drivenAt = t;
    if (this.clock === null) this.start(t);
    this.advance(t);
  }

  flush(): void {
    if (this.clock === null) return;
    // Nothing came after them: the end of input, not a fast clock, unless their host's clock was found fast before.
    if (this.startedAhead.spans.length > 0) this.accepted += this.takeAhead(this.startedAhead.knownFast(), Infinity);
    this.buffer.releaseAll();
    // Close every bucket that has data, as if the allowed lateness had passed, without jumping further.
    const last = Math.floor(this.clock / this.options.bucketMs);
    while (this.closed < last) this.closeBucket(++this.closed);
    // The period in progress is reported as it stands (a later, complete rollup of it replaces this one).
    if (!this.rollups.ends(this.closed)) this.emitRollups(this.closed, true);
    this.episodes.manager.tick((this.closed + 1) * this.options.bucketMs);
  }

  /**
   * A span from a host whose clock is fast (within the skew allowance, but well past the event time its
   * driver gives), moved back to end at that time. Followed, it would move event time ahead for everyone
   * else: every on-time span after it would be dropped as late until the driver caught up.
   */
  private fastClock(span: Span): Span {
    this.shiftedAhead++;
    const by = span.endTime - this.drivenAt;
    return { ...span, startTime: span.startTime - by, endTime: span.endTime - by };
  }

  /** Spans ending before this can no longer be placed in any window (their trace would have been processed). */
  private lateCutoff(): number {
    return this.clock === null ? -Infinity : this.clock - this.options.maxTraceWaitMs - this.options.latenessMs;
  }

  private start(t: number): void {
    this.clock = t;
    this.closed = Math.floor(t / this.options.bucketMs) - 1;
    // A restored analyzer (no clock yet) keeps waiting for its first whole bucket.
    if (this.countedFrom !== Infinity) {
      this.countedFrom = this.closed + 1;
      this.latencyFrom = Math.ceil((t + this.options.instanceWarmupMs) / this.options.bucketMs);
    }
  }

  private advance(t: number | null): void {
    if (t === null || this.clock === null) return;
    if (t > this.clock + CLOCK_JUMP_MS) this.jumpTo(t);
    if (t > this.clock) this.clock = t;
    this.buffer.releaseReady(this.clock);
    const { bucketMs, latenessMs } = this.options;
    const closable = Math.floor((this.clock - latenessMs) / bucketMs) - 1;
    while (this.closed < closable) {
      if (this.recorder.liveOps.size === 0 && this.recorder.liveEdges.size === 0 && this.episodes.size === 0 && !this.inflight.pending) {
        this.closed = closable;
        break;
      }
      this.closeBucket(++this.closed);
    }
    // The next bucket closes at the first span past its lateness, as it would if every span came alone.
    this.nextAdvance = Math.min(this.clock + this.options.traceIdleMs / 4, (this.closed + 2) * bucketMs + latenessMs);
    this.episodes.manager.tick((this.closed + 1) * bucketMs);
  }

  /**
   * Event time jumps more than {@link CLOCK_JUMP_MS} ahead to `t`: a gap in observation, not silence. What
   * came before is finished as at the end of input; open anomalies end; windows start afresh after the
   * gap, judging traffic again from its first whole bucket, as after a restart. Costs time in proportion
   * to the operations and buffered traces, not to the length of the gap.
   */
  private jumpTo(t: number): void {
    const clock = this.clock as number;
    const { bucketMs, latenessMs } = this.options;
    this.buffer.releaseAll();
    const last = Math.floor(clock / bucketMs);
    while (this.closed < last) this.closeBucket(++this.closed);
    // The period before the gap is all there will be of it.
    if (!this.rollups.ends(this.closed)) this.emitRollups(this.closed, false);
    this.clock = t;
    this.closed = Math.max(this.closed, Math.floor((t - latenessMs) / bucketMs) - 1);
    this.recorder.forgetLive();
    this.episodes.settle([], this.closed);
    this.countedFrom = Infinity;
  }

  /** Bucket `index` closes: live operations are judged, firings become episodes, rollups are summed. */
  private closeBucket(index: number): void {
    const now = (index + 1) * this.options.bucketMs;
    const rec = this.recorder;
    // The last bucket at the end of input is only partly covered: its request count says nothing about rates.
    if (this.countedFrom === Infinity && rec.liveOps.size > 0) this.countedFrom = index + 1;
    const partial = (this.clock !== null && now > this.clock) || index < this.countedFrom;
    rec.prune(index);
    this.episodes.settle(this.inflight.addFirings(this.judge.close(rec, index, partial, this.countedFrom, rec.instances.size > 0 ? this.latencyFrom : -Infinity), rec, this.clock, index), index);
    if (this.rollupListeners.size > 0) {
      this.rollups.add(rec.liveOps, index);
      this.rollups.add(rec.overflowOps, index);
      if (this.rollups.ends(index)) this.emitRollups(index, false);
    }
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
    if (rollups.length > 0) this.deliver(this.rollupListeners, rollups, true);
  }

  /**
   * The one listener policy: every listener gets its own deep copy, so no listener sees another's
   * mutations or the analyzer's state (`value` itself goes to the last listener when it is already a
   * copy, `owned`); a listener that throws is counted and the others still run.
   */
  private deliver<T>(listeners: ReadonlySet<(value: T) => void>, value: T, owned: boolean): void {
    // The listeners as they were at the event: one that (un)subscribes others changes the next event only.
    const all = [...listeners];
    for (let i = 0; i < all.length; i++) {
      try {
        all[i](owned && i === all.length - 1 ? value : structuredClone(value));
      } catch {
        this.listenerErrors++;
      }
    }
  }

  // ---- queries -----------------------------------------------------------------------------------

  incidents(filter?: IncidentFilter): Incident[] {
    return this.episodes.manager.list(filter);
  }

  incident(id: string): Incident | undefined {
    return this.episodes.manager.get(id);
  }

  anomalies(): Anomaly[] {
    return this.episodes.anomalies();
  }

  acknowledge(id: string, note?: IncidentNote): Incident | undefined {
    return this.episodes.manager.acknowledge(id, this.clock ?? 0, note);
  }

  resolve(id: string, note?: IncidentNote): Incident | undefined {
    return this.episodes.manager.resolve(id, this.clock ?? 0, note);
  }

  metrics(): OperationMetrics[] {
    return metricsOf(this.recorder, this.closed, this.options.bucketMs);
  }

  baselines(): OperationBaseline[] {
    return baselinesOf(this.recorder);
  }

  serviceGraph(): ServiceGraph {
    return serviceGraphOf(this.recorder, this.closed, this.options.bucketMs);
  }

  stats(): AnalyzerStats {
    const { ingested, accepted, tracesProcessed, listenerErrors, drops } = this;
    return statsOf({ ingested, accepted, tracesProcessed, listenerErrors, drops }, {
      buffered: this.buffer.size,
      evictedEarly: this.buffer.evictedEarly,
      operations: this.recorder.ops.size - this.recorder.overflowOps.size,
      overflow: { operations: this.recorder.overflowOps.size, ...this.recorder.overflow, evicted: this.recorder.evicted, sent: this.recorder.sent.forgotten },
      instances: { tracked: this.recorder.instances.size, untrackedSpans: this.recorder.instances.untrackedSpans },
      clockAhead: this.shiftedAhead,
      anomalies: { active: this.episodes.size, total: this.episodes.anomaliesTotal },
      incidents: this.episodes.manager.counts(),
      now: this.clock,
      closed: this.closed,
      bucketMs: this.options.bucketMs,
    });
  }

  now(): number | null {
    return this.clock;
  }

  acceptedEnds(): { from: number; to: number } {
    return { from: this.lateCutoff(), to: this.latestEnd() };
  }

  // ---- persistence -------------------------------------------------------------------------------

  snapshot(): AnalyzerSnapshot {
    return takeSnapshot({ recorder: this.recorder, changes: this.changes, episodes: this.episodes }, {
      clock: this.clock,
      closed: this.closed,
      counters: { ingested: this.ingested, accepted: this.accepted, tracesProcessed: this.tracesProcessed, drops: { ...this.drops } },
    });
  }

  restore(s: AnalyzerSnapshot): void {
    // Everything is built aside first: a snapshot that fails part-way leaves the analyzer as it was.
    const next = restoreStages(s, this.options, this.toListeners);
    const drops = restoredDrops(s, this.drops);
    this.recorder = next.recorder;
    this.changes = next.changes;
    this.episodes = next.episodes;
    this.rollups.clear();
    // Buffered traces belong to the state being replaced: they are dropped with it.
    const evictedEarly = this.buffer.evictedEarly;
    this.buffer = this.newBuffer();
    this.buffer.evictedEarly = evictedEarly;
    this.clock = s.clock;
    this.nextAdvance = -Infinity;
    this.closed = s.closed === null ? -Infinity : s.closed;
    this.countedFrom = Infinity;
    this.latencyFrom = -Infinity;
    this.ingested = s.counters.ingested;
    this.accepted = s.counters.accepted;
    this.tracesProcessed = s.counters.tracesProcessed;
    Object.assign(this.drops, drops);
    if (s.clock !== null && s.clock > this.latestEnd()) this.forgetRestoredTime();
    else if (s.clock !== null) this.recorder.restoredClock = s.clock;
  }

  /**
   * The latest time a span may end (Infinity without a wall clock): past the wall clock by more than any
   * host's skew, it must neither start nor move event time (every on-time span after it would be late).
   */
  private latestEnd(): number {
    const wall = this.options.wallClock?.();
    return wall !== undefined && Number.isFinite(wall) ? wall + MAX_FUTURE_SKEW_MS : Infinity;
  }

  /**
   * A restored event time past the wall clock was set by a span from a host whose clock was wrong (saved
   * before `wallClock` dropped such spans): resumed, it would drop every on-time span as late, for good.
   * What was learned stays; its windows and open anomalies end there, and event time starts afresh.
   */
  private forgetRestoredTime(): void {
    this.recorder.forgetLive();
    if (this.closed !== -Infinity) this.episodes.settle([], this.closed);
    this.clock = null;
    this.closed = -Infinity;
  }
}
