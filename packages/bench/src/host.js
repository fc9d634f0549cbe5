/**
 * Host overhead: what adding `rootspan().processor` costs an instrumented Express service. This process
 * is the load generator (autocannon, on 127.0.0.1 only); each configuration runs in its own child
 * (host-server.ts), started fresh for every run. Runs alternate between configurations (A B, B A, A B, ...)
 * on this shared, noisy 2-core machine, and medians are compared.
 *
 * Every run: a warm-up (8 s saturating: in a fresh server's first seconds most of the CPU goes to V8's
 * compiler, more so with rootspan's code to compile, which a long-running service pays once), then a saturating phase (CONNECTIONS closed-loop connections: throughput, p99),
 * then a fixed-rate phase at half of the first `none` run's throughput (p99 below saturation, and server
 * CPU time per request). Latencies are recorded per response in float ms (autocannon's own histogram
 * rounds to whole ms, too coarse for a 5 % goal).
 *
 * Where `taskset` works (Linux, ≥ 2 cores), the load generator (this process, every thread) runs on the
 * first core and each server on the last, so autocannon and the server do not take turns on one core and
 * the ratios measure rootspan rather than the scheduler. Each median is printed with the spread of its rounds.
 *
 * Server CPU per request is judged on paired rounds: the three configurations' servers, and a second `none`
 * server (an A/A check: its ratio to the first shows the method's own noise), run at the same time, each under
 * its own load at a sixth of the slowest baseline run's saturated throughput, so whatever else the machine does
 * in those seconds weighs on all of them alike (in the sequential runs one configuration's CPU per request moved
 * ±10–20 % between rounds on the shared machine, more than the 3 % to be judged). Unsaturated, the servers
 * rarely wait for one another, and each one's CPU is its own process's. The servers start once and the rounds
 * are consecutive windows after a settling period at the fixed rate: a fresh server spends most of its first
 * minute compiling (V8's optimizing compiler runs on helper threads; at 75 req/s code that runs once per clock
 * tick or per closed bucket warms slowly), which a service pays once, not per request. The first window,
 * right after the saturating warm-up, is reported too ("cold"), with each window's helper-thread share.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { childMain, log, median, quantileSorted, sig, sleep } from './common.js';
export const HOST_GOAL_THROUGHPUT_RATIO = 0.97;
export const HOST_GOAL_P99_RATIO = 1.05;
const CONNECTIONS = 10;
/** Share of the first `none` run's saturated throughput used for the fixed-rate phase. */
const FIXED_RATE_SHARE = 0.5;
const REQUESTS = [
    { method: 'GET', path: '/api/users/42' },
    { method: 'GET', path: '/api/products' },
    { method: 'POST', path: '/api/orders', headers: { 'content-type': 'application/json' }, body: '{"productId":3,"quantity":2}' },
    { method: 'GET', path: '/api/users/7' },
];
const FULL = { warmupS: 8, saturatedS: 6, fixedS: 5, rounds: 3, pairedRounds: 8, windowS: 10, settleS: 30 };
const QUICK = { warmupS: 1, saturatedS: 2, fixedS: 2, rounds: 1, pairedRounds: 1, windowS: 3, settleS: 2 };
const CONFIGS = ['none', 'rootspan', 'sqlite'];
const PAIRED = [...CONFIGS.map((c) => ({ label: c, config: c })), { label: 'none A/A', config: 'none' }];
/**
 * Pins this process (all its threads: autocannon runs here) to the first core and returns where servers
 * go; `string` says why nothing is pinned (fewer than 2 cores, or no working `taskset`).
 */
