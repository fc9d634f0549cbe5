/**
 * Host overhead: what adding `rootspan().processor` costs an instrumented Express service. This process
 * is the load generator (autocannon, on 127.0.0.1 only); each configuration runs in its own child
 * (host-server.ts), started fresh for every run. Runs alternate between configurations (A B, B A, A B, ...)
 * on this shared, noisy 2-core machine, and medians are compared.
 *
 * Every run: a warm-up, then a saturating phase (CONNECTIONS closed-loop connections: throughput, p99),
 * then a fixed-rate phase at half of the first `none` run's throughput (p99 below saturation, and server
 * CPU time per request). Latencies are recorded per response in float ms (autocannon's own histogram
 * rounds to whole ms, too coarse for a 5 % goal).
 */
import { fork, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { childMain, log, median, quantileSorted, sig, sleep, type BenchResult, type ChildOptions, type GoalRow } from './common.js';
import type { HostConfig, HostStats } from './host-server.js';

export const HOST_GOAL_THROUGHPUT_RATIO = 0.97;
export const HOST_GOAL_P99_RATIO = 1.05;

const CONNECTIONS = 10;
/** Share of the first `none` run's saturated throughput used for the fixed-rate phase. */
const FIXED_RATE_SHARE = 0.5;

const REQUESTS: autocannon.Request[] = [
  { method: 'GET', path: '/api/users/42' },
  { method: 'GET', path: '/api/products' },
  { method: 'POST', path: '/api/orders', headers: { 'content-type': 'application/json' }, body: '{"productId":3,"quantity":2}' },
  { method: 'GET', path: '/api/users/7' },
];

interface Timing {
  warmupS: number;
  saturatedS: number;
  fixedS: number;
  rounds: number;
}

const FULL: Timing = { warmupS: 2, saturatedS: 6, fixedS: 5, rounds: 5 };
const QUICK: Timing = { warmupS: 1, saturatedS: 2, fixedS: 2, rounds: 1 };

interface Phase {
  /** Successful responses per second. */
  rps: number;
  responses: number;
  failures: number;
  p50: number;
  p99: number;
  p999: number;
  /** Server CPU (user + system) per response, µs. */
  cpuUsPerReq: number;
}

interface Run {
  config: HostConfig;
  round: number;
  saturated: Phase;
  fixed: Phase;
  fixedRate: number;
  /** Spans the user's exporter received, per request of the whole run (its BatchSpanProcessor drops when its queue is full). */
  spansPerRequest: number;
  /** Spans rootspan handed to its analyzer, per request of the whole run. */
  rootspanSpansPerRequest: number | undefined;
  server: HostStats;
}

function startServer(config: HostConfig): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(new URL('./host-server.js', import.meta.url), [config], {
    execArgv: [],
    // No metrics/logs exporters: NodeSDK would otherwise default to OTLP and try to reach a collector.
    env: { ...process.env, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`host-server (${config}) exited early (${code})`));
    child.once('error', reject);
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve({ child, port: (m as { port: number }).port });
    });
  });
}

function serverStats(child: ChildProcess): Promise<HostStats> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      const msg = m as { type?: string; stats?: HostStats };
      if (msg?.type === 'stats' && msg.stats) {
        child.off('message', on);
        resolve(msg.stats);
      }
    };
    child.on('message', on);
    child.send({ type: 'stats' });
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** One autocannon run; with `record`, every successful response's latency in float ms, sorted. */
function load(url: string, durationS: number, overallRate: number | undefined, record: boolean): Promise<{ result: autocannon.Result; latencies: Float64Array }> {
  return new Promise((resolve, reject) => {
    const lat: number[] = [];
    const inst = autocannon(
      { url, connections: CONNECTIONS, pipelining: 1, duration: durationS, requests: REQUESTS, timeout: 10, ...(overallRate ? { overallRate } : {}) },
      (err, result) => (err ? reject(err) : resolve({ result, latencies: Float64Array.from(lat).sort() })),
    );
    if (record) {
      inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status < 400) lat.push(ms);
      });
    }
  });
}

function cpuUs(a: HostStats, b: HostStats): number {
  return b.cpu.user + b.cpu.system - (a.cpu.user + a.cpu.system);
}

async function phase(url: string, child: ChildProcess, durationS: number, overallRate: number | undefined): Promise<Phase> {
  const before = await serverStats(child);
  const { result, latencies } = await load(url, durationS, overallRate, true);
  const after = await serverStats(child);
  const responses = latencies.length;
  return {
    rps: responses / result.duration,
    responses,
    failures: result.errors + result.timeouts + result.non2xx,
    p50: quantileSorted(latencies, 0.5),
    p99: quantileSorted(latencies, 0.99),
    p999: quantileSorted(latencies, 0.999),
    cpuUsPerReq: responses > 0 ? cpuUs(before, after) / responses : NaN,
  };
}

