import type { OperationSnapshot, EdgeSnapshot, Span } from '../types.js';
import type { InFlightCall } from '../detectors/inflight.js';
import { Destinations } from './destinations.js';
import type { ResolvedOptions } from '../options.js';
import { OperationNames, UNKNOWN_PEER, errorMessage, isClientError, isPoolWait, peerAddress } from '../model/operation.js';
import { edgeKey, opKey, opKeyService } from '../keys.js';
import type { TraceEntry } from '../trace/buffer.js';
import { analyzeTrace, type CallFact, type EntryFact, type Origin, type TraceContext } from '../trace/analyze.js';
import { addExemplar, countOrigin, type LatencyBucket, type OpBucket } from './bucket.js';
import { EdgeState, LatencySignal, OpState, RING } from './state.js';
import type { PeerTable } from './peers.js';
import { logMs, MIN_LOG_MS } from '../stats/baseline.js';
import { Instances } from '../instances.js';
import { AnswerLag, LateAnswers } from './late-answers.js';
import { HeldCalls } from './held-calls.js';
import { SentMessages } from './sent.js';
import { LatencySketch } from '../stats/sketch.js';
import { EVENT_LOOP_OPERATION, LOOP_CPU_ATTRIBUTE, LOOP_HOST_LOAD_ATTRIBUTE, LOOP_MIN_SHIFT_MS, STARVED_LOAD, loopStallMs } from '../model/loop.js';
import { MAX_CALLEES_PER_OPERATION, MAX_CALLERS_PER_OPERATION, MAX_OVERFLOW_SERVICES, OVERFLOW_OPERATION } from '../limits.js';

/** How long after a long hold of a service's event loop its requests meet the backlog, at most (ms). */
const MAX_HOLD_BACKLOG_MS = 60_000;
/** A call that held a connection this long (ms) lets a backlog through when it ends (see Recorder.heldBacklog). */
const BACKLOG_MIN_MS = 2_000;
/** Services whose latest long hold, and longest recent sample, are kept (see {@link Recorder.noteLoop}). */
const MAX_HOLDS = 1024;

/** How much longer than typical (ms), and at least twice it, a hold of a loop counts as busy (see Recorder.noteBusy). */
const BUSY_SHIFT_MS = 30;
/** Recent holds of a service's event loop kept for {@link Recorder.noteLoop}'s busy ring: about this many seconds of ticks. */
const BUSY_SAMPLES = 16;
/**
 * How long an event-loop sample's tick is taken to cover before its end (ms): the plugin's default tick.
 * Its hold happened somewhere within it.
 */
const LOOP_TICK_MS = 1000;

/** A service's recent event-loop holds well above its typical one: when each sample ended, and its extra hold (ms). */
interface BusyLoop {
  key: string;
  ends: Float64Array;
  extra: Float64Array;
  next: number;
  /** When the service's latest sample, busy or not, ended. */
  sampled: number;
}

/** An event-loop sample: when it ended, the longest the loop took to come round (ms), the CPU used over its tick (ms). */
interface LoopSample {
  end: number;
  ms: number;
  cpuMs: number | undefined;
}

/** Whether a loop held `ms` while its process used `cpuMs` of CPU (unknown: no) was not busy: under half of it. */
function idle(ms: number, cpuMs: number | undefined): boolean {
  return cpuMs !== undefined && cpuMs < ms / 2;
}

/**
 * Facts → buckets: turns each processed trace's entries and calls into per-operation and per-edge bucket
 * counts. Owns the operations and edges (the judge reads them; nothing else writes them) and which of
 * them are live (have data in the ring, or an episode open).
 */
