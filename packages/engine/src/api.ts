import type {
  Anomaly,
  AnalyzerSnapshot,
  AnalyzerStats,
  Incident,
  IncidentEvent,
  IncidentFilter,
  IncidentNote,
  IngestResult,
  OperationBaseline,
  OperationMetrics,
  ServiceGraph,
  Span,
} from './types.js';
import type { AnalyzerOptions, ResolvedOptions } from './options.js';
import type { OperationRollup } from './rollup.js';
import type { RootspanError } from './errors.js';
import type { InFlightCall } from './detectors/inflight.js';

/**
 * The streaming analyzer: spans in; baselines, anomalies, root causes and incidents out.
 *
 * Time is event time: it advances with the span end times seen (or {@link AnalyzerOptions.clock}, or
 * {@link Analyzer.advanceTo}); nothing happens on a timer. None of the methods throws on bad input.
 *
 * Listeners (anomaly, incident and rollup alike) each receive their own deep copy, so one may keep or
 * change what it gets without affecting the analyzer or the other listeners. A listener that throws is
 * counted in {@link AnalyzerStats.listenerErrors}; the others still run.
 */
export interface Analyzer {
  /**
   * Feeds finished spans, in any batching and any order within the lateness limit (`maxTraceWaitMs +
   * latenessMs` behind event time; see the README's Limits). Bad, late and far-future spans are counted in
   * {@link stats} by reason and skipped.
   */
  ingest(spans: readonly Span[] | Span): IngestResult;
  /**
   * Reports the calls still open at event time `at` (the OpenTelemetry plugin does, every tick): a call
   * open far past its callee's usual time (the critical latency tier, 20× its p95 at the defaults, at
   * least 1 s; 10 s while unlearned, if made under a request), or still open 1 s after the request that
   * made it ended, got no answer. Judged at each closed window by the caller → callee edge's give-up
   * test, so a hang is detected and blamed on the callee while it lasts, before any of its spans ends.
   * Each report replaces the last (one reporter per analyzer); one older than a bucket is ignored. Does
   * not move event time.
   */
  inFlight(calls: readonly InFlightCall[], at: number): void;
  /** Moves event time forward (never backward) to `t` ms, closing windows and resolving quiet incidents. */
  advanceTo(t: number): void;
  /**
   * End of input (a file replay ends, a process shuts down): processes buffered traces and closes every
   * open window as if the allowed lateness had passed. Event time does not jump further than that.
   */
  flush(): void;
  /**
   * Subscribes to anomaly episodes; returns an unsubscribe function. A listener is called when an
   * episode starts (a new id), and again, with the same id, each time an active episode gets a higher
   * severity than it had. Not for every window that keeps firing. An episode ends once its signal has
   * looked normal in every bucket with requests for `anomalyEndMs` (default 30 s), or nothing fired that
   * long; a deviation after that is a new episode (new id, a new call) and updates or reopens its incident.
   */
  onAnomaly(listener: (anomaly: Anomaly) => void): () => void;
  /** Subscribes to incident lifecycle events; returns an unsubscribe function. */
  onIncident(listener: (event: IncidentEvent) => void): () => void;
  /**
   * Subscribes to per-operation rollups (a minute at the defaults), each batch delivered when its period's
   * last window closes in event time; at {@link flush} the period in progress is delivered as it stands.
   * Returns an unsubscribe function.
   */
  onRollup(listener: (rollups: OperationRollup[]) => void): () => void;
  /** Incidents, newest first. */
  incidents(filter?: IncidentFilter): Incident[];
  incident(id: string): Incident | undefined;
  /** Currently active anomaly episodes. */
  anomalies(): Anomaly[];
  /** RED metrics per operation over the most recent closed window. */
  metrics(): OperationMetrics[];
  baselines(): OperationBaseline[];
  serviceGraph(): ServiceGraph;
  /**
   * Marks an active incident acknowledged, with who did it and why when given (its `acknowledgement`, told
   * to listeners with the `acknowledged` event); returns it, or undefined if unknown.
   */
  acknowledge(id: string, note?: IncidentNote): Incident | undefined;
  /**
   * Resolves an incident by hand, with who did it and how when given (its `resolution`, told to listeners
   * with the `resolved` event); returns it, or undefined if unknown.
   */
  resolve(id: string, note?: IncidentNote): Incident | undefined;
  /** Learned state as plain JSON (baselines, graph, incidents, counters); buffered traces are not included. */
  snapshot(): AnalyzerSnapshot;
  /**
   * Replaces learned state with a snapshot's; buffered traces and open windows are dropped. The whole
   * snapshot is checked first: a {@link RootspanError} (another format version, a malformed field) leaves the analyzer
   * exactly as it was.
   */
  restore(snapshot: AnalyzerSnapshot): void;
  stats(): AnalyzerStats;
  /** Current event time in ms, or null before any span or advanceTo. */
  now(): number | null;
  /**
   * The end times (epoch ms) a span may have to be taken now: ending before `from` it is dropped as `late`
   * (its windows are judged), after `to` as `future` (past the wall clock's skew allowance; Infinity
   * without a `wallClock`). A receiver can refuse such spans on arrival; both bounds only move forward.
   */
  acceptedEnds(): { from: number; to: number };
  /** The options in force, with defaults filled in. */
  readonly options: Readonly<ResolvedOptions>;
}
