import type { AnalyzerSnapshot, DropCounters, EdgeSnapshot, IncidentRecordSnapshot, OperationSnapshot, PeerSnapshot } from './types.js';
import type { ResolvedOptions } from './options.js';
import { RootspanError } from './errors.js';
import { ChangeTracker } from './changes.js';
import { PeerTable } from './ops/peers.js';
import { Recorder } from './ops/recorder.js';
import { Episodes, type EpisodeListeners } from './incidents/episodes.js';

/** Identifies a rootspan analyzer snapshot ({@link AnalyzerSnapshot.format}). */
export const SNAPSHOT_FORMAT = 'rootspan.analyzer' satisfies AnalyzerSnapshot['format'];
/** Bumped whenever the snapshot's shape changes incompatibly; restore refuses other versions. */
export const SNAPSHOT_VERSION = 1;

/** The stages whose learned state a snapshot holds. */
export interface LearnedState {
  recorder: Recorder;
  changes: ChangeTracker;
  episodes: Episodes;
}

/** The face's own part of a snapshot: its clock and counters. */
export interface FaceState {
  clock: number | null;
  closed: number;
  counters: AnalyzerSnapshot['counters'];
}

/** Everything learned, as plain JSON (see {@link AnalyzerSnapshot}). */
export function takeSnapshot(st: LearnedState, face: FaceState): AnalyzerSnapshot {
  const { operations, edges } = st.recorder.toJSON();
  const { nextAnomaly, anomaliesTotal, incidents } = st.episodes.toJSON();
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    clock: face.clock,
    closed: face.closed === -Infinity ? null : face.closed,
    nextAnomaly,
    anomaliesTotal,
    operations,
    edges,
    peers: st.recorder.peers.toJSON(),
    versions: st.changes.toJSON(),
    incidents,
    counters: face.counters,
  };
}

/**
 * New stages holding a snapshot's state. The whole snapshot is checked and every stage built aside
 * before anything is returned: a {@link RootspanError} here leaves the caller's analyzer untouched, and
 * the caller swaps all stages at once.
 */
export function restoreStages(s: AnalyzerSnapshot, options: ResolvedOptions, listeners: EpisodeListeners): LearnedState {
  checkSnapshot(s);
  const recorder = Recorder.fromJSON(s, options, PeerTable.fromJSON(s.peers, options.maxOperations));
  const changes = new ChangeTracker(options.maxOperations);
  changes.restore(s.versions);
  const episodes = new Episodes(options, recorder, changes, listeners);
  episodes.manager.restore(s.incidents);
  episodes.nextAnomaly = s.nextAnomaly;
  episodes.anomaliesTotal = s.anomaliesTotal;
  return { recorder, changes, episodes };
}

/**
 * A snapshot's drop counters, for the reasons this engine counts: a reason an older engine counted and
 * this one does not (`cardinality`, now overflow; `traceBuffer`, never incremented) is left out.
 */
export function restoredDrops(s: AnalyzerSnapshot, into: DropCounters): DropCounters {
  const out = { ...into };
  for (const k of Object.keys(out) as Array<keyof DropCounters>) {
    const v = s.counters.drops[k];
    out[k] = Number.isFinite(v) ? v : 0;
  }
  return out;
}

/**
 * Checks a snapshot's shape before anything is restored from it, naming the first problem (detector states
 * are checked by their detectors as they are rebuilt, still before anything is replaced).
 */
function checkSnapshot(s: AnalyzerSnapshot): void {
  if (s === null || typeof s !== 'object' || s.format !== SNAPSHOT_FORMAT) {
    throw new RootspanError('ERR_SNAPSHOT_FORMAT', 'not a rootspan analyzer snapshot');
  }
  if (s.version !== SNAPSHOT_VERSION) {
    throw new RootspanError('ERR_SNAPSHOT_VERSION', `snapshot version ${s.version} is not supported (expected ${SNAPSHOT_VERSION})`);
  }
  const fail = (what: string): never => {
    throw new RootspanError('ERR_SNAPSHOT_MALFORMED', `malformed snapshot: ${what}`);
  };
  const finite = (x: unknown, what: string) => Number.isFinite(x) || fail(`${what} must be a finite number`);
  const list = (x: unknown, what: string): unknown[] => (Array.isArray(x) ? x : fail(`${what} must be an array`));
  const text = (x: unknown, what: string) => typeof x === 'string' || fail(`${what} must be a string`);
  if (s.clock !== null) finite(s.clock, 'clock');
  if (s.closed !== null) finite(s.closed, 'closed');
  finite(s.nextAnomaly, 'nextAnomaly');
  finite(s.anomaliesTotal, 'anomaliesTotal');
  list(s.operations, 'operations').forEach((o, i) => {
    const op = o as OperationSnapshot;
    text(op?.service, `operations[${i}].service`);
    text(op.operation, `operations[${i}].operation`);
    if (op.nodeType !== 'service' && op.nodeType !== 'peer') fail(`operations[${i}].nodeType must be service or peer`);
    finite(op.shapeSamples, `operations[${i}].shapeSamples`);
    if (op.served !== undefined && typeof op.served !== 'boolean') fail(`operations[${i}].served must be a boolean`);
    list(op.shapes, `operations[${i}].shapes`).forEach((x, j) => text((x as unknown[])?.[0], `operations[${i}].shapes[${j}][0]`));
    list(op.callers, `operations[${i}].callers`).forEach((x, j) => text(x, `operations[${i}].callers[${j}]`));
  });
  list(s.edges, 'edges').forEach((e, i) => {
    const edge = e as EdgeSnapshot;
    text(edge?.caller, `edges[${i}].caller`);
    text(edge.callee, `edges[${i}].callee`);
    finite(edge.calls, `edges[${i}].calls`);
    finite(edge.errors, `edges[${i}].errors`);
  });
  list(s.peers, 'peers').forEach((p, i) => {
    const peer = p as PeerSnapshot;
    text(peer?.peer, `peers[${i}].peer`);
    text(peer.service, `peers[${i}].service`);
    list(peer.calls, `peers[${i}].calls`);
  });
  list(s.versions, 'versions');
  if (s.incidents === null || typeof s.incidents !== 'object') fail('incidents must be an object');
  finite(s.incidents.nextId, 'incidents.nextId');
  list(s.incidents.records, 'incidents.records').forEach((r, i) => {
    const rec = r as IncidentRecordSnapshot;
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
