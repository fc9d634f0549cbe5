/**
 * A slowdown of some requests only: the median does not move, the p95 does (one instance of several, a
 * cache-miss path, a lock taken now and then).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly } from '../src/index.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';
import { span } from './helpers/spans.js';
import type { Span } from '../src/types.js';

const SEC = 1000;
const MIN = 60 * SEC;

/** `spans`, in order of their end, through a fresh analyzer to the end of input. */
function analyse(spans: Span[]) {
  const analyzer = createAnalyzer();
  const anomalies: Anomaly[] = [];
  analyzer.onAnomaly((a) => anomalies.push(a));
  for (const b of batches([...spans].sort((a, b) => a.endTime - b.endTime), 50)) analyzer.ingest(b);
  analyzer.flush();
  return { incidents: analyzer.incidents(), anomalies };
}

function run(faults: ShopFault[], durationMs = 16 * MIN, beside: Span[] = []) {
  return analyse([...shopTraffic({ seed: 7, rps: 10, durationMs, faults }), ...beside]);
}

/** 14 minutes of api `GET route` at 30 req/s: request `i`, at `t`, takes `ms(i, t)` and is served by `instance(i)`. */
function api(route: string, ms: (i: number, t: number) => number, instance?: (i: number) => string): Span[] {
  const spans: Span[] = [];
  for (let i = 0; i < 14 * 60 * 30; i++) {
    const t = SHOP_START + Math.round(i * (1000 / 30));
    spans.push(span({ service: 'api', instance: instance?.(i), name: `GET ${route}`, kind: 'server', startTime: t, endTime: t + ms(i, t), attributes: { 'http.request.method': 'GET', 'http.route': route } }));
  }
  return spans;
}

