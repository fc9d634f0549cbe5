/**
 * Calls only some requests make. Found live (a Koa + Redis + MariaDB probe): a cache-aside route's database
 * call, made on a miss, is made by six requests in ten in a cold cache's first minute and, once every key
 * expires at the minute, by 80% at the turn of each minute and 7% by its end. Judged as a usual call, each
 * warm spell read "called mysql SELECT products less often: 18% of requests vs usually 59%": nine medium
 * incidents in process, five centrally, in twenty healthy minutes. A call is judged missing only when nearly
 * every served request makes it (a code path, not the data's), and requests refused as the client's fault
 * (4xx) are no sample of the path.
 */
import { describe, expect, it } from 'vitest';
import type { IncidentEvent, Span } from '../src/index.js';
import { replayRequests } from './helpers/events.js';
import { hexId, span } from './helpers/spans.js';
import { logNormal, type Rng } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

function client(traceId: string, parent: Span, name: string, start: number, ms: number, attributes: Record<string, string>): Span {
  return span({ traceId, service: parent.service, name, kind: 'client', parentSpanId: parent.spanId, startTime: start, endTime: start + ms, attributes });
}

const REDIS = { 'db.system': 'redis', 'server.address': 'cache', 'server.port': '6379' };
const MYSQL = { 'db.system': 'mysql', 'db.name': 'shop', 'server.address': 'db', 'server.port': '3306' };

/** catalog's GET /products/:id: Redis GET, and on a miss a SELECT and a Redis SET. */
function product(rng: Rng, at: number, missed: boolean): Span[] {
  const traceId = hexId(32);
  let t = at + 0.5;
  const calls: Array<[string, number, Record<string, string>]> = [['get', logNormal(rng, 0.6, 0.3), REDIS]];
  if (missed) calls.push(['SELECT shop.products', logNormal(rng, 6, 0.3), { ...MYSQL, 'db.statement': 'SELECT * FROM products WHERE id = ?' }], ['set', logNormal(rng, 0.6, 0.3), REDIS]);
  const server = span({ traceId, service: 'catalog', name: 'GET /products/:id', kind: 'server', startTime: at, endTime: at, attributes: { 'http.request.method': 'GET', 'http.route': '/products/:id', 'http.response.status_code': 200 } });
  const out = [server];
  for (const [name, ms, attributes] of calls) {
    out.push(client(traceId, server, name, t, ms, attributes));
    t += ms + 0.2;
  }
  server.endTime = t + 0.3;
  return out;
}

/** The share of requests that miss: a cold cache's first minute, then every key expiring at the minute. */
function missShare(ms: number): number {
  if (ms < MIN) return 0.6;
  const s = (ms % MIN) / 1000;
  return s < 45 ? 0.8 - (0.73 * s) / 45 : 0.07;
}

/** checkout's POST /orders: 15% refused (404, no calls), the rest charge payment, unless `early` returns first. */
function order(rng: Rng, at: number, early: boolean): Span[] {
  const traceId = hexId(32);
  const refused = rng() < 0.15;
  const server = span({ traceId, service: 'checkout', name: 'POST /orders', kind: 'server', startTime: at, endTime: at, attributes: { 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': refused ? 404 : 201 } });
  const out = [server];
  let end = at + logNormal(rng, 2, 0.3);
  if (!refused && !early) {
    const ms = logNormal(rng, 20, 0.3);
    out.push(client(traceId, server, 'POST', at + 1, ms, { 'http.request.method': 'POST', 'server.address': 'payment', 'server.port': '8080', 'url.full': 'http://payment:8080/charge' }));
    end += ms;
  }
  server.endTime = end;
  return out;
}

function run(minutes: number, request: (rng: Rng, at: number) => Span[]): IncidentEvent[] {
  return replayRequests({ seed: 3, start: T0, durationMs: minutes * MIN, rps: 5, options: { resolveAfterMs: 30_000 } }, request).events;
}

describe('calls only some requests make', () => {
  it("a cache's misses going to the database, by the minute's expiries: no call pattern change", () => {
    const events = run(12, (rng, at) => product(rng, at, rng() < missShare(at - T0)));
    // The storms' latency (a mix of hits and misses, each minute) is judged as latency is: not this test's.
    const shapes = events.flatMap((e) => e.incident.anomalies).filter((a) => a.kind === 'shape');
    expect(shapes.map((a) => a.explanation)).toEqual([]);
  });

  it('a call every served request makes, beside 15% refused as the client’s fault, is still missed when it stops', () => {
    const events = run(10, (rng, at) => order(rng, at, at - T0 >= 6 * MIN));
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.map((e) => e.incident.title)).toEqual(['Call pattern change in checkout POST /orders']);
    expect(opened[0].incident.rootCause.explanation).toMatch(/stopped calling payment POST/);
  });
});
