/**
 * @rootspan/engine — spans in; baselines, anomalies, root causes and incidents out.
 * Pure TypeScript, zero dependencies, no timers, no I/O: time is the spans' own (event time).
 */
export { createAnalyzer } from './analyzer.js';
export type { Analyzer, IncidentFilter } from './api.js';
export * from './types.js';
export {
  resolveOptions,
  DEFAULT_BASELINE,
  DEFAULT_LATENCY,
  DEFAULT_ERRORS,
  DEFAULT_TRAFFIC,
  DEFAULT_TIMEOUT,
  DEFAULT_SHAPE,
} from './options.js';
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
export type { AnalyzerSnapshot } from './snapshot.js';
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
export { serverOperation, clientOperation, peerName, foldPath } from './model/operation.js';
export * from './detectors/index.js';
export * from './stats/index.js';
