import type { Context } from '@opentelemetry/api';
import type { Analyzer, AnalyzerStats, Span } from '@rootspan/engine';
import { EndedSpans } from './ended.js';
import { AnalyzerFeed } from './feed.js';
import { InFlightTable, type InFlightStats } from './inflight.js';
import { LoopDelay } from './loop.js';
import { PROCESSOR_KEYS, splitOptions, type RootspanOptions } from './options.js';
import type { PeerNames } from './peers.js';
import { InternalSpanPruner } from './prune.js';
import { DropCounter } from './queue.js';
import type { FinishedSpan, SpanProcessor } from './sdk.js';

/** Counters of a rootspan processor or exporter, for observability of rootspan itself. */
export interface RootspanStats {
  /** Ended spans waiting in the queue right now, converted, not yet analysed; pruned spans never wait (always 0 for the exporter). */
  queued: number;
  /** Ended spans dropped because the queue was full (total since start). */
  dropped: number;
  /** Callback calls waiting to run (at most `callbackQueueSize`). */
  callbacksQueued: number;
  /** Callback calls dropped because the callback queue was full (total since start). */
  callbacksDropped: number;
  /** Spans handed to the analyzer (total; the analyzer's own counters say which it accepted). */
  ingested: number;
  /**
   * Internal spans left out because the analyzer learns nothing from them: with a parent, not failed, no
   * span below them kept (Express middleware spans, mostly). Spans below one are re-parented past it.
   */
  pruned: number;
  /** Exceptions thrown, or promises rejected, by the user's onIncident/onAnomaly callbacks. */
  callbackErrors: number;
  /** Unexpected exceptions inside rootspan or the analyzer, caught so they never reach the host. */
  internalErrors: number;
  /** The store failed to close, or did not close within `closeTimeoutMs`, at shutdown. */
  storeErrors: number;
  /**
   * Calls open right now, calls not tracked because the in-flight table was full, calls late at the last
   * tick (the span processor only: an exporter never sees a span start).
   */
  inFlight?: InFlightStats;
  /** The analyzer's own counters. */
  analyzer: AnalyzerStats;
}

/**
 * Engine spans handed over per `ingest` call while draining (pruned spans never reach the queue: a small
 * Express app queues one span per request): small enough that one chunk stays well under the budget.
 */
const DRAIN_CHUNK = 256;
/**
 * Spans waiting that make the next turn drain rather than the next tick: below ~1000 kept spans a second,
 * the tick drains. Large batches pay on the host (Express, alternating rounds: at 775 req/s 2.8 % less
 * server CPU per request than at 64, 4 rounds of 4; saturated 1 % more throughput, 5 of 6): the engine's
 * code and tables stay in the caches for a whole batch, and a batch spanning more than the trace wait
 * releases most of its own traces while they are still there.
 */
const DRAIN_AT = 1024;
/** Event-loop samples held while drains run behind (one per tick), at most. */
const MAX_LOOP_SAMPLES = 8;
/** Synchronous work allowed per drain before yielding back to the event loop. */
const DRAIN_BUDGET_MS = 1;
/**
 * The analyzer's `traceIdleMs` in a span processor unless set [100 ms; the engine's 1000 is for spans
 * that come from several processes]. In-process a request's spans have all ended when its server span
 * ends, and a trace missing a parent waits for it whatever this is: the wait only catches stragglers.
 * Held a second, the engine spans of a busy service outlived a scavenge or two and were copied and
 * promoted to V8's old space (callgrind, in-process Express-shaped requests: 18k instructions added per
 * request at 1000 ms, 15k at 100).
 */
const PROCESSOR_TRACE_IDLE_MS = 100;
/**
 * A tick this much later than `tickMs` after the last one means the event loop was blocked. Timers run
 * before I/O callbacks, so answers that arrived meanwhile are not processed yet: their calls would look
 * hung. Such a tick reports no in-flight calls (the next one, on time, does).
 */
const LOOP_BLOCKED_MS = 250;

/**
 * An OpenTelemetry SpanProcessor that feeds ended spans straight into a rootspan analyzer, in-process,
 * with no export round trip. Add it next to your exporter's processor; it does not replace it.
 *
 * - `onEnd` (the host's request path) reads the ended span while it is still in the CPU's caches: an
 *   internal span the analyzer learns nothing from is pruned (a few numbers noted), any other is converted
 *   to the engine's span and put in a bounded, preallocated queue; no analysis. A full queue drops and
 *   counts (logged once when dropping starts, once with the total when it ends).
 * - The queue is drained off the request path, in batches: at each tick of the live clock, or on the next
 *   turn once 1024 spans wait; in chunks of 256, at most ~1 ms per turn.
 * - A single `unref()`'d timer drains the queue and advances the analyzer's clock every `tickMs`, so
 *   silence, timeouts and auto-resolve work while traffic is idle. rootspan sets no other timer (Node's
 *   event-loop sampler, {@link LoopDelay}, runs in C): the host's event loop runs no rootspan JavaScript
 *   between requests.
 * - Your callbacks run after the analysis, one call per event-loop turn (bounded queue, drops counted):
 *   requests are served between any two calls, and a synchronous callback blocks only for its own run.
 * - No exception from rootspan, the analyzer or your callbacks ever reaches the host; they are counted
 *   in {@link RootspanSpanProcessor.stats}.
 *
 * @example
 * const processor = new RootspanSpanProcessor({ onIncident: (e) => console.log(e.incident.title) });
 * new NodeSDK({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter()), processor] }).start();
 */
