/**
 * `node packages/bench/dist/run.js [--only ingest,host,memory,cli] [--quick]` (`npm run bench`): runs each
 * benchmark in its own child process, one after the other (never two at once: they would measure each
 * other on a 2-core machine), prints each report as it arrives, then the table of goals, and writes
 * everything as JSON to bench/results/latest.json. Exit code 0 even when goals fail: it is a report.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { BENCHES, DEFAULT_RESULTS_DIR, optionsOrExit, sig, verdict, } from './common.js';
const USAGE = `Usage: node packages/bench/dist/run.js [options]   (npm run bench builds first)

  --only <list>   comma-separated subset of: ${BENCHES.join(', ')}
  --quick         short runs for a smoke check (numbers are indicative only)
  -h, --help      this help

Results: the table on stdout, progress on stderr, everything as JSON in bench/results/latest.json
(and the ingest CPU profile in bench/results/ingest.cpuprofile).`;
/** Node flags per benchmark: forced GC between passes and before heap readings. */
const EXEC_ARGV = {
    ingest: ['--expose-gc'],
    host: [],
    memory: ['--expose-gc'],
    cli: ['--expose-gc'],
};
/** Wall-time limits (s): a stuck benchmark is stopped and reported, and the whole run stays bounded. */
const LIMIT_S = { ingest: 150, host: 420, memory: 180, cli: 240 };
function parse(argv) {
    const o = { only: [...BENCHES], quick: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '-h' || a === '--help')
            return 'help';
        if (a === '--quick')
            o.quick = true;
        else if (a === '--only' || a.startsWith('--only=')) {
            const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
            if (v === undefined || v === '')
                throw new Error('--only needs a list');
            const names = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
            for (const n of names)
                if (!BENCHES.includes(n))
                    throw new Error(`unknown benchmark '${n}'`);
            o.only = BENCHES.filter((b) => names.includes(b));
        }
        else
            throw new Error(`unknown option '${a}'`);
    }
    return o;
}
/** Forks dist/<name>.js and waits for its result (or its failure, or the time limit). */
function runChild(name, opts) {
    const child = fork(new URL(`./${name}.js`, import.meta.url), [JSON.stringify(opts)], {
        execArgv: EXEC_ARGV[name],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const limitS = opts.quick ? LIMIT_S[name] / 2 : LIMIT_S[name];
    return new Promise((resolve, reject) => {
        let message;
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref();
        }, limitS * 1000);
        child.on('message', (m) => (message = m));
        child.once('error', (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.once('exit', (code, signal) => {
            clearTimeout(timer);
            if (message?.type === 'result')
                resolve(message.result);
            else if (message?.type === 'error')
                reject(new Error(message.message));
            else
                reject(new Error(timedOut ? `stopped after the ${limitS} s limit` : `exited (${signal ?? code}) without a result`));
        });
    });
}
/** Rows standing for a benchmark that failed to run. */
function errorRows(name, message) {
    return [{ benchmark: name, metric: `${name} benchmark`, goal: 'runs', measured: `ERROR: ${message.split('\n')[0]}`, ratio: null, ratioOf: '', pass: false }];
}
function formatTable(rows) {
    const cells = rows.map((r) => [r.benchmark, r.metric, r.goal, r.measured, r.ratio === null ? '–' : `${sig(r.ratio, 3)} ${r.ratioOf}`, verdict(r.pass)]);
    const header = ['bench', 'metric', 'goal', 'measured', 'ratio', 'result'];
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => [...c[i]].length)));
    const line = (c) => c.map((x, i) => x + ' '.repeat(widths[i] - [...x].length)).join('  ').trimEnd();
    const rule = '─'.repeat(widths.reduce((a, b) => a + b + 2, -2));
    return [line(header), rule, ...cells.map(line), rule].join('\n');
}
async function cli(argv) {
    const opts = optionsOrExit('bench', USAGE, () => parse(argv));
    if (typeof opts === 'number')
        return opts;
    const started = performance.now();
    const resultsDir = DEFAULT_RESULTS_DIR;
    mkdirSync(resultsDir, { recursive: true });
    const machine = {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        totalMemMB: Math.round(totalmem() / 1e6),
        loadavgAtStart: loadavg(),
    };
    process.stdout.write(`rootspan bench${opts.quick ? ' --quick (smoke check: short runs, indicative numbers)' : ''}: ${opts.only.join(', ')}; node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, load ${machine.loadavgAtStart.map((l) => l.toFixed(2)).join(' ')}\n\n`);
    const results = [];
    const errors = [];
    const rows = [];
    for (const name of opts.only) {
        const t0 = performance.now();
        try {
            const r = await runChild(name, { quick: opts.quick, resultsDir });
            results.push(r);
            rows.push(...r.rows);
            process.stdout.write(`${r.report.join('\n')}\n   (${(r.wallMs / 1000).toFixed(1)} s)\n\n`);
        }
        catch (err) {
            const message = err.message;
            errors.push({ name, message });
            rows.push(...errorRows(name, message));
            process.stdout.write(`== ${name}: ERROR after ${((performance.now() - t0) / 1000).toFixed(1)} s\n${message}\n\n`);
        }
    }
    const wallMs = Math.round(performance.now() - started);
    process.stdout.write(`${formatTable(rows)}\n`);
    const failed = rows.filter((r) => r.pass === false).length;
    const out = join(resultsDir, 'latest.json');
    writeFileSync(out, `${JSON.stringify({ generatedAt: new Date().toISOString(), quick: opts.quick, only: opts.only, wallMs, machine: { ...machine, loadavgAtEnd: loadavg() }, goals: rows, errors, results }, null, 2)}\n`);
    process.stdout.write(`${rows.length - failed - rows.filter((r) => r.pass === null).length} passed, ${failed} failed, ${rows.filter((r) => r.pass === null).length} n/a; finished in ${(wallMs / 1000).toFixed(1)} s; results in ${out}\n`);
    return 0;
}
process.exitCode = await cli(process.argv.slice(2));
//# sourceMappingURL=run.js.map