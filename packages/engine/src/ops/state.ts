import type { ResolvedOptions } from '../options.js';
import { LatencyDetector } from '../detectors/latency.js';
import { ErrorRateDetector } from '../detectors/errors.js';
import { TrafficDetector } from '../detectors/traffic.js';
import { TimeoutDetector } from '../detectors/timeout.js';
import { CallShapeDetector } from '../detectors/shape.js';
import { LatencySketch } from '../stats/sketch.js';
import { ProportionBaseline } from '../stats/baseline.js';
import {
  BucketRing,
  EdgeBucket,
  OpBucket,
  emptyMoments,
  mergeMoments,
  mergeOrigins,
  type LogMoments,
  type OriginCounts,
} from './bucket.js';

/** Windows judged at each bucket close, in buckets: fast for busy operations, longer for sparse ones. */
export const WINDOWS = [1, 3, 12] as const;
/** Buckets kept per operation: the longest window. */
export const RING = 12;

/** An EWMA of a reporting quantile (p95), learned alongside the baseline. */
export class QuantileEwma {
  value = NaN;
  learn(x: number, alpha: number): void {
    if (!Number.isFinite(x)) return;
    this.value = Number.isNaN(this.value) ? x : (1 - alpha) * this.value + alpha * x;
  }
}

/** Aggregate of an operation's buckets over a window. */
export interface OpWindow {
  start: number;
  end: number;
  buckets: OpBucket[];
  requests: number;
  errors: number;
  ok: LogMoments;
  failing: number;
  slow: number;
  okRequests: number;
  /** Successful requests slower than `latency.ratio`× typical. */
  over: number;
}

/** An operation: a service's server operation, or an operation on an uninstrumented peer (a database). */
export class OpState {
  readonly ring = new BucketRing(RING, () => new OpBucket());
  readonly latency: LatencyDetector;
  readonly self: LatencyDetector;
  readonly errors: ErrorRateDetector;
  readonly traffic: TrafficDetector | undefined;
  /** How often a successful request is individually slower than `latency.ratio`× typical (heavy tails). */
  readonly slowShare: ProportionBaseline;
  readonly latencyP95 = new QuantileEwma();
  readonly selfP95 = new QuantileEwma();
  readonly shapes = new Map<string, CallShapeDetector>();
  /** Operations seen calling this one (for tracing traffic drops upstream). */
  readonly callers = new Set<string>();
  /** Successful requests learned for trace shape: a call first seen later starts from share 0 over these. */
  shapeSamples = 0;
  /** Last bucket index with data. */
  lastIndex = -Infinity;
  /** Active anomaly episodes on this operation, by signal. */
  readonly active = new Set<string>();

  constructor(
    readonly key: string,
    readonly service: string,
    readonly operation: string,
    readonly nodeType: 'service' | 'peer',
    private readonly opts: ResolvedOptions,
  ) {
    this.latency = new LatencyDetector(opts.baseline, opts.latency);
    this.self = new LatencyDetector(opts.baseline, opts.latency);
    this.errors = new ErrorRateDetector(opts.baseline, opts.errors);
    this.slowShare = new ProportionBaseline(opts.errors.decayPerRequest, opts.baseline.minSamples);
    this.traffic = nodeType === 'service' ? new TrafficDetector(opts.baseline, opts.traffic) : undefined;
  }

  shape(callee: string): CallShapeDetector {
    let d = this.shapes.get(callee);
    if (d === undefined) {
      d = new CallShapeDetector(this.opts.baseline, this.opts.shape);
      this.shapes.set(callee, d);
    }
    return d;
  }

  /** Sums the buckets of the `size` buckets ending at `last`. */
  window(last: number, size: number, bucketMs: number): OpWindow {
    const w: OpWindow = {
      start: (last - size + 1) * bucketMs,
      end: (last + 1) * bucketMs,
      buckets: [],
      requests: 0,
      errors: 0,
      ok: emptyMoments(),
      failing: 0,
      slow: 0,
      okRequests: 0,
      over: 0,
    };
    for (let i = last - size + 1; i <= last; i++) {
      const b = this.ring.get(i);
      if (b === undefined) continue;
      w.buckets.push(b);
      w.requests += b.requests;
      w.errors += b.errors;
      mergeMoments(w.ok, b.ok);
      w.failing += b.failing;
      w.slow += b.slow;
      w.okRequests += b.okRequests;
      w.over += b.over;
    }
    return w;
  }
}

/** Merged latency and self-time sketches of a window (done only when reporting). */
export function windowSketches(buckets: readonly OpBucket[]): { latency: LatencySketch; self: LatencySketch } {
  const latency = new LatencySketch();
  const self = new LatencySketch();
  for (const b of buckets) {
    latency.merge(b.latency);
    self.merge(b.self);
  }
  return { latency, self };
}

export function windowOrigins(buckets: readonly OpBucket[], which: 'errorOrigins' | 'slowOrigins'): OriginCounts {
  const out: OriginCounts = new Map();
  for (const b of buckets) mergeOrigins(out, b[which]);
  return out;
}

export function windowTraces(buckets: readonly OpBucket[], which: 'errorTraces' | 'slowTraces', max: number): string[] {
  const out: string[] = [];
  for (let i = buckets.length - 1; i >= 0 && out.length < max; i--) {
    for (const t of buckets[i][which]) if (out.length < max && !out.includes(t)) out.push(t);
  }
  return out;
}

/** A caller service → callee edge, judged for callers giving up (timeouts, no answer). */
export class EdgeState {
  readonly ring = new BucketRing(RING, () => new EdgeBucket());
  readonly timeout: TimeoutDetector;
  lastIndex = -Infinity;
  calls = 0;
  errorsTotal = 0;
  readonly active = new Set<string>();

  constructor(
    readonly key: string,
    readonly caller: string,
    readonly calleeService: string,
    readonly virtual: boolean,
    opts: ResolvedOptions,
  ) {
    this.timeout = new TimeoutDetector(opts.baseline, opts.timeout);
  }

  window(last: number, size: number): { attempts: number; gaveUp: number; maxWait: number; buckets: EdgeBucket[] } {
    let attempts = 0;
    let gaveUp = 0;
    let maxWait = 0;
    const buckets: EdgeBucket[] = [];
    for (let i = last - size + 1; i <= last; i++) {
      const b = this.ring.get(i);
      if (b === undefined) continue;
      buckets.push(b);
      attempts += b.attempts;
      gaveUp += b.gaveUp;
      if (b.maxWait > maxWait) maxWait = b.maxWait;
    }
    return { attempts, gaveUp, maxWait, buckets };
  }
}
