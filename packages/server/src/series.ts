/**
 * `GET /aiops/series`: per-operation time series for charts, from the analyzer's per-minute rollups. The
 * server keeps recent rollups in memory (bounded); a store that answers rollup queries (the engine's
 * `AnalyzerStore.rollups`, e.g. SQLite) supplies what is older or from before a restart.
 */
import type { Analyzer, OperationBaseline, OperationRollup, RollupQuery, RollupSeries } from '@rootspan/engine';
import type { ServerResponse } from 'node:http';
import { ALLOW_READ, HttpError, sendError, sendJson, timeParam } from './http.js';
import { iso, isoOrNull } from './shapes.js';

/** Rollups kept in memory at most (about 70 operations × 24 h); the oldest go first, counted in `dropped`. */
const MAX_POINTS = 100_000;
/** Default time range when the query names none: the last hour of event time. */
const DEFAULT_RANGE_MS = 3_600_000;
const PARAMS = new Set(['service', 'operation', 'from', 'to']);

/** The learned normal of an operation when a rollup closed: what the chart's band is drawn from. */
export interface SeriesBaseline {
  /** Typical (median) latency and learned p95 of successful requests, ms. */
  latency: { typical: number; p95: number } | null;
  errorRate: number;
  /** Requests per second. */
  rate: number;
}

/** One point of `GET /aiops/series`: a rollup period with the baseline in force when it closed. */
export interface ApiSeriesPoint {
  start: string;
  durationMs: number;
  requests: number;
  errors: number;
  /** Requests per second over the period. */
  rate: number;
  errorRate: number;
  latency: { p50: number; p95: number; p99: number } | null;
  /** Null for periods read back from a store (baselines are not stored per period) or before learning. */
  baseline: SeriesBaseline | null;
}

/** The `GET /aiops/series` body. */
export interface ApiSeries {
  from: string;
  to: string;
  /** Event time of the analyzer now. */
  at: string | null;
  series: Array<{ service: string; operation: string; nodeType: 'service' | 'peer'; baseline: SeriesBaseline | null; points: ApiSeriesPoint[] }>;
  /** Rollups dropped from memory to stay within its bound. */
  dropped: number;
}

interface Point {
  rollup: OperationRollup;
  baseline: SeriesBaseline | null;
}

/** A store that can answer rollup queries (the reading half of the engine's `AnalyzerStore`). */
type RollupSource = { rollups(query: RollupQuery): RollupSeries[] | Promise<RollupSeries[]> };

const opKey = (service: string, operation: string) => `${service}\u0000${operation}`;

/** Rollups as the analyzer closes them, with the baseline at that moment, bounded in memory. */
export class SeriesHistory {
  private readonly byOp = new Map<string, Point[]>();
  private points = 0;
  dropped = 0;

  constructor(
    private readonly analyzer: Analyzer,
    private readonly store: unknown,
  ) {
    analyzer.onRollup((rollups) => this.add(rollups));
  }

  private add(rollups: readonly OperationRollup[]): void {
    const baselines = new Map(this.analyzer.baselines().map((b) => [opKey(b.service, b.operation), b]));
    for (const rollup of rollups) {
      const key = opKey(rollup.service, rollup.operation);
      const b = baselines.get(key);
      const point: Point = { rollup, baseline: baselineJson(b) };
      let list = this.byOp.get(key);
      if (list === undefined) this.byOp.set(key, (list = []));
      // A flush delivers the period in progress; its full rollup later replaces it.
      const last = list[list.length - 1];
      if (last !== undefined && last.rollup.start === rollup.start) list[list.length - 1] = point;
      else {
        list.push(point);
        this.points++;
      }
    }
    while (this.points > MAX_POINTS) this.dropOldest();
  }

  private dropOldest(): void {
    let oldest: [string, Point[]] | undefined;
    for (const entry of this.byOp) if (oldest === undefined || entry[1][0].rollup.start < oldest[1][0].rollup.start) oldest = entry;
    if (oldest === undefined) return;
    oldest[1].shift();
    this.points--;
    this.dropped++;
    if (oldest[1].length === 0) this.byOp.delete(oldest[0]);
  }