function pinCores() {
    const n = cpus().length;
    if (process.platform !== 'linux')
        return `not pinned: taskset is Linux-only`;
    if (n < 2)
        return `not pinned: ${n} core`;
    const pin = { loader: 0, server: n - 1 };
    try {
        execFileSync('taskset', ['-a', '-p', '-c', String(pin.loader), String(process.pid)], { stdio: 'ignore' });
    }
    catch (err) {
        return `not pinned: taskset failed (${err.message.split('\n')[0]})`;
    }
    return pin;
}
function startServer(config, pin) {
    const script = new URL('./host-server.js', import.meta.url).pathname;
    const node = [process.execPath, script, config];
    // taskset execs node with the affinity set before any thread starts, so V8's helper threads share the core.
    const [cmd, ...args] = typeof pin === 'string' ? node : ['taskset', '-c', String(pin.server), ...node];
    const child = spawn(cmd, args, {
        // No metrics/logs exporters: NodeSDK would otherwise default to OTLP and try to reach a collector.
        env: { ...process.env, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
        const onExit = (code) => reject(new Error(`host-server (${config}) exited early (${code})`));
        child.once('error', reject);
        child.once('exit', onExit);
        child.once('message', (m) => {
            child.off('exit', onExit);
            resolve({ child, port: m.port });
        });
    });
}
function serverStats(child) {
    return new Promise((resolve) => {
        const on = (m) => {
            const msg = m;
            if (msg?.type === 'stats' && msg.stats) {
                child.off('message', on);
                resolve(msg.stats);
            }
        };
        child.on('message', on);
        child.send({ type: 'stats' });
    });
}
async function stopServer(child) {
    if (child.exitCode !== null)
        return;
    const exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
}
/** One autocannon run; with `record`, every successful response's latency in float ms, sorted. */
function load(url, durationS, overallRate, record) {
    return new Promise((resolve, reject) => {
        const lat = [];
        const inst = autocannon({ url, connections: CONNECTIONS, pipelining: 1, duration: durationS, requests: REQUESTS, timeout: 10, ...(overallRate ? { overallRate } : {}) }, (err, result) => (err ? reject(err) : resolve({ result, latencies: Float64Array.from(lat).sort() })));
        if (record) {
            inst.on('response', (_client, status, _bytes, ms) => {
                if (status < 400)
                    lat.push(ms);
            });
        }
    });
}
function cpuUs(a, b) {
    return b.cpu.user + b.cpu.system - (a.cpu.user + a.cpu.system);
}
async function phase(url, child, durationS, overallRate) {
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
        helperUsPerReq: responses > 0 && before.threads && after.threads ? (after.threads.helpers - before.threads.helpers) / responses : NaN,
    };
}
async function runOnce(config, round, t, pin, fixedRate, setFixedRate) {
    const { child, port } = await startServer(config, pin);
    try {
        const url = `http://127.0.0.1:${port}`;
        const warm = await load(url, t.warmupS, undefined, false);
        const saturated = await phase(url, child, t.saturatedS, undefined);
        if (fixedRate() === undefined)
            setFixedRate(Math.max(100, Math.round((saturated.rps * FIXED_RATE_SHARE) / 100) * 100));
        const rate = fixedRate();
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
    }
    finally {
        await stopServer(child);
    }
}
/**
 * The paired servers, started once: saturating warm-up, the cold window, `settleS` at the fixed rate, then
 * `pairedRounds` consecutive windows.
 */
