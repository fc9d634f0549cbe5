import { LIVE_RESOLVE_AFTER_MS, type Analyzer, type AnalyzerOptions, type Anomaly, type IncidentEvent } from '@rootspan/engine';
import { peerNames, type PeerNames, type PeersOption } from './peers.js';

/** Called for every incident lifecycle event (`opened`, `updated`, `acknowledged`, `resolved`). */
export type IncidentCallback = (event: IncidentEvent) => void | Promise<void>;
/** Called for every anomaly episode the analyzer detects (and each time an episode is re-detected). */
export type AnomalyCallback = (anomaly: Anomaly) => void | Promise<void>;

/** Options shared by {@link RootspanSpanProcessor} and {@link RootspanSpanExporter}. */
export interface RootspanCommonOptions extends AnalyzerOptions {
  /**
   * Incident events. Runs off the analyzer's path, one callback call per event-loop turn (so the host's
   * requests are served between any two calls; a synchronous callback still blocks for its own duration),
   * with tracing suppressed (an HTTP call made here produces no spans that would feed back into rootspan).
   * Exceptions and rejected promises are caught and counted in `callbackErrors`; a promise is not awaited.
   */
  onIncident?: IncidentCallback;
  /** Anomaly episodes; same guarantees as {@link RootspanCommonOptions.onIncident}. */
  onAnomaly?: AnomalyCallback;
  /**
   * Bring your own analyzer (e.g. one restored from a snapshot). Mutually exclusive with analyzer
   * options such as `bucketMs`: pass those to `createAnalyzer` yourself.
   */
  analyzer?: Analyzer;
  /**
   * Period of the live clock [1000 ms]: an `unref()`'d timer calls `analyzer.advanceTo(now)` so silence,
   * timeouts and auto-resolve are noticed while no spans arrive.
   */
  tickMs?: number;
  /**
   * Service names for callees reached by address, e.g. `{ '10.0.3.7:8080': 'billing' }`: a key is a bare
   * address (`10.0.3.7`, `billing.internal`) or `address:port` (`127.0.0.1:4001`, `[::1]:4001`), matched
   * exactly against a client span's `server.address`/`server.port` (or legacy `net.peer.*`), `address:port`
   * first. Applies to client spans without `peer.service`, which it sets. Without it an uninstrumented
   * or not-yet-seen callee reached by IP is named `address:port`.
   */
  peers?: PeersOption;
  /**
   * Keeps the analyzer's baselines, rollups and incident history across restarts, e.g.
   * `sqliteStore({ path: 'rootspan.db' })` from `@rootspan/sqlite`: restored at start, written off the
   * request path, flushed and closed at shutdown.
   */
  store?: RootspanStore;
  /**
   * How long after rootspan is created the process counts as cold [10000 ms; 0: never]. Its first
   * requests are slow for reasons no deploy should be blamed for (module loading, JIT, new connections):
   * requests and calls that start in this window are counted — errors, timeouts and traffic are judged at
   * once, so a bad deploy is still caught — but their latency is neither judged nor learned (the engine's
   * `coldStartUntil`, set to creation time + this). Matters most with `store`, whose restored baselines
   * judge from the first request. Not with `analyzer` (set `coldStartUntil` on it yourself).
   */
  coldStartMs?: number;
  /**
   * Callback calls waiting to run [1024]: events beyond it (callbacks far slower than events arrive) are
   * dropped and counted in `callbacksDropped`.
   */
  callbackQueueSize?: number;
  /**
   * How long `shutdown()` waits for the store's final write and close [5000 ms] before it resolves anyway
   * (counted in `storeErrors`), so a hung store cannot hang the host's exit.
   */
  closeTimeoutMs?: number;
}

/** What `store` takes: something that restores an analyzer and then persists it until closed. */
export interface RootspanStore {
  /** `wrap` runs each write: rootspan passes one that suppresses tracing for the store's own I/O. */
  attach(analyzer: Analyzer, options?: { wrap?: <T>(fn: () => T) => T }): { close(): Promise<void> | void };
}