export class Recorder {
  readonly ops = new Map<string, OpState>();
  /**
   * Peers the trace being recorded showed answered by a service for the first time, or for a call naming
   * no peer the operation key it was recorded under (see {@link forgetUnanswered}).
   */
  private readonly answered: string[] = [];
  readonly edges = new Map<string, EdgeState>();
  /** caller → callee → edge: looked up per call without building a key string. */
  private readonly edgeIndex = new Map<string, Map<string, EdgeState>>();
  readonly liveOps = new Set<OpState>();
  readonly liveEdges = new Set<EdgeState>();
  /** Operations that requests past `maxOperations` are folded into: in `ops`, never live (not judged). */
  readonly overflowOps = new Set<OpState>();
  /**
   * Operations not live (quiet for a whole ring, or restored and not seen since), in the order they went
   * quiet; those never ready (fewer samples than `minSamples`: a flood of one-off names) apart. At
   * `maxOperations` a new operation takes the place of one of them (see {@link evict}) rather than being
   * folded into overflow: one burst of one-off names (an exporter naming spans by raw URL, a service per
   * pod) otherwise filled the table for good, and every service seen after it went unjudged.
   */
  private readonly quietUnready = new Set<OpState>();
  private readonly quietReady = new Set<OpState>();
  /**
   * Operations created here and not known to be ready, oldest first: after the quiet never-ready ones, a
   * live one with no request in the open bucket gives its place up (a flood of names is live for a
   * minute after it, and the services that follow it would wait that long).
   */
  private readonly young = new Set<OpState>();
  /** Young operations forgotten while bucket `youngAt` + 1 is open, or none could be (-1): see {@link evictYoung}. */
  private youngAt = -Infinity;
  private youngTaken = 0;
  /** Operations forgotten to make room (total). */
  evicted = 0;
  /** Requests folded into overflow operations, and calls whose edge was past the cap (not tracked). */
  readonly overflow = { requests: 0, calls: 0 };
  /** Operation buckets no ring holds data in any more, for any operation to reuse. */
  private readonly spareBuckets: OpBucket[] = [];
  private readonly ctx: TraceContext;
  /** Interned operation names and keys: room for each tracked operation's name and key, and as many again for raw names seen on the way. */
  readonly names: OperationNames;
  /** When each process was first seen: its first seconds are cold (see `instanceWarmupMs`). */
  readonly instances: Instances;
  /** Whether the trace being recorded was served in part by a process in its first seconds (see {@link warm}). */
  private coldTrace = false;
  /** Traces with a call still open in the latest in-flight report (see {@link noteOpen}). */
  private readonly openTraces = new Set<string>();
  /**
   * After a restore, the event time the snapshot was taken at (−∞ otherwise): requests that started by then
   * may have had part of their trace recorded before the snapshot (see {@link recordEntry}).
   */
  restoredClock = -Infinity;
  /** The largest batch of messages a span of the trace being recorded handles (see {@link batchSize}); 1 for none. */
  private traceBatch = 1;
  /** Last closed bucket index while a trace is recorded: data for closed buckets lands in the next open one. */
  private closed = -Infinity;
  /** Per service, its event loop's latest hold of {@link loopStallMs} or more: end (event ms), length, and the loop's key. */
  private readonly holds = new Map<string, { end: number; ms: number; key: string }>();
  /** Per service, its event loop's longest sample of the last {@link MAX_HOLD_BACKLOG_MS}, with the CPU the process used meanwhile. */
  private readonly loops = new Map<string, LoopSample>();
  /**
   * When an event-loop sample last showed its process starved of CPU: held {@link LOOP_MIN_SHIFT_MS} or more
   * while the process used under half that CPU, on a host loaded {@link STARVED_LOAD} per CPU or more
   * (−∞ if never). Only the plugin samples a loop: in process, the one process; centrally, never.
   */
  starvedAt = -Infinity;
  /**
   * When an event-loop sample last showed its host loaded {@link STARVED_LOAD} per CPU or more (its 1-minute
   * load average), whatever the loop did (−∞ if never; centrally, never).
   */
  loadedAt = -Infinity;
  /** Per service, its latest samples of a loop held busy (see {@link noteBusy}). */
  private readonly busy = new Map<string, BusyLoop>();
  /** Per service without event-loop samples, its calls answered late (see TraceContext.noteLate). */
  private readonly late = new Map<string, LateAnswers>();
  /** Per service without event-loop samples, the requests it read late (see TraceContext.noteReadLate). */
  private readonly readLate = new Map<string, LateAnswers>();
  /** Per service without event-loop samples, the share of its answered calls it read late (see TraceContext.noteAnswer). */
  private readonly lag = new Map<string, AnswerLag>();
  /** Per caller → callee edge, its calls that held a pooled connection long (see TraceContext.noteHeld). */
  private readonly held = new Map<string, HeldCalls>();
  /** What {@link TraceContext.loopDelay} answers (reused: asked for each slow call while a loop is busy). */
  private readonly delay = { key: '', ms: 0 };
  /** When recent messages were sent (see TraceContext.sentAt). */
  readonly sent = new SentMessages();
  /**
   * Whether a consumer span has been recorded: until one is, no send time is kept (a producer's own process,
   * its consumers elsewhere, would hold `MAX_SENT` of them for nothing).
   */
  private consuming = false;
  /** Producers and consumers by the messaging destination they name (see {@link Destinations}). */
  private readonly destinations = new Destinations();
  private readonly linkConsumer = (consumer: string, producer: string): void => {
    const op = this.ops.get(consumer);
    if (op !== undefined) addCaller(op, producer);
  };

  constructor(
    private readonly options: ResolvedOptions,
    readonly peers: PeerTable,
  ) {
    this.names = new OperationNames(options.maxOperations * 4);
    this.instances = new Instances(options.instanceWarmupMs);
    this.ctx = {
      names: this.names,
      operation: (key) => this.ops.get(key),
      resolvePeer: (peer, callName, callerKey) => this.peers.resolve(peer, callName, callerKey),
      learnPeer: (peer, callName, callerKey, service, operation) => {
        // An unanswered call naming no peer was its caller's own service's (see unansweredCallee).
        if (this.peers.learn(peer, callName, callerKey, service, operation)) this.answered.push(peer === UNKNOWN_PEER ? opKey(opKeyService(callerKey as string), callName) : peer);
      },
      answeredAt: (caller, callee) => this.edgeIndex.get(caller)?.get(callee)?.lastOkAt ?? -Infinity,
      hasOpenCall: (traceId) => this.openTraces.has(traceId),
      givenUpCall: (caller, calleeKey) => {
        const edge = this.edgeIndex.get(caller)?.get(opKeyService(calleeKey));
        if (edge === undefined) return undefined;
        // An edge's only episodes are timeouts; before one opens, its calls may already be stuck.
        const op = edge.active.size > 0 ? edge.givenUpOperation : edge.stuck;
        if (op === undefined) return undefined;
        return op !== null ? opKey(edge.calleeService, op) : calleeKey;
      },
      heldLoop: (service, start) => {
        const hold = this.holds.get(service);
        return hold === undefined || start < hold.end - hold.ms || start >= hold.end + Math.min(hold.ms, MAX_HOLD_BACKLOG_MS) ? undefined : hold.key;
      },
      loopDelay: (service, start, end, callee) => {
        const b = this.busy.get(service);
        let most = 0;
        if (b !== undefined) {
          for (let i = 0; i < BUSY_SAMPLES; i++) {
            const at = b.ends[i];
            if (at - LOOP_TICK_MS > end || !(b.extra[i] > most)) continue;
            // The sample of the tick a call ends in comes at the tick's end: in-process a trace is analysed
            // 100 ms after it ends, mostly before that. Until it comes, the latest sample, busy in the tick
            // before the call, stands for it (a saturated process stays saturated).
            if (at >= start || (at === b.sampled && end > at && start - at <= LOOP_TICK_MS)) most = b.extra[i];
          }
        } else if (!this.loops.has(service)) {
          most = this.late.get(service)?.longest(start, end, callee, LOOP_TICK_MS) ?? 0;
          // Requests read late meanwhile tell a held loop too, unless this call could be what held it: a
          // synchronous driver's call does, and the requests that come meanwhile wait for it.
          const requests = this.readLate.get(service);
          if (requests !== undefined && this.edgeIndex.get(service)?.get(callee)?.concurrent) most = Math.max(most, requests.longest(start, end, callee, LOOP_TICK_MS));
        }
        if (most === 0) return undefined;
        this.delay.key = b?.key ?? opKey(service, EVENT_LOOP_OPERATION);
        this.delay.ms = most;
        return this.delay;
      },
      noteLate: (caller, callee, calleeKey, from, to) => this.noteWait(this.late, caller, callee, calleeKey, from, to),
      noteAnswer: (caller, at, lateMs) => this.unsampled(this.lag, caller, newAnswerLag)?.note(at, lateMs),
      noteReadLate: (service, caller, callerKey, from, to) => this.noteWait(this.readLate, service, caller, callerKey, from, to),
      noteHeld: (caller, callee, calleeKey, from, to) => {
        const key = edgeKey(caller, callee);
        let h = this.held.get(key);
        if (h === undefined) {
          if (this.held.size >= MAX_HOLDS) return;
          this.held.set(key, (h = new HeldCalls()));
        }
        h.note(calleeKey, from, to);
      },
      heldDuring: (caller, callee, start, end) => this.held.get(edgeKey(caller, callee))?.most(start, end),
      sentAt: (traceId, spanId) => this.sent.take(traceId, spanId),
    };
  }

