/**
 * A database that refuses connections, behind a pooled driver that records no span when it cannot connect
 * (mysql2's pool): the catalog's requests fail before any query starts, and only its framework's handler span
 * says why (`connect ECONNREFUSED 127.0.0.1:3307`). The address is the one its queries went to while the
 * database was up, so the database is the root cause, not the catalog.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Anomaly, Span } from '../src/types.js';
import { TraceBuilder, span } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const MYSQL = { 'db.system': 'mysql', 'server.address': '127.0.0.1', 'server.port': 3307 };

/** One catalog request: its server span, and either its query or (`refused`) its handler span's exception. */
function request(at: number, refused: string | undefined, ms: number): Span[] {
  const b = new TraceBuilder();
  const server = b.server('catalog', '/products/:id', at, at + ms + 0.5, refused ? { status: 'error' } : {});
  if (refused) b.spans.push(span({ traceId: b.traceId, parentSpanId: server.spanId, service: 'catalog', name: 'handler', kind: 'internal', startTime: at + 0.1, endTime: at + ms, status: 'error', attributes: { 'exception.message': refused } }));
  else b.db(server, 'mysql', 'SELECT', at + 0.1, at + ms, { name: 'SELECT products', attributes: { ...MYSQL, 'db.statement': 'SELECT * FROM products WHERE id = ?' } });
  return b.spans;
}

/** 20 requests/s: healthy for three minutes, then every request is refused for `downMs` (to the end: one minute). */
function outage(message: string, downMs?: number) {
  const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
  const rng = mulberry32(11);
  const t0 = 1_700_000_000_000;
  const back = downMs === undefined ? Infinity : t0 + 180_000 + downMs;
  for (let at = t0; at < t0 + 240_000 + (downMs === undefined ? 0 : 60_000); at += 50) analyzer.ingest(request(at, at >= t0 + 180_000 && at < back ? message : undefined, logNormal(rng, 2, 0.3)));
  analyzer.flush();
  return Object.assign(analyzer.incidents(), { back });
}

const PG = { 'db.system': 'postgresql', 'server.address': '127.0.0.1', 'server.port': 5433 };

/**
 * One catalog request through pg's pool: a `pg.connect` span when the pool opens a connection (`connect`:
 * 'ok', or the refusal's message), then its query unless the connect failed.
 */
function pooled(at: number, connect: string | undefined, ms: number): Span[] {
  const b = new TraceBuilder();
  const refused = connect !== undefined && connect !== 'ok';
  const server = b.server('catalog', '/products/:id', at, at + ms + 0.5, refused ? { status: 'error' } : {});
  let t = at + 0.1;
  if (connect !== undefined) {
    b.spans.push(span({ traceId: b.traceId, parentSpanId: server.spanId, service: 'catalog', name: 'pg.connect', kind: 'client', startTime: t, endTime: t + 1, status: refused ? 'error' : 'ok', statusMessage: refused ? connect : undefined, attributes: PG }));
    t += 1;
  }
  if (!refused) b.db(server, 'postgresql', 'SELECT', t, at + ms, { name: 'SELECT products', attributes: { ...PG, 'db.statement': 'SELECT * FROM products WHERE id = $1' } });
  return b.spans;
}

/**
 * A catalog at 20 requests/s over pg's pool, which connects for the first `connects` requests; from 180 s
 * PostgreSQL refuses every reconnect, until `up` (if any), when the next two reconnect and the pool is full
 * again. Returns the analyzer, flushed, and the times.
 */
function poolOutage(connects: number, up?: number) {
  const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
  const rng = mulberry32(5);
  const t0 = 1_700_000_000_000;
  const down = t0 + 180_000;
  const back = up === undefined ? Infinity : t0 + up;
  for (let at = t0, i = 0; at < t0 + 360_000; at += 50, i++) {
    const refused = at >= down && at < back;
    const connect = refused ? 'connect ECONNREFUSED 127.0.0.1:5433' : i < connects || (at >= back && at < back + 100) ? 'ok' : undefined;
    analyzer.ingest(pooled(at, connect, logNormal(rng, 2, 0.3) + 1));
  }
  analyzer.flush();
  return { incidents: analyzer.incidents(), t0, back };
}

describe('a pool that connected at start-up, refused every reconnect in an outage', () => {
  it('fails against the connects it made before, not a baseline learned from the outage', () => {
    const { incidents } = poolOutage(2);
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'postgresql', operation: 'pg.connect', kind: 'errors' });
    expect(incidents[0].rootCause.explanation).toMatch(/postgresql pg\.connect error rate 100% \(\d+\/\d+\) vs baseline 0%/);
  });

  it('stops firing once the pool has reconnected, though its window still holds the refusals', () => {
    const { incidents, back } = poolOutage(10, 220_000);
    expect(incidents).toHaveLength(1);
    const connects = incidents[0].anomalies.find((a) => a.operation === 'pg.connect');
    expect(connects?.kind).toBe('errors');
    // Its last firing is the bucket of the reconnects, not a minute of the refusals sliding out of its window.
    expect(connects?.at).toBeLessThanOrEqual(back + 5_000);
    expect(incidents[0].status).toBe('resolved');
  });
});

