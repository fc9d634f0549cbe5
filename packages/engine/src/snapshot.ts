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

/**
 * Checks a snapshot's shape before anything is restored from it, naming the first problem (detector states
 * are checked by their detectors as they are rebuilt, still before anything is replaced).
 */
export function checkSnapshot(s: AnalyzerSnapshot): void {
  if (s === null || typeof s !== 'object' || s.format !== SNAPSHOT_FORMAT) {
    throw new TypeError('rootspan: not a rootspan analyzer snapshot');
  }
  if (s.version !== SNAPSHOT_VERSION) {
    throw new TypeError(`rootspan: snapshot version ${s.version} is not supported (expected ${SNAPSHOT_VERSION})`);
  }
  const fail = (what: string): never => {
    throw new TypeError(`rootspan: malformed snapshot: ${what}`);
  };
  const finite = (x: unknown, what: string) => Number.isFinite(x) || fail(`${what} must be a finite number`);
  const list = (x: unknown, what: string): unknown[] => (Array.isArray(x) ? x : fail(`${what} must be an array`));
  const text = (x: unknown, what: string) => typeof x === 'string' || fail(`${what} must be a string`);
  if (s.clock !== null) finite(s.clock, 'clock');
  if (s.closed !== null) finite(s.closed, 'closed');
  finite(s.nextAnomaly, 'nextAnomaly');
  finite(s.anomaliesTotal, 'anomaliesTotal');
  list(s.operations, 'operations').forEach((o, i) => {
    const op = o as AnalyzerSnapshot['operations'][number];
    text(op?.service, `operations[${i}].service`);
    text(op.operation, `operations[${i}].operation`);
    if (op.nodeType !== 'service' && op.nodeType !== 'peer') fail(`operations[${i}].nodeType must be service or peer`);
    finite(op.shapeSamples, `operations[${i}].shapeSamples`);
    list(op.shapes, `operations[${i}].shapes`).forEach((x, j) => text((x as unknown[])?.[0], `operations[${i}].shapes[${j}][0]`));
    list(op.callers, `operations[${i}].callers`).forEach((x, j) => text(x, `operations[${i}].callers[${j}]`));
  });
  list(s.edges, 'edges').forEach((e, i) => {
    const edge = e as AnalyzerSnapshot['edges'][number];
    text(edge?.caller, `edges[${i}].caller`);
    text(edge.callee, `edges[${i}].callee`);
    finite(edge.calls, `edges[${i}].calls`);
    finite(edge.errors, `edges[${i}].errors`);
  });
  list(s.peers, 'peers').forEach((p, i) => {
    const peer = p as AnalyzerSnapshot['peers'][number];
    text(peer?.peer, `peers[${i}].peer`);
    text(peer.service, `peers[${i}].service`);
    list(peer.calls, `peers[${i}].calls`);
  });
  list(s.versions, 'versions');
  if (s.incidents === null || typeof s.incidents !== 'object') fail('incidents must be an object');
  finite(s.incidents.nextId, 'incidents.nextId');
  list(s.incidents.records, 'incidents.records').forEach((r, i) => {
    const rec = r as AnalyzerSnapshot['incidents']['records'][number];
    text(rec?.incident?.id, `incidents.records[${i}].incident.id`);
    list(rec.incident.anomalies, `incidents.records[${i}].incident.anomalies`);
    list(rec.origins, `incidents.records[${i}].origins`);
    finite(rec.lastFiredAt, `incidents.records[${i}].lastFiredAt`);
  });
  const c = s.counters;
  if (c === null || typeof c !== 'object') fail('counters must be an object');
  finite(c.ingested, 'counters.ingested');
  finite(c.accepted, 'counters.accepted');
  finite(c.tracesProcessed, 'counters.tracesProcessed');
  if (c.drops === null || typeof c.drops !== 'object') fail('counters.drops must be an object');
}
