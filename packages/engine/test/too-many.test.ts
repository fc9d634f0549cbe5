/**
 * A callee that turns calls away for want of capacity (HTTP 429, gRPC RESOURCE_EXHAUSTED) fails its callers,
 * though its own span is no error by the semantic conventions: a bulkhead full in orders made web answer 503.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { span } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);

/** web GET /home → orders at 10 req/s for 8 minutes; from minute 6, orders answers `refusal` to 9 calls in 10. */
function shop(refusal: { http: number } | { grpc: number }): Span[] {
  const rng = mulberry32(31);
  const spans: Span[] = [];
  let n = 0;
  const id = () => (++n).toString(16).padStart(16, '0');
  for (let t = T0; t < T0 + 480_000; t += 100) {
    const refused = t - T0 >= 360_000 && rng() < 0.9;
    const ms = refused ? 0.5 : logNormal(rng, 4, 0.2);
    const traceId = id().padStart(32, '0');
    const answer: Record<string, number> = 'http' in refusal ? { 'http.response.status_code': refused ? refusal.http : 200 } : { 'rpc.grpc.status_code': refused ? refusal.grpc : 0 };
    const server = span({ traceId, spanId: id(), service: 'web', name: 'GET /home', kind: 'server', startTime: t, endTime: t + ms + 2, status: refused ? 'error' : 'unset', attributes: { 'http.request.method': 'GET', 'http.route': '/home', 'http.response.status_code': refused ? 503 : 200 } });
    const call = span({ traceId, spanId: id(), parentSpanId: server.spanId, service: 'web', name: 'GET', kind: 'client', startTime: t + 0.5, endTime: t + ms + 1.5, status: refused ? 'error' : 'unset', attributes: { 'http.request.method': 'GET', 'server.address': 'orders', 'server.port': 80, ...('http' in refusal ? answer : {}) } });
    const orders = span({ traceId, spanId: id(), parentSpanId: call.spanId, service: 'orders', name: 'GET /orders', kind: 'server', startTime: t + 1, endTime: t + ms + 1, attributes: { 'http.request.method': 'GET', 'http.route': '/orders', ...answer } });
    spans.push(orders, call, server);
  }
  return spans;
}

function roots(spans: Span[]): Array<[string, string | null, string]> {
  const a = createAnalyzer();
  for (let i = 0; i < spans.length; i += 300) a.ingest(spans.slice(i, i + 300));
  a.flush();
  return a.incidents().map((x) => [x.rootCause.service, x.rootCause.operation, x.rootCause.kind]);
}

describe('a callee that turns calls away', () => {
  it('with HTTP 429 is the root of its callers’ failures, not the caller', () => {
    expect(roots(shop({ http: 429 }))).toEqual([['orders', 'GET /orders', 'errors']]);
  });

  it('with gRPC RESOURCE_EXHAUSTED is too', () => {
    expect(roots(shop({ grpc: 8 }))).toEqual([['orders', 'GET /orders', 'errors']]);
  });

  it('with another 4xx (the caller asked wrong) leaves the failure the caller’s', () => {
    expect(roots(shop({ http: 404 }))).toEqual([['web', 'GET /home', 'errors']]);
  });
});
