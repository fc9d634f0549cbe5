/**
 * `npm run demo`: the shop for real. Starts the six processes on free ports, sends shoppers, breaks
 * payment, prints every incident the services' embedded rootspan processors log as it opens, clears the
 * fault, waits for the incidents to resolve and stops everything. About three minutes, no input needed.
 *
 *   --keep   leave the shop running afterwards (shoppers keep coming) and print its URLs; Ctrl-C stops it
 */
import { followBlame } from './blame.js';
import { LoadGenerator, type LoadStats } from './load.js';
import { Shop, type IncidentLog } from './shop.js';
import { PROCESSES } from './topology.js';

const WARMUP_MS = 45_000;
const FAULT_MS = 35_000;
/** Longest wait for the incidents to resolve once the fault is cleared. */
const RESOLVE_WAIT_MS = 100_000;
const RPS = 8;
/**
 * The engine's default is 5 minutes without an anomaly; the demo shortens it so the resolution fits in
 * its three minutes. Everything else is the engine's defaults.
 */
const ROOTSPAN_OPTIONS = { resolveAfterMs: 30_000 };
const FAULT = { service: 'payment', preset: 'cascading_failure' } as const;

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const started = Date.now();
const clock = (at = Date.now()): string => {
  const s = Math.floor((at - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let faultAt: number | null = null;
let shop: Shop | null = null;
let load: LoadGenerator | null = null;

/** Stops the shoppers, then every process. Safe to call more than once. */
async function stopAll(): Promise<void> {
  await load?.stop();
  await shop?.stop();
}

function printIncident(e: IncidentLog): void {
  const since = faultAt === null ? '' : ` (${((e.at - faultAt) / 1000).toFixed(1)} s after the fault)`;
  const rc = e.rootCause;
  if (e.type === 'opened') {
    out(`${clock(e.at)}  ${e.reporter.padEnd(9)} OPENED   ${e.id} [${e.severity}] ${e.title}${since}`);
    out(`                   root cause: ${rc.service}${rc.operation ? ` ${rc.operation}` : ''} (${rc.kind}, confidence ${Math.round(rc.confidence * 100)}%)`);
    out(`                   ${e.explanation}`);
  } else if (e.type === 'resolved') {
    out(`${clock(e.at)}  ${e.reporter.padEnd(9)} RESOLVED ${e.id} ${e.title}`);
  }
}

function loadLine(s: LoadStats): string {
  const l = s.latencies.sort((a, b) => a - b);
  const p50 = l.length > 0 ? `${Math.round(l[l.length >> 1])} ms` : '—';
  return `shoppers: ${s.sent} requests, ${s.ok} ok, ${s.rejected} rejected, ${s.failed} failed, ${s.retries} retries; p50 ${p50}`;
}

/** Prints the shoppers' counters every `everyMs` until the returned function is called. */
function progress(load: LoadGenerator, everyMs: number): () => void {
  const timer = setInterval(() => out(`${clock()}  ${loadLine(load.take())}`), everyMs);
  return () => clearInterval(timer);
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    out('Usage: npm run demo [-- --keep]\n\nRuns the example shop, breaks payment, and shows rootspan catching it.\n  --keep   leave the shop running afterwards (Ctrl-C stops it)');
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--keep');
  if (unknown.length > 0) {
    process.stderr.write(`demo: unknown option '${unknown[0]}' (try --help)\n`);
    return 2;
  }
  const keep = argv.includes('--keep');

  out('rootspan demo: a real shop, six Node processes on this machine');
  out('  frontend → checkout → inventory / payment / shipping; payment → fraud (another team\'s, not instrumented)');
  out('  each instrumented service runs its own NodeSDK with rootspan\'s span processor embedded, logging');
  out('  incidents with consoleIncidentLogger; this demo relays those log lines. Orders, stock and charges');
  out('  live in SQLite (better-sqlite3), one file per owning service.');
  out();
  process.once('SIGINT', () => {
    out('\nInterrupted: stopping the shop ...');
    void stopAll().finally(() => process.exit(130));
  });
  process.once('SIGTERM', () => void stopAll().finally(() => process.exit(143)));

  shop = await Shop.start({ rootspanOptions: ROOTSPAN_OPTIONS, onIncident: printIncident });
  const incidents = shop.incidents;
  for (const name of PROCESSES) out(`${clock()}  ${name.padEnd(9)} ${shop.urls[name]}`);
  out();
  const total = WARMUP_MS + FAULT_MS + RESOLVE_WAIT_MS + 10_000;
  load = new LoadGenerator({ baseUrl: shop.urls.frontend, rps: RPS, durationMs: keep ? 3_600_000 : total });
  out(`${clock()}  Warming up: ${WARMUP_MS / 1000} s of shoppers at ${RPS} req/s (browsing, and one in five checking out); baselines are learned`);
  let stopProgress = progress(load, 15_000);
  await sleep(WARMUP_MS);

  faultAt = Date.now();
  await shop.chaos(FAULT.service, `preset/${FAULT.preset}`);
  out();
  out(`${clock()}  FAULT: ${FAULT.preset} on ${FAULT.service} (POST /simulate/preset/${FAULT.preset}: every charge fails after 300 ms)`);
  out('       Incidents as each service\'s own rootspan logs them (times since the fault):');
  await sleep(FAULT_MS);
  await shop.chaos(FAULT.service, 'clear');
  const clearedAt = Date.now();
  out(`${clock()}  CLEARED: payment is healthy again (POST /simulate/clear); waiting for the incidents to resolve`);

  // The incidents of the fault: opened while it was on. Others are listed too, as what they are.
  const faultIncidents = incidents.filter((e) => e.type === 'opened' && e.at >= faultAt! && e.at <= clearedAt);
  const key = (e: IncidentLog) => `${e.reporter} ${e.id}`;
  const isResolved = (e: IncidentLog) => incidents.some((r) => r.type === 'resolved' && key(r) === key(e));
  while (Date.now() - clearedAt < RESOLVE_WAIT_MS && !faultIncidents.every(isResolved)) await sleep(500);
  stopProgress();

  const blame = followBlame(incidents.filter((e) => e.at <= clearedAt));
  const first = faultIncidents.find((e) => e.rootCause.service === FAULT.service);
  out();
  out('Summary');
  if (blame === null) out('  No incident opened while the fault was on.');
  else {
    out(`  Each process named what it saw fail: ${blame.chain.join(' → ')}.`);
    out(`  Root cause of the cascade: ${blame.rootCause}` + (first ? `, first named by ${first.reporter} ${((first.at - faultAt) / 1000).toFixed(1)} s after the fault.` : '.'));
  }
  const unresolved = faultIncidents.filter((e) => !isResolved(e)).map(key);
  if (faultIncidents.length > 0) {
    out(unresolved.length === 0 ? `  All ${faultIncidents.length} incidents of the fault resolved after it was cleared.` : `  Still open ${RESOLVE_WAIT_MS / 1000} s after the fault was cleared: ${unresolved.join(', ')}.`);
  }
  const others = incidents.filter((e) => e.type === 'opened' && !faultIncidents.includes(e));
  for (const e of others) out(`  Also opened, outside the fault window: ${e.reporter} ${e.id} "${e.title}" at ${clock(e.at)}.`);
  const ok = blame?.rootCause === FAULT.service && faultIncidents.length > 0 && unresolved.length === 0;

  if (keep) {
    stopProgress = progress(load, 60_000);
    out();
    out(`The shop keeps running, shoppers at ${RPS} req/s (for up to an hour). Try, for example:`);
    out(`  curl ${shop.urls.frontend}/products`);
    out(`  curl -X POST '${shop.urls.inventory}/simulate/delay?duration=800'`);
    out(`  curl -X POST '${shop.urls.payment}/simulate/preset/error_storm'`);
    out(`  curl -X POST '${shop.urls.checkout}/simulate/db?duration=300'`);
    out(`  curl ${shop.urls.payment}/simulate/status`);
    out('Incidents are printed as they open. Ctrl-C stops everything.');
    await load.done;
    stopProgress();
  }
  out();
  out(`${clock()}  Stopping the shop ...`);
  await stopAll();
  out(`${clock()}  Done: every process stopped.`);
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
    await stopAll();
  },
);
