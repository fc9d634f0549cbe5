import type { OpState } from './ops/state.js';
import { LatencySketch } from './stats/sketch.js';

/** A summary of one operation over one period (a minute at the defaults), in event time. */
export interface OperationRollup {
  service: string;
  operation: string;
  nodeType: 'service' | 'peer';
  /** Start of the period, epoch ms. */
  start: number;
  /** Length of the period, ms. */
  durationMs: number;
  requests: number;
  errors: number;
  /** Latency quantiles of the successful requests, ms; null when none succeeded. */
  latency: { p50: number; p95: number; p99: number } | null;
  /** p95 of the successful requests' self time (time not spent waiting on callees), ms. */
  selfTimeP95: number | null;
}

/** The rollup period rootspan aims for. */
export const ROLLUP_MS = 60_000;

/** Buckets per rollup: a minute when the bucket size divides it, else one bucket. */
export function rollupBuckets(bucketMs: number): number {
  const n = ROLLUP_MS / bucketMs;
  return Number.isInteger(n) ? n : 1;
}

interface Totals {
  op: OpState;
  requests: number;
  errors: number;
  latency: LatencySketch;
  self: LatencySketch;
}

/**
 * Sums each operation's closed buckets into the rollup period in progress. Buckets are added as they close
 * (the ring may already reuse a period's first bucket for the next one when the period ends).
 */
export class RollupAccumulator {
  private readonly totals = new Map<OpState, Totals>();

  constructor(
    private readonly size: number,
    private readonly bucketMs: number,
  ) {}

  /** Adds bucket `index` of each operation that has one. */
  add(ops: Iterable<OpState>, index: number): void {
    for (const op of ops) {
      const b = op.ring.get(index);
      if (b === undefined || b.requests === 0) continue;
      let t = this.totals.get(op);
      if (t === undefined) {
        t = { op, requests: 0, errors: 0, latency: new LatencySketch(), self: new LatencySketch() };
        this.totals.set(op, t);
      }
      t.requests += b.requests;
      t.errors += b.errors;
      t.latency.merge(b.latency.sketch);
      t.self.merge(b.self.sketch);
    }
  }

  /** Whether bucket `index` is the last of its period. */
  ends(index: number): boolean {
    return (index + 1) % this.size === 0;
  }

  /** The rollups of the period containing bucket `index`; `keep` leaves the sums in place (a partial period). */
  take(index: number, keep = false): OperationRollup[] {
    const start = (index - (((index % this.size) + this.size) % this.size)) * this.bucketMs;
    const out: OperationRollup[] = [];
    for (const { op, requests, errors, latency, self } of this.totals.values()) {
      const ok = latency.count > 0;
      out.push({
        service: op.service,
        operation: op.operation,
        nodeType: op.nodeType,
        start,
        durationMs: this.size * this.bucketMs,
        requests,
        errors,
        latency: ok ? { p50: latency.quantile(0.5), p95: latency.quantile(0.95), p99: latency.quantile(0.99) } : null,
        selfTimeP95: ok ? self.quantile(0.95) : null,
      });
    }
    if (!keep) this.totals.clear();
    return out;
  }

  clear(): void {
    this.totals.clear();
  }
}