  /** Answers `GET /aiops/series` on `res`: the body of {@link query}, or `{ error }` with 400 or 405. */
  async serve(method: string, params: URLSearchParams, res: ServerResponse): Promise<void> {
    try {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'use GET', { allow: ALLOW_READ });
      sendJson(res, 200, await this.query(params));
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      sendError(res, err.status, err.message, err.headers);
    }
  }

  /** Answers `GET /aiops/series?service=&operation=&from=&to=` (times ISO or epoch ms; `to` defaults to event time now). */
  async query(params: URLSearchParams): Promise<ApiSeries> {
    for (const key of params.keys()) {
      if (!PARAMS.has(key)) throw new HttpError(400, `unknown parameter '${key}' (accepted: ${[...PARAMS].join(', ')})`);
    }
    const service = params.get('service') ?? undefined;
    const operation = params.get('operation') ?? undefined;
    if (operation !== undefined && service === undefined) throw new HttpError(400, 'operation needs service');
    const now = this.analyzer.now();
    const to = timeParam(params, 'to') ?? (now === null ? 0 : now + 1);
    const from = timeParam(params, 'from') ?? to - DEFAULT_RANGE_MS;
    if (from >= to) throw new HttpError(400, 'from must be before to');
    const current = new Map(this.analyzer.baselines().map((b) => [opKey(b.service, b.operation), b]));
    const out = new Map<string, ApiSeries['series'][number]>();
    const entry = (svc: string, op: string, nodeType: 'service' | 'peer') => {
      const key = opKey(svc, op);
      let s = out.get(key);
      if (s === undefined) {
        const b = current.get(key);
        out.set(key, (s = { service: svc, operation: op, nodeType, baseline: baselineJson(b), points: [] }));
      }
      return s;
    };
    const stored = await this.fromStore({ from, to, ...(service ? { service } : {}), ...(operation ? { operation } : {}) });
    for (const s of stored) {
      const memory = this.byOp.get(opKey(s.service, s.operation));
      const firstInMemory = memory?.[0]?.rollup.start ?? Infinity;
      const e = entry(s.service, s.operation, s.nodeType);
      for (const p of s.points) if (p.start < firstInMemory) e.points.push(pointJson({ ...p, service: s.service, operation: s.operation, nodeType: s.nodeType }, null));
    }
    for (const list of this.byOp.values()) {
      const r0 = list[0].rollup;
      if ((service !== undefined && r0.service !== service) || (operation !== undefined && r0.operation !== operation)) continue;
      const inRange = list.filter((p) => p.rollup.start >= from && p.rollup.start < to);
      if (inRange.length === 0) continue;
      const e = entry(r0.service, r0.operation, r0.nodeType);
      for (const p of inRange) e.points.push(pointJson(p.rollup, p.baseline));
    }
    const series = [...out.values()].filter((s) => s.points.length > 0).sort((a, b) => a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation));
    return { from: iso(from), to: iso(to), at: isoOrNull(now), series, dropped: this.dropped };
  }

  private async fromStore(query: RollupQuery): Promise<RollupSeries[]> {
    const store = this.store as Partial<RollupSource> | undefined;
    if (typeof store?.rollups !== 'function') return [];
    return store.rollups(query);
  }
}

function baselineJson(b: OperationBaseline | undefined): SeriesBaseline | null {
  return b?.ready ? { latency: b.latency && { typical: b.latency.typical, p95: b.latency.p95 }, errorRate: b.errorRate, rate: b.rate } : null;
}

function pointJson(r: OperationRollup, baseline: SeriesBaseline | null): ApiSeriesPoint {
  return {
    start: iso(r.start),
    durationMs: r.durationMs,
    requests: r.requests,
    errors: r.errors,
    rate: r.requests / (r.durationMs / 1000),
    errorRate: r.requests > 0 ? r.errors / r.requests : 0,
    latency: r.latency,
    baseline,
  };
}