describe('a tail slowdown', () => {
  it('of a tenth of requests is found by its p95 and rooted where the time goes', () => {
    // payment: 10% of requests take 600 ms instead of ~25 ms, from minute 10 to 14 (under checkout's 2 s timeout).
    const { incidents, anomalies } = run([{ service: 'payment', from: 10 * MIN, to: 14 * MIN, hangMs: 600, hangShare: 0.1 }]);
    expect(incidents).toHaveLength(1);
    const [inc] = incidents;
    expect(inc.rootCause).toMatchObject({ service: 'payment', operation: 'GET /pay', kind: 'latency' });
    expect(inc.title).toMatch(/^Latency in payment GET \/pay/);
    const own = anomalies.find((a) => a.service === 'payment' && a.operation === 'GET /pay');
    expect(own).toMatchObject({ signal: 'latency.tail', kind: 'latency', unit: 'ms' });
    // Its figures are p95s: 600 ms against ~40 ms, well past 3×; found within two minutes of the onset.
    expect(own!.observed).toBeGreaterThan(10 * own!.expected);
    expect(own!.firstAt - (SHOP_START + 10 * MIN)).toBeLessThanOrEqual(2 * MIN);
    expect(own!.explanation).toMatch(/^payment GET \/pay p95 \d+ ms vs baseline \d+(\.\d)? ms \(\d+×\), \d+ of \d+ requests \(\d+(\.\d)?%\) over 3× typical/);
    // Most requests are not slowed at all: at most high.
    expect(['medium', 'high']).toContain(own!.severity);
  });

  it('is found while a service it has nothing to do with fails, not while one on its call path does', () => {
    // billing, which no shop service calls nor is called by, fails every request from minute 10.
    const billing: Span[] = [];
    for (let t = 0; t < 16 * MIN; t += 200) {
      const start = SHOP_START + t;
      const error = t >= 10 * MIN;
      billing.push(span({ service: 'billing', name: 'GET /invoices', kind: 'server', startTime: start, endTime: start + 12, status: error ? 'error' : 'unset', attributes: { 'http.request.method': 'GET', 'http.route': '/invoices', 'http.response.status_code': error ? 500 : 200 } }));
    }
    const tail: ShopFault = { service: 'payment', from: 10 * MIN, to: 14 * MIN, hangMs: 600, hangShare: 0.1 };
    const apart = run([tail], 16 * MIN, billing);
    expect(apart.incidents.map((i) => i.title).sort()).toEqual(['Errors in billing GET /invoices', 'Latency in payment GET /pay, affecting checkout, frontend']);
    // inventory failing half its requests fails checkout, which calls payment too: its slow requests are not told apart.
    const near = run([tail, { service: 'inventory', from: 10 * MIN, to: 14 * MIN, errorRate: 0.5 }]);
    expect(near.anomalies.filter((a) => a.signal === 'latency.tail')).toEqual([]);
    expect(near.incidents.map((i) => i.rootCause.service)).toEqual(['inventory']);
  });

  it('names the one instance of several that served its slow requests', () => {
    // api runs as three processes taking turns at 30 req/s; from minute 10, api-2 takes 500 ms more.
    const slow = (i: number, t: number) => 10 + (i % 7) + (i % 3 === 2 && t >= SHOP_START + 10 * MIN ? 500 : 0);
    const { anomalies, incidents } = analyse(api('/items', slow, (i) => `api-${i % 3}`));
    const tail = anomalies.find((a) => a.signal === 'latency.tail');
    expect(tail?.explanation).toMatch(/over 3× typical, (\d+) of them on instance "api-2" \(one of 3\)/);
    expect(tail?.instance).toBe('api-2');
    expect(incidents[0].rootCause.explanation).toMatch(/; its slow requests ran on instance "api-2"/);
    // The same slow requests spread over the three processes (a slow path, not a bad instance) name none.
    const unnamed = analyse(api('/items', slow, (i) => `api-${Math.floor(i / 3) % 3}`)).anomalies.find((a) => a.signal === 'latency.tail');
    expect(unnamed?.explanation).toMatch(/over 3× typical in the last/);
    expect(unnamed?.explanation).not.toMatch(/on instance/);
    expect(unnamed?.instance).toBeUndefined();
  });

  it('of a few milliseconds on a fast operation is a busy host, not reported', () => {
    // A 1–2 ms route: from minute 10 a tenth of requests take 6–7 ms (a build running beside it).
    expect(analyse(api('/ping', (i, t) => 1 + (i % 7) * 0.15 + (t >= SHOP_START + 10 * MIN && i % 10 === 0 ? 5 : 0))).anomalies).toEqual([]);
  });

  it('of a few seconds (a host busy for a moment) is reported but opens no incident; one that lasts does', () => {
    // A 2 ms route: a fifth of its requests take 28 ms for `ms`, from 2.5 s into a bucket.
    const at = SHOP_START + 10 * MIN + 2500;
    const busy = (ms: number) => analyse(api('/items', (i, t) => 2 + (i % 5) * 0.1 + (t >= at && t < at + ms && i % 5 === 0 ? 26 : 0)));
    const blip = busy(5 * SEC);
    expect(blip.anomalies.map((a) => [a.signal, a.severity])).toEqual([['latency.tail', 'high']]);
    expect(blip.anomalies[0].explanation).toMatch(/^api GET \/items p95 2\d ms vs baseline 2(\.\d)? ms \(1\d×\)/);
    expect(blip.incidents).toEqual([]);
    const lasting = busy(20 * SEC);
    expect(lasting.incidents.map((i) => [i.title, i.severity])).toEqual([['Latency in api GET /items', 'high']]);
    expect(lasting.incidents[0].openedAt - at).toBeLessThanOrEqual(15 * SEC);
  });

  it('is not reported on healthy traffic, nor in the aftermath of a slowdown of every request', () => {
    expect(run([]).anomalies).toEqual([]);
    // payment 10× slower for two minutes: told as latency; as its slow requests leave the windows, no tail.
    const { anomalies, incidents } = run([{ service: 'payment', from: 10 * MIN, to: 12 * MIN, slow: 10 }]);
    expect(incidents).toHaveLength(1);
    expect(anomalies.some((a) => a.signal === 'latency' || a.signal === 'latency.self')).toBe(true);
    expect(anomalies.filter((a) => a.signal === 'latency.tail')).toEqual([]);
  });
});