export class RootspanSpanProcessor implements SpanProcessor {
  /** The analyzer spans are fed into (query it for incidents, metrics, the service graph). */
  readonly analyzer: Analyzer;
  private readonly feed: AnalyzerFeed;
  private readonly queue: EndedSpans;
  private readonly tickMs: number;
  private readonly peers: PeerNames | undefined;
  private readonly drops: DropCounter;
  private readonly pruner = new InternalSpanPruner();
  private readonly inflight: InFlightTable;
  private readonly loop: LoopDelay | undefined;
  /** The loop's samples taken at ticks whose drain has not yet moved event time (see {@link ingestLoopSamples}). */
  private readonly loopSamples: Span[] = [];
  /**
   * The host's service, as its first analysed span named it: the event loop's samples are its (one
   * service, where a process hosts several, so the loop's baseline is one series).
   */
  private service: string | undefined;
  /** Wall time of the last tick (NaN before the first). */
  private lastTickAt = NaN;
  /** A drain is queued for the next turn (`setImmediate`). */
  private drainSoon = false;
  /** A clock tick arrived while spans were still queued: advance once they are in. */
  private advanceDue = false;
  /** Set when shutdown starts: from then on spans are ignored and the clock is never restarted. */
  private closed = false;
  private shutdownPromise: Promise<void> | undefined;
  private readonly drainStep = () => this.drain('scheduled');

  /** @throws TypeError naming the bad option (the only time rootspan throws). */
  constructor(options: RootspanOptions = {}) {
    const { own, analyzerOptions } = splitOptions(options, PROCESSOR_KEYS);
    if (own.analyzer === undefined) analyzerOptions.traceIdleMs ??= PROCESSOR_TRACE_IDLE_MS;
    this.feed = new AnalyzerFeed(own, analyzerOptions, 'span processor');
    this.analyzer = this.feed.analyzer;
    this.queue = new EndedSpans(own.queueSize, own.peers, this.pruner);
    this.drops = new DropCounter(
      () => `rootspan: span queue full (queueSize ${own.queueSize}), dropping spans until it drains`,
      (n) => `rootspan: dropped ${n} spans because the span queue (queueSize ${own.queueSize}) was full`,
    );
    this.tickMs = own.tickMs;
    this.peers = own.peers;
    this.inflight = new InFlightTable(own.inFlightSize);
    this.loop = own.eventLoop ? this.watchLoop() : undefined;
  }

  /** The event loop's sampler; none where the runtime has no delay histogram (counted as an internal error). */
  private watchLoop(): LoopDelay | undefined {
    try {
      return new LoopDelay();
    } catch (err) {
      this.feed.internalError('event loop sampler', err);
      return undefined;
    }
  }

  /**
   * Notes a call (client, producer, or database span) as in flight until its `onEnd`: O(1), no
   * allocation (a slot of a preallocated table), never throws; other spans cost a kind check. Each tick reports the calls still open to the analyzer, which judges hangs
   * from them before they end.
   */
  onStart(span: unknown, parentContext: Context): void {
    if (this.closed) return;
    try {
      // A dependency hung from the start ends no span: the clock must run for its calls to be judged.
      if (this.inflight.add(span as FinishedSpan, parentContext) && !this.feed.clockRunning) this.feed.startClock(this.tickMs, () => this.tick());
    } catch (err) {
      this.feed.internalError('onStart', err);
    }
  }

  /**
   * Prunes the ended span or queues its engine span ({@link EndedSpans}): O(1), never throws, never blocks
   * on analysis. Reading the span now, just after the SDK wrote it, costs a fraction of reading it at the
   * drain a second later, when it has left the CPU's caches.
   */
  onEnd(span: FinishedSpan): void {
    if (this.closed) return;
    try {
      this.inflight.release(span);
      if (this.queue.push(span)) this.drops.accepted();
      else this.drops.drop();
      this.scheduleDrain();
      // Lazily, so a processor that never sees a span never owns a timer.
      if (!this.feed.clockRunning) this.feed.startClock(this.tickMs, () => this.tick());
    } catch (err) {
      this.feed.internalError('onEnd', err);
    }
  }

  /**
   * Drains on the next turn once a chunk waits (or `soon`: a drain ran out of budget); fewer spans wait
   * for the live clock's next tick, which drains before it advances. No timer of its own: a timer would wake
   * the host's event loop between requests, and on a busy machine each wake-up costs more CPU than the
   * drain it runs (`setImmediate` runs in the same loop iteration as the I/O that ended the span).
   */
  private scheduleDrain(soon = false): void {
    if (this.drainSoon) return;
    if (soon || this.queue.length >= DRAIN_AT) {
      this.drainSoon = true;
      setImmediate(this.drainStep);
    }
  }