async function runPaired(t, pin, rate) {
    const servers = await Promise.all(PAIRED.map((p) => startServer(p.config, pin)));
    try {
        const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);
        // Saturating warm-up (the servers share the core), as long as a sequential run's warm-up and saturated phase together.
        await Promise.all(urls.map((url) => load(url, t.warmupS + t.saturatedS, undefined, false)));
        const window = async (round) => {
            const phases = await Promise.all(urls.map((url, i) => phase(url, servers[i].child, t.windowS, rate)));
            const of = (metric) => Object.fromEntries(PAIRED.map((p, i) => [p.label, metric(phases[i])]));
            const r = { round, cpuUsPerReq: of((p) => p.cpuUsPerReq), helperUsPerReq: of((p) => p.helperUsPerReq), p99: of((p) => p.p99), failures: phases.reduce((n, p) => n + p.failures, 0) };
            log('host', describePaired(r).trim());
            return r;
        };
        const cold = await window(0);
        await Promise.all(urls.map((url) => load(url, t.settleS, rate, false)));
        const rounds = [];
        for (let round = 1; round <= t.pairedRounds; round++)
            rounds.push(await window(round));
        return { cold, rounds };
    }
    finally {
        await Promise.all(servers.map((s) => stopServer(s.child)));
    }
}
function describePaired(r) {
    const helpers = (l) => (Number.isNaN(r.helperUsPerReq[l]) ? '' : ` (helper threads ${r.helperUsPerReq[l].toFixed(0)})`);
    const cell = (l) => `${l} ${r.cpuUsPerReq[l].toFixed(0)}${helpers(l)} µs/req p99 ${sig(r.p99[l])} ms`;
    return `   paired ${r.round === 0 ? 'cold' : `#${r.round}`}  ${PAIRED.map((p) => cell(p.label)).join(' | ')}${r.failures > 0 ? `, ${r.failures} FAILED requests` : ''}`;
}
function describeRun(r) {
    const rs = r.server.rootspan;
    return (`   ${r.config.padEnd(8)} #${r.round}  saturated ${r.saturated.rps.toFixed(0).padStart(6)} req/s  p50 ${sig(r.saturated.p50)} p99 ${sig(r.saturated.p99)} ms  ` +
        `cpu ${r.saturated.cpuUsPerReq.toFixed(0)} µs/req | @${r.fixedRate}/s p50 ${sig(r.fixed.p50)} p99 ${sig(r.fixed.p99)} p99.9 ${sig(r.fixed.p999)} ms  ` +
        `cpu ${r.fixed.cpuUsPerReq.toFixed(0)} µs/req | exported ${r.spansPerRequest.toFixed(1)} spans/req` +
        (rs ? `, rootspan ingested ${(r.rootspanSpansPerRequest ?? 0).toFixed(1)} spans/req, dropped ${rs.dropped}` : '') +
        (r.saturated.failures + r.fixed.failures > 0 ? `, ${r.saturated.failures + r.fixed.failures} FAILED requests` : ''));
}
function spread(xs) {
    return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}
/** `median (min–max)`, or just the value when there was one round. */
function showSpread(s, fmt = (x) => sig(x)) {
    return s.min === s.max ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}
