/**
 * @rootspan/engine — spans in; baselines, anomalies, root causes and incidents out.
 * Pure TypeScript, zero dependencies, no timers, no I/O: time is the spans' own (event time).
 *
 * Every export is named here; modules not listed are internal and may change in any release.
 */
export { createAnalyzer } from './analyzer.js';
export type { Analyzer } from './api.js';
export { IN_FLIGHT_MIN_MS, type InFlightCall } from './detectors/inflight.js';
export { errorSeverity } from './detectors/errors.js';
export { timeoutSeverity } from './detectors/timeout.js';
export { queueSeverity, QUEUE_SEVERITY_MS } from './detectors/queue.js';
export { RootspanError, type RootspanErrorCode } from './errors.js';
export { MAX_TIME_MS, MAX_FUTURE_SKEW_MS, FUTURE_RUN, CLOCK_JUMP_MS, OVERFLOW_OPERATION, MAX_OVERFLOW_SERVICES, MAX_NAME_LENGTH, MAX_PATH_OPERATIONS, MAX_INSTANCES, MAX_SENT, MAX_LINKS } from './limits.js';
export { cut as cutToNameLength } from './model/bound.js';
export { label as operationLabel } from './rca/format.js';
export { EVENT_LOOP_OPERATION, LOOP_CPU_ATTRIBUTE, LOOP_HOST_LOAD_ATTRIBUTE, LOOP_MIN_SHIFT_MS, LOOP_STALL_MS } from './model/loop.js';
export { ANALYZED_ATTRIBUTES, ANALYZED_ATTRIBUTE_KEYS, INCIDENT_STORY_MAX } from './types.js';
export type {
  SpanKind,
  SpanStatus,
  AttributeValue,
  Span,
  SpanLink,
  Severity,
  AnomalyKind,
  AnomalySignal,
  OperationRef,
  Anomaly,
  Candidate,
  ChangeEvent,
  RootCause,
  IncidentStatus,
  Incident,
  IncidentEvent,
  IncidentFilter,
  IncidentNote,
  IncidentStoryEntry,
  OperationMetrics,
  OperationBaseline,
  ServiceGraph,
  DropCounters,
  AnalyzerStats,
  IngestResult,
  AnalyzerSnapshot,
  OperationSnapshot,
  EdgeSnapshot,
  PeerSnapshot,
  VersionsSnapshot,
  IncidentsSnapshot,
  IncidentRecordSnapshot,
  RankedOrigin,
  LatencySignalSnapshot,
  QueueWaitSnapshot,
  DetectorState,
} from './types.js';
export { DEFAULT_BASELINE, DEFAULT_LATENCY, DEFAULT_ERRORS, DEFAULT_TRAFFIC, DEFAULT_TIMEOUT, DEFAULT_SHAPE, LIVE_RESOLVE_AFTER_MS } from './options.js';
export type {
  AnalyzerOptions,
  ResolvedOptions,
  BaselineOptions,
  LatencyOptions,
  ErrorOptions,
  TrafficOptions,
  TimeoutOptions,
  ShapeOptions,
} from './options.js';
export { SNAPSHOT_FORMAT, SNAPSHOT_VERSION } from './snapshot.js';
export { ROLLUP_MS } from './rollup.js';
export type { OperationRollup } from './rollup.js';
export type {
  AnalyzerStore,
  Awaitable,
  IncidentChange,
  IncidentHistoryEntry,
  IncidentTimeline,
  IncidentPage,
  IncidentQuery,
  RollupQuery,
  RollupSeries,
  StoreBatch,
} from './store.js';
export { eventNote, incidentChange } from './store.js';
export { serverOperation, clientOperation, calledPath, peerName, foldPath, isPoolWait } from './model/operation.js';
// The streaming detectors, each usable on its own series (see the README).
export type { Verdict } from './detectors/verdict.js';
export { LatencyDetector, logWindowOf, latencyTiers, latencySeverity, describeLatencyTiers, type LogWindow, type LatencyTiers } from './detectors/latency.js';
export { ErrorRateDetector } from './detectors/errors.js';
export { TrafficDetector, type TrafficVerdict } from './detectors/traffic.js';
export { TimeoutDetector } from './detectors/timeout.js';
export { CallShapeDetector, type ShapeVerdict } from './detectors/shape.js';
export { LatencySketch, type LatencySketchJSON } from './stats/sketch.js';
export { binomialSf, poissonSf } from './stats/special.js';
export { zScore, iqrFences, type IqrFences } from './stats/robust.js';
// The detectors' serialised states (their toJSON output).
export type { LogBaselineJSON, ProportionBaselineJSON, RateBaselineJSON, ShareBaselineJSON } from './stats/baseline.js';