/** Options of {@link rootspan} and {@link RootspanSpanProcessor}: the common options plus the queue size. */
export interface RootspanOptions extends RootspanCommonOptions {
  /** Ended spans waiting to be analysed [4096]; beyond it spans are dropped and counted. */
  queueSize?: number;
  /**
   * Calls (client, producer and database spans) tracked while in flight [4096], so a hang is detected and
   * blamed on the callee before its calls end; beyond it calls are not tracked and counted in
   * `stats().inFlight.dropped`.
   */
  inFlightSize?: number;
  /**
   * Watch the host's event loop [true]: at each tick, the longest the loop took to come round since the
   * last (Node's native delay histogram, sampling every 20 ms: 20 ms when the loop is free) is a sample
   * of the host service's `event loop` operation, learned and judged like a request's latency. CPU work
   * that blocks the loop delays every request before any span of it starts, so nothing else shows it:
   * a loop blocked for far longer than usual is a latency incident of `<service> event loop`.
   */
  eventLoop?: boolean;
}

/** Options of {@link RootspanSpanExporter}. */
export interface RootspanExporterOptions extends RootspanCommonOptions {
  /**
   * How far behind the wall clock the live clock holds event time [6000 ms]. Behind a BatchSpanProcessor,
   * spans arrive up to its `scheduledDelayMillis` (default 5000 ms) after they end; advancing event time
   * to "now" would close their windows before they arrive. Raise it if you raised the BSP delay.
   */
  clockLagMs?: number;
}

export const DEFAULT_QUEUE_SIZE = 4096;
export const DEFAULT_IN_FLIGHT_SIZE = 4096;
export const DEFAULT_TICK_MS = 1000;
export const DEFAULT_CLOCK_LAG_MS = 6000;
export const DEFAULT_CALLBACK_QUEUE_SIZE = 1024;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
export const DEFAULT_COLD_START_MS = 10_000;

/** rootspan's own options that both the span processor and the exporter take (the rest go to the analyzer). */
const SHARED_KEYS = ['onIncident', 'onAnomaly', 'analyzer', 'tickMs', 'store', 'peers', 'callbackQueueSize', 'closeTimeoutMs', 'coldStartMs'] as const;
/** The span processor's own options: it queues ended spans and tracks calls in flight. */
export const PROCESSOR_KEYS = [...SHARED_KEYS, 'queueSize', 'inFlightSize', 'eventLoop'] as const;
/** The exporter's own options: it sees spans only after the export delay, so its clock lags. */
export const EXPORTER_KEYS = [...SHARED_KEYS, 'clockLagMs'] as const;
/** Options rootspan's OTel layer consumes; everything else is forwarded to `createAnalyzer`. */
const OWN_KEYS = [...PROCESSOR_KEYS, 'clockLagMs'] as const;
type OwnKey = (typeof OWN_KEYS)[number];

/** Own options, validated, with defaults filled in. */
export interface ResolvedOwnOptions {
  onIncident: IncidentCallback | undefined;
  onAnomaly: AnomalyCallback | undefined;
  analyzer: Analyzer | undefined;
  tickMs: number;
  queueSize: number;
  inFlightSize: number;
  eventLoop: boolean;
  clockLagMs: number;
  store: RootspanStore | undefined;
  peers: PeerNames | undefined;
  callbackQueueSize: number;
  closeTimeoutMs: number;
}

const ANALYZER_METHODS = ['ingest', 'advanceTo', 'flush', 'onAnomaly', 'onIncident', 'stats'] as const;

function fail(message: string): never {
  throw new TypeError(`rootspan: ${message}`);
}

function positiveNumber(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    fail(`option ${name} must be a positive finite number (ms), got ${JSON.stringify(v)}`);
  }
  return v;
}