  /**
   * Ingests queued spans in chunks. In the background (`scheduled`, `tick`) it stops after ~1 ms and
   * reschedules itself, so a backlog never blocks the event loop; for flush/shutdown (`all`) it empties
   * the queue before returning.
   */
  private drain(mode: 'scheduled' | 'tick' | 'all'): void {
    // Only a scheduled drain clears the flag: a tick must not let a second immediate be queued.
    if (mode === 'scheduled') this.drainSoon = false;
    const all = mode === 'all';
    try {
      const start = performance.now();
      while (this.queue.length > 0) {
        const spans = this.queue.take(DRAIN_CHUNK);
        this.service ??= spans[0].service;
        this.feed.ingest(spans);
        if (!all && this.queue.length > 0 && performance.now() - start >= DRAIN_BUDGET_MS) {
          this.scheduleDrain(true);
          return;
        }
      }
      if (this.advanceDue) {
        this.advanceDue = false;
        this.feed.advanceTo(Date.now());
        this.ingestLoopSamples();
      }
    } catch (err) {
      this.feed.internalError('drain', err);
    }
  }

  /** Live clock: spans that already ended go in first, then event time moves to now. */
  private tick(): void {
    const now = Date.now();
    if (!(now - this.lastTickAt > this.tickMs + LOOP_BLOCKED_MS)) this.reportInFlight(now);
    this.lastTickAt = now;
    this.advanceDue = true;
    if (this.loop !== undefined && this.service !== undefined) {
      const sample = this.loop.take(this.service, now);
      if (sample !== undefined) {
        // Drains running this far behind: handed over as they are rather than held without bound.
        if (this.loopSamples.length >= MAX_LOOP_SAMPLES) this.ingestLoopSamples();
        this.loopSamples.push(sample);
      }
    }
    this.drain('tick');
  }

  /**
   * Hands the analyzer the event loop's samples (see {@link LoopDelay}) once event time has moved to the
   * tick that took them: ingested before, a sample ending after a long hold (a paused process) is ahead
   * of the event time the last tick left, and the analyzer moves such a span back as a fast clock's.
   */
  private ingestLoopSamples(): void {
    if (this.loopSamples.length === 0) return;
    this.feed.ingest(this.loopSamples, false);
    this.loopSamples.length = 0;
  }

  /**
   * Hands the analyzer the calls open at `now` (an analyzer of your own without `inFlight` gets none), and
   * first, as failed spans, the calls found refused (see `REFUSED_WITHIN_MS`).
   */
  private reportInFlight(now: number): void {
    if (typeof this.analyzer.inFlight !== 'function') return;
    try {
      const refused: Span[] = [];
      const calls = this.inflight.report(now, this.peers, refused);
      // Under their request's nearest span not pruned, as a span from the queue is (their parent, a
      // handler's span, ended and was pruned: no call under it had been handed over).
      for (const span of refused) this.pruner.keep(span, false);
      for (const call of calls) this.pruner.keep(call.span, false);
      this.feed.ingest(refused);
      this.analyzer.inFlight(calls, now);
    } catch (err) {
      this.feed.internalError('inFlight', err);
    }
  }

  /**
   * Ingests every queued span (synchronously, in chunks), then resolves once the callback calls this
   * caused have run (one per event-loop turn; their promises are not awaited). Never rejects.
   */
  forceFlush(): Promise<void> {
    this.drain('all');
    return this.feed.callbacksIdle();
  }

  /**
   * Drains the queue, lets the analyzer finish (`analyzer.flush()`, which may still deliver incident
   * events to your callbacks), stops the clock, stops listening for new events, lets the callback calls
   * already queued run, and closes the store (waiting `closeTimeoutMs` at most). Idempotent; never rejects. Spans ending
   * afterwards are ignored.
   */
  shutdown(): Promise<void> {
    if (this.shutdownPromise === undefined) {
      this.closed = true;
      try {
        this.feed.stopClock();
        this.loop?.stop();
        this.drain('all');
        this.advanceDue = false;
        // Calls cut short by the exit are no evidence of a hang: shutting down opens nothing.
        this.inflight.clear();
        this.reportInFlight(Date.now());
        this.feed.flush();
        this.feed.detach();
        this.queue.clear();
      } catch (err) {
        this.feed.internalError('shutdown', err);
      }
      this.shutdownPromise = this.feed.callbacksIdle().then(() => this.feed.closeStore());
    }
    return this.shutdownPromise;
  }

  /** rootspan's own counters plus the analyzer's. */
  stats(): RootspanStats {
    return { queued: this.queue.length, dropped: this.drops.total, pruned: this.pruner.pruned, ...this.feed.stats(), inFlight: this.inflight.stats(), analyzer: this.analyzer.stats() };
  }
}