describe('a database refusing connections, with no span of the failed connect', () => {
  it('is the root cause, named by the address its queries went to', () => {
    const incidents = outage('connect ECONNREFUSED 127.0.0.1:3307');
    expect(incidents).toHaveLength(1);
    const [incident] = incidents;
    expect(incident.rootCause).toMatchObject({ service: 'mysql', operation: 'SELECT products', kind: 'errors' });
    expect(incident.title).toBe('Errors in mysql SELECT products, affecting catalog');
    expect(incident.rootCause.explanation).toMatch(/^catalog GET \/products\/:id cannot connect to mysql: "connect ECONNREFUSED 127\.0\.0\.1:3307"; 100% of failing catalog GET \/products\/:id requests fail first in mysql/);
  });

  it('under another name of this machine too (localhost is 127.0.0.1 or ::1)', () => {
    expect(outage('connect ECONNREFUSED ::1:3307')[0]?.rootCause.service).toBe('mysql');
  });

  it('stops firing once requests succeed again, though its longer windows still hold the refusals (a route that never failed before)', () => {
    const incidents = outage('connect ECONNREFUSED 127.0.0.1:3307', 30_000);
    expect(incidents).toHaveLength(1);
    const route = incidents[0].anomalies.find((a) => a.service === 'catalog' && a.kind === 'errors');
    // Its minute held > 20 % refusals for 48 s after they stopped: the last 15 s, all answered, say it is over.
    expect(route?.at).toBeLessThanOrEqual(incidents.back + 20_000);
    expect(incidents[0].status).toBe('resolved');
    expect(incidents[0].resolvedAt).toBeLessThanOrEqual(incidents.back + 55_000);
  });

  it("stays the service's own when the refused address is not the database's", () => {
    const incidents = outage('connect ECONNREFUSED 10.0.0.9:6379');
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'catalog', operation: 'GET /products/:id', kind: 'errors' });
    expect(incidents[0].rootCause.explanation).toContain('last error "connect ECONNREFUSED 10.0.0.9:6379"');
  });
});

