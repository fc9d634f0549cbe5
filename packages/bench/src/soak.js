/**
 * `npm run soak -- --minutes N`: a real `rootspan serve` (the CLI's bin, its own process, 127.0.0.1, a free
 * port) under live OTLP/HTTP JSON traffic for N minutes: the simulated shop with two faults, a cardinality
 * explosion, a few malformed requests, and a clock jump half-way (the server's wall clock and the
 * senders' timestamps step forward together, as when a host resumes from sleep). Prints the server's
 * memory (RSS and heap after a forced GC) and event-loop delay over time, the drops by reason and the
 * incidents, and exits 1 when memory grows over the second half beyond the tolerance, a fault has no
 * incident, a fault has more than one, an incident matches no fault, or an incident is notified as
 * opened twice (a local webhook receives the notifications). Exit 2: the harness itself failed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { DEFAULT_RESULTS_DIR, MB, optionsOrExit, sleep } from './common.js';
import { getJson, memoryOf, PATIENCE_MS, Sender, startServe, webhookReceiver } from './soak-server.js';
import { Explosion, shifted, shopBatches, shopSpansPerRequest, soakFaults, TIMELINE } from './soak-traffic.js';
import { duplicateNotifications, HEAP_GROWTH_TOLERANCE, judgeIncidents, RSS_GROWTH_TOLERANCE, secondHalfGrowth, } from './soak-verdict.js';
const USAGE = `Usage: npm run soak -- [options]   (builds first; or node packages/bench/dist/soak.js)

  --minutes <n>       how long (default 10; at least 1)
  --rate <n>          spans per second in total (default 2000)
  --explosion <0..1>  share of the rate that is the cardinality explosion (default 0.1)
  --jump-hours <n>    size of the forward clock jump half-way (default 24; 0: none)
  -h, --help          this help

Timeline (shares of the run): payment fails 25–40 %, the clock jumps at 50 %, checkout is CPU-starved
65–80 %. Incidents resolve after 60 s without anomaly, so without a jump the two faults are two incidents
only in runs of about 8 minutes or more.

Exit 0: passed; 1: a check failed (listed at the end); 2: the harness failed. Everything measured goes
to bench/results/soak.json.`;
function parse(argv) {
    const o = { minutes: 10, rate: 2000, explosion: 0.1, jumpHours: 24 };
    for (let i = 0; i < argv.length; i++) {
        const [name, inline] = argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
        if (name === '-h' || name === '--help')
            return 'help';
        const num = (min, max = Infinity) => {
            const v = Number(inline ?? argv[++i]);
            if (!Number.isFinite(v) || v < min || v > max)
                throw new Error(`${name} must be a number from ${min}${max < Infinity ? ` to ${max}` : ''}`);
            return v;
        };
        if (name === '--minutes')
            o.minutes = num(1);
        else if (name === '--rate')
            o.rate = num(100);
        else if (name === '--explosion')
            o.explosion = num(0, 0.9);
        else if (name === '--jump-hours')
            o.jumpHours = num(0);
        else
            throw new Error(`unknown option '${argv[i]}'`);
    }
    return o;
}
/** The analyzer's `resolveAfterMs` in the soak (fixed here; `rootspan serve` defaults to 30 s). */
const RESOLVE_AFTER_MS = 60_000;
const mmss = (ms) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const out = (line = '') => process.stdout.write(`${line}\n`);
async function soak(opts) {
    const durationMs = Math.round(opts.minutes * 60_000);
    const jumpMs = Math.round(opts.jumpHours * 3_600_000);
    const jumpAt = TIMELINE.jump * durationMs;
    const sampleMs = Math.max(5000, Math.round(durationMs / 40));
    const faults = soakFaults(durationMs);
    const explosionRate = opts.rate * opts.explosion;
    const spansPerRequest = shopSpansPerRequest();
    const shopRps = (opts.rate - explosionRate) / spansPerRequest;
    const dir = mkdtempSync(join(tmpdir(), 'rootspan-soak-'));
    const hook = await webhookReceiver();
    const config = join(dir, 'serve.json');
    writeFileSync(config, JSON.stringify({
        notifications: [{ type: 'webhook', name: 'soak', url: hook.url, events: ['opened', 'resolved'] }],
        // Fixed at 60 s whatever the serve default: the faults are minutes apart and each must be its own incident.
        analyzer: { resolveAfterMs: RESOLVE_AFTER_MS },
    }));
    let serve;
    try {
        serve = await startServe(config);
        const { child, url } = serve;
        out(`rootspan soak: ${opts.minutes} min through ${url} at ${opts.rate} spans/s (shop ${shopRps.toFixed(0)} req/s × ${spansPerRequest.toFixed(1)} spans, explosion ${explosionRate.toFixed(0)} spans/s), ` +
            `${jumpMs > 0 ? `clock jump +${opts.jumpHours} h at ${mmss(jumpAt)}` : 'no clock jump'}`);
        for (const f of faults)
            out(`  fault: ${f.label} from ${mmss(f.fromMs)} to ${mmss(f.toMs)}${jumpMs > 0 && f.fromMs >= jumpAt ? ' (after the jump)' : ''}`);
        out(`  incidents resolve after ${RESOLVE_AFTER_MS / 1000} s without anomaly (fixed by the soak); without a jump the faults are separate incidents from about 8 minutes on`);
        out(`  memory: heap = used + external after a forced GC; checks: heap ≤ ${pct(HEAP_GROWTH_TOLERANCE)}, RSS ≤ ${pct(RSS_GROWTH_TOLERANCE)} from 50–60 % to the last 10 % of the run`);
        out();
        out('   time  RSS MB  heap MB  loop max ms  spans sent  accepted  dropped  queued  incidents');
        const t0 = Date.now();
        // The soak's own event loop too: a stalled sender or webhook receiver would look like a server fault.
        const ownLoop = monitorEventLoopDelay({ resolution: 10 });
        ownLoop.enable();
        const sender = new Sender(`${url}/v1/traces`);
        const batches = shopBatches(durationMs, faults, shopRps, t0);
        const explosion = new Explosion(explosionRate, t0);
        let next = batches.next();
        let shift = 0;
        let lastExplosion = t0;
        let lastMalformed = t0;
        let malformedSent = 0;
        const samples = [];
        const statuses = [];
        let nextSample = t0 + sampleMs;
        let sampling;
        const unanswered = [];
        const sample = async () => {
            const t = Date.now() - t0;
            let m;
            let answerMs;
            let status;
            try {
                const asked = performance.now();
                m = await memoryOf(child);
                answerMs = performance.now() - asked;
                status = await getJson(`${url}/aiops/status`);
            }
            catch (err) {
                unanswered.push(t);
                out(`  ${mmss(t).padStart(5)}  no answer from the server: ${err.message}`);
                return;
            }
            const s = { t, rss: m.rss, heap: m.heapUsed + m.external, loopMaxMs: m.loopMaxMs, loopP99Ms: m.loopP99Ms, answerMs };
            samples.push(s);
            statuses.push({ t, status });
            const dropped = Object.values(status.drops).reduce((a, b) => a + b, 0);
            out(`  ${mmss(t).padStart(5)}  ${(s.rss / MB).toFixed(0).padStart(6)}  ${(s.heap / MB).toFixed(0).padStart(7)}  ${s.loopMaxMs.toFixed(0).padStart(11)}  ${String(sender.spansSent).padStart(10)}  ${String(status.ingest.spansAccepted).padStart(8)}  ${String(dropped).padStart(7)}  ${String(status.queue.spans).padStart(6)}  ${String(status.incidents.total).padStart(9)}`);
        };
        for (;;) {
            const now = Date.now();
            if (jumpMs > 0 && shift === 0 && now - t0 >= jumpAt) {
                child.send({ type: 'jump', ms: jumpMs });
                shift = jumpMs;
                out(`  ${mmss(now - t0).padStart(5)}  ── clock jump: server and senders +${opts.jumpHours} h ──`);
            }
            while (!next.done && next.value.flushAt <= now) {
                sender.send(shifted(next.value.spans, shift));
                next = batches.next();
            }
            if (now - lastExplosion >= 1000) {
                sender.send(shifted(explosion.take(now), shift));
                lastExplosion = now;
            }
            if (now - lastMalformed >= 10_000) {
                // Undecodable JSON (400), and a span without ids (200, a partial success rejecting it).
                sender.sendRaw('{"resourceSpans": [');
                sender.sendRaw(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'no ids', startTimeUnixNano: '1', endTimeUnixNano: '2' }] }] }] }));
                malformedSent += 2;
                lastMalformed = now;
            }
            if (sampling === undefined && now >= nextSample) {
                // After a stall, the next sample is a full interval away (no catch-up burst).
                nextSample = Math.max(nextSample + sampleMs, now + sampleMs / 2);
                sampling = sample().finally(() => (sampling = undefined));
            }
            if (next.done && now - t0 >= durationMs)
                break;
            await sleep(50);
        }
        await sampling;
        while (sender.pending > 0)
            await sleep(100);
        await sample();
        // Judge what is buffered now, then read the outcome and stop the server (it sends pending notifications).
        await getJson(`${url}/aiops/analyze`, { method: 'POST' });
        const final = await getJson(`${url}/aiops/status`);
        const { incidents } = await getJson(`${url}/aiops/incidents?limit=1000`);
        const stopAt = performance.now();
        const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
        child.kill('SIGTERM');
        const exitCode = await exit;
        const stopMs = performance.now() - stopAt;
        // ---- report ----
        const expected = faults.map((f) => {
            const d = jumpMs > 0 && f.fromMs >= jumpAt ? jumpMs : 0;
            return { label: f.label, service: f.service, from: t0 + f.fromMs + d, to: t0 + f.toMs + d };
        });
        const verdict = judgeIncidents(expected, incidents);
        const opened = hook.events.filter((e) => e.type === 'incident.opened').map((e) => e.id);
        const dupNotified = duplicateNotifications(opened);
        const notNotified = incidents.filter((i) => !opened.includes(i.id)).map((i) => i.id);
        const heap = secondHalfGrowth(samples, durationMs, (s) => s.heap);
        const rss = secondHalfGrowth(samples, durationMs, (s) => s.rss);
        const loopMax = samples.reduce((m, s) => Math.max(m, s.loopMaxMs), 0);
        const loopMaxAt = samples.find((s) => s.loopMaxMs === loopMax)?.t ?? 0;
        out();
        out(`memory: RSS ${samples.map((s) => (s.rss / MB).toFixed(0)).join(' ')} MB`);
        out(`        heap ${samples.map((s) => (s.heap / MB).toFixed(0)).join(' ')} MB`);
        if (heap && rss) {
            out(`        second half: heap ${(heap.mid / MB).toFixed(1)} → ${(heap.end / MB).toFixed(1)} MB (${pct(heap.growth)}), RSS ${(rss.mid / MB).toFixed(1)} → ${(rss.end / MB).toFixed(1)} MB (${pct(rss.growth)})`);
        }
        out(`event loop: longest delay ${loopMax.toFixed(0)} ms (in the sample ending at ${mmss(loopMaxAt)}); p99 per sample ≤ ${Math.max(...samples.map((s) => s.loopP99Ms)).toFixed(0)} ms; longest wait for a sample's answer ${Math.max(...samples.map((s) => s.answerMs)).toFixed(0)} ms; the soak's own loop: longest ${(ownLoop.max / 1e6).toFixed(0)} ms`);
        out(`sent: ${sender.spansSent} spans accepted by HTTP, ${sender.spansRefused} refused, ${sender.spansAbandoned} abandoned by the sender; ${malformedSent} malformed requests; responses ${JSON.stringify(Object.fromEntries(sender.statuses))}`);
        out(`server: received ${final.ingest.spansReceived}, accepted ${final.ingest.spansAccepted}, dropped ${final.ingest.spansDropped}; drops by reason ${JSON.stringify(final.drops)}`);
        out(`incidents (${incidents.length}):`);
        for (const i of incidents) {
            const m = verdict.matches.find((x) => x.incidents.includes(i));
            out(`  ${i.openedAt}  ${i.status.padEnd(8)} ${i.severity.padEnd(8)} root ${i.rootCause.service}${i.rootCause.operation ? ` ${i.rootCause.operation}` : ''} (${i.rootCause.kind})  ${m ? `= ${m.expected.label}` : 'UNEXPECTED'}  ${i.title}`);
        }
        out(`notifications: ${hook.events.length} received (${opened.length} opened)`);
        out(`stop: SIGTERM → exit ${exitCode} in ${(stopMs / 1000).toFixed(1)} s; server log lines: ${serve.log.length}`);
        for (const l of serve.log.slice(0, 5))
            out(`  ${l.slice(0, 300)}`);
        const checks = [
            { check: `heap growth over the second half ≤ ${pct(HEAP_GROWTH_TOLERANCE)}`, pass: heap !== undefined && heap.growth <= HEAP_GROWTH_TOLERANCE, detail: heap ? pct(heap.growth) : 'not measured' },
            { check: `RSS growth over the second half ≤ ${pct(RSS_GROWTH_TOLERANCE)}`, pass: rss !== undefined && rss.growth <= RSS_GROWTH_TOLERANCE, detail: rss ? pct(rss.growth) : 'not measured' },
            ...verdict.matches.map((m) => ({
                check: `one incident for ${m.expected.label} (root cause ${m.expected.service})`,
                pass: m.incidents.length === 1,
                detail: m.incidents.length === 0 ? 'MISSED' : m.incidents.length > 1 ? `DUPLICATED: ${m.incidents.length} incidents` : m.incidents[0].id,
            })),
            { check: 'no incident that matches no fault (false alarm)', pass: verdict.unexpected.length === 0, detail: verdict.unexpected.map((i) => `${i.rootCause.service}: ${i.title}`).join('; ') || 'none' },
            { check: 'each incident notified as opened exactly once', pass: dupNotified.length === 0 && notNotified.length === 0, detail: `${dupNotified.length} twice, ${notNotified.length} never` },
            { check: 'the server answers every sample (memory and /aiops/status)', pass: unanswered.length === 0, detail: unanswered.length === 0 ? 'all answered' : `${unanswered.length} unanswered within ${PATIENCE_MS / 1000} s, from ${mmss(unanswered[0])}` },
            { check: 'server stops cleanly on SIGTERM', pass: exitCode === 0, detail: `exit ${exitCode}` },
        ];
        out();
        for (const c of checks)
            out(`${c.pass ? 'PASS' : 'FAIL'}  ${c.check}: ${c.detail}`);
        const failed = checks.filter((c) => !c.pass).length;
        out(failed === 0 ? 'soak PASSED' : `soak FAILED (${failed} of ${checks.length} checks)`);
        mkdirSync(DEFAULT_RESULTS_DIR, { recursive: true });
        writeFileSync(join(DEFAULT_RESULTS_DIR, 'soak.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), options: opts, durationMs, spansPerRequest, shopRps, faults: expected, samples, statuses, final, sender: { sent: sender.spansSent, refused: sender.spansRefused, abandoned: sender.spansAbandoned, malformedSent, responses: Object.fromEntries(sender.statuses) }, incidents, notifications: hook.events, checks, serverLog: serve.log }, null, 2)}\n`);
        return failed === 0 ? 0 : 1;
    }
    finally {
        if (serve && serve.child.exitCode === null && serve.child.signalCode === null)
            serve.child.kill('SIGKILL');
        hook.server.close();
        rmSync(dir, { recursive: true, force: true });
    }
}
async function main(argv) {
    const opts = optionsOrExit('soak', USAGE, () => parse(argv));
    if (typeof opts === 'number')
        return opts;
    try {
        return await soak(opts);
    }
    catch (err) {
        process.stderr.write(`soak: harness failed: ${err.stack ?? err}\n`);
        return 2;
    }
}
process.exitCode = await main(process.argv.slice(2));
//# sourceMappingURL=soak.js.map