import { Anomaly, IncidentEvent, AnalyzerOptions, Analyzer, AnalyzerStats, Span, Severity } from '@rootspan/engine';
import { SpanKind, SpanContext, HrTime, SpanStatus, Attributes, Context } from '@opentelemetry/api';
import { ExportResult } from '@opentelemetry/core';

/**
 * Service names for callees by network address, built once from the `peers` option. Keys are a bare
 * address (`10.0.3.7`, `billing.internal`) or `address:port` (`127.0.0.1:4001`, `[::1]:4001`), stored
 * without IPv6 brackets because `server.address` carries none.
 */
type PeerNames = ReadonlyMap<string, string>;
/** What the `peers` option accepts: a plain object or a Map from address to service name. */
type PeersOption = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

/**
 * The SDK objects rootspan receives, typed structurally: only the members it uses. Both OpenTelemetry JS
 * lines hand over objects of this shape — `ReadableSpan` of `@opentelemetry/sdk-trace-base` 2.x and of
 * `@opentelemetry/sdk-trace` 3.x are field-for-field the same here — so rootspan peers on neither SDK
 * package and installs next to either (a hard peer on one line breaks `npm install` for the other).
 */
/** The parts of an SDK `Resource` rootspan reads: the service identity, possibly behind async detectors. */
interface SpanResource {
    readonly attributes: Attributes;
    /** True while async resource detectors (NodeSDK's `host.id`) have not settled. */
    readonly asyncAttributesPending?: boolean;
    waitForAsyncAttributes?(): Promise<void>;
    /** `[key, value]` pairs, merged resources first-wins; a value may still be a promise. */
    getRawAttributes(): ReadonlyArray<readonly [string, unknown]>;
}
/** A span event; rootspan reads `exception` events. */
interface SpanEvent {
    readonly name: string;
    readonly attributes?: Attributes;
}
/** The fields of a finished SDK span (`ReadableSpan`, SDK 2.x and 3.x) that rootspan reads. */
interface FinishedSpan {
    readonly name: string;
    readonly kind: SpanKind;
    readonly spanContext: () => SpanContext;
    /** The parent's context (both lines; SDK 1.x had `parentSpanId` instead). */
    readonly parentSpanContext?: SpanContext;
    readonly startTime: HrTime;
    readonly endTime: HrTime;
    readonly status: SpanStatus;
    readonly attributes: Attributes;
    readonly events: readonly SpanEvent[];
    readonly resource: SpanResource;
}
/** The SpanProcessor contract of both SDK lines, with the ended span typed structurally. */
interface SpanProcessor {
    onStart(span: unknown, parentContext: Context): void;
    onEnd(span: FinishedSpan): void;
    forceFlush(): Promise<void>;
    shutdown(): Promise<void>;
}
/** The SpanExporter contract of both SDK lines, with the spans typed structurally. */
interface SpanExporter {
    export(spans: FinishedSpan[], resultCallback: (result: ExportResult) => void): void;
    shutdown(): Promise<void>;
    forceFlush?(): Promise<void>;
}

/** Counters of the in-flight table, in the processor's `stats().inFlight`. */
interface InFlightStats {
    /** Calls open right now (at most `inFlightSize`). */
    open: number;
    /** Calls not tracked because the table was full (total since start): a hang among them is seen only when it ends. */
    dropped: number;
    /** Calls reported to the analyzer as open for over a second at the last tick. */
    reported: number;
    /** Calls forgotten after {@link MAX_OPEN_MS} open (total): a span never ended is a leak, not a hang. */
    expired: number;
}