async function runOnce(config: HostConfig, round: number, t: Timing, fixedRate: () => number | undefined, setFixedRate: (rps: number) => void): Promise<Run> {
  const { child, port } = await startServer(config);
  try {
    const url = `http://127.0.0.1:${port}`;
    const warm = await load(url, t.warmupS, undefined, false);
    const saturated = await phase(url, child, t.saturatedS, undefined);
    if (fixedRate() === undefined) setFixedRate(Math.max(100, Math.round((saturated.rps * FIXED_RATE_SHARE) / 100) * 100));
    const rate = fixedRate() as number;
    const fixed = await phase(url, child, t.fixedS, rate);
    // Let the BatchSpanProcessor and rootspan's queue catch up before reading the counters.
    await sleep(300);
    const server = await serverStats(child);
    const requests = warm.result['2xx'] + saturated.responses + fixed.responses;
    return {
      config,
      round,
      saturated,
      fixed,
      fixedRate: rate,
      spansPerRequest: requests > 0 ? server.exported / requests : 0,
      rootspanSpansPerRequest: server.rootspan && requests > 0 ? server.rootspan.ingested / requests : undefined,
      server,
    };
  } finally {
    await stopServer(child);
  }
}

function describeRun(r: Run): string {
  const rs = r.server.rootspan;
  return (
    `   ${r.config.padEnd(8)} #${r.round}  saturated ${r.saturated.rps.toFixed(0).padStart(6)} req/s  p50 ${sig(r.saturated.p50)} p99 ${sig(r.saturated.p99)} ms  ` +
    `cpu ${r.saturated.cpuUsPerReq.toFixed(0)} µs/req | @${r.fixedRate}/s p50 ${sig(r.fixed.p50)} p99 ${sig(r.fixed.p99)} p99.9 ${sig(r.fixed.p999)} ms  ` +
    `cpu ${r.fixed.cpuUsPerReq.toFixed(0)} µs/req | exported ${r.spansPerRequest.toFixed(1)} spans/req` +
    (rs ? `, rootspan ingested ${(r.rootspanSpansPerRequest ?? 0).toFixed(1)} spans/req, dropped ${rs.dropped}` : '') +
    (r.saturated.failures + r.fixed.failures > 0 ? `, ${r.saturated.failures + r.fixed.failures} FAILED requests` : '')
  );
}

interface Summary {
  runs: number;
  rps: number;
  p99: number;
  fixedP50: number;
  fixedP99: number;
  cpuUsPerReq: number;
  fixedCpuUsPerReq: number;
}

function summarize(runs: readonly Run[]): Summary {
  return {
    runs: runs.length,
    rps: median(runs.map((r) => r.saturated.rps)),
    p99: median(runs.map((r) => r.saturated.p99)),
    fixedP50: median(runs.map((r) => r.fixed.p50)),
    fixedP99: median(runs.map((r) => r.fixed.p99)),
    cpuUsPerReq: median(runs.map((r) => r.saturated.cpuUsPerReq)),
    fixedCpuUsPerReq: median(runs.map((r) => r.fixed.cpuUsPerReq)),
  };
}