  /**
   * A producer span came (accepted, in event time): its message's send time is noted for consumers that
   * read it from another trace (a link) or after its trace was processed (see TraceContext.sentAt). Noted
   * as it comes, not when its trace is processed: a consumer's trace of its own may end, and be processed,
   * before the request that sent its message does. Only once consumers were seen.
   */
  noteSent(span: Span): void {
    if (this.consuming) this.sent.note(span.traceId, span.spanId, span.endTime);
  }

  /**
   * The statement of `service`'s longest call noted held (see TraceContext.noteHeld) for {@link BACKLOG_MIN_MS}
   * or more that ended from `since` on, if any.
   */
  heldBacklog(service: string, since: number): string | undefined {
    const callees = this.edgeIndex.get(service);
    if (callees === undefined) return undefined;
    let key: string | undefined;
    let longest = BACKLOG_MIN_MS;
    for (const callee of callees.keys()) {
      const h = this.held.get(edgeKey(service, callee))?.longest(since);
      if (h !== undefined && h.ms >= longest) {
        longest = h.ms;
        key = h.key;
      }
    }
    return key;
  }

  /** Notes `service`'s wait to be read (see LateAnswers.note) in `waits`. */
  private noteWait(waits: Map<string, LateAnswers>, service: string, peer: string, peerKey: string, from: number, to: number): void {
    this.unsampled(waits, service, newLateAnswers)?.note(peer, peerKey, from, to);
  }

  /**
   * `service`'s entry of `map` (made by `make` while the map has fewer than {@link MAX_HOLDS}), unless it reports
   * its loop: then it tells its holds itself, and undefined.
   */
  private unsampled<T>(map: Map<string, T>, service: string, make: () => T): T | undefined {
    if (this.loops.has(service)) return undefined;
    let entry = map.get(service);
    if (entry === undefined && map.size < MAX_HOLDS) map.set(service, (entry = make()));
    return entry;
  }

  /** Whether `service` reports its event loop (the plugin's samples, in its own process). */
  samplesLoop(service: string): boolean {
    return this.loops.has(service);
  }

  /**
   * Drops from the live sets what has had no data for a whole ring and has no open episode: kept live one
   * bucket past its last data, so a window of pure silence is judged once. Buckets no window ending at
   * `index` or later reaches go back to the spare pool.
   */
  prune(index: number): void {
    const oldest = index - RING + 1;
    const steady = this.options.adaptAfterMs / this.options.bucketMs;
    for (const op of this.liveOps) {
      op.ring.releaseBefore(oldest);
      if (op.lastIndex < index - RING && op.active.size === 0) {
        this.liveOps.delete(op);
        op.live = false;
        op.letGo = true;
        this.quiet(op);
      } else if (op.returns > 0 && index - op.liveSince >= steady) {
        // Live without a break for `adaptAfterMs`: it no longer comes and goes, and its stops are outages again.
        op.returns = 0;
      }
    }
    for (const edge of this.liveEdges) {
      if (edge.lastIndex <= index - RING && edge.active.size === 0) {
        this.liveEdges.delete(edge);
        edge.live = false;
      }
    }
  }

  /** Notes a tracked operation that is not live as one that may give its place up (see {@link quietUnready}). */
  private quiet(op: OpState): void {
    (op.latency.detector.baseline.ready ? this.quietReady : this.quietUnready).add(op);
  }

  /**
   * Forgets an operation to make room: the longest quiet never-ready one, else a young one with no request
   * in the open bucket, else the longest quiet one (false: every tracked one is busy or in an anomaly).
   */
  private evict(): boolean {
    return this.evictQuiet(this.quietUnready) || this.evictYoung() || this.evictQuiet(this.quietReady);
  }

  private evictQuiet(quiet: Set<OpState>): boolean {
    for (const op of quiet) {
      quiet.delete(op);
      // Live again, or in an anomaly, since it went quiet: it keeps its place.
      if (op.live || op.active.size > 0 || this.ops.get(op.key) !== op) continue;
      this.forget(op);
      return true;
    }
    return false;
  }

