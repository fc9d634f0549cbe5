import type { Incident, OperationBaseline, OperationMetrics, Severity } from '@rootspan/engine';

/** One service's health, 0 (down) to 100 (as learned normal), with the figures it was computed from. */
export interface ServiceHealth {
  name: string;
  type: 'service' | 'peer';
  health: number;
  /** Errors / requests over the service's operations in the latest window (0 without requests). */
  errorRate: number;
  /** Worst operation's median latency over its learned typical latency (1 when none is judged yet, never below 1). */
  latencyRatio: number;
  /** Id of the worst open incident involving the service, or null. */
  incident: string | null;
}

const INCIDENT_PENALTY: Record<Severity, number> = { low: 10, medium: 20, high: 30, critical: 40 };

/**
 * Health per service (the formula the README states):
 * `100 − min(50, 100 × errorRate) − min(30, 15 × log2(latencyRatio)) − incident`, floored at 0 and rounded,
 * where `errorRate` is errors over requests of the service's operations in the latest window,
 * `latencyRatio` the worst operation's window median over its learned typical latency (at least 1), and
 * `incident` is 10/20/30/40 for the worst open (active or acknowledged) low/medium/high/critical incident
 * whose root cause is the service, and half that when the service is only affected by it.
 */
export function serviceHealth(
  nodes: ReadonlyArray<{ service: string; type: 'service' | 'peer' }>,
  metrics: readonly OperationMetrics[],
  baselines: readonly OperationBaseline[],
  open: readonly Incident[],
): ServiceHealth[] {
  // Medians, not p95s: a window's p95 over a few hundred requests swings with a handful of slow ones.
  const typical = new Map<string, number>();
  for (const b of baselines) if (b.ready && b.latency) typical.set(`${b.service}\u0000${b.operation}`, b.latency.typical);
  const figures = new Map<string, { requests: number; errors: number; ratio: number }>();
  for (const m of metrics) {
    let f = figures.get(m.service);
    if (f === undefined) figures.set(m.service, (f = { requests: 0, errors: 0, ratio: 1 }));
    f.requests += m.requests;
    f.errors += m.errors;
    const base = typical.get(`${m.service}\u0000${m.operation}`);
    if (m.latency && base !== undefined && base > 0) f.ratio = Math.max(f.ratio, m.latency.p50 / base);
  }
  return nodes.map(({ service, type }) => {
    const f = figures.get(service) ?? { requests: 0, errors: 0, ratio: 1 };
    const errorRate = f.requests > 0 ? f.errors / f.requests : 0;
    let penalty = 0;
    let incident: string | null = null;
    for (const inc of open) {
      const root = inc.rootCause.service === service;
      const p = root ? INCIDENT_PENALTY[inc.severity] : inc.affected.some((a) => a.service === service) ? INCIDENT_PENALTY[inc.severity] / 2 : 0;
      if (p > penalty) {
        penalty = p;
        incident = inc.id;
      }
    }
    const score = 100 - Math.min(50, 100 * errorRate) - Math.min(30, 15 * Math.log2(Math.max(1, f.ratio))) - penalty;
    return { name: service, type, health: Math.max(0, Math.round(score)), errorRate, latencyRatio: f.ratio, incident };
  });
}
