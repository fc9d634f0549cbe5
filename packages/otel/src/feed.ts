import { context, createContextKey, diag, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { createAnalyzer, type Analyzer, type Span } from '@rootspan/engine';
import { CallbackDispatcher, type CallbackCall } from './dispatch.js';
import type { AnomalyCallback, IncidentCallback, ResolvedOwnOptions } from './options.js';

/**
 * The context rootspan does its own work in. Tracing is suppressed so that nothing rootspan (or a user
 * callback it runs) does — an HTTP webhook, a log shipper — produces spans that feed back into the
 * analyzer. It is rooted at ROOT_CONTEXT rather than `context.active()` because drains and ticks run on
 * behalf of no particular request: whatever request happened to schedule them must not become a parent.
 * It is `@opentelemetry/core`'s `suppressTracing`, written here: its key is the same symbol (`Symbol.for`)
 * in every line.
 */
export const ROOTSPAN_CONTEXT: Context = ROOT_CONTEXT.setValue(createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING'), true);

/** Counters shared by the processor and the exporter. */
export interface FeedCounters {
  ingested: number;
  callbackErrors: number;
  internalErrors: number;
  storeErrors: number;
}

/** The feed's part of `stats()`. */
export interface FeedStats extends FeedCounters {
  callbacksQueued: number;
  callbacksDropped: number;
}

/**
 * Everything between "spans are ready" and the analyzer: calls into the analyzer without letting an
 * exception escape, runs user callbacks safely, and owns the live clock. Used by both the processor and
 * the exporter so they behave the same.
 */
export class AnalyzerFeed {
  readonly analyzer: Analyzer;
  readonly counters: FeedCounters = { ingested: 0, callbackErrors: 0, internalErrors: 0, storeErrors: 0 };
  private readonly callbacks: CallbackDispatcher;
  private readonly closeTimeoutMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly persistence: { close(): Promise<void> | void } | undefined;

  constructor(
    own: ResolvedOwnOptions,
    analyzerOptions: Parameters<typeof createAnalyzer>[0],
    private readonly label: string,
  ) {
    // createAnalyzer validates analyzer options and throws a TypeError naming the bad one: construction
    // is the one place rootspan is allowed to throw.
    this.analyzer = own.analyzer ?? createAnalyzer(analyzerOptions);
    this.callbacks = new CallbackDispatcher(own.callbackQueueSize, (call) => this.runCallback(call), label);
    this.closeTimeoutMs = own.closeTimeoutMs;
    // Restores saved state before any span arrives; throws (construction only) for a file it cannot use.
    this.persistence = own.store?.attach(this.analyzer, { wrap: (fn) => context.with(ROOTSPAN_CONTEXT, fn) });
    if (own.onIncident) this.subscribe('onIncident', own.onIncident);
    if (own.onAnomaly) this.subscribe('onAnomaly', own.onAnomaly);
  }

  /** The analyzer's listener only queues the call: the callback itself runs later, one per turn. */
  private subscribe(name: CallbackCall['name'], cb: IncidentCallback | AnomalyCallback): void {
    const queue = (arg: unknown) => this.callbacks.enqueue({ name, cb: cb as CallbackCall['cb'], arg });
    const off = name === 'onIncident' ? this.analyzer.onIncident(queue) : this.analyzer.onAnomaly(queue);
    if (typeof off === 'function') this.unsubscribe.push(off);
  }

  /**
   * Runs a user callback in rootspan's own context, with tracing suppressed (so an HTTP call it makes does
   * not create spans that come back here). Both a synchronous throw and a rejected promise are counted,
   * never propagated: an async callback's rejection would otherwise be unhandled and could crash the host.
   * Its promise is not awaited: a callback that never settles holds up nothing.
   */
  private runCallback({ name, cb, arg }: CallbackCall): void {
    try {
      const result = context.with(ROOTSPAN_CONTEXT, cb, undefined, arg);
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.callbackError(name, err));
      }
    } catch (err) {
      this.callbackError(name, err);
    }
  }

  /** Resolves once every queued callback call has run (their promises are not awaited). Never rejects. */
  callbacksIdle(): Promise<void> {
    return this.callbacks.idle();
  }

  /** The feed's counters for `stats()`. */
  stats(): FeedStats {
    return { ...this.counters, callbacksQueued: this.callbacks.pending, callbacksDropped: this.callbacks.drops.total };
  }

  private callbackError(name: string, err: unknown): void {
    this.counters.callbackErrors++;
    // First one with the error for the developer; the rest are only counted (a broken callback would
    // otherwise log on every event).
    if (this.counters.callbackErrors === 1) {
      diag.error(`rootspan ${this.label}: ${name} callback failed (further failures are only counted in stats().callbackErrors)`, err);
    }
  }

  /** Records an unexpected exception from rootspan or the analyzer; never throws. */
  internalError(where: string, err: unknown): void {
    this.counters.internalErrors++;
    if (this.counters.internalErrors === 1) {
      diag.error(`rootspan ${this.label}: internal error in ${where} (further ones are only counted in stats().internalErrors)`, err);
    }
  }

  /**
   * Hands spans to the analyzer in rootspan's own (suppressed) context. Never throws. `counted`: false for
   * rootspan's own samples (the event loop's), which are not the host's spans.
   */
  ingest(spans: Span[], counted = true): void {
    if (spans.length === 0) return;
    if (counted) this.counters.ingested += spans.length;
    try {
      context.with(ROOTSPAN_CONTEXT, () => this.analyzer.ingest(spans));
    } catch (err) {
      this.internalError('ingest', err);
    }
  }

  /** Moves the analyzer's event time to `t`. Never throws. */
  advanceTo(t: number): void {
    try {
      context.with(ROOTSPAN_CONTEXT, () => this.analyzer.advanceTo(t));
    } catch (err) {
      this.internalError('advanceTo', err);
    }
  }

  /** End of input: lets the analyzer process what it buffered and close its windows. Never throws. */
  flush(): void {
    try {
      context.with(ROOTSPAN_CONTEXT, () => this.analyzer.flush());
    } catch (err) {
      this.internalError('flush', err);
    }
  }

  /** Starts the live clock once; later calls are no-ops. */
  startClock(tickMs: number, tick: () => void): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      try {
        tick();
      } catch (err) {
        this.internalError('clock tick', err);
      }
    }, tickMs);
    // The live clock must never keep the host process alive.
    this.timer.unref?.();
  }

  stopClock(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether the live clock is running. */
  get clockRunning(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Writes what the store has pending and closes it. Never rejects, and resolves after `closeTimeoutMs` at
   * the latest: a store whose final write hangs must not hang the host's shutdown (and exit) with it.
   */
  async closeStore(): Promise<void> {
    if (this.persistence === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.closeTimeoutMs);
      timer.unref?.();
    });
    try {
      const closing = Promise.resolve().then(() => this.persistence?.close());
      if ((await Promise.race([closing, timedOut])) === 'timeout') {
        this.storeError(new Error(`the store did not close within closeTimeoutMs (${this.closeTimeoutMs} ms); its last writes may be lost`));
      }
    } catch (err) {
      this.storeError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  private storeError(err: unknown): void {
    this.counters.storeErrors++;
    diag.error(`rootspan ${this.label}: closing the store failed`, err);
  }

  /** Stops delivering events to the user's callbacks. */
  detach(): void {
    for (const off of this.unsubscribe.splice(0)) {
      try {
        off();
      } catch (err) {
        this.internalError('unsubscribe', err);
      }
    }
  }
}