  /**
   * At most {@link YOUNG_PER_BUCKET} per bucket: more operations than the table holds, each seen now and then
   * (10,000 routes at a request per 10 s), would otherwise take each other's places for ever, none learned.
   */
  private evictYoung(): boolean {
    if (this.youngAt !== this.closed) {
      this.youngAt = this.closed;
      this.youngTaken = 0;
    }
    if (this.youngTaken < 0 || this.youngTaken >= YOUNG_PER_BUCKET) return false;
    let looked = 0;
    for (const op of this.young) {
      this.young.delete(op);
      if (op.latency.detector.baseline.ready || this.ops.get(op.key) !== op) continue;
      if (op.active.size === 0 && op.lastIndex <= this.closed) {
        this.forget(op);
        this.youngTaken++;
        return true;
      }
      // Busy now: to the back, so the next look starts with others (bounded, however many are busy).
      this.young.add(op);
      if (++looked >= YOUNG_LOOKS) break;
    }
    // None now: not looked for again until a bucket closes.
    this.youngTaken = -1;
    return false;
  }

  private forget(op: OpState): void {
    this.ops.delete(op.key);
    this.young.delete(op);
    this.quietUnready.delete(op);
    this.quietReady.delete(op);
    if (op.live) {
      this.liveOps.delete(op);
      op.live = false;
    }
    this.evicted++;
  }

  /** Nothing is live any more (event time jumped past every ring). */
  forgetLive(): void {
    for (const op of this.liveOps) {
      op.live = false;
      this.quiet(op);
    }
    for (const edge of this.liveEdges) edge.live = false;
    this.liveOps.clear();
    this.liveEdges.clear();
  }

  /** The traces of the calls a process is still waiting on (an in-flight report: it replaces the last). */
  noteOpen(calls: readonly InFlightCall[]): void {
    this.openTraces.clear();
    for (const c of calls) {
      const traceId = c?.span?.traceId;
      if (typeof traceId === 'string') this.openTraces.add(traceId);
    }
  }

  /**
   * Records one processed trace; `closed` is the last closed bucket index. Consumes the entry: its spans
   * are let go (see {@link releaseSpans}).
   */
  record(entry: TraceEntry, closed: number): void {
    this.closed = closed;
    this.coldTrace = this.instances.anyCold(entry.spans);
    this.traceBatch = largestBatch(entry.spans);
    const { entries, calls } = analyzeTrace(entry.spans, this.ctx, entry.ids);
    for (const e of entries) this.recordEntry(e);
    for (const c of calls) this.recordCall(c);
    releaseSpans(entry);
    if (this.answered.length > 0) this.forgetUnanswered();
  }

  /**
   * Lets go of the operations recorded under the name of a peer this trace showed answered by an
   * instrumented service (see {@link answered}), unless in an anomaly: they were calls nothing answered yet
   * (an analyzer started as the callers' batches came, their callee's still to come), and later ones go to
   * that service's operations. Left, they stayed listed as a peer's for good (`frontend-proxy POST`).
   */
  private forgetUnanswered(): void {
    for (const peer of this.answered) {
      const unnamed = this.ops.get(peer);
      if (unnamed !== undefined) this.forgetIfUnanswered(unnamed);
      else for (const op of this.ops.values()) if (op.service === peer) this.forgetIfUnanswered(op);
    }
    this.answered.length = 0;
  }

  private forgetIfUnanswered(op: OpState): void {
    if (op.nodeType === 'peer' && op.active.size === 0 && !op.overflow) this.forget(op);
  }

  private bucketIndex(t: number): number {
    const i = Math.floor(t / this.options.bucketMs);
    // Spans of traces held for their parents land in the first open bucket rather than being lost.
    return i > this.closed ? i : this.closed + 1;
  }

  /**
   * The operation `key` (= opKey(service, operation), already built by trace analysis), created on first
   * use; past `maxOperations`, its service's overflow operation.
   */
  private op(key: string, service: string, operation: string, nodeType: 'service' | 'peer'): OpState {
    const op = this.ops.get(key);
    if (op !== undefined) return op;
    if (this.ops.size - this.overflowOps.size < this.options.maxOperations || this.evict()) {
      const created = this.addOp(key, service, operation, nodeType);
      this.young.add(created);
      return created;
    }
    const folded = this.overflowOps.size < MAX_OVERFLOW_SERVICES ? service : OVERFLOW_OPERATION;
    const overflowKey = opKey(folded, OVERFLOW_OPERATION);
    const existing = this.ops.get(overflowKey);
    if (existing !== undefined) return existing;
    const created = this.addOp(overflowKey, folded, OVERFLOW_OPERATION, nodeType);
    this.overflowOps.add(created);
    created.overflow = true;
    return created;
  }

