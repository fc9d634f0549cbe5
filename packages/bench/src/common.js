/**
 * What every benchmark shares: the result shape it hands to the orchestrator, the child-process
 * protocol (each benchmark runs in its own process, forked by run.ts), and small statistics and
 * formatting helpers.
 */
import { fileURLToPath } from 'node:url';
/** In the order they run. */
export const BENCHES = ['ingest', 'host', 'memory', 'cli'];
/** dist/*.js → <repo>/bench/results/ */
export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
/**
 * Entry point of a benchmark file. Forked by run.ts it reads its options from argv and sends the result
 * over IPC; run directly (`node packages/bench/dist/ingest.js [--quick]`) it prints its report.
 */
export function childMain(run) {
    const send = process.send?.bind(process);
    let opts;
    if (send !== undefined && process.argv[2]?.startsWith('{')) {
        opts = JSON.parse(process.argv[2]);
    }
    else {
        opts = { quick: process.argv.includes('--quick'), resultsDir: DEFAULT_RESULTS_DIR };
    }
    run(opts).then((result) => {
        if (send !== undefined) {
            send({ type: 'result', result }, undefined, {}, () => process.disconnect());
        }
        else {
            process.stdout.write(`${result.report.join('\n')}\n\n`);
            for (const r of result.rows)
                process.stdout.write(`${verdict(r.pass)}  ${r.metric}: ${r.measured} (goal ${r.goal})\n`);
        }
    }, (err) => {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        if (send !== undefined)
            send({ type: 'error', message }, undefined, {}, () => process.disconnect());
        else
            process.stderr.write(`${message}\n`);
        process.exitCode = 1;
    });
}
/**
 * A command's options from `parse`; on `--help` (parse answers 'help') the usage on stdout and exit code 0,
 * on a bad option (parse throws) the message and the usage on stderr and exit code 2, as a number instead.
 */
export function optionsOrExit(command, usage, parse) {
    let opts;
    try {
        opts = parse();
    }
    catch (err) {
        process.stderr.write(`${command}: ${err.message}\n\n${usage}\n`);
        return 2;
    }
    if (opts === 'help') {
        process.stdout.write(`${usage}\n`);
        return 0;
    }
    return opts;
}
/** Progress on stderr, so a child's stdout stays free. */
export function log(bench, message) {
    process.stderr.write(`[${bench}] ${message}\n`);
}
export function verdict(pass) {
    return pass === null ? 'n/a ' : pass ? 'PASS' : 'FAIL';
}
export function median(xs) {
    if (xs.length === 0)
        return NaN;
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
/** Quantile (nearest rank) of values sorted ascending. */
export function quantileSorted(sorted, q) {
    if (sorted.length === 0)
        return NaN;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[i];
}
/** A number with `digits` significant digits, no exponent for everyday magnitudes. */
export function sig(x, digits = 3) {
    if (!Number.isFinite(x))
        return String(x);
    if (x === 0)
        return '0';
    const mag = Math.floor(Math.log10(Math.abs(x)));
    const decimals = Math.max(0, digits - 1 - mag);
    return x.toFixed(Math.min(decimals, 6));
}
export const MB = 1e6;
export function mb(bytes) {
    return `${(bytes / MB).toFixed(1)} MB`;
}
export function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}
/** Forces a full GC when the process runs with --expose-gc (twice: weak references and finalizers). */
export function forceGc() {
    const gc = globalThis.gc;
    if (gc === undefined)
        return false;
    gc();
    gc();
    return true;
}
//# sourceMappingURL=common.js.map