function flag(name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') fail(`option ${name} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function positiveInteger(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`option ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Splits and validates options once, at construction: own options are checked here, the rest is left
 * for `createAnalyzer` (which names any bad or unknown analyzer option). Throws a TypeError.
 */
export function splitOptions(
  options: RootspanOptions & RootspanExporterOptions = {},
  allowed: readonly OwnKey[],
): { own: ResolvedOwnOptions; analyzerOptions: AnalyzerOptions } {
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  const analyzerOptions: Record<string, unknown> = {};
  for (const key of Object.keys(options)) {
    if ((OWN_KEYS as readonly string[]).includes(key)) {
      if (!allowed.includes(key as OwnKey) && (options as Record<string, unknown>)[key] !== undefined) {
        fail(`option ${key} does not apply here`);
      }
    } else {
      analyzerOptions[key] = (options as Record<string, unknown>)[key];
    }
  }
  for (const name of ['onIncident', 'onAnomaly'] as const) {
    const cb = options[name];
    if (cb !== undefined && typeof cb !== 'function') fail(`option ${name} must be a function`);
  }
  const analyzer = options.analyzer;
  if (analyzer !== undefined) {
    if (typeof analyzer !== 'object' || analyzer === null) fail('option analyzer must be an Analyzer (createAnalyzer())');
    for (const m of ANALYZER_METHODS) {
      if (typeof (analyzer as unknown as Record<string, unknown>)[m] !== 'function') {
        fail(`option analyzer must be an Analyzer (createAnalyzer()): it has no ${m}() method`);
      }
    }
    const extra = Object.keys(analyzerOptions).filter((k) => analyzerOptions[k] !== undefined);
    if (extra.length > 0) {
      fail(`analyzer options (${extra.join(', ')}) cannot be combined with option analyzer; pass them to createAnalyzer()`);
    }
  }
  const coldStartMs = options.coldStartMs === 0 ? 0 : positiveNumber('coldStartMs', options.coldStartMs, DEFAULT_COLD_START_MS);
  if (options.coldStartMs !== undefined && (analyzer !== undefined || options.coldStartUntil !== undefined)) {
    fail(`option coldStartMs cannot be combined with option ${analyzer !== undefined ? 'analyzer' : 'coldStartUntil'}`);
  }
  // Traffic is watched live: an incident resolves about a minute after its fault stops, as on the server.
  if (analyzer === undefined) analyzerOptions.resolveAfterMs ??= LIVE_RESOLVE_AFTER_MS;
  // This process started now: the engine, which knows only span times, is told until when it is cold.
  if (analyzer === undefined && coldStartMs > 0 && options.coldStartUntil === undefined) analyzerOptions.coldStartUntil = Date.now() + coldStartMs;
  if (options.store !== undefined && typeof (options.store as Partial<RootspanStore>)?.attach !== 'function') {
    fail('option store must be a store such as sqliteStore({ path }) from @rootspan/sqlite');
  }
  const own: ResolvedOwnOptions = {
    onIncident: options.onIncident,
    onAnomaly: options.onAnomaly,
    analyzer,
    tickMs: positiveNumber('tickMs', options.tickMs, DEFAULT_TICK_MS),
    queueSize: positiveInteger('queueSize', options.queueSize, DEFAULT_QUEUE_SIZE),
    inFlightSize: positiveInteger('inFlightSize', options.inFlightSize, DEFAULT_IN_FLIGHT_SIZE),
    eventLoop: flag('eventLoop', options.eventLoop, true),
    clockLagMs: options.clockLagMs === 0 ? 0 : positiveNumber('clockLagMs', options.clockLagMs, DEFAULT_CLOCK_LAG_MS),
    store: options.store,
    peers: peerNames(options.peers),
    callbackQueueSize: positiveInteger('callbackQueueSize', options.callbackQueueSize, DEFAULT_CALLBACK_QUEUE_SIZE),
    closeTimeoutMs: positiveNumber('closeTimeoutMs', options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS),
  };
  return { own, analyzerOptions: analyzerOptions as AnalyzerOptions };
}