  /**
   * Notes a sample of `span.service`'s event loop as its span arrives, before its trace is recorded: a hold
   * of {@link loopStallMs} or more because the requests served in the backlog it left end before the sampler's
   * next tick reports it, and are recorded first; the longest recent one with the CPU used meanwhile
   * ({@link LOOP_CPU_ATTRIBUTE}), to tell what held it.
   */
  noteLoop(span: Span): void {
    const { service, endTime: end } = span;
    const ms = end - span.startTime;
    const cpu = span.attributes?.[LOOP_CPU_ATTRIBUTE];
    const cpuMs = typeof cpu === 'number' && cpu >= 0 ? cpu : undefined;
    const load = span.attributes?.[LOOP_HOST_LOAD_ATTRIBUTE];
    // A host with more runnable threads than CPUs; held well past a free loop's tick while the process hardly ran there: starved.
    const loaded = typeof load === 'number' && load >= STARVED_LOAD;
    if (loaded && end > this.loadedAt) this.loadedAt = end;
    if (loaded && idle(ms, cpuMs) && ms >= LOOP_MIN_SHIFT_MS && end > this.starvedAt) this.starvedAt = end;
    const longest = this.loops.get(service);
    if (longest !== undefined) {
      if (ms >= longest.ms || end - longest.end > MAX_HOLD_BACKLOG_MS) {
        longest.end = end;
        longest.ms = ms;
        longest.cpuMs = cpuMs;
      }
    } else if (this.loops.size < MAX_HOLDS) this.loops.set(service, { end, ms, cpuMs });
    this.noteBusy(service, end, ms);
    if (ms < loopStallMs(this.options.latency)) return;
    const hold = this.holds.get(service);
    if (hold !== undefined) {
      if (end > hold.end) {
        hold.end = end;
        hold.ms = ms;
      }
    } else if (this.holds.size < MAX_HOLDS) this.holds.set(service, { end, ms, key: opKey(service, EVENT_LOOP_OPERATION) });
  }

  /**
   * Keeps a sample of a loop held {@link BUSY_SHIFT_MS} or more beyond its learned typical hold, and at least
   * twice it: a saturated process (CPU work in every request, GC pauses) answers nothing while it works,
   * so each call it made ends late by up to that much, whatever its callee did (see `loopDelay`).
   */
  private noteBusy(service: string, end: number, ms: number): void {
    const key = opKey(service, EVENT_LOOP_OPERATION);
    let b = this.busy.get(service);
    if (b !== undefined && end > b.sampled) b.sampled = end;
    const base = this.ops.get(key)?.latency.detector.baseline;
    if (base === undefined || !base.ready || ms - base.typical < BUSY_SHIFT_MS || ms < 2 * base.typical) return;
    if (b === undefined) {
      if (this.busy.size >= MAX_HOLDS) return;
      this.busy.set(service, (b = { key, ends: new Float64Array(BUSY_SAMPLES).fill(-Infinity), extra: new Float64Array(BUSY_SAMPLES), next: 0, sampled: end }));
    }
    b.ends[b.next] = end;
    b.extra[b.next] = ms - base.typical;
    b.next = (b.next + 1) % BUSY_SAMPLES;
  }

  /**
   * A recent hold of `service`'s event loop of at least half `heldMs` during which the process used less
   * CPU than half the hold: not CPU work (a stopped or starved process, a synchronous wait). Undefined
   * when it used more, or its samples do not say.
   */
  idleHold(service: string, heldMs: number): { ms: number; cpuMs: number } | undefined {
    const s = this.loops.get(service);
    return s !== undefined && s.cpuMs !== undefined && s.ms >= heldMs / 2 && idle(s.ms, s.cpuMs) ? { ms: s.ms, cpuMs: s.cpuMs } : undefined;
  }

  /**
   * Statement `key`'s calls noted held (see TraceContext.noteHeld) that ended from `since` on, from all its
   * callers: how many, the longest (ms), how many took half as long or more, and whether there may be more;
   * undefined when none.
   */
  heldCalls(key: string, since: number): { calls: number; longest: number; long: number; atLeast: boolean } | undefined {
    const took: number[] = [];
    let atLeast = false;
    for (const h of this.held.values()) atLeast = h.collect(key, since, took) || atLeast;
    if (took.length === 0) return undefined;
    const longest = Math.max(...took);
    let long = 0;
    for (const ms of took) if (ms >= longest / 2) long++;
    return { calls: took.length, longest, long, atLeast };
  }

  /** The share of `service`'s calls (its loop not sampled) answered from `since` to `until` that it read late (see AnswerLag). */
  lateShare(service: string, since: number, until: number): number {
    return this.lag.get(service)?.lateShare(since, until) ?? 0;
  }

  /**
   * `service`'s calls answered late since `since` (see TraceContext.noteLate and LateAnswers.worst); with
   * none, the requests it read late (`requests`: see TraceContext.noteReadLate).
   */
  lateAnswers(service: string, since: number): (NonNullable<ReturnType<LateAnswers['worst']>> & { requests: boolean }) | undefined {
    const answers = this.late.get(service)?.worst(since);
    if (answers !== undefined) return { ...answers, requests: false };
    const requests = this.readLate.get(service)?.worst(since);
    return requests === undefined ? undefined : { ...requests, requests: true };
  }

  private addOp(key: string, service: string, operation: string, nodeType: 'service' | 'peer'): OpState {
    const op = new OpState(key, service, operation, nodeType, this.options, this.spareBuckets);
    this.ops.set(key, op);
    return op;
  }

