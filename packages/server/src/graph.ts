import type { ServiceGraph } from '@rootspan/engine';
import type { ServiceHealth } from './health.js';

export interface ApiGraph {
  /** Instrumented services, with their operations and health. */
  services: Array<{ name: string; operations: string[]; anomalous: boolean; health: number | null }>;
  /** Dependencies seen only from their callers' client spans (databases, external APIs, uninstrumented services). */
  peers: Array<{ name: string; anomalous: boolean }>;
  /**
   * Calls from one service to another. `rate` (calls/s) and `errorRate` are over the last minute of event time
   * (the closed buckets `/aiops/metrics` covers; since the edge was first seen if that is later), null until
   * a call of the edge is in a closed bucket; `calls`/`errors` are totals since start.
   */
  edges: Array<{ from: string; to: string; calls: number; errors: number; rate: number | null; errorRate: number | null; anomalous: boolean }>;
  /** Event time the rates are measured over at most, ms (null before the first bucket closed). */
  rateWindowMs: number | null;
}

/**
 * The API's graph: the engine's graph with each edge's rate over its recent window, in event time (so a
 * replay shows the rates the traffic had, however fast it is fed), and service health.
 */
export function apiGraph(graph: ServiceGraph, health: readonly ServiceHealth[]): ApiGraph {
  const scores = new Map(health.map((h) => [h.name, h.health]));
  const window = graph.window;
  return {
    services: graph.nodes
      .filter((n) => n.type === 'service')
      .map((n) => ({ name: n.service, operations: n.operations, anomalous: n.anomalous, health: scores.get(n.service) ?? null })),
    peers: graph.nodes.filter((n) => n.type === 'peer').map((n) => ({ name: n.service, anomalous: n.anomalous })),
    edges: graph.edges.map((e) => {
      const recent = e.recent;
      const measured = window !== null && recent !== null && recent.calls > 0 && window.end > recent.since;
      return {
        from: e.from,
        to: e.to,
        calls: e.calls,
        errors: e.errors,
        rate: measured ? recent.calls / ((window.end - recent.since) / 1000) : null,
        errorRate: measured ? recent.errors / recent.calls : null,
        anomalous: e.anomalous,
      };
    }),
    rateWindowMs: window === null ? null : window.end - window.start,
  };
}
