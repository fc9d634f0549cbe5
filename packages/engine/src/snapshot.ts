import type { DropCounters } from './types.js';
import type { IncidentManager } from './incidents/manager.js';
import type { ChangeTracker } from './changes.js';
import type { LatencySignalState } from './ops/state.js';

/** Identifies a rootspan analyzer snapshot. */
export const SNAPSHOT_FORMAT = 'rootspan.analyzer';
/** Bumped whenever the snapshot's shape changes incompatibly; restore refuses other versions. */
export const SNAPSHOT_VERSION = 1;

/** Detector state is opaque JSON owned by each detector. */
export type DetectorState = unknown;

/**
 * Everything the analyzer has learned, as plain JSON: write it anywhere (a file, SQLite) and
 * {@link Analyzer.restore} it after a restart. Traces still buffered and the current windows are not
 * included: a restored analyzer starts its windows afresh with its baselines intact.
 */
export interface AnalyzerSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  clock: number | null;
  closed: number | null;
  nextAnomaly: number;
  anomaliesTotal: number;
  operations: Array<{
    service: string;
    operation: string;
    nodeType: 'service' | 'peer';
    latency: LatencySignalState;
    self: LatencySignalState;
    errors: DetectorState;
    traffic: DetectorState | null;
    shapeSamples: number;
    shapes: Array<[string, DetectorState]>;
    callers: string[];
  }>;
  edges: Array<{ caller: string; callee: string; virtual: boolean; calls: number; errors: number; timeout: DetectorState }>;
  peers: Array<{ peer: string; service: string; calls: Array<[string, string]> }>;
  versions: ReturnType<ChangeTracker['toJSON']>;
  incidents: ReturnType<IncidentManager['toJSON']>;
  counters: { ingested: number; accepted: number; tracesProcessed: number; drops: DropCounters };
}