  private recordEntry(e: EntryFact): void {
    // What analysis found is this recorder's own operation (see the context); an operation created since
    // (by a request earlier in the trace), or an overflow one, is looked up.
    const op = (e.learned as OpState | undefined) ?? this.op(e.key, e.service, e.operation, 'service');
    if (op.nodeType === 'peer') op.servedHere();
    if (!op.called && e.span.parentSpanId !== undefined) op.called = true;
    if (e.span.kind === 'consumer') {
      op.consumer = true;
      this.consuming = true;
      this.destinations.note(e.span, op.key, false, this.linkConsumer);
    }
    const end = e.span.endTime;
    const idx = this.bucketIndex(end);
    const b = this.touch(op, idx);
    // Ended in a bucket already closed (see bucketIndex): counted here, but no traffic of this bucket's.
    if (end < idx * this.options.bucketMs) b.late++;
    // The process that served it, counted for a service's operations (see OpBucket.servedOn, failedOn).
    const instance = op.nodeType === 'service' && typeof e.span.instance === 'string' ? e.span.instance : undefined;
    if (instance !== undefined && this.instances.processes(op.service) >= 2) b.servedOnInstance(instance);
    if (!op.served && !isClientError(e.span)) op.served = true;
    // A message waited as long whether its handling then failed or not.
    if (!Number.isNaN(e.queued)) {
      op.queue ??= op.newQueue();
      (b.queued ??= new LatencySketch()).add(e.queued);
      // Messages that waited long are a backlog's examples.
      if (op.queue.longer(e.queued)) b.addSlow(e.span.traceId, e.queued);
    }
    if (e.error) {
      if (end > op.lastErrorAt) op.lastErrorAt = end;
      b.errors++;
      b.failedMs += e.duration;
      if (e.errorOrigin) {
        b.failing++;
        countOrigin((b.errorOrigins ??= new Map()), e.errorOrigin);
      }
      addExemplar((b.errorTraces ??= []), e.span.traceId);
      if (instance !== undefined) b.failedOnInstance(instance);
      b.errorMessage = e.message ?? b.errorMessage;
      b.failedIn = e.failedIn ?? b.failedIn;
      return;
    }
    if (end > op.lastOkAt) op.lastOkAt = end;
    // A request already in flight when the restored state was saved: the spans of its calls that ended by
    // then went to the analyzer the snapshot came from, and no trace here holds them. Counted, but neither
    // its latency (its own time would include theirs) nor its call pattern (it would seem to skip them).
    if (e.span.startTime <= this.restoredClock) return;
    // Cold start (see `coldStartUntil`, `instanceWarmupMs`): counted, but its latency is neither judged nor learned.
    const warm = this.warm(e.span);
    const n = this.latencyPer(e.span);
    if (n > 0) this.recordLatency(op, b, e.duration / n, e.selfKnown ? e.self / n : NaN, e.span);
    // Refused as the client's fault (a 404, a failed validation), a request leaves before its usual path:
    // no sample of the call pattern, or a route's calls would be usual only at its share of good requests.
    if (!isClientError(e.span)) this.recordShape(op, b, e);
    if (e.slowOrigin && warm) {
      b.slow++;
      countOrigin((b.slowOrigins ??= new Map()), e.slowOrigin);
      b.addSlow(e.span.traceId, e.duration);
    }
  }

  /** Counts a served request's calls (its trace shape) into the bucket. */
  private recordShape(op: OpState, b: OpBucket, e: EntryFact): void {
    b.okRequests++;
    const calls = e.calls;
    // Per message in a batch's trace: a consumer handling 50 messages where it handled 10 makes 5× the
    // calls, as may the services it calls for them, in the same call pattern.
    const per = this.traceBatch;
    for (let i = 0; i < calls.length; i++) {
      const callee = calls[i];
      // Whole counts stay small integers (V8 keeps the bucket's array unboxed).
      const times = per === 1 ? e.callTimes[i] : e.callTimes[i] / per;
      if (b.countCall(callee, times)) continue;
      // Each callee new to the bucket becomes a call-shape detector of the operation: bounded.
      if (op.shapes.size + b.calleeCount < MAX_CALLEES_PER_OPERATION || op.shapes.has(callee)) b.addCallee(callee, times);
    }
    if (e.shapeOrigin) {
      b.diverged++;
      countOrigin((b.shapeOrigins ??= new Map()), e.shapeOrigin);
      addExemplar((b.divergedTraces ??= []), e.span.traceId);
    }
  }

  /** Counts one request into an operation's bucket `idx`, keeping the operation live (unless it is an overflow). */
  private touch(op: OpState, idx: number): OpBucket {
    const b = op.ring.at(idx);
    if (idx > op.lastIndex) op.lastIndex = idx;
    if (op.overflow) this.overflow.requests++;
    else if (!op.live) {
      // Flagged, so a request of an operation already live costs no Set lookup.
      op.live = true;
      this.liveOps.add(op);
      this.quietUnready.delete(op);
      this.quietReady.delete(op);
      op.liveSince = idx;
      if (op.firstIndex === Infinity) op.firstIndex = idx;
      if (op.letGo) {
        op.letGo = false;
        op.returns++;
        op.relearn('traffic.drop', undefined);
      }
    }
    b.requests++;
    return b;
  }

  /** Counts one successful request's latency and self time (NaN: not known); returns whether it was individually slow. */
  private recordLatency(op: OpState, b: OpBucket, duration: number, self: number, span: Span): boolean {
    const l = logMs(duration);
    const over = this.recordSeries(op.latency, b.latency, duration, l, span);
    if (over && op.nodeType === 'service' && typeof span.instance === 'string') b.latency.slowOnInstance(span.instance);
    // A peer's self time is its duration, and so is that of a request that made no calls.
    if (!Number.isNaN(self)) this.recordSeries(op.self, b.self, self, self === duration ? l : logMs(self), span);
    return over;
  }

  /**
   * Counts one successful request's latency `ms` (its {@link logMs} `l`) into one series of a bucket;
   * returns whether it was individually slow (`over`).
   */
  private recordSeries(signal: LatencySignal, b: LatencyBucket, ms: number, l: number, span: Span): boolean {
    const base = signal.detector.baseline;
    let over = false;
    if (base.ready) {
      b.judged++;
      if (ms > this.options.latency.ratio * base.typical) {
        over = true;
        b.addOver(span.startTime, span.endTime);
      }
    }
    b.addOk(l, base.isOutlier(ms));
    // From MIN_LOG_MS up, logMs is the plain logarithm the sketch's bin needs.
    if (ms >= MIN_LOG_MS) b.sketch.addWithLog(ms, l);
    else b.sketch.add(ms);
    return over;
  }