describe('an instrumented service whose process is down', () => {
  /** shop → inventory at 20 requests/s; from minute 3, for a minute, inventory's host refuses every connection. */
  function down(message: string) {
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    const rng = mulberry32(17);
    const t0 = 1_700_000_000_000;
    for (let at = t0; at < t0 + 300_000; at += 50) {
      const b = new TraceBuilder();
      const dead = at >= t0 + 180_000 && at < t0 + 240_000;
      const ms = logNormal(rng, 3, 0.3);
      const server = b.server('shop', '/products/:id', at, at + ms + (dead ? 1 : 2), dead ? { status: 'error' } : {});
      if (dead) b.client(server, 'inventory', at + 0.5, at + 1.5, { status: 'error', attributes: { 'http.request.method': 'GET', 'server.address': 'inventory', 'server.port': 80, 'exception.message': message } });
      else b.call(server, 'inventory', '/stock/:id', at + 0.5, at + ms + 1);
      analyzer.ingest(b.spans);
    }
    analyzer.flush();
    return analyzer.incidents();
  }

  for (const [client, message] of [
    ['Python requests', "ConnectionError: HTTPConnectionPool(host='inventory', port=80): Max retries exceeded with url: /stock/3 (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))"],
    ['Node.js', 'connect ECONNREFUSED 10.0.0.7:80'],
  ] as const) {
    it(`fails its callers' calls, refused at once: errors in it, not calls it never answered (${client})`, () => {
      const incidents = down(message);
      expect(incidents).toHaveLength(1);
      expect(incidents[0].rootCause).toMatchObject({ service: 'inventory', kind: 'errors' });
      expect(incidents[0].title).toMatch(/^Errors in inventory/);
      // Its callers' failures say what happened (the quote cut before Python's words for it: said apart).
      expect(incidents[0].rootCause.explanation).toMatch(/^shop GET \/products\/:id cannot connect to inventory(?: \(connection refused\))?: "/);
      expect(incidents[0].rootCause.explanation).toMatch(/connection refused|ECONNREFUSED/i);
      expect(incidents[0].rootCause.explanation).not.toMatch(/no answer/);
    });
  }

  it("drops in each of its operations are that outage, not the doing of the one the incident is named by", () => {
    // Two routes of shop, each calling its own inventory operation; inventory down for a minute from minute 2.
    const analyzer = createAnalyzer();
    const drops: Anomaly[] = [];
    analyzer.onAnomaly((a) => {
      if (a.signal === 'traffic.drop') drops.push(a);
    });
    const t0 = 1_700_000_000_000;
    for (let at = t0; at < t0 + 300_000; at += 50) {
      const b = new TraceBuilder();
      const dead = at >= t0 + 120_000 && at < t0 + 180_000;
      const [route, callee] = (at / 50) % 3 === 0 ? ['/orders', '/reserve'] : ['/products/:id', '/stock/:id'];
      const server = b.server('shop', route, at, at + (dead ? 3 : 12), dead ? { status: 'error' } : {});
      if (dead) b.client(server, 'inventory', at + 1, at + 2, { status: 'error', attributes: { 'http.request.method': 'GET', 'server.address': 'inventory', 'server.port': 80, 'exception.message': 'connect ECONNREFUSED 10.0.0.7:80' } });
      else b.call(server, 'inventory', callee, at + 1, at + 10);
      analyzer.ingest(b.spans);
    }
    analyzer.flush();
    const [incident] = analyzer.incidents();
    expect(incident.rootCause.service).toBe('inventory');
    const reserve = drops.filter((a) => a.operation === 'GET /reserve');
    expect(reserve.length).toBeGreaterThan(0);
    for (const a of reserve) {
      expect(a.cause).toMatchObject({ service: 'inventory', operation: 'GET /reserve' });
      expect(a.explanation).not.toMatch(/traces back to/);
    }
    // Still the one outage: the drops are the incident's.
    expect(new Set(incident.anomalies.map((a) => a.operation))).toContain('GET /reserve');
  });
});

describe('a broker that is down, behind a service that fails fast without calling it', () => {
  const RABBIT = { 'messaging.system': 'rabbitmq', 'messaging.destination.name': '', 'messaging.rabbitmq.destination.routing_key': 'orders', 'messaging.operation': 'publish' };

  /**
   * api POST /orders at 20 requests/s publishes each order (amqplib's PRODUCER span); from minute 3 the
   * broker's connection is closed and, for a minute, the handler answers `status` at once without publishing
   * (no span of the publish it skipped, no exception). `healthyShare` of the other requests (GET /orders/:id)
   * still publish and are answered all along.
   */
  function failFast(status: number, stillPublishing = false, otherKey = 'orders') {
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    const rng = mulberry32(23);
    const t0 = 1_700_000_000_000;
    for (let at = t0, i = 0; at < t0 + 300_000; at += 50, i++) {
      const b = new TraceBuilder();
      const other = stillPublishing && i % 2 === 1;
      const down = !other && at >= t0 + 180_000 && at < t0 + 240_000;
      const ms = logNormal(rng, 3, 0.3);
      const server = b.server('api', other ? '/audit' : '/orders', at, at + (down ? 0.8 : ms + 1), { name: other ? 'POST /audit' : 'POST /orders', status: down ? 'error' : 'ok', attributes: { 'http.request.method': 'POST', 'http.route': other ? '/audit' : '/orders', 'http.response.status_code': down ? status : 202 } });
      const attributes = other ? { ...RABBIT, 'messaging.rabbitmq.destination.routing_key': otherKey } : RABBIT;
      if (!down) b.spans.push(span({ traceId: b.traceId, parentSpanId: server.spanId, service: 'api', name: 'publish <default>', kind: 'producer', startTime: at + 0.5, endTime: at + ms + 0.5, attributes }));
      analyzer.ingest(b.spans);
    }
    analyzer.flush();
    return analyzer.incidents();
  }

  it('answering 503 with no publish answered since: the broker is the root cause (probe-mq S5)', () => {
    const incidents = failFast(503);
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'rabbitmq', kind: 'errors' });
    expect(incidents[0].title).toMatch(/^Errors in rabbitmq publish orders, affecting api/);
    expect(incidents[0].rootCause.explanation).toMatch(/^api POST \/orders error rate 100% \(\d+\/\d+\) vs baseline 0% in the .*, failing without calling rabbitmq publish orders; 100% of failing api POST \/orders requests fail without calling rabbitmq \(/);
  });

  it("answering 500 is the service's own failure (a bug that stops before the publish looks the same)", () => {
    const incidents = failFast(500);
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'api', operation: 'POST /orders', kind: 'errors' });
  });

  it("answering 503 while others' publishes are answered is the service's own (shedding load)", () => {
    // Publishes of the same routing key, and of another the broker still takes (probe 16: a login's session
    // query skipped by a load-shedding 503 while the database answered every other statement).
    for (const otherKey of ['orders', 'audit']) {
      const incidents = failFast(503, true, otherKey);
      expect(incidents).toHaveLength(1);
      expect(incidents[0].rootCause).toMatchObject({ service: 'api', operation: 'POST /orders', kind: 'errors' });
    }
  });
});
