/** Issue 21: a saturated connection pool says so in the root-cause sentence, with the pool wait's own figures. */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type Incident, type Span } from '../src/index.js';
import { explainRoot } from '../src/rca/explain.js';
import { isPoolWait } from '../src/model/operation.js';
import { DEFAULT_LATENCY } from '../src/options.js';
import { mulberry32, logNormal } from './helpers/random.js';
import { TraceBuilder } from './helpers/spans.js';

const START = Date.UTC(2026, 0, 1);
const SEC = 1000;
const MIN = 60 * SEC;

/**
 * An orders API on PostgreSQL through a pool (as `pg` with its instrumentation traces it: a
 * `pg-pool.connect` client span, then the query), 10 req/s for 8 minutes. From minute 6 on, every
 * request waits about `fault.poolWaitMs` for a connection, or its query takes about `fault.queryMs`.
 */
function ordersApi(fault: { poolWaitMs?: number; queryMs?: number }): Span[] {
  const rng = mulberry32(7);
  const spans: Span[] = [];
  const around = (ms: number) => ms * (0.8 + 0.4 * rng());
  for (let t = START; t < START + 8 * MIN; t += 100) {
    const faulty = t - START >= 6 * MIN;
    const wait = faulty && fault.poolWaitMs ? around(fault.poolWaitMs) : logNormal(rng, 0.3, 0.3);
    const query = faulty && fault.queryMs ? around(fault.queryMs) : logNormal(rng, 2, 0.3);
    const b = new TraceBuilder();
    const root = b.server('orders-api', '/orders/:id', t, t + wait + query + 1);
    b.db(root, 'postgresql', 'connect', t, t + wait, { name: 'pg-pool.connect', attributes: { 'db.system': 'postgresql' } });
    b.db(root, 'postgresql', 'SELECT', t + wait, t + wait + query);
    spans.push(...b.spans);
  }
  return spans;
}

function incidents(spans: Span[]): Incident[] {
  const analyzer = createAnalyzer();
  for (let i = 0; i < spans.length; i += 300) analyzer.ingest(spans.slice(i, i + 300));
  analyzer.flush();
  return analyzer.incidents();
}

