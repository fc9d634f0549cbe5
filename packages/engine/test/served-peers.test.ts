/**
 * An operation first seen through calls nothing answered yet is taken for a peer's; once its own service's
 * spans serve it, it is that service's operation (traffic judged, failures traced through the calls below).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/analyzer.js';
import type { Span } from '../src/types.js';
import { mulberry32 } from './helpers/random.js';

const T0 = 1_780_000_000_000;
const MIN = 60_000;
const FAULT_AT = T0 + 5 * MIN;

const rpc = (service: string, method: string, code: number) => ({ 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method, 'rpc.grpc.status_code': code });

/**
 * One checkout as gRPC services record it (frontend → checkout → payment; payment answers UNAVAILABLE once
 * `failing`), its spans by the service that exports them.
 */
function request(n: number, t: number, failing: boolean): Record<string, Span[]> {
  const traceId = n.toString(16).padStart(32, '0');
  const id = (k: number) => (n * 8 + k).toString(16).padStart(16, '0');
  const code = failing ? 14 : 0;
  const span = (service: string, k: number, parent: number | undefined, name: string, kind: Span['kind'], start: number, end: number, attributes: Span['attributes'], error: boolean): Span => ({
    traceId, spanId: id(k), parentSpanId: parent === undefined ? undefined : id(parent), service, name, kind, startTime: t + start, endTime: t + end, status: error ? 'error' : 'unset', attributes,
  });
  return {
    frontend: [
      span('frontend', 1, 0, 'shop.Checkout/PlaceOrder', 'client', 1, 29, { ...rpc('shop.Checkout', 'PlaceOrder', failing ? 13 : 0), 'server.address': 'checkout' }, failing),
      span('frontend', 0, undefined, 'POST /api/checkout', 'server', 0, 30, { 'http.request.method': 'POST', 'http.route': '/api/checkout', 'http.response.status_code': failing ? 500 : 200 }, failing),
    ],
    checkout: [
      span('checkout', 3, 2, 'shop.Payment/Charge', 'client', 10, 20, { ...rpc('shop.Payment', 'Charge', code), 'server.address': 'payment' }, failing),
      span('checkout', 2, 1, 'shop.Checkout/PlaceOrder', 'server', 2, 28, rpc('shop.Checkout', 'PlaceOrder', failing ? 13 : 0), failing),
    ],
    payment: [span('payment', 4, 3, 'shop.Payment/Charge', 'server', 11, 19, rpc('shop.Payment', 'Charge', code), failing)],
  };
}

/** 8 min at 10 req/s, each service's spans exported every 5 s (frontend's first), from an analyzer's start. */
function run(): ReturnType<typeof createAnalyzer> {
  const analyzer = createAnalyzer();
  const rand = mulberry32(7);
  let n = 0;
  for (let period = T0; period < T0 + 8 * MIN; period += 5000) {
    const batches: Record<string, Span[]> = { frontend: [], checkout: [], payment: [] };
    for (let t = period; t < period + 5000; t += -Math.log(Math.max(1e-9, rand())) * 100) {
      for (const [service, spans] of Object.entries(request(++n, t, t >= FAULT_AT))) batches[service].push(...spans);
    }
    for (const spans of Object.values(batches)) analyzer.ingest(spans);
  }
  analyzer.flush();
  return analyzer;
}

describe('an operation first seen as a peer, then served by its own service', () => {
  it('becomes the service\'s: its traffic is learned and its failures are traced to the callee that fails', () => {
    const analyzer = run();
    const checkout = analyzer.metrics().find((m) => m.service === 'checkout');
    expect(checkout).toMatchObject({ operation: 'shop.Checkout/PlaceOrder', nodeType: 'service' });
    expect(analyzer.baselines().find((b) => b.service === 'checkout')?.rate).toBeGreaterThan(0);
    const incidents = analyzer.incidents();
    expect(incidents.map((i) => `${i.rootCause.service} ${i.rootCause.operation}`)).toEqual(['payment shop.Payment/Charge']);
    expect(incidents[0].affected.map((a) => a.service)).toContain('checkout');
  });
});
