import type { Anomaly, Incident, IncidentStatus, OperationRef, Severity } from '@rootspan/engine';

/** One receiver's incident as stored. */
export interface StoredIncident {
  receiver: string;
  incident: Incident;
}

/** An incident seen by one or more receivers, merged: the fields of {@link Incident} plus who saw it. */
export interface MergedIncident extends Incident {
  /** Receivers that detected it. */
  receivers: string[];
  /** The receivers' own incidents, as `<receiver>:<id>`. */
  members: string[];
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const STATUS_RANK: Record<IncidentStatus, number> = { resolved: 0, acknowledged: 1, active: 2 };
const MAX_TRACE_IDS = 10;

/** Incidents with the same root cause (service, operation, kind) are one incident when their lifetimes overlap or touch within `gapMs`. */
export const rootKey = (inc: Incident): string => `${inc.rootCause.service}\u0000${inc.rootCause.operation ?? ''}\u0000${inc.rootCause.kind}`;

/**
 * Merges the incidents of several receivers. Each receiver sees only the traces routed to it (by trace id),
 * so one outage is detected by each of them: same root cause, overlapping in time. The merged incident
 * takes the earliest opening, the worst severity, the most confident root cause, every affected operation
 * and anomaly, and is active while any member is. Its id is its earliest member's, `<receiver>:<id>`.
 * An incident a receiver merged into another of its own (`resolvedBy: 'merged'`) is left out when that one
 * is among the rows.
 */
export function mergeIncidents(rows: readonly StoredIncident[], gapMs: number): MergedIncident[] {
  const groups = new Map<string, StoredIncident[]>();
  const held = new Set(rows.map((r) => `${r.receiver}\u0000${r.incident.id}`));
  for (const row of rows) {
    // One its receiver merged into another of its own is part of that one (its anomalies went on there).
    const into = row.incident.mergedInto;
    if (into !== undefined && held.has(`${row.receiver}\u0000${into}`)) continue;
    const key = rootKey(row.incident);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(row);
  }
  const merged: MergedIncident[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => a.incident.openedAt - b.incident.openedAt);
    let cluster: StoredIncident[] = [];
    let end = -Infinity;
    for (const row of group) {
      if (cluster.length > 0 && row.incident.openedAt > end + gapMs) {
        merged.push(mergeOne(cluster));
        cluster = [];
        end = -Infinity;
      }
      cluster.push(row);
      end = Math.max(end, row.incident.resolvedAt ?? Infinity);
    }
    if (cluster.length > 0) merged.push(mergeOne(cluster));
  }
  return merged.sort((a, b) => b.openedAt - a.openedAt);
}

function mergeOne(cluster: StoredIncident[]): MergedIncident {
  const first = cluster[0];
  const incs = cluster.map((r) => r.incident);
  const best = incs.reduce((a, b) => (b.rootCause.confidence > a.rootCause.confidence ? b : a));
  const status = incs.reduce<IncidentStatus>((s, i) => (STATUS_RANK[i.status] > STATUS_RANK[s] ? i.status : s), 'resolved');
  const severity = incs.reduce<Severity>((s, i) => (SEVERITY_RANK[i.severity] > SEVERITY_RANK[s] ? i.severity : s), 'low');
  const acknowledged = incs.map((i) => i.acknowledgedAt).filter((t): t is number => t !== null);
  const lastResolved = incs.reduce((a, b) => ((b.resolvedAt ?? -Infinity) > (a.resolvedAt ?? -Infinity) ? b : a));
  return {
    id: `${first.receiver}:${first.incident.id}`,
    status,
    severity,
    title: best.title,
    openedAt: Math.min(...incs.map((i) => i.openedAt)),
    updatedAt: Math.max(...incs.map((i) => i.updatedAt)),
    acknowledgedAt: status === 'active' || acknowledged.length === 0 ? null : Math.min(...acknowledged),
    resolvedAt: status === 'resolved' ? lastResolved.resolvedAt : null,
    resolvedBy: status === 'resolved' ? lastResolved.resolvedBy : null,
    rootCause: best.rootCause,
    candidates: best.candidates,
    affected: unique(incs.flatMap((i) => i.affected), (o: OperationRef) => `${o.service}\u0000${o.operation}`),
    anomalies: latestPerEpisode(incs.flatMap((i) => i.anomalies)),
    traceIds: unique(incs.flatMap((i) => i.traceIds), (t) => t).slice(0, MAX_TRACE_IDS),
    receivers: unique(cluster.map((r) => r.receiver), (r) => r),
    members: cluster.map((r) => `${r.receiver}:${r.incident.id}`),
  };
}

function unique<T>(list: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return list.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The same signal on the same operation, seen by several receivers, is one anomaly: its latest state. */
function latestPerEpisode(anomalies: readonly Anomaly[]): Anomaly[] {
  const byKey = new Map<string, Anomaly>();
  for (const a of anomalies) {
    const key = `${a.service}\u0000${a.operation}\u0000${a.signal}\u0000${a.caller?.service ?? ''}\u0000${a.callee?.service ?? ''}\u0000${a.callee?.operation ?? ''}`;
    const seen = byKey.get(key);
    if (seen === undefined || a.at > seen.at) byKey.set(key, seen === undefined ? a : { ...a, firstAt: Math.min(a.firstAt, seen.firstAt) });
  }
  return [...byKey.values()].sort((a, b) => a.firstAt - b.firstAt);
}