function summarize(runs) {
    return {
        runs: runs.length,
        rps: spread(runs.map((r) => r.saturated.rps)),
        p99: spread(runs.map((r) => r.saturated.p99)),
        fixedP50: spread(runs.map((r) => r.fixed.p50)),
        fixedP99: spread(runs.map((r) => r.fixed.p99)),
        cpuUsPerReq: spread(runs.map((r) => r.saturated.cpuUsPerReq)),
        fixedCpuUsPerReq: spread(runs.map((r) => r.fixed.cpuUsPerReq)),
    };
}
/** Ratios of a configuration's runs to `none`'s, round by round (the runs of a round are seconds apart). */
function roundRatios(runs, config, metric) {
    const ratios = [];
    for (const r of runs) {
        if (r.config !== config)
            continue;
        const base = runs.find((b) => b.config === 'none' && b.round === r.round);
        if (base !== undefined)
            ratios.push(metric(r) / metric(base));
    }
    return spread(ratios);
}
const METRICS = {
    throughput: (r) => r.saturated.rps,
    p99: (r) => r.saturated.p99,
    fixedP99: (r) => r.fixed.p99,
    fixedCpu: (r) => r.fixed.cpuUsPerReq,
};
async function run(opts) {
    const started = performance.now();
    const t = opts.quick ? QUICK : FULL;
    const pin = pinCores();
    log('host', typeof pin === 'string' ? pin : `load generator on core ${pin.loader}, servers on core ${pin.server}`);
    let fixed;
    const runs = [];
    for (let round = 1; round <= t.rounds; round++) {
        // Alternate, and swap the order every round so neither configuration always goes first.
        const order = round % 2 === 1 ? [...CONFIGS] : [...CONFIGS].reverse();
        for (const config of order) {
            const r = await runOnce(config, round, t, pin, () => fixed, (rps) => (fixed = rps));
            runs.push(r);
            log('host', describeRun(r).trim());
        }
    }
    // Each configuration's server gets a sixth of the slowest saturated baseline run, so the three stay near half
    // of what the core served even when the machine got busier after the first round (the A/A twin adds a sixth).
    const slowest = Math.min(...runs.filter((r) => r.config === 'none').map((r) => r.saturated.rps));
    const rate = Math.max(25, Math.round((slowest * FIXED_RATE_SHARE) / CONFIGS.length / 25) * 25);
    const { cold, rounds: paired } = await runPaired(t, pin, rate);
    const pairedCpu = (l) => spread(paired.map((r) => r.cpuUsPerReq[l]));
    const pairedRatios = (l) => spread(paired.map((r) => r.cpuUsPerReq[l] / r.cpuUsPerReq.none));
    const pairedFailures = [cold, ...paired].reduce((n, r) => n + r.failures, 0);
    const coldRatio = (l) => sig(cold.cpuUsPerReq[l] / cold.cpuUsPerReq.none, 3);
    const none = summarize(runs.filter((r) => r.config === 'none'));
    const rs = summarize(runs.filter((r) => r.config === 'rootspan'));
    const db = summarize(runs.filter((r) => r.config === 'sqlite'));
    const ratiosOf = (config) => ({
        throughput: roundRatios(runs, config, METRICS.throughput),
        p99: roundRatios(runs, config, METRICS.p99),
        fixedP99: roundRatios(runs, config, METRICS.fixedP99),
        fixedCpu: roundRatios(runs, config, METRICS.fixedCpu),
    });
    const rsRounds = ratiosOf('rootspan');
    const dbRounds = ratiosOf('sqlite');
    const drops = runs.reduce((n, r) => n + (r.server.rootspan?.dropped ?? 0), 0);
    const failures = runs.reduce((n, r) => n + r.saturated.failures + r.fixed.failures, 0);
    const failuresOf = (config) => runs.filter((r) => r.config === config).reduce((n, r) => n + r.saturated.failures + r.fixed.failures, 0);
    const us = (x) => x.toFixed(0);
    const line = (name, s) => `   ${name.padEnd(24)} ${showSpread(s.rps, us)} req/s  p99 ${showSpread(s.p99)} ms | @${fixed}/s p50 ${showSpread(s.fixedP50)} p99 ${showSpread(s.fixedP99)} ms | cpu ${showSpread(s.cpuUsPerReq, us)} / ${showSpread(s.fixedCpuUsPerReq, us)} µs/req`;
    const ratioLine = (name, c, rounds) => {
        const r = (x, y, per) => `${sig(y.median / x.median, 3)}${per.min === per.max ? '' : ` (${sig(per.min, 3)}–${sig(per.max, 3)})`}`;
        return (`   ${name}/none (ratio of medians, per-round ratios min–max): throughput ${r(none.rps, c.rps, rounds.throughput)}, p99 ${r(none.p99, c.p99, rounds.p99)}, ` +
            `p99 @fixed rate ${r(none.fixedP99, c.fixedP99, rounds.fixedP99)}, CPU/request @fixed rate ${r(none.fixedCpuUsPerReq, c.fixedCpuUsPerReq, rounds.fixedCpu)}`);
    };
    const report = [
        `== Host overhead (${opts.quick ? 'quick' : 'full'}): Express + NodeSDK (http, express instrumentation), autocannon ${CONNECTIONS} connections on 127.0.0.1;` +
            ` per run ${t.warmupS} s warm-up, ${t.saturatedS} s saturated, ${t.fixedS} s at a fixed ${fixed} req/s; ${t.rounds} round(s), alternating; ` +
            (typeof pin === 'string' ? pin : `autocannon pinned to core ${pin.loader}, servers to core ${pin.server}`),
        ...runs.map(describeRun),
        `   medians (min–max over rounds) (saturated | fixed rate | server CPU saturated / fixed):`,
        line('none', none),
        line('rootspan processor', rs),
        line('rootspan + SQLite store', db),
        ratioLine('rootspan', rs, rsRounds),
        ratioLine('rootspan + SQLite', db, dbRounds),
        `   paired rounds (the four servers at once, started once; ${t.windowS} s windows at ${rate} req/s each after ${t.settleS} s settling), server CPU per request, median (min–max): ` +
            PAIRED.map((p) => `${p.label} ${showSpread(pairedCpu(p.label), us)} µs`).join(', ') +
            `; per-round ratios rootspan/none ${showSpread(pairedRatios('rootspan'), (x) => sig(x, 3))}, SQLite/none ${showSpread(pairedRatios('sqlite'), (x) => sig(x, 3))}, ` +
            `A/A none/none ${showSpread(pairedRatios('none A/A'), (x) => sig(x, 3))}; cold window (right after the warm-up, JIT still compiling) ` +
            `rootspan/none ${coldRatio('rootspan')}, SQLite/none ${coldRatio('sqlite')}, A/A ${coldRatio('none A/A')}`,
        describePaired(cold),
        ...paired.map(describePaired),
        `   rootspan queue drops ${drops}${failures + pairedFailures > 0 ? `; ${failures + pairedFailures} FAILED requests` : ''}`,
    ];
    /** One goal row: medians with their spread, judged on the ratio of medians; the per-round ratios beside it. */
    const row = (metric, higherIsBetter, goal, base, c, rounds, unit, fmt, ok = true) => {
        const ratio = c.median / base.median;
        return {
            benchmark: 'host',
            metric,
            goal: `${higherIsBetter ? '≥' : '≤'} ${sig(goal, 3)}`,
            measured: `${showSpread(base, fmt)} → ${showSpread(c, fmt)} ${unit}${rounds.min === rounds.max ? '' : `; per round ${sig(rounds.min, 3)}–${sig(rounds.max, 3)}`}`,
            ratio,
            ratioOf: 'vs none',
            pass: ok && (higherIsBetter ? ratio >= goal : ratio <= goal),
        };
    };
    const aaRatios = pairedRatios('none A/A');
    const aa = (r) => ({ ...r, measured: `${r.measured}; A/A none/none ${showSpread(aaRatios, (x) => sig(x, 3))}` });
    /** The host goals for one configuration against `none`. */
    const goalRows = (label, c, rounds, failed, config) => [
        row(`throughput, ${label} vs none`, true, HOST_GOAL_THROUGHPUT_RATIO, none.rps, c.rps, rounds.throughput, 'req/s', us, failed === 0),
        row(`p99 latency (saturated), ${label} vs none`, false, HOST_GOAL_P99_RATIO, none.p99, c.p99, rounds.p99, 'ms', (x) => sig(x)),
        row(`p99 latency (@${fixed} req/s), ${label} vs none`, false, HOST_GOAL_P99_RATIO, none.fixedP99, c.fixedP99, rounds.fixedP99, 'ms', (x) => sig(x)),
        // The throughput goal seen from the server's side: the CPU it spends per request at the same load,
        // from the paired rounds. Unlike saturated throughput it does not depend on how the load generator
        // shares the cores, and the neighbours' load weighs on both sides of each ratio alike.
        // The A/A ratios beside it say how far the method itself moves.
        aa(row(`server CPU per request (@${rate} req/s, paired), ${label} vs none`, false, 1 / HOST_GOAL_THROUGHPUT_RATIO, pairedCpu('none'), pairedCpu(config), pairedRatios(config), 'µs/req', us, pairedFailures === 0)),
    ];
    const rows = [...goalRows('rootspan', rs, rsRounds, failuresOf('rootspan'), 'rootspan'), ...goalRows('rootspan + SQLite', db, dbRounds, failuresOf('sqlite'), 'sqlite')];
    return {
        name: 'host',
        wallMs: Math.round(performance.now() - started),
        rows,
        report,
        details: {
            connections: CONNECTIONS,
            timing: t,
            pinning: pin,
            fixedRate: fixed,
            requests: REQUESTS.map((r) => `${r.method} ${r.path}`),
            summary: { none, rootspan: rs, sqlite: db },
            perRoundRatios: { rootspan: rsRounds, sqlite: dbRounds },
            runs,
            paired: {
                rate,
                windowS: t.windowS,
                settleS: t.settleS,
                cpuUsPerReq: Object.fromEntries(PAIRED.map((p) => [p.label, pairedCpu(p.label)])),
                ratios: { rootspan: pairedRatios('rootspan'), sqlite: pairedRatios('sqlite'), aa: pairedRatios('none A/A') },
                cold,
                rounds: paired,
            },
        },
    };
}
childMain(run);
//# sourceMappingURL=host.js.map