describe('pool saturation', () => {
  it('recognises pool waits by name', () => {
    expect(['pg-pool.connect', 'generic-pool.acquire', 'acquire from pool'].every(isPoolWait)).toBe(true);
    expect(['SELECT orders', 'connect', 'GET /pool', null].some(isPoolWait)).toBe(false);
  });

  it('an incident whose requests wait for a pooled connection says so, with the wait\'s figures', () => {
    const list = incidents(ordersApi({ poolWaitMs: 400 }));
    expect(list).toHaveLength(1);
    const rc = list[0].rootCause;
    expect(rc).toMatchObject({ service: 'postgresql', operation: 'pg-pool.connect' });
    expect(rc.explanation).toMatch(/requests are waiting for a connection: the pool is saturated/);
  });

  it('names the pool when the root cause is the pool wait itself, whether or not it fired on its own', () => {
    const top = { service: 'postgresql', operation: 'pg-pool.connect', key: 'k', kind: 'latency' as const, share: 1, count: 20 };
    const s = explainRoot(top, [], { window: 15_000, p95: { now: 27, baseline: 1.8, what: 'latency' } }, undefined, 0, DEFAULT_LATENCY);
    expect(s).toMatch(/p95 27 ms vs baseline 1\.8 ms .*; requests are waiting for a connection: the pool is saturated/);
    // A wait of a few ms is no queue behind busy connections (a pool of 10, never full, under a burst).
    const short = explainRoot(top, [], { window: 15_000, p95: { now: 8.1, baseline: 0.8, what: 'latency' } }, undefined, 0, DEFAULT_LATENCY);
    expect(short).toMatch(/p95 8\.1 ms vs baseline 0\.8 ms .*; requests wait longer for a pooled connection: connections being opened, or a pool getting busy$/);
    expect(short).not.toMatch(/saturated/);
  });

  it('a pool whose connections leak: names the connection wait that timed out, not the statements that run slower as the queue drains', () => {
    // 10 req/s for 6 minutes; then for 40 s no connection comes back (the app leaks them): every request waits
    // the pool's 3 s and fails, no statement runs; then the queued requests rush in, their statements 3-10x
    // slower for 20 s (a few ms), then normal.
    const rng = mulberry32(11);
    const spans: Span[] = [];
    const leakFrom = START + 6 * MIN;
    const leakTo = leakFrom + 40 * SEC;
    for (let t = START; t < leakTo + 2 * MIN; t += 100) {
      const b = new TraceBuilder();
      if (t >= leakFrom && t < leakTo) {
        const root = b.server('orders-api', '/orders/:id', t, t + 3002, { status: 'error' });
        b.db(root, 'postgresql', 'connect', t, t + 3000, { name: 'pg-pool.connect', status: 'error', statusMessage: 'timeout exceeded when trying to connect', attributes: { 'db.system': 'postgresql' } });
      } else {
        const slower = t >= leakTo && t < leakTo + 20 * SEC ? 3 + 7 * rng() : 1;
        const wait = logNormal(rng, 0.3, 0.3);
        const query = slower * logNormal(rng, 2, 0.3);
        const root = b.server('orders-api', '/orders/:id', t, t + wait + query + 1);
        b.db(root, 'postgresql', 'connect', t, t + wait, { name: 'pg-pool.connect', attributes: { 'db.system': 'postgresql' } });
        b.db(root, 'postgresql', 'SELECT', t + wait, t + wait + query);
      }
      spans.push(...b.spans);
    }
    const list = incidents(spans);
    expect(list).toHaveLength(1);
    const rc = list[0].rootCause;
    // Timeouts while connects fail, then latency once the ended 3 s waits outnumber them: always the wait.
    for (const title of [list[0].title, ...(list[0].story ?? []).map((e) => e.title)]) expect(title).toMatch(/^(Timeouts|Latency) in postgresql pg-pool\.connect, affecting orders-api$/);
    expect(rc).toMatchObject({ service: 'postgresql', operation: 'pg-pool.connect' });
    expect(rc.explanation).toMatch(/^orders-api got no connection from postgresql pg-pool\.connect in \d+ of \d+ calls/);
    expect(rc.explanation).toMatch(/the pool is saturated/);
    expect([rc.explanation, ...(list[0].story ?? []).map((e) => e.explanation)].some((e) => /requests got no pooled connection in time: the pool is saturated, or the database does not accept connections/.test(e))).toBe(true);
  });

  it('a hung statement holding the pool: its give-ups are the pool wait\'s, said as the statement\'s calls hanging', () => {
    const words = 'orders-api got no connection from postgresql pg-pool.connect in 100 of 100 calls (100%, baseline 0.13%) in the last 5 s';
    const wait = { kind: 'timeout', service: 'postgresql', operation: 'pg-pool.connect', severity: 'critical', peak: { explanation: `${words}; the change traces back to postgresql SELECT orders` } } as Anomaly;
    const top = { service: 'postgresql', operation: 'SELECT orders', key: 'k', kind: 'timeout' as const, share: 1, count: 100 };
    expect(explainRoot(top, [wait], {}, undefined, 0, DEFAULT_LATENCY)).toBe(`postgresql SELECT orders calls hang, holding the pool's connections: ${words}`);
    // Its long calls ended (a query slowed to a second, every one answered): they take long, told once.
    const held = { calls: 10, longest: 1080, atLeast: false };
    const pool = { label: 'postgresql pg-pool.connect', now: 900, baseline: 0.2, window: 5000, at: 0 };
    expect(explainRoot(top, [wait], { held, pool }, undefined, 0, DEFAULT_LATENCY)).toBe(
      `postgresql SELECT orders calls take up to 1.08 s, holding the pool's connections: ${words}; waiting for a connection: postgresql pg-pool.connect p95 900 ms vs baseline 0.2 ms (4500×) in the last 5 s`,
    );
    // Ten calls waiting on a lock for 30 s, eight more slowed a little by the backlog after it: both told.
    const lock = explainRoot({ ...top, kind: 'latency' }, [], { held: { calls: 18, longest: 30_000, long: 10, atLeast: false }, pool }, undefined, 0, DEFAULT_LATENCY);
    expect(lock).toContain("its calls held the pool's connections: 10 of 18 calls took 15.0 s or more, up to 30.0 s; waiting for a connection");
    expect(explainRoot({ ...top, kind: 'latency' }, [], { held: { ...held, long: 10 }, pool }, undefined, 0, DEFAULT_LATENCY)).toContain("its calls held the pool's connections: 10 calls took up to 1.08 s;");
    // The pool wait as the root, or the statement's own give-ups: their own words.
    expect(explainRoot({ ...top, operation: 'pg-pool.connect' }, [wait], {}, undefined, 0, DEFAULT_LATENCY)).toMatch(new RegExp(`^${words.replace(/[()%.]/g, '\\$&')}; requests got no pooled connection in time`));
    // An episode of the pool wait whose worst moment named the statement itself: its words as they are.
    const named = { ...wait, peak: { explanation: 'orders-api got no answer from postgresql SELECT orders in 7 of 7 calls (100%, baseline 0.06%) in the last 5 s' } } as Anomaly;
    expect(explainRoot(top, [named], {}, undefined, 0, DEFAULT_LATENCY)).toBe('orders-api got no answer from postgresql SELECT orders in 7 of 7 calls (100%, baseline 0.06%) in the last 5 s');
    const own = { ...wait, operation: 'SELECT orders', peak: { explanation: 'orders-api got no answer from postgresql SELECT orders in 9 of 10 calls (90%, baseline 0%) in the last 5 s' } } as Anomaly;
    expect(explainRoot(top, [wait, own], {}, undefined, 0, DEFAULT_LATENCY)).toBe('orders-api got no answer from postgresql SELECT orders in 9 of 10 calls (90%, baseline 0%) in the last 5 s');
    // The statement's own latency fired too (the calls answered once the hang ended): a "Timeouts in" root is
    // still told by its give-ups, not led by that latency.
    const slower = { kind: 'latency', service: 'postgresql', operation: 'SELECT orders', severity: 'medium', peak: { explanation: 'postgresql SELECT orders typical latency 7.7 ms vs baseline 1.2 ms (6.5×) over 303 requests in the last 5 s' } } as Anomaly;
    expect(explainRoot(top, [slower, wait], {}, undefined, 0, DEFAULT_LATENCY)).toBe(`postgresql SELECT orders calls hang, holding the pool's connections: ${words}`);
    // With no give-ups among its anomalies, its own latency is all there is to tell.
    expect(explainRoot(top, [slower], {}, undefined, 0, DEFAULT_LATENCY)).toMatch(/^postgresql SELECT orders typical latency 7\.7 ms/);
    // Its calls that answered failed (a row lock's waits timing out): what they said follows the hang.
    const failing = {
      kind: 'errors',
      service: 'postgresql',
      operation: 'SELECT orders',
      severity: 'critical',
      message: 'Lock wait timeout exceeded; try restarting transaction',
      peak: { explanation: 'postgresql SELECT orders error rate 49% (44/89) vs baseline 0% in the last 60 s, last error "Lock wait timeout exceeded; try restarting transaction"' },
    } as Anomaly;
    expect(explainRoot(top, [wait, failing], {}, undefined, 0, DEFAULT_LATENCY)).toBe(
      `postgresql SELECT orders calls hang, holding the pool's connections: ${words}; postgresql SELECT orders error rate 49% (44/89) vs baseline 0% in the last 60 s, last error "Lock wait timeout exceeded; try restarting transaction"`,
    );
  });

  it('a statement only slower, whose pool of 5 then runs dry: its latency, not hanging calls, though waits time out', () => {
    // 32 req/s on a pool of 5 connections (waits give up after 2 s), 8 minutes; from minute 6 the query takes
    // ~650 ms instead of ~2: the pool needs 21 connections, its queue grows until waits time out (as `pg`
    // traces it: a `pg-pool.connect` span that fails "timeout exceeded when trying to connect"). The app's own
    // time per request varies 1–4 ms (a framework's routing, serialising), so the slow requests' own time grows
    // too at times. (A NestJS app on PostgreSQL read "Timeouts in postgresql SELECT products … calls hang,
    // holding the pool's connections" while every query answered in 250 ms.)
    const rng = mulberry32(5);
    const spans: Span[] = [];
    const free = [0, 0, 0, 0, 0];
    for (let t = START; t < START + 8 * MIN; t += 1000 / 32) {
      const b = new TraceBuilder();
      const query = t - START >= 6 * MIN ? 600 + 100 * rng() : logNormal(rng, 2, 0.3);
      const own = 1 + 3 * rng();
      const c = free.indexOf(Math.min(...free));
      const wait = Math.max(0, free[c] - t) + logNormal(rng, 0.3, 0.3);
      if (wait >= 2000) {
        const root = b.server('orders-api', '/orders/:id', t, t + 2000 + own, { status: 'error' });
        b.db(root, 'postgresql', 'connect', t, t + 2000, { name: 'pg-pool.connect', status: 'error', statusMessage: 'timeout exceeded when trying to connect', attributes: { 'db.system': 'postgresql' } });
      } else {
        free[c] = t + wait + query;
        const root = b.server('orders-api', '/orders/:id', t, t + wait + query + own);
        b.db(root, 'postgresql', 'connect', t, t + wait, { name: 'pg-pool.connect', attributes: { 'db.system': 'postgresql' } });
        b.db(root, 'postgresql', 'SELECT', t + wait, t + wait + query);
      }
      spans.push(...b.spans);
    }
    const list = incidents(spans);
    expect(list).toHaveLength(1);
    const told = [{ title: list[0].title, explanation: list[0].rootCause.explanation }, ...(list[0].story ?? [])];
    expect(told.map((e) => e.title).filter((x) => x !== 'Latency in postgresql SELECT orders, affecting orders-api')).toEqual([]);
    expect(told.map((e) => e.explanation).filter((x) => /hang/.test(x))).toEqual([]);
    expect(list[0].rootCause.explanation).toMatch(/^in the last \d+ s: postgresql SELECT orders latency p95 6\d\d ms vs baseline .*; waiting for a connection: postgresql pg-pool\.connect p95/);
  });

  it('a row lock seen from outside: the statements whose long calls held the connections, not the pool the others waited in', () => {
    // A pool of 4 at 10 req/s. At minute 6 a row lock takes hold for 20 s: the next 4 requests' SELECTs
    // wait on it, each holding a connection; every later request waits in pg-pool.connect until the lock
    // goes and the connections come back. Nothing is in flight to see: only the spans, once they end.
    const rng = mulberry32(8);
    const spans: Span[] = [];
    const lock = START + 6 * MIN;
    const release = lock + 20 * SEC;
    let holders = 0;
    for (let t = START; t < START + 8 * MIN; t += 100) {
      const locked = t >= lock && t < release;
      const holds = locked && holders < 4;
      if (holds) holders++;
      const wait = locked && !holds ? release - t + logNormal(rng, 0.3, 0.3) : logNormal(rng, 0.3, 0.3);
      const query = holds ? release - t : logNormal(rng, 2, 0.3);
      const b = new TraceBuilder();
      const root = b.server('orders-api', '/orders/:id', t, t + wait + query + 1);
      b.db(root, 'postgresql', 'connect', t, t + wait, { name: 'pg-pool.connect', attributes: { 'db.system': 'postgresql' } });
      b.db(root, 'postgresql', 'SELECT', t + wait, t + wait + query);
      spans.push(...b.spans);
    }
    spans.sort((x, y) => x.endTime - y.endTime);
    const list = incidents(spans);
    expect(list).toHaveLength(1);
    expect(list[0].rootCause).toMatchObject({ service: 'postgresql', operation: 'SELECT orders' });
    expect(list[0].rootCause.explanation).toMatch(/; its calls held the pool's connections: 4 calls took up to 20\.0 s; waiting for a connection: postgresql pg-pool\.connect p95 /);
  });

  it('a slow statement that fills a small pool: the waits given up on trace back to it, from outside too', () => {
    // A pool of 2 at 4 req/s. From minute 6 the SELECT takes 1 s (80 ms before): requests queue for a
    // connection, and a wait past the pool's 1 s connect timeout fails ("timeout exceeded when trying to
    // connect"), failing its request. Spans only, as the server and the CLI see them.
    const rng = mulberry32(9);
    const spans: Span[] = [];
    const free = [START, START];
    for (let t = START; t < START + 8 * MIN; t += 250) {
      const slow = t - START >= 6 * MIN && t - START < 7 * MIN;
      const c = free[0] <= free[1] ? 0 : 1;
      const wait = Math.max(0, free[c] - t) + logNormal(rng, 0.3, 0.3);
      const b = new TraceBuilder();
      if (wait > 1000) {
        const root = b.server('reco', '/reco/:user', t, t + 1002, { status: 'error' });
        b.db(root, 'postgresql', 'connect', t, t + 1000, { name: 'pg-pool.connect', status: 'error', statusMessage: 'timeout exceeded when trying to connect', attributes: { 'db.system': 'postgresql' } });
      } else {
        const query = slow ? logNormal(rng, 1000, 0.05) : logNormal(rng, 80, 0.1);
        const root = b.server('reco', '/reco/:user', t, t + wait + query + 1);
        b.db(root, 'postgresql', 'connect', t, t + wait, { name: 'pg-pool.connect', attributes: { 'db.system': 'postgresql' } });
        b.db(root, 'postgresql', 'SELECT', t + wait, t + wait + query);
        free[c] = t + wait + query;
      }
      spans.push(...b.spans);
    }
    spans.sort((x, y) => x.endTime - y.endTime);
    const analyzer = createAnalyzer();
    const named = new Set<string>();
    analyzer.onIncident((e) => named.add(`${e.incident.rootCause.service} ${e.incident.rootCause.operation}`));
    const givenUp: Anomaly[] = [];
    analyzer.onAnomaly((a) => a.kind === 'timeout' && givenUp.push(a));
    for (let i = 0; i < spans.length; i += 300) analyzer.ingest(spans.slice(i, i + 300));
    analyzer.flush();
    expect([...named]).toEqual(['postgresql SELECT orders']);
    // The waits given up on waited for the statement: "reco got no connection from postgresql
    // pg-pool.connect …; 100% of the give-ups trace back to postgresql SELECT orders".
    expect(givenUp.length).toBeGreaterThan(0);
    for (const a of givenUp) {
      expect(a.operation).toBe('pg-pool.connect');
      expect(a.cause).toMatchObject({ service: 'postgresql', operation: 'SELECT orders' });
      expect(a.explanation).toMatch(/^reco got no connection from postgresql pg-pool\.connect .*; \d+% of the give-ups trace back to postgresql SELECT orders$/);
    }
  });

  it('says nothing of a pool when the queries, not the pool, are slow', () => {
    const list = incidents(ordersApi({ queryMs: 400 }));
    expect(list).toHaveLength(1);
    expect(list[0].rootCause).toMatchObject({ service: 'postgresql', operation: 'SELECT orders' });
    expect(list[0].rootCause.explanation).not.toMatch(/connection|pool/);
  });
});