/** Called for every incident lifecycle event (`opened`, `updated`, `acknowledged`, `resolved`). */
type IncidentCallback = (event: IncidentEvent) => void | Promise<void>;
/** Called for every anomaly episode the analyzer detects (and each time an episode is re-detected). */
type AnomalyCallback = (anomaly: Anomaly) => void | Promise<void>;
/** Options shared by {@link RootspanSpanProcessor} and {@link RootspanSpanExporter}. */
interface RootspanCommonOptions extends AnalyzerOptions {
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
interface RootspanStore {
    /** `wrap` runs each write: rootspan passes one that suppresses tracing for the store's own I/O. */
    attach(analyzer: Analyzer, options?: {
        wrap?: <T>(fn: () => T) => T;
    }): {
        close(): Promise<void> | void;
    };
}
/** Options of {@link rootspan} and {@link RootspanSpanProcessor}: the common options plus the queue size. */
interface RootspanOptions extends RootspanCommonOptions {
    /** Ended spans waiting to be analysed [4096]; beyond it spans are dropped and counted. */
    queueSize?: number;
    /**
     * Calls (client, producer and database spans) tracked while in flight [4096], so a hang is detected and
     * blamed on the callee before its calls end; beyond it calls are not tracked and counted in
     * `stats().inFlight.dropped`.
     */
    inFlightSize?: number;
}
/** Options of {@link RootspanSpanExporter}. */
interface RootspanExporterOptions extends RootspanCommonOptions {
    /**
     * How far behind the wall clock the live clock holds event time [6000 ms]. Behind a BatchSpanProcessor,
     * spans arrive up to its `scheduledDelayMillis` (default 5000 ms) after they end; advancing event time
     * to "now" would close their windows before they arrive. Raise it if you raised the BSP delay.
     */
    clockLagMs?: number;
}
declare const DEFAULT_QUEUE_SIZE = 4096;
declare const DEFAULT_TICK_MS = 1000;
declare const DEFAULT_CLOCK_LAG_MS = 6000;
declare const DEFAULT_CALLBACK_QUEUE_SIZE = 1024;
declare const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** Counters of a rootspan processor or exporter, for observability of rootspan itself. */
interface RootspanStats {
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
 * An OpenTelemetry SpanProcessor that feeds ended spans straight into a rootspan analyzer, in-process,
 * with no export round trip. Add it next to your exporter's processor; it does not replace it.
 *
 * - `onEnd` (the host's request path) reads the ended span while it is still in the CPU's caches: an
 *   internal span the analyzer learns nothing from is pruned (a few numbers noted), any other is converted
 *   to the engine's span and put in a bounded, preallocated queue; no analysis. A full queue drops and
 *   counts (logged once when dropping starts, once with the total when it ends).
 * - The queue is drained off the request path, in batches: at each tick of the live clock, or on the next
 *   turn once 64 spans wait; in chunks of 256, at most ~1 ms per turn.
 * - A single `unref()`'d timer drains the queue and advances the analyzer's clock every `tickMs`, so
 *   silence, timeouts and auto-resolve work while traffic is idle. rootspan sets no other timer: the
 *   host's event loop is not woken between requests.
 * - Your callbacks run after the analysis, one call per event-loop turn (bounded queue, drops counted):
 *   requests are served between any two calls, and a synchronous callback blocks only for its own run.
 * - No exception from rootspan, the analyzer or your callbacks ever reaches the host; they are counted
 *   in {@link RootspanSpanProcessor.stats}.
 *
 * @example
 * const processor = new RootspanSpanProcessor({ onIncident: (e) => console.log(e.incident.title) });
 * new NodeSDK({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter()), processor] }).start();
 */
declare class RootspanSpanProcessor implements SpanProcessor {
    /** The analyzer spans are fed into (query it for incidents, metrics, the service graph). */
    readonly analyzer: Analyzer;
    private readonly feed;
    private readonly queue;
    private readonly tickMs;
    private readonly peers;
    private readonly drops;
    private readonly pruner;
    private readonly inflight;
    /** Wall time of the last tick (NaN before the first). */
    private lastTickAt;
    /** A drain is queued for the next turn (`setImmediate`). */
    private drainSoon;
    /** A clock tick arrived while spans were still queued: advance once they are in. */
    private advanceDue;
    /** Set when shutdown starts: from then on spans are ignored and the clock is never restarted. */
    private closed;
    private shutdownPromise;
    private readonly drainStep;
    /** @throws TypeError naming the bad option (the only time rootspan throws). */
    constructor(options?: RootspanOptions);
    /**
     * Notes a call (client, producer, or database span) as in flight until its `onEnd`: O(1), no
     * allocation (a slot of a preallocated table), never throws; other spans cost a kind check. Each tick reports the calls still open to the analyzer, which judges hangs
     * from them before they end.
     */
    onStart(span: unknown, parentContext: Context): void;
    /**
     * Prunes the ended span or queues its engine span ({@link EndedSpans}): O(1), never throws, never blocks
     * on analysis. Reading the span now, just after the SDK wrote it, costs a fraction of reading it at the
     * drain a second later, when it has left the CPU's caches.
     */
    onEnd(span: FinishedSpan): void;
    /**
     * Drains on the next turn once a chunk waits (or `soon`: a drain ran out of budget); fewer spans wait
     * for the live clock's next tick, which drains before it advances. No timer of its own: a timer would wake
     * the host's event loop between requests, and on a busy machine each wake-up costs more CPU than the
     * drain it runs (`setImmediate` runs in the same loop iteration as the I/O that ended the span).
     */
    private scheduleDrain;
    /**
     * Ingests queued spans in chunks. In the background (`scheduled`, `tick`) it stops after ~1 ms and
     * reschedules itself, so a backlog never blocks the event loop; for flush/shutdown (`all`) it empties
     * the queue before returning.
     */
    private drain;
    /** Live clock: spans that already ended go in first, then event time moves to now. */
    private tick;
    /** Hands the analyzer the calls open at `now` (an analyzer of your own without `inFlight` gets none). */
    private reportInFlight;
    /**
     * Ingests every queued span (synchronously, in chunks), then resolves once the callback calls this
     * caused have run (one per event-loop turn; their promises are not awaited). Never rejects.
     */
    forceFlush(): Promise<void>;
    /**
     * Drains the queue, lets the analyzer finish (`analyzer.flush()`, which may still deliver incident
     * events to your callbacks), stops the clock, stops listening for new events, lets the callback calls
     * already queued run, and closes the store (waiting `closeTimeoutMs` at most). Idempotent; never rejects. Spans ending
     * afterwards are ignored.
     */
    shutdown(): Promise<void>;
    /** rootspan's own counters plus the analyzer's. */
    stats(): RootspanStats;
}

/**
 * A SpanExporter that ingests spans into a rootspan analyzer, for setups that want rootspan behind
 * their own `BatchSpanProcessor` (batching, sampling, or a `MultiSpanExporter`) instead of the
 * {@link RootspanSpanProcessor}. Export always succeeds: analysis problems are counted in
 * {@link RootspanSpanExporter.stats}, never reported as export failures that a processor would retry or log.
 *
 * Its live clock runs `clockLagMs` behind the wall clock, because a BatchSpanProcessor delivers spans
 * seconds after they end.
 *
 * @example
 * new NodeSDK({ spanProcessors: [new BatchSpanProcessor(new RootspanSpanExporter({ onIncident }))] });
 */
declare class RootspanSpanExporter implements SpanExporter {
    /** The analyzer spans are fed into. */
    readonly analyzer: Analyzer;
    private readonly feed;
    private readonly tickMs;
    private readonly clockLagMs;
    private readonly peers;
    private readonly pruner;
    private closed;
    private closing;
    /** @throws TypeError naming the bad option (the only time rootspan throws). */
    constructor(options?: RootspanExporterOptions);
    /** Converts and ingests the batch, then reports SUCCESS (FAILED only after shutdown, per the SDK contract). */
    export(spans: FinishedSpan[], resultCallback: (result: ExportResult) => void): void;
    /** Spans are ingested during `export`: resolves once the callback calls they caused have run. */
    forceFlush(): Promise<void>;
    /** Stops the clock, lets the analyzer finish (`analyzer.flush()`), detaches callbacks and closes the store. Idempotent. */
    shutdown(): Promise<void>;
    /** rootspan's own counters plus the analyzer's (`queued` and `dropped` are always 0: there is no queue). */
    stats(): RootspanStats;
}

/**
 * Converts a finished OpenTelemetry span into rootspan's span model.
 *
 * - service name/version come from the resource (`service.name`, `service.version`);
 * - the parent is `parentSpanContext.spanId` (SDK 2.x and 3.x; SDK 1.x's `parentSpanId` is gone);
 * - times become epoch milliseconds; status becomes `'unset' | 'ok' | 'error'`;
 * - only {@link ANALYZED_ATTRIBUTES} with scalar values are kept, under their original keys (both the
 *   stable and the legacy HTTP/network conventions are in that list; the engine normalises them);
 * - the last `exception` event contributes `exception.type` / `exception.message` unless the span
 *   already has those attributes;
 * - a client or producer span without `peer.service` gets one from `peers` when its server address (or
 *   `address:port`) is listed there, so a callee reached by IP is named like one reached by host name.
 *
 * @param span a finished span as the SDK hands it to `onEnd` / `export` (either SDK line).
 * @param peers callee names by `address:port` or address (the `peers` option, as a Map).
 * @returns the engine span, or `undefined` when the span has no valid trace/span id (nothing to analyse).
 */
declare function toEngineSpan(span: FinishedSpan, peers?: PeerNames): Span | undefined;

/** Anything with leveled log methods: `console`, pino, winston, bunyan, a Fastify/Nest logger... */
interface LevelLogger {
    info(...args: unknown[]): unknown;
    warn(...args: unknown[]): unknown;
    error(...args: unknown[]): unknown;
}
/** The structured fields logged for each incident event. */
interface IncidentLogFields {
    event: 'rootspan.incident';
    type: IncidentEvent['type'];
    id: string;
    status: string;
    severity: Severity;
    title: string;
    rootCause: {
        service: string;
        operation: string | null;
        kind: string;
        confidence: number;
    };
    explanation: string;
    traceIds: string[];
}
/** The fields {@link consoleIncidentLogger} logs for an event (exported for custom sinks). */
declare function incidentLogFields(e: IncidentEvent): IncidentLogFields;
/**
 * An `onIncident` callback that logs one structured line per incident event.
 *
 * Severity picks the level (low → info, medium → warn, high/critical → error) for `opened` and `updated`;
 * `resolved` and `acknowledged` are good news and log at info. With a structured logger (pino and friends)
 * it calls `logger[level](fields, message)`, pino's argument order; with `console` (the default) it
 * prints `message {json}` on one line so log collectors keep it as one record.
 *
 * @example
 * rootspan({ onIncident: consoleIncidentLogger(pino()) });
 */
declare function consoleIncidentLogger(logger?: LevelLogger): (event: IncidentEvent) => void;

/**
 * @rootspan/otel — rootspan as an OpenTelemetry SDK plugin. Add one SpanProcessor to your NodeSDK and get
 * anomaly detection, root-cause analysis and incidents in-process, next to (not instead of) your exporter.
 */

/**
 * Creates a rootspan span processor and its analyzer.
 *
 * @example
 * const { processor, analyzer } = rootspan({ onIncident: consoleIncidentLogger() });
 * const sdk = new NodeSDK({
 *   spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter()), processor],
 *   instrumentations: [getNodeAutoInstrumentations()],
 * });
 * sdk.start();
 *
 * @param options callbacks, queue and clock settings, and any analyzer option (`bucketMs`, `errors`, ...);
 *   or `analyzer` to bring your own.
 * @throws TypeError naming the first bad option.
 */
declare function rootspan(options?: RootspanOptions): {
    processor: RootspanSpanProcessor;
    analyzer: Analyzer;
};

export { type AnomalyCallback, DEFAULT_CALLBACK_QUEUE_SIZE, DEFAULT_CLOCK_LAG_MS, DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_QUEUE_SIZE, DEFAULT_TICK_MS, type FinishedSpan, type IncidentCallback, type IncidentLogFields, type LevelLogger, type PeerNames, type PeersOption, type RootspanCommonOptions, type RootspanExporterOptions, type RootspanOptions, RootspanSpanExporter, RootspanSpanProcessor, type RootspanStats, type RootspanStore, type SpanEvent, type SpanResource, consoleIncidentLogger, incidentLogFields, rootspan, toEngineSpan };
