/**
 * A caller gives up on calls to several operations of one uninstrumented callee at once (a Fastify `api`
 * whose fetches to its catalog, GET /products/:id and POST /orders, all time out at 2 s while the catalog's
 * database is stuck). The edge's give-ups are told by the operation given up on most, not by whichever
 * call was given up on last in the window: that one changes from bucket to bucket, and the incident's title
 * flipped with it ("Timeouts in 127.0.0.1:4101 POST /orders" ↔ "… GET /products/:id") on a real app. Its
 * counts are the edge's, so its sentence names the callee and how many of its operations.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Span } from '../src/types.js';
import { hexId, span } from './helpers/spans.js';
import { watch } from './helpers/events.js';
import { logNormal, mulberry32 } from './helpers/random.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';

const S = 1000;
const MIN = 60 * S;

const CATALOG = { 'server.address': '127.0.0.1', 'server.port': 4101 };

/** One api request as its own process records it: its server span and its fetch to the catalog. */
function request(at: number, buy: boolean, hung: boolean, ms: number): Span[] {
  const traceId = hexId(32);
  const took = hung ? 2000 : ms;
  const server = span({
    traceId,
    service: 'api',
    name: buy ? 'POST /buy' : 'GET /shop/:id',
    kind: 'server',
    startTime: at,
    endTime: at + took + 0.5,
    status: hung ? 'error' : 'unset',
    attributes: { 'http.request.method': buy ? 'POST' : 'GET', 'http.route': buy ? '/buy' : '/shop/:id', 'http.response.status_code': hung ? 502 : 200 },
  });
  const call = span({
    traceId,
    parentSpanId: server.spanId,
    service: 'api',
    name: buy ? 'POST' : 'GET',
    kind: 'client',
    startTime: at + 0.2,
    endTime: at + 0.2 + took,
    status: hung ? 'error' : 'unset',
    ...(hung ? { statusMessage: 'The operation was aborted due to timeout' } : {}),
    attributes: {
      ...CATALOG,
      'http.request.method': buy ? 'POST' : 'GET',
      'url.full': buy ? 'http://127.0.0.1:4101/orders' : `http://127.0.0.1:4101/products/${1 + (Math.floor(at) % 200)}`,
      ...(hung ? { 'error.type': 'TimeoutError' } : { 'http.response.status_code': 200 }),
    },
  });
  return [call, server];
}

describe('give-ups on several operations of one callee', () => {
  it('are told by the operation given up on most, and the incident keeps its name', () => {
    const analyzer = createAnalyzer();
    const events = watch(analyzer);
    const rng = mulberry32(7);
    const t0 = 1_700_000_000_000;
    const healthyMs = 180_000;
    const hangMs = 60_000;
    // 40 requests/s, a fifth of them purchases; healthy for three minutes, then every call hangs for one.
    for (let at = t0; at < t0 + healthyMs + hangMs; at += 25) {
      const buy = rng() < 0.2;
      const hung = at >= t0 + healthyMs;
      analyzer.ingest(request(at, buy, hung, logNormal(rng, 2, 0.3)));
    }
    analyzer.flush();
    const timeouts = analyzer.incidents().flatMap((i) => i.anomalies).filter((a) => a.signal === 'timeout');
    expect(timeouts.length).toBeGreaterThan(0);
    for (const a of timeouts) {
      expect(a.operation).toBe('GET /products/:id');
      // The counts are the edge's, over calls to both operations: the sentence names the callee, not one of them.
      expect(a.explanation).toMatch(/^api got no answer from 127\.0\.0\.1:4101 in \d+ of \d+ calls to 2 of its operations \(/);
    }
    const titles = events.filter((e) => e.type === 'opened' || e.type === 'updated').map((e) => e.incident.title);
    expect(titles.length).toBeGreaterThan(0);
    for (const title of titles) expect(title).toMatch(/^Timeouts in 127\.0\.0\.1:4101 GET \/products\/:id/);
  });
});

describe('a caller that gives up on a share of its calls below 20%', () => {
  it('is told while it lasts, against the share it gave up on before the fault, not one learned from it', () => {
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    const events = watch(analyzer);
    // Payment hangs 12% of its requests (checkout gives up after 1 s) for three minutes; 0.2% fail before.
    const from = 10 * MIN;
    const to = 13 * MIN;
    const faults: ShopFault[] = [{ service: 'payment', from, to, hangMs: 3000, hangShare: 0.12 }];
    for (const b of batches(shopTraffic({ seed: 9, durationMs: 16 * MIN, noiseErrors: 0.002, faults }), 50)) analyzer.ingest(b);
    analyzer.flush();
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened).toHaveLength(1);
    expect(opened[0].rootCause.service).toBe('payment');
    expect(opened[0].openedAt - SHOP_START).toBeLessThan(from + 60 * S);
    // Open until the fault ends: its later windows are judged against the share before it.
    const resolved = events.find((e) => e.type === 'resolved')?.incident;
    expect(resolved?.resolvedAt).toBeGreaterThan(SHOP_START + to);
    const baselines = events.flatMap((e) => [...e.incident.rootCause.explanation.matchAll(/calls to payment \(\d+%, baseline ([\d.]+)%\)/g)].map((m) => Number(m[1])));
    expect(baselines.length).toBeGreaterThan(0);
    for (const b of baselines) expect(b).toBeLessThan(1);
  });
});