  private addEdge(edge: EdgeState): void {
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
    if (edge === undefined && this.edges.size < this.options.maxOperations) {
      edge = new EdgeState(edgeKey(c.callerService, c.calleeService), c.callerService, c.calleeService, c.virtual, this.options);
      this.addEdge(edge);
    }
    if (edge !== undefined) this.recordEdge(edge, idx, c);
    else this.overflow.calls++;
    if (c.callerKey !== undefined && !c.virtual && c.calleeOperation !== null) {
      const callee = this.ops.get(c.calleeKey);
      if (callee !== undefined) {
        addCaller(callee, c.callerKey);
        // Its own failure was counted where its span ended; if that bucket is gone, so is the failure's window.
        if (c.absorbed) {
          const cb = callee.ring.get(idx);
          if (cb !== undefined) cb.absorbed++;
        }
      }
    }
    // A consumer's messages come from the requests that send them: its drop traces back to theirs (through
    // the trace, or the destination both name when the consumer records its messages in traces of its own).
    if (c.callerKey !== undefined && c.consumerKey !== undefined) this.linkConsumer(c.consumerKey, c.callerKey);
    if (c.callerKey !== undefined && c.span.kind === 'producer') this.destinations.note(c.span, c.callerKey, true, this.linkConsumer);
    if (!c.virtual) return;
    // An uninstrumented peer (database, cache): the client span is all we know of it.
    const op = this.op(c.calleeKey, c.calleeService, c.calleeOperation ?? '', 'peer');
    if (!op.addressRead) {
      op.addressRead = true;
      op.address = peerAddress(c.span);
    }
    if (c.callerKey !== undefined) addCaller(op, c.callerKey);
    const b = this.touch(op, idx);
    const end = c.span.endTime;
    if (c.error) {
      if (end > op.lastErrorAt) op.lastErrorAt = end;
      b.errors++;
      if (c.absorbed) b.absorbed++;
      addExemplar((b.errorTraces ??= []), c.span.traceId);
      b.errorMessage = errorMessage(c.span) ?? b.errorMessage;
    } else {
      const n = this.latencyPer(c.span);
      // A slow call is the example a peer's slowdown gives (its requests have no slow-origin analysis of their own).
      if (n > 0 && this.recordLatency(op, b, c.duration / n, c.duration / n, c.span)) {
        b.addSlow(c.span.traceId, c.duration);
        b.slow++;
        countOrigin((b.slowOrigins ??= new Map()), this.slowCallOrigin(op, c, n));
      }
      b.okRequests++;
      if (end > op.lastOkAt) op.lastOkAt = end;
    }
  }

  /**
   * Where a peer's slow call `c` went slow: its caller's own event loop when held meanwhile for at least half
   * the call's extra wait (a saturated process reads every answer late: see TraceContext.loopDelay); for a
   * wait for a pooled connection, the statement whose long call held one for at least half that wait (see
   * TraceContext.heldDuring); else the peer itself. A statement's long call is noted as held.
   */
  private slowCallOrigin(op: OpState, c: CallFact, n: number): Origin {
    const extra = c.duration / n - op.latency.detector.baseline.typical;
    const loop = this.ctx.loopDelay(c.callerService, c.span.startTime, c.span.endTime, c.calleeService);
    if (loop !== undefined && 2 * loop.ms >= extra) return { service: c.callerService, operation: EVENT_LOOP_OPERATION, key: loop.key, kind: 'latency' };
    if (isPoolWait(op.operation)) {
      // A wait for a pooled connection waited for what held the connections meanwhile.
      const held = this.ctx.heldDuring(c.callerService, c.calleeService, c.span.startTime, c.span.endTime);
      const holder = held !== undefined && 2 * held.ms >= extra ? this.ops.get(held.key) : undefined;
      if (holder !== undefined) return ownOrigin(holder);
    } else if (extra >= LOOP_MIN_SHIFT_MS) this.ctx.noteHeld(c.callerService, c.calleeService, c.calleeKey, c.span.startTime, c.span.endTime);
    return ownOrigin(op);
  }

  /**
   * Whether a span's latency is a sample: it started after the traced process's cold start
   * (`coldStartUntil`), and no process of its trace was in its first seconds (`instanceWarmupMs`) — a cold
   * callee slows its callers' requests too.
   */
  private warm(span: Span): boolean {
    return !this.coldTrace && span.startTime >= this.options.coldStartUntil;
  }

  /**
   * What a span's latency is a sample of: 0 for none (not {@link warm}, or in a batch's trace but not the
   * batch span itself: it may scale with the batch, or not), else the messages it handled (1, or the batch
   * size: its latency is taken per message, see {@link batchSize}).
   */
  private latencyPer(span: Span): number {
    if (!this.warm(span)) return 0;
    const n = batchSize(span);
    return n > 1 || this.traceBatch === 1 ? n : 0;
  }

  private recordEdge(edge: EdgeState, idx: number, c: CallFact): void {
    const eb = edge.ring.at(idx);
    if (idx > edge.lastIndex) edge.lastIndex = idx;
    if (idx < edge.firstIndex) edge.firstIndex = idx;
    if (c.span.endTime > edge.lastEndAt) edge.lastEndAt = c.span.endTime;
    if (!edge.live) {
      edge.live = true;
      this.liveEdges.add(edge);
    }
    edge.calls++;
    edge.noteCall(c.span.startTime, c.span.endTime, c.span.traceId);
    eb.attempts++;
    if (c.error) {
      edge.errorsTotal++;
      eb.errors++;
    } else if (c.span.endTime > edge.lastOkAt) edge.lastOkAt = c.span.endTime;
    if (c.gaveUp) {
      eb.gaveUp++;
      if (c.calleeOperation !== null) eb.countGiveUp(c.calleeOperation);
      if (c.duration > eb.maxWait) eb.maxWait = c.duration;
      addExemplar(eb.traces, c.span.traceId);
    }
  }

