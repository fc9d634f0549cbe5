import type { ServiceGraph } from '@rootspan/engine';
import type { ServiceHealth } from './health.js';

/** Event time a call rate is measured over, when that much history is there. */
const RATE_WINDOW_MS = 60_000;
/** Samples closer together than this (event time) replace each other: memory stays a few dozen samples. */
const SAMPLE_SPACING_MS = 5_000;

interface Sample {
  at: number;
  totals: Map<string, { calls: number; errors: number }>;
}

export interface ApiGraph {
  /** Instrumented services, with their operations and health. */
  services: Array<{ name: string; operations: string[]; anomalous: boolean; health: number | null }>;
  /** Dependencies seen only from their callers' client spans (databases, external APIs, uninstrumented services). */
  peers: Array<{ name: string; anomalous: boolean }>;
  /**
   * Calls from one service to another. `rate` (calls/s) and `errorRate` are over the last minute of event time
   * (or what there is of it), null until two samples exist; `calls`/`errors` are totals since start.
   */
  edges: Array<{ from: string; to: string; calls: number; errors: number; rate: number | null; errorRate: number | null; anomalous: boolean }>;
  /** Event time the rates were measured over, ms. */
  rateWindowMs: number | null;
}

const edgeKey = (from: string, to: string) => `${from}\u0000${to}`;

/**
 * The engine counts calls per edge since start; the API shows rates. This keeps samples of the totals over
 * the last minute or so of event time and differences them.
 */
export class EdgeRates {
  private readonly samples: Sample[] = [];

  /** Records the graph's totals at event time `at`. */
  sample(graph: ServiceGraph, at: number | null): void {
    if (at === null) return;
    const totals = new Map<string, { calls: number; errors: number }>();
    for (const e of graph.edges) totals.set(edgeKey(e.from, e.to), { calls: e.calls, errors: e.errors });
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && at < last.at) return;
    if (last !== undefined && this.samples.length > 1 && at - this.samples[this.samples.length - 2].at < SAMPLE_SPACING_MS) this.samples.pop();
    this.samples.push({ at, totals });
    // Keep one sample at least RATE_WINDOW_MS old, and nothing older than that one.
    while (this.samples.length > 2 && at - this.samples[1].at >= RATE_WINDOW_MS) this.samples.shift();
  }

  /** The API's graph: the engine's graph at event time `at`, with rates and service health. */
  graph(graph: ServiceGraph, at: number | null, health: readonly ServiceHealth[]): ApiGraph {
    this.sample(graph, at);
    const newest = this.samples[this.samples.length - 1];
    const oldest = this.samples[0];
    const span = newest !== undefined && oldest !== newest ? newest.at - oldest.at : 0;
    const scores = new Map(health.map((h) => [h.name, h.health]));
    return {
      services: graph.nodes
        .filter((n) => n.type === 'service')
        .map((n) => ({ name: n.service, operations: n.operations, anomalous: n.anomalous, health: scores.get(n.service) ?? null })),
      peers: graph.nodes.filter((n) => n.type === 'peer').map((n) => ({ name: n.service, anomalous: n.anomalous })),
      edges: graph.edges.map((e) => {
        const then = span > 0 ? (oldest.totals.get(edgeKey(e.from, e.to)) ?? { calls: 0, errors: 0 }) : undefined;
        const calls = then === undefined ? 0 : e.calls - then.calls;
        return {
          from: e.from,
          to: e.to,
          calls: e.calls,
          errors: e.errors,
          rate: then === undefined ? null : calls / (span / 1000),
          errorRate: then === undefined ? null : calls > 0 ? (e.errors - then.errors) / calls : 0,
          anomalous: e.anomalous,
        };
      }),
      rateWindowMs: span > 0 ? span : null,
    };
  }
}
