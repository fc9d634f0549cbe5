import type { AnalyzerStats, DropCounters, OperationBaseline, OperationMetrics, ServiceGraph } from './types.js';
import type { Recorder } from './ops/recorder.js';
import { RING, windowSketch } from './ops/state.js';
import { opKeyLabel } from './keys.js';

/** RED metrics per operation over the ring ending at the last closed bucket (none before a bucket closed). */
export function metricsOf(rec: Recorder, closed: number, bucketMs: number): OperationMetrics[] {
  const out: OperationMetrics[] = [];
  if (closed === -Infinity) return out;
  for (const op of rec.ops.values()) {
    const w = op.window(closed, RING, bucketMs);
    const seconds = (w.end - w.start) / 1000;
    const sk = w.latency.ok.n > 0 ? { latency: windowSketch(w.buckets, 'latency'), self: windowSketch(w.buckets, 'self') } : undefined;
    out.push({
      service: op.service,
      operation: op.operation,
      nodeType: op.nodeType,
      windowStart: w.start,
      windowEnd: w.end,
      requests: w.requests,
      errors: w.errors,
      rate: w.requests / seconds,
      errorRate: w.requests > 0 ? w.errors / w.requests : 0,
      latency: sk ? { p50: sk.latency.quantile(0.5), p95: sk.latency.quantile(0.95), p99: sk.latency.quantile(0.99), mean: sk.latency.mean } : null,
      selfTime: sk ? { p50: sk.self.quantile(0.5), p95: sk.self.quantile(0.95), p99: sk.self.quantile(0.99) } : null,
      anomalous: op.active.size > 0,
    });
  }
  return out;
}

/** What each operation has learned. */
export function baselinesOf(rec: Recorder): OperationBaseline[] {
  return [...rec.ops.values()].map((op) => {
    const lat = op.latency.detector.baseline;
    const self = op.self.detector.baseline;
    return {
      service: op.service,
      operation: op.operation,
      nodeType: op.nodeType,
      samples: lat.samples,
      ready: lat.ready,
      latency: lat.samples > 0 ? { typical: lat.typical, p95: op.latency.p95.value, stddevLog: lat.sd } : null,
      selfTime: self.samples > 0 ? { typical: self.typical, p95: op.self.p95.value } : null,
      errorRate: op.errors.baseline.observed,
      rate: op.traffic ? op.traffic.baseline.rate : 0,
      calls: [...op.shapes].map(([callee, d]) => ({ callee: opKeyLabel(callee), share: d.baseline.share })).filter((c) => c.share > 0),
    };
  });
}

/**
 * Services (and uninstrumented peers) with their operations, and the caller → callee edges between them, with
 * each edge's calls over the ring ending at the last closed bucket (`closed`).
 */
export function serviceGraphOf(rec: Recorder, closed: number, bucketMs: number): ServiceGraph {
  const window = closed === -Infinity ? null : { start: (closed - RING + 1) * bucketMs, end: (closed + 1) * bucketMs };
  const nodes = new Map<string, ServiceGraph['nodes'][number]>();
  for (const op of rec.ops.values()) {
    let n = nodes.get(op.service);
    if (n === undefined) {
      n = { service: op.service, type: op.nodeType, operations: [], anomalous: false };
      nodes.set(op.service, n);
    }
    // A service is instrumented once any of its operations is served: calls to it first seen unanswered
    // (an analyzer started as its callers' batches came) leave operations of it that were a peer's.
    if (op.nodeType === 'service') n.type = 'service';
    n.operations.push(op.operation);
    if (op.active.size > 0) n.anomalous = true;
  }
  const edges: ServiceGraph['edges'] = [];
  for (const e of rec.edges.values()) {
    if (!nodes.has(e.calleeService)) {
      nodes.set(e.calleeService, { service: e.calleeService, type: e.virtual ? 'peer' : 'service', operations: [], anomalous: false });
    }
    if (!nodes.has(e.caller)) nodes.set(e.caller, { service: e.caller, type: 'service', operations: [], anomalous: false });
    let recent: ServiceGraph['edges'][number]['recent'] = null;
    if (window !== null) {
      const w = e.window(closed, RING);
      // A restored edge (-Infinity) has its earlier calls in the totals only: its rate is over the whole window.
      const first = Number.isFinite(e.firstIndex) ? e.firstIndex * bucketMs : window.start;
      recent = { calls: w.attempts, errors: w.errors, since: Math.min(Math.max(window.start, first), window.end) };
    }
    edges.push({ from: e.caller, to: e.calleeService, calls: e.calls, errors: e.errorsTotal, anomalous: e.active.size > 0, recent });
  }
  return { nodes: [...nodes.values()], edges, window };
}

/** The face's own counters, as {@link statsOf} reads them. */
export interface Counters {
  ingested: number;
  accepted: number;
  tracesProcessed: number;
  listenerErrors: number;
  drops: DropCounters;
}

/** {@link AnalyzerStats} from the counters and each stage's size. */
export function statsOf(
  c: Counters,
  parts: {
    buffered: number;
    evictedEarly: number;
    operations: number;
    overflow: AnalyzerStats['overflow'];
    instances: AnalyzerStats['instances'];
    clockAhead: number;
    anomalies: { active: number; total: number };
    incidents: { active: number; total: number };
    now: number | null;
    closed: number;
    bucketMs: number;
  },
): AnalyzerStats {
  let dropped = 0;
  for (const v of Object.values(c.drops)) dropped += v;
  return {
    ingested: c.ingested,
    accepted: c.accepted,
    dropped,
    droppedBy: { ...c.drops },
    traces: { buffered: parts.buffered, processed: c.tracesProcessed, evictedEarly: parts.evictedEarly },
    operations: parts.operations,
    overflow: parts.overflow,
    instances: parts.instances,
    listenerErrors: c.listenerErrors,
    clockAhead: parts.clockAhead,
    anomalies: parts.anomalies,
    incidents: parts.incidents,
    now: parts.now,
    watermark: parts.closed === -Infinity ? null : (parts.closed + 1) * parts.bucketMs,
  };
}
