/**
 * Memory at the cardinality cap: 10 services × 1,000 routes (10k distinct `METHOD /route` operations,
 * each request also calling one of 20 database tables) over one hour of event time, generated and
 * replayed as fast as the analyzer takes it, through an analyzer with its default options. The
 * analyzer tracks at most `maxOperations` operations and drops (counts) the rest, so its heap must stop
 * growing once the cap is reached. Runs with --expose-gc: the heap is read after a forced GC at each
 * checkpoint; the peak heap (sampled every second of event time, no GC) and the peak RSS too.
 *
 * "Heap" here is V8's `heapUsed` plus `external` (ArrayBuffer backing stores, where the latency sketches'
 * bins live): `heapUsed` alone would miss the analyzer's largest allocations.
 */
import { memoryUsage, resourceUsage } from 'node:process';
import { getHeapSpaceStatistics } from 'node:v8';
import { createAnalyzer, type Span } from '@rootspan/engine';
import { Rng, SIM_EPOCH } from '@rootspan/sim';
import { childMain, forceGc, log, mb, MB, type BenchResult, type ChildOptions, type GoalRow } from './common.js';

export const MEMORY_GOAL_RSS_BYTES = 150 * MB;
/** Heap after GC at the end may exceed the heap at the half-way checkpoint by at most this share. */
export const MEMORY_GOAL_PLATEAU_GROWTH = 0.1;

const SERVICES = 10;
const ROUTES_PER_SERVICE = 1000;
const TABLES = 20;
/** Requests per second of event time (2 spans each). */
const RATE = 1000;
const ERROR_RATE = 0.002;
/** Largest batch, as a BatchSpanProcessor's default. */
const MAX_BATCH = 512;

/** Letters only: the engine folds path segments with three or more digits to `:id`. */
function alpha(n: number, len = 3): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26);
  }
  return s;
}

interface Route {
  service: string;
  method: string;
  route: string;
  name: string;
  medianMs: number;
  table: string;
  /** The database span's name. */
  query: string;
  dbMedianMs: number;
}

/**
 * The routes, sharing one string per service, table and query: the generator's own table should not
 * weigh on the process's memory beside the analyzer's (10k copies of the same few names did), nor
 * should it build a query name per span.
 */
function routes(): Route[] {
  const services = Array.from({ length: SERVICES }, (_, s) => `svc-${alpha(s, 1)}`);
  const tables = Array.from({ length: TABLES }, (_, t) => `t_${alpha(t, 2)}`);
  const queries = tables.map((t) => `SELECT ${t}`);
  const out: Route[] = [];
  for (let s = 0; s < SERVICES; s++) {
    for (let r = 0; r < ROUTES_PER_SERVICE; r++) {
      const method = r % 3 === 0 ? 'POST' : 'GET';
      const route = `/api/${alpha(s * ROUTES_PER_SERVICE + r)}/${r % 2 === 0 ? 'items' : 'detail'}`;
      const t = (s * ROUTES_PER_SERVICE + r) % TABLES;
      out.push({
        service: services[s],
        method,
        route,
        name: `${method} ${route}`,
        medianMs: 4 + (r % 40),
        table: tables[t],
        query: queries[t],
        dbMedianMs: 0.5 + (r % 7),
      });
    }
  }
  return out;
}

/** Spans of one request: a SERVER span and the CLIENT span of its database call. */
function request(rng: Rng, r: Route, start: number, out: Span[]): void {
  const traceId = rng.traceId();
  const serverId = rng.spanId();
  const dbStart = start + 0.2 + rng.next();
  const dbEnd = dbStart + r.dbMedianMs * Math.exp(0.3 * rng.normal());
  const end = dbEnd + r.medianMs * Math.exp(0.3 * rng.normal());
  const error = rng.next() < ERROR_RATE;
  out.push({
    traceId,
    spanId: rng.spanId(),
    parentSpanId: serverId,
    service: r.service,
    serviceVersion: '1.0.0',
    name: r.query,
    kind: 'client',
    startTime: dbStart,
    endTime: dbEnd,
    status: 'unset',
    attributes: {
      'db.system': 'postgresql',
      'db.operation.name': 'SELECT',
      'db.collection.name': r.table,
      'server.address': 'postgres',
      'server.port': 5432,
    },
  });
  out.push({
    traceId,
    spanId: serverId,
    service: r.service,
    serviceVersion: '1.0.0',
    name: r.name,
    kind: 'server',
    startTime: start,
    endTime: end,
    status: error ? 'error' : 'unset',
    attributes: { 'http.request.method': r.method, 'http.route': r.route, 'http.response.status_code': error ? 500 : 200 },
  });
}

function oldSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space') return s.space_used_size;
  return 0;
}

/** JS heap plus off-heap ArrayBuffer/external memory. */
function heapOf(m: NodeJS.MemoryUsage): number {
  return m.heapUsed + m.external;
}

interface Checkpoint {
  minute: number;
  /** heapUsed + external, after a forced GC. */
  heap: number;
  heapUsed: number;
  external: number;
  rss: number;
  operations: number;
  bufferedTraces: number;
  dropped: number;
}

async function run(opts: ChildOptions): Promise<BenchResult> {
  const started = performance.now();
  if (!forceGc()) throw new Error('memory benchmark needs --expose-gc');
  const durationMs = opts.quick ? 10 * 60_000 : 60 * 60_000;
  const checkpointMs = opts.quick ? 2 * 60_000 : 5 * 60_000;
  const all = routes();
  const rng = new Rng(20260101, 7);
  const base = memoryUsage();

  const analyzer = createAnalyzer();
  const cap = analyzer.options.maxOperations;
  log('memory', `${all.length} routes, ${RATE} req/s, ${durationMs / 60_000} min of event time; maxOperations ${cap}; base heap ${mb(heapOf(base))}, RSS ${mb(base.rss)}`);

  let peakHeap = 0;
  let peakRss = 0;
  let spans = 0;
  // Old space's growth, summed over the event-seconds it grew in (a full GC shrinks it): what got promoted.
  let oldPrev = oldSpaceUsed();
  let oldGrowth = 0;
  const checkpoints: Checkpoint[] = [];
  let pending: Span[] = [];
  // Batches go out as soon as they are full, as a BatchSpanProcessor sends them: the generator holds at
  // most one batch (and the spans still running), never a whole second of traffic.
  let batch: Span[] = [];
  const send = (s: Span): void => {
    batch.push(s);
    if (batch.length === MAX_BATCH) flush();
  };
  const flush = (): void => {
    if (batch.length === 0) return;
    analyzer.ingest(batch);
    spans += batch.length;
    batch = [];
  };
  const two: Span[] = [];
  for (let sec = 0; sec * 1000 < durationMs; sec++) {
    const t0 = SIM_EPOCH + sec * 1000;
    const tickEnd = t0 + 1000;
    // Spans generated earlier that ended during this second go out first, as a batch processor would send them.
    const carried = pending;
    pending = [];
    for (const s of carried) {
      if (s.endTime <= tickEnd) send(s);
      else pending.push(s);
    }
    for (let t = t0 + rng.exponential(1000 / RATE); t < tickEnd; t += rng.exponential(1000 / RATE)) {
      request(rng, all[Math.floor(rng.next() * all.length)], t, two);
      for (const s of two) {
        if (s.endTime <= tickEnd) send(s);
        else pending.push(s);
      }
      two.length = 0;
    }
    flush();

    const m = memoryUsage();
    if (heapOf(m) > peakHeap) peakHeap = heapOf(m);
    if (m.rss > peakRss) peakRss = m.rss;
    const old = oldSpaceUsed();
    if (old > oldPrev) oldGrowth += old - oldPrev;
    oldPrev = old;
    if ((sec + 1) * 1000 % checkpointMs === 0) {
      forceGc();
      oldPrev = oldSpaceUsed();
      const g = memoryUsage();
      const st = analyzer.stats();
      const cp: Checkpoint = {
        minute: ((sec + 1) * 1000) / 60_000,
        heap: heapOf(g),
        heapUsed: g.heapUsed,
        external: g.external,
        rss: g.rss,
        operations: st.operations,
        bufferedTraces: st.traces.buffered,
        dropped: st.dropped,
      };
      checkpoints.push(cp);
      log('memory', `${String(cp.minute).padStart(3)} min: heap ${mb(cp.heap)} (${mb(cp.external)} external), RSS ${mb(cp.rss)}, ${cp.operations} operations, ${cp.bufferedTraces} traces buffered, ${cp.dropped} spans dropped`);
    }
  }
  for (const s of pending) send(s);
  flush();
  analyzer.flush();
  forceGc();
  const end = memoryUsage();
  const stats = analyzer.stats();
  // maxRSS is the kernel's high-water mark (KiB on Linux), so it catches peaks between samples.
  peakRss = Math.max(peakRss, resourceUsage().maxRSS * 1024);

  const half = checkpoints[Math.floor(checkpoints.length / 2) - 1] ?? checkpoints[0];
  const last = checkpoints[checkpoints.length - 1];
  const growth = last.heap / half.heap - 1;
  const atCap = stats.operations >= cap;
  const report = [
    `== Memory (${opts.quick ? 'quick' : 'full'}): ${all.length} routes × ${SERVICES} services, ${RATE} req/s, ${durationMs / 60_000} min event time, ${spans} spans, default options`,
    `   cap maxOperations = ${cap}; operations tracked at the end ${stats.operations}; base (before the analyzer) heap ${mb(heapOf(base))}, RSS ${mb(base.rss)}`,
    `   checkpoints (heap+external after forced GC / RSS):  ${checkpoints.map((c) => `${c.minute}′ ${(c.heap / MB).toFixed(0)}/${(c.rss / MB).toFixed(0)}`).join('  ')}  MB`,
    `   peak heap ${mb(peakHeap)} (heap+external, sampled each event-second, without GC), peak RSS ${mb(peakRss)}; end (after flush, GC) heap ${mb(heapOf(end))}, RSS ${mb(end.rss)}`,
    `   old space grew ${mb(oldGrowth / (durationMs / 60_000))} per event-minute (summed between full GCs: what gets promoted)`,
    `   heap ${half.minute}′ → ${last.minute}′: ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%`,
    `   stats: accepted ${stats.accepted}, dropped ${stats.dropped} ${JSON.stringify(stats.droppedBy)}, traces processed ${stats.traces.processed} (evicted early ${stats.traces.evictedEarly}), incidents ${stats.incidents.total}`,
    `   (cardinality drops count operation facts beyond the cap: spans still enter the trace buffer, their operations are not tracked)`,
  ];
  const rows: GoalRow[] = [
    {
      benchmark: 'memory',
      metric: `peak RSS, 10k routes, ${durationMs / 60_000} min`,
      goal: `≤ ${MEMORY_GOAL_RSS_BYTES / MB} MB`,
      measured: `${mb(peakRss)} (peak heap ${mb(peakHeap)})`,
      ratio: peakRss / MEMORY_GOAL_RSS_BYTES,
      ratioOf: 'of goal',
      pass: peakRss <= MEMORY_GOAL_RSS_BYTES,
    },
    {
      benchmark: 'memory',
      metric: `heap plateau at cap (${cap} operations)`,
      goal: `at cap, heap ${half.minute}′→${last.minute}′ ≤ +${MEMORY_GOAL_PLATEAU_GROWTH * 100}%`,
      measured: `${stats.operations} ops, ${mb(half.heap)} → ${mb(last.heap)}`,
      ratio: 1 + growth,
      ratioOf: `${last.minute}′/${half.minute}′`,
      pass: atCap && growth <= MEMORY_GOAL_PLATEAU_GROWTH,
    },
  ];
  return {
    name: 'memory',
    wallMs: Math.round(performance.now() - started),
    rows,
    report,
    details: {
      routes: all.length,
      services: SERVICES,
      rate: RATE,
      durationMs,
      spans,
      cap,
      base: { heap: heapOf(base), heapUsed: base.heapUsed, external: base.external, rss: base.rss },
      peakHeap,
      peakRss,
      oldSpaceGrowthPerMinute: oldGrowth / (durationMs / 60_000),
      end: { heap: heapOf(end), heapUsed: end.heapUsed, external: end.external, rss: end.rss },
      heapGrowthSecondHalf: growth,
      checkpoints,
      stats,
    },
  };
}

childMain(run);