async function run(opts: ChildOptions): Promise<BenchResult> {
  const started = performance.now();
  const t = opts.quick ? QUICK : FULL;
  let fixed: number | undefined;
  const runs: Run[] = [];
  for (let round = 1; round <= t.rounds; round++) {
    // Alternate, and swap the order every round so neither configuration always goes first.
    const order: HostConfig[] = round % 2 === 1 ? ['none', 'rootspan', 'sqlite'] : ['sqlite', 'rootspan', 'none'];
    for (const config of order) {
      const r = await runOnce(config, round, t, () => fixed, (rps) => (fixed = rps));
      runs.push(r);
      log('host', describeRun(r).trim());
    }
  }
  const none = summarize(runs.filter((r) => r.config === 'none'));
  const rs = summarize(runs.filter((r) => r.config === 'rootspan'));
  const db = summarize(runs.filter((r) => r.config === 'sqlite'));
  const tputRatio = rs.rps / none.rps;
  const p99Ratio = rs.p99 / none.p99;
  const fixedP99Ratio = rs.fixedP99 / none.fixedP99;
  const cpuRatio = rs.fixedCpuUsPerReq / none.fixedCpuUsPerReq;
  const drops = runs.reduce((n, r) => n + (r.server.rootspan?.dropped ?? 0), 0);
  const failures = runs.reduce((n, r) => n + r.saturated.failures + r.fixed.failures, 0);
  const failuresOf = (config: HostConfig) => runs.filter((r) => r.config === config).reduce((n, r) => n + r.saturated.failures + r.fixed.failures, 0);

  const line = (name: string, s: Summary) =>
    `   ${name.padEnd(22)} ${s.rps.toFixed(0).padStart(6)} req/s  p99 ${sig(s.p99).padStart(5)} ms | @${fixed}/s p50 ${sig(s.fixedP50)} p99 ${sig(s.fixedP99).padStart(5)} ms | cpu ${s.cpuUsPerReq.toFixed(0)} / ${s.fixedCpuUsPerReq.toFixed(0)} µs/req`;
  const report = [
    `== Host overhead (${opts.quick ? 'quick' : 'full'}): Express + NodeSDK (http, express instrumentation), autocannon ${CONNECTIONS} connections on 127.0.0.1;` +
      ` per run ${t.warmupS} s warm-up, ${t.saturatedS} s saturated, ${t.fixedS} s at a fixed ${fixed} req/s; ${t.rounds} round(s), alternating`,
    ...runs.map(describeRun),
    `   medians (saturated | fixed rate | server CPU saturated / fixed):`,
    line('none', none),
    line('rootspan processor', rs),
    line('rootspan + SQLite store', db),
    `   rootspan/none: throughput ${sig(tputRatio, 3)}, p99 ${sig(p99Ratio, 3)}, p99 @fixed rate ${sig(fixedP99Ratio, 3)}, CPU/request @fixed rate ${sig(cpuRatio, 3)}` +
      `; rootspan + SQLite/none: throughput ${sig(db.rps / none.rps, 3)}, p99 ${sig(db.p99 / none.p99, 3)}, p99 @fixed rate ${sig(db.fixedP99 / none.fixedP99, 3)}, CPU/request @fixed rate ${sig(db.fixedCpuUsPerReq / none.fixedCpuUsPerReq, 3)}` +
      `; rootspan queue drops ${drops}${failures > 0 ? `; ${failures} FAILED requests` : ''}`,
  ];
  /** The host goals for one configuration against `none`. */
  const goalRows = (label: string, c: Summary, failed: number): GoalRow[] => [
    {
      benchmark: 'host',
      metric: `throughput, ${label} vs none`,
      goal: `≥ ${HOST_GOAL_THROUGHPUT_RATIO}`,
      measured: `${none.rps.toFixed(0)} → ${c.rps.toFixed(0)} req/s`,
      ratio: c.rps / none.rps,
      ratioOf: 'vs none',
      pass: c.rps / none.rps >= HOST_GOAL_THROUGHPUT_RATIO && failed === 0,
    },
    {
      benchmark: 'host',
      metric: `p99 latency (saturated), ${label} vs none`,
      goal: `≤ ${HOST_GOAL_P99_RATIO}`,
      measured: `${sig(none.p99)} → ${sig(c.p99)} ms`,
      ratio: c.p99 / none.p99,
      ratioOf: 'vs none',
      pass: c.p99 / none.p99 <= HOST_GOAL_P99_RATIO,
    },
    {
      benchmark: 'host',
      metric: `p99 latency (@${fixed} req/s), ${label} vs none`,
      goal: `≤ ${HOST_GOAL_P99_RATIO}`,
      measured: `${sig(none.fixedP99)} → ${sig(c.fixedP99)} ms`,
      ratio: c.fixedP99 / none.fixedP99,
      ratioOf: 'vs none',
      pass: c.fixedP99 / none.fixedP99 <= HOST_GOAL_P99_RATIO,
    },
    {
      // The throughput goal seen from the server's side: the CPU it spends per request at the same load.
      // Unlike saturated throughput it does not depend on how the load generator shares the cores.
      benchmark: 'host',
      metric: `server CPU per request (@${fixed} req/s), ${label} vs none`,
      goal: `≤ ${sig(1 / HOST_GOAL_THROUGHPUT_RATIO, 3)}`,
      measured: `${none.fixedCpuUsPerReq.toFixed(0)} → ${c.fixedCpuUsPerReq.toFixed(0)} µs/req`,
      ratio: c.fixedCpuUsPerReq / none.fixedCpuUsPerReq,
      ratioOf: 'vs none',
      pass: c.fixedCpuUsPerReq / none.fixedCpuUsPerReq <= 1 / HOST_GOAL_THROUGHPUT_RATIO,
    },
  ];
  const rows = [...goalRows('rootspan', rs, failuresOf('rootspan')), ...goalRows('rootspan + SQLite', db, failuresOf('sqlite'))];
  return {
    name: 'host',
    wallMs: Math.round(performance.now() - started),
    rows,
    report,
    details: {
      connections: CONNECTIONS,
      timing: t,
      fixedRate: fixed,
      requests: REQUESTS.map((r) => `${r.method} ${r.path}`),
      summary: { none, rootspan: rs, sqlite: db },
      ratios: { throughput: tputRatio, p99: p99Ratio, fixedP99: fixedP99Ratio, fixedCpuPerRequest: cpuRatio },
      runs,
    },
  };
}

childMain(run);
