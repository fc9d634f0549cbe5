/**
 * The persistence contract in the engine's terms. The engine itself does no I/O: a store (SQLite in
 * `@rootspan/sqlite`, PostgreSQL behind a server) implements {@link AnalyzerStore}, and a small wrapper
 * outside the engine feeds it what the analyzer emits, batched and off the request path.
 *
 * Methods may answer synchronously (an embedded database) or with a promise (a database server).
 */
import type { Incident, IncidentEvent, IncidentNote, IncidentStatus, Severity } from './types.js';
import type { IncidentFilter } from './types.js';
import type { AnalyzerSnapshot } from './types.js';
import type { OperationRollup } from './rollup.js';

/** A value now, or later. */
export type Awaitable<T> = T | Promise<T>;

/** One lifecycle change of an incident, with the incident as it stands after the change. */
export interface IncidentChange {
  type: IncidentEvent['type'];
  /** Event time of the change (for `opened`: the incident's openedAt). */
  at: number;
  /** Who acknowledged or resolved it by hand, when known. */
  by?: string;
  incident: Incident;
}

/**
 * The change an incident event stands for, as a store writes it: the event time of the change (the
 * opening, acknowledgement or resolution it tells; else the incident's latest update) and who made it by
 * hand, when the incident says so ({@link eventNote}).
 */
export function incidentChange(event: IncidentEvent): IncidentChange {
  const change: IncidentChange = { type: event.type, at: changeAt(event), incident: event.incident };
  const by = eventNote(event)?.by;
  if (by !== undefined) change.by = by;
  return change;
}

/** The event time of the change an event tells: its opening, acknowledgement or resolution; else the incident's latest update. */
function changeAt(event: IncidentEvent): number {
  const inc = event.incident;
  switch (event.type) {
    case 'opened':
      return inc.openedAt;
    case 'acknowledged':
      return inc.acknowledgedAt ?? inc.updatedAt;
    case 'resolved':
      return inc.resolvedAt ?? inc.updatedAt;
    default:
      return inc.updatedAt;
  }
}

/**
 * The note of the hand that made the change an event tells: the incident's `acknowledgement` for
 * `acknowledged`, its `resolution` for a `resolved` by a user; undefined for every other event.
 */
export function eventNote(event: IncidentEvent): IncidentNote | undefined {
  const inc = event.incident;
  if (event.type === 'acknowledged') return inc.acknowledgement;
  return event.type === 'resolved' && inc.resolvedBy === 'user' ? inc.resolution : undefined;
}

/** One entry of an incident's lifecycle history, oldest first. */
export interface IncidentHistoryEntry {
  type: IncidentEvent['type'];
  /** Event time of the change. */
  at: number;
  /** Who made a manual change, when known. */
  by: string | null;
  /** The incident's status and severity right after the change. */
  status: IncidentStatus;
  severity: Severity;
}

/** One incident with its lifecycle history. */
export interface IncidentTimeline {
  incident: Incident;
  history: IncidentHistoryEntry[];
}

/** Everything written in one atomic step: all of it is committed, or none of it. */
export interface StoreBatch {
  /** The analyzer's learned state, when it is due to be saved (it replaces the previous one). */
  snapshot?: AnalyzerSnapshot;
  /** Closed rollups; a rollup of the same operation and start replaces the earlier one. */
  rollups: readonly OperationRollup[];
  /** Incident changes in the order they happened; each upserts its incident and appends to its history. */
  incidents: readonly IncidentChange[];
}

/** Incidents query: {@link IncidentFilter} plus a time range and paging. */
export interface IncidentQuery extends IncidentFilter {
  /** Incidents open at or after this event time (ms): resolved before it excludes them. */
  from?: number;
  /** Incidents opened before this event time (ms). */
  to?: number;
  /** Page size; stores apply a default and a maximum of their own. */
  limit?: number;
  offset?: number;
}

/** One page of incidents, newest first, and how many match in all. */
export interface IncidentPage {
  incidents: Incident[];
  total: number;
  limit: number;
  offset: number;
}

/** Rollup series query over event time [from, to). */
export interface RollupQuery {
  from: number;
  to: number;
  service?: string;
  /** `METHOD /route` (with `service`, one operation). */
  operation?: string;
}

/** One operation's rollups over a time range, oldest first. */
export interface RollupSeries {
  service: string;
  operation: string;
  nodeType: 'service' | 'peer';
  points: Array<Omit<OperationRollup, 'service' | 'operation' | 'nodeType'>>;
}

/**
 * Where an analyzer's state and history live between restarts. Opening a store that cannot be used
 * (foreign, corrupt or newer file) throws. A write that fails at run time (full disk, read-only file)
 * throws or rejects with nothing of its batch committed: the caller keeps the batch, reports and counts
 * the failure and tries again later, while the analyzer keeps working in memory.
 */
export interface AnalyzerStore {
  /** Where the data lives (a file path, a database name), for messages. */
  readonly location: string;
  /** The last saved snapshot, or undefined for a new store. */
  loadSnapshot(): Awaitable<AnalyzerSnapshot | undefined>;
  /** Saves a snapshot, appends rollups and upserts incidents with their history, in one transaction. */
  write(batch: StoreBatch): Awaitable<void>;
  /** Incidents matching a query, newest first. */
  incidents(query?: IncidentQuery): Awaitable<IncidentPage>;
  /** One incident with its lifecycle history. */
  incident(id: string): Awaitable<IncidentTimeline | undefined>;
  /** Rollup series per operation over a time range. */
  rollups(query: RollupQuery): Awaitable<RollupSeries[]>;
  /** Closes the store; later writes are refused. */
  close(): Awaitable<void>;
}