  toJSON(): { operations: OperationSnapshot[]; edges: EdgeSnapshot[] } {
    return {
      operations: [...this.ops.values()].map((op) => ({
        service: op.service,
        operation: op.operation,
        nodeType: op.nodeType,
        latency: op.latency.toJSON(),
        self: op.self.toJSON(),
        errors: op.errors.toJSON(),
        traffic: op.traffic?.toJSON() ?? null,
        shapeSamples: op.shapeSamples,
        served: op.served,
        shapes: [...op.shapes].map(([k, d]) => [k, d.toJSON()]),
        callers: [...op.callers],
        ...(op.queue !== undefined ? { queue: op.queue.toJSON() } : {}),
      })),
      edges: [...this.edges.values()].map((e) => ({
        caller: e.caller,
        callee: e.calleeService,
        virtual: e.virtual,
        calls: e.calls,
        errors: e.errorsTotal,
        timeout: e.timeout.toJSON(),
      })),
    };
  }

  /**
   * A recorder holding a snapshot's operations and edges, nothing live. Throws on a malformed detector
   * state: the caller builds it aside and swaps it in only when the whole snapshot has been read.
   */
  static fromJSON(
    s: { operations: readonly OperationSnapshot[]; edges: readonly EdgeSnapshot[] },
    options: ResolvedOptions,
    peers: PeerTable,
  ): Recorder {
    const r = new Recorder(options, peers);
    for (const o of s.operations) {
      const op = new OpState(opKey(o.service, o.operation), o.service, o.operation, o.nodeType, options, r.spareBuckets);
      op.latency.restore(o.latency);
      op.self.restore(o.self);
      op.errors.restore(o.errors);
      if (o.traffic && op.traffic) op.traffic.restore(o.traffic);
      op.shapeSamples = o.shapeSamples;
      // A snapshot from before `served` was kept: judged as before.
      op.served = o.served ?? true;
      for (const [k, d] of o.shapes) op.shape(k).restore(d);
      for (const c of o.callers) op.callers.add(c);
      if (o.queue !== undefined) (op.queue = op.newQueue()).restore(o.queue);
      r.ops.set(op.key, op);
      if (o.operation === OVERFLOW_OPERATION) {
        r.overflowOps.add(op);
        op.overflow = true;
      } else r.quiet(op);
    }
    for (const e of s.edges) {
      const edge = new EdgeState(edgeKey(e.caller, e.callee), e.caller, e.callee, e.virtual, options);
      edge.calls = e.calls;
      edge.errorsTotal = e.errors;
      // Its calls before the restart are in the totals, not in the buckets: its rate is over the whole window.
      edge.firstIndex = -Infinity;
      edge.timeout.restore(e.timeout);
      r.addEdge(edge);
    }
    return r;
  }
}

/** Busy young operations passed over by one look for a place (see Recorder.evictYoung). */
const YOUNG_LOOKS = 32;
/** Young operations forgotten per bucket at most (see Recorder.evictYoung). */
const YOUNG_PER_BUCKET = 20;

/**
 * Drops a recorded trace entry's references to its spans. The entry itself is garbage now, but something
 * dead in V8's old space may still point at it until the next full GC (an outgrown Map table of the trace
 * buffer does): the young-generation GC then keeps everything it reaches alive and promotes it, so every
 * released span would fill the old space and the heap would peak at several times what the engine holds
 * (the memory benchmark: 350 MB RSS for 60 MB retained).
 */
function releaseSpans(entry: TraceEntry): void {
  entry.spans.length = 0;
  entry.ids = undefined;
}

/** Remembers that `callerKey` calls `op`, up to {@link MAX_CALLERS_PER_OPERATION} callers. */
function addCaller(op: OpState, callerKey: string): void {
  // Calls of an operation mostly come from the caller of the previous one: that needs no Set lookup.
  if (op.lastCaller === callerKey) return;
  op.lastCaller = callerKey;
  if (op.callers.size < MAX_CALLERS_PER_OPERATION || op.callers.has(callerKey)) op.callers.add(callerKey);
}

/**
 * Messages a batch span handled (`messaging.batch.message_count` above 1: a Kafka consumer's batch, a
 * batch publish), else 1. Its latency is taken per message: a batch of 500 takes longer than one of 5,
 * and batch sizes come in bursts, so whole-batch latency would read every burst as a slowdown. The other
 * latencies of its trace are not judged: a bulk INSERT of the batch grows with it, one INSERT per message
 * does not, and nothing says which.
 */
function batchSize(span: Span): number {
  const n = span.attributes?.['messaging.batch.message_count'];
  return typeof n === 'number' && n > 1 && Number.isFinite(n) ? n : 1;
}

/** The largest batch of a trace's messaging spans (consumer or producer, see {@link batchSize}); 1 for none. */
function largestBatch(spans: readonly Span[]): number {
  let most = 1;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.kind === 'consumer' || s.kind === 'producer') most = Math.max(most, batchSize(s));
  }
  return most;
}

/** A peer operation as the origin of its own slow calls, made once. */
function ownOrigin(op: OpState): Origin {
  return (op.ownOrigin ??= { service: op.service, operation: op.operation || null, key: op.key, kind: 'latency' });
}

/** A service's late answers or requests, made when first noted (see Recorder.unsampled). */
function newLateAnswers(): LateAnswers {
  return new LateAnswers();
}

/** A service's share of answers read late, made when first noted (see Recorder.unsampled). */
function newAnswerLag(): AnswerLag {
  return new AnswerLag();
}
