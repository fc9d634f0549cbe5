/**
 * A process with two sync workers (gunicorn's default kind): from minute 8, a fifth of one route's requests
 * take 1.5 s in the handler, the workers are busy, and every route's requests wait in the listen backlog
 * before their spans start. The callers' slowdowns trace to the process; its slow route is the root (probe 8).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Span } from '../src/types.js';
import { TraceBuilder } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const ROUTES = ['/orders/:id', '/orders', '/orders/new'] as const;

function run(faultFrom: number, faultTo: number) {
  const rng = mulberry32(3);
  const free = [T0, T0];
  const spans: Span[] = [];
  for (let t = T0; t < T0 + 13 * MIN; t += (-Math.log(1 - rng()) / 25) * 1000) {
    const u = rng();
    const route = u < 0.45 ? ROUTES[0] : u < 0.75 ? ROUTES[1] : ROUTES[2];
    const hog = route === '/orders' && t >= T0 + faultFrom && t < T0 + faultTo && rng() < 0.2;
    const work = hog ? 1500 : logNormal(rng, 2, 0.3);
    // The first worker free takes the request; until then it waits in the backlog, no span of its own.
    const w = free[0] <= free[1] ? 0 : 1;
    const start = Math.max(t + 0.5, free[w]);
    free[w] = start + work;
    const b = new TraceBuilder();
    const web = b.server('web', `/api${route}`, t - 1, free[w] + 2);
    const call = b.client(web, 'orders', t, free[w] + 1);
    b.server('orders', route, start, free[w], {}, call);
    spans.push(...b.spans);
  }
  spans.sort((a, b) => a.endTime - b.endTime);
  const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
  for (let i = 0; i < spans.length; i += 50) analyzer.ingest(spans.slice(i, i + 50));
  analyzer.flush();
  return analyzer.incidents();
}

describe('a route holding a process\'s workers', () => {
  it('is the root of its callers\' slowdown, not the routes that only waited in the backlog', () => {
    const incidents = run(8 * MIN, 10 * MIN);
    expect(incidents).toHaveLength(1);
    const [inc] = incidents;
    expect(inc.rootCause).toMatchObject({ service: 'orders', operation: 'GET /orders' });
    expect(inc.rootCause.explanation).toMatch(/^in the [^;]+?: orders GET \/orders self-time p95 1\.\d+ s vs baseline/);
    expect(inc.anomalies.some((a) => a.service === 'orders' && a.operation === 'GET /orders' && a.signal === 'latency.tail')).toBe(true);
  });

  it('opens nothing while the process keeps up', () => {
    expect(run(Infinity, Infinity)).toEqual([]);
  });
});
