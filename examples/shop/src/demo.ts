/**
 * `npm run demo`: the shop for real. Starts a central rootspan server (OTLP receiver, REST API, dashboard)
 * in this process and the six shop processes on free ports, exporting their spans to it; sends shoppers,
 * breaks payment, prints every incident the services' embedded rootspan processors log and the central
 * server's verdict over the whole trace graph, clears the fault, waits for the incidents to resolve and
 * stops everything. About three minutes, no input needed.
 *
 *   --keep   leave the shop and the dashboard running afterwards (shoppers keep coming); Ctrl-C stops it
 *   SHOP_DATA_DIR=<dir>   keep the services' SQLite files and rootspan state there (kept across runs)
 */
import type { IncidentEvent } from '@rootspan/engine';
import { incidentLogFields, type IncidentLogFields } from '@rootspan/otel';
import { startServer, type RootspanServer } from '@rootspan/server';
import { followBlame } from './blame.js';
import { LoadGenerator, type LoadStats } from './load.js';
import { Shop, type IncidentLog } from './shop.js';
import { PROCESSES } from './topology.js';

const WARMUP_MS = 45_000;
const FAULT_MS = 35_000;
/** Longest wait for the incidents to resolve once the fault is cleared. */
const RESOLVE_WAIT_MS = 100_000;
const RPS = 8;
/** How long after the fault was cleared an incident the central server opens still belongs to it. */
const CENTRAL_LAG_MS = 15_000;
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
let server: RootspanServer | null = null;
/** The central server's incident events, as they happened. */
const central: Verdict[] = [];

/** Stops the shoppers, then every process, then the central server. Safe to call more than once. */
async function stopAll(): Promise<void> {
  await load?.stop();
  await shop?.stop();
  await server?.close();
}

/** An incident as a shop process logged it, or as the central server (`central`) opened it. */
type Verdict = IncidentLogFields & { reporter: string; at: number };

function printIncident(e: Verdict): void {
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

/** The central server's incidents, printed like the services' ones with `central` as the reporter. */
function printCentral(e: IncidentEvent): void {
  const verdict = { ...incidentLogFields(e), reporter: 'central', at: Date.now() };
  central.push(verdict);
  printIncident(verdict);
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
  out('  live in SQLite (better-sqlite3), one file per owning service. Every service also exports its spans');
  out('  over OTLP to a central rootspan server (started by this demo), which judges the whole traces.');
  out();
  process.once('SIGINT', () => {
    out('\nInterrupted: stopping the shop ...');
    void stopAll().finally(() => process.exit(130));
  });
  process.once('SIGTERM', () => void stopAll().finally(() => process.exit(143)));

  // The central server sees every service's spans, joined into whole traces: one verdict for the cascade.
  // Its defaults are `rootspan serve`'s: incidents resolve 30 s after their last anomaly, as set above for the services.
  server = await startServer({ port: 0 });
  server.analyzer.onIncident(printCentral);
  out(`${clock()}  dashboard: ${server.url}/   (central rootspan server: OTLP at ${server.url}/v1/traces, REST API at ${server.url}/aiops)`);
  const dataDir = process.env.SHOP_DATA_DIR || undefined;
  if (dataDir) out(`${clock()}  data dir: ${dataDir} (SQLite files and each service's rootspan state, kept after the demo)`);
  shop = await Shop.start({ onIncident: printIncident, otlpEndpoint: server.url, dataDir });
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
  out('       Incidents as each service\'s own rootspan logs them, and as the central server opens them (times since the fault):');
  await sleep(FAULT_MS);
  await shop.chaos(FAULT.service, 'clear');
  const clearedAt = Date.now();
  out(`${clock()}  CLEARED: payment is healthy again (POST /simulate/clear); waiting for the incidents to resolve`);

  // The incidents of the fault: opened while it was on. Others are listed too, as what they are.
  const faultIncidents = incidents.filter((e) => e.type === 'opened' && e.at >= faultAt! && e.at <= clearedAt);
  const key = (e: Verdict) => `${e.reporter} ${e.id}`;
  const isResolved = (e: Verdict) => [...incidents, ...central].some((r) => r.type === 'resolved' && key(r) === key(e));
  // The server analyses a trace once all of it has arrived (seconds after the processes): its incidents of
  // the fault may open a little after the fault was cleared.
  const centralFault = () => central.filter((e) => e.type === 'opened' && e.at >= faultAt! && e.at <= clearedAt + CENTRAL_LAG_MS);
  const ofFault = (): Verdict[] => [...faultIncidents, ...centralFault()];
  while (Date.now() - clearedAt < RESOLVE_WAIT_MS && !ofFault().every(isResolved)) await sleep(500);
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
  // The central verdict: the one naming the broken service if any (an update may have refined it), else the first.
  const centralSaid = central.filter((e) => e.type !== 'resolved' && centralFault().some((o) => o.id === e.id));
  const centralVerdict = centralSaid.find((e) => e.rootCause.service === FAULT.service) ?? centralSaid[0];
  if (centralVerdict === undefined) out('  The central server opened no incident for the fault.');
  else {
    const rc = centralVerdict.rootCause;
    out(`  Central server (every service's spans, whole traces): root cause ${rc.service}${rc.operation ? ` ${rc.operation}` : ''}, confidence ${Math.round(rc.confidence * 100)}%, ${((centralVerdict.at - faultAt) / 1000).toFixed(1)} s after the fault.`);
    out(`    ${centralVerdict.explanation}`);
  }
  const fault = ofFault();
  const unresolved = fault.filter((e) => !isResolved(e)).map(key);
  if (faultIncidents.length > 0) {
    out(unresolved.length === 0 ? `  All ${fault.length} incidents of the fault resolved after it was cleared.` : `  Still open ${RESOLVE_WAIT_MS / 1000} s after the fault was cleared: ${unresolved.join(', ')}.`);
  }
  const others = [...incidents, ...central].filter((e) => e.type === 'opened' && !fault.includes(e));
  for (const e of others) out(`  Also opened, outside the fault window: ${e.reporter} ${e.id} "${e.title}" at ${clock(e.at)}.`);
  // The central server judges whole traces, so it runs some seconds behind: its incidents may still be
  // resolving when the demo ends (listed above), which does not fail the demo.
  const ok = blame?.rootCause === FAULT.service && centralVerdict?.rootCause.service === FAULT.service && faultIncidents.length > 0 && !faultIncidents.some((e) => unresolved.includes(key(e)));

  if (keep) {
    stopProgress = progress(load, 60_000);
    out();
    out(`The shop keeps running, shoppers at ${RPS} req/s (for up to an hour). Try, for example:`);
    out(`  curl ${shop.urls.frontend}/products`);
    out(`  curl -X POST '${shop.urls.inventory}/simulate/delay?duration=800'`);
    out(`  curl -X POST '${shop.urls.payment}/simulate/preset/error_storm'`);
    out(`  curl -X POST '${shop.urls.checkout}/simulate/db?duration=300'`);
    out(`  curl ${shop.urls.payment}/simulate/status`);
    out(`  curl ${server.url}/aiops/incidents`);
    out(`The dashboard stays at ${server.url}/`);
    out('Incidents are printed as they open. Ctrl-C stops everything.');
    await load.done;
    stopProgress();
  }
  out();
  out(`${clock()}  Stopping the shop ...`);
  await stopAll();
  out(`${clock()}  Done: every process and the central server stopped.`);
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
