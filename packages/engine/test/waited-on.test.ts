/**
 * Seen from outside (spans only, none in flight), callers that give up on a traced service gave up on
 * what that service waited for, and a usual call the service never made is no wait on a callee that went
 * on answering others. Fastify + mysql2 on MariaDB: web gives up on cart after 2 s, cart's spans end with
 * the abort (status 200), and its transaction waited in mysql2's pool, which has no span.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Incident, type Span } from '../src/index.js';
import { span } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);
const FAULT = 360_000;
const FAULT_END = 420_000;
const http = (method: string, route: string, status: number) => ({ 'http.request.method': method, 'http.route': route, 'http.response.status_code': status });

/**
 * web → cart (→ catalog, then mysql INSERT) at 5 checkouts/s, and web → catalog at 5 product pages/s, for 8
 * minutes. During the fault a checkout's cart gets its catalog answer and then waits for a connection
 * (`lock`: a table lock holds the pool's 5 connections, their INSERTs hang to its end) or hangs before any
 * call (`hang`); web gives up at 2 s either way.
 */
function shop(fault: 'lock' | 'hang'): Span[] {
  const rng = mulberry32(21);
  const spans: Span[] = [];
  let held = 0;
  let n = 0;
  const id = () => (++n).toString(16).padStart(16, '0');
  for (let t = T0; t < T0 + 480_000; t += 100) {
    const traceId = id().padStart(32, '0');
    const faulty = t - T0 >= FAULT && t - T0 < FAULT_END;
    if ((t - T0) % 200 === 0) {
      // A product page: web → catalog.
      const ms = logNormal(rng, 3, 0.2);
      const server = span({ traceId, spanId: id(), service: 'web', name: 'GET /product/:id', kind: 'server', startTime: t, endTime: t + ms + 2, attributes: http('GET', '/product/:id', 200) });
      const call = span({ traceId, spanId: id(), parentSpanId: server.spanId, service: 'web', name: 'GET', kind: 'client', startTime: t + 0.5, endTime: t + ms + 1.5, attributes: { 'http.request.method': 'GET', 'server.address': 'catalog', 'server.port': 80 } });
      const answer = span({ traceId, spanId: id(), parentSpanId: call.spanId, service: 'catalog', name: 'GET /products/:id', kind: 'server', startTime: t + 1, endTime: t + ms + 1, attributes: http('GET', '/products/:id', 200) });
      spans.push(answer, call, server);
      continue;
    }
    // A checkout: web → cart → catalog, then the INSERT.
    const catalogMs = logNormal(rng, 3, 0.2);
    const holds = faulty && fault === 'lock' && held < 5;
    if (holds) held++;
    const insertMs = holds ? T0 + FAULT_END - (t + catalogMs + 3) : logNormal(rng, 2, 0.2);
    // Every checkout of the fault is given up on.
    const failed = faulty;
    const cartMs = failed ? 2000 : catalogMs + insertMs + 4;
    const server = span({ traceId, spanId: id(), service: 'web', name: 'POST /checkout', kind: 'server', startTime: t, endTime: t + cartMs + 2, status: failed ? 'error' : 'unset', attributes: http('POST', '/checkout', failed ? 504 : 200) });
    const call = span({ traceId, spanId: id(), parentSpanId: server.spanId, service: 'web', name: 'POST', kind: 'client', startTime: t + 0.5, endTime: t + cartMs + 1, status: failed ? 'error' : 'unset', ...(failed ? { statusMessage: 'The operation was aborted due to timeout' } : {}), attributes: { 'http.request.method': 'POST', 'server.address': 'cart', 'server.port': 80 } });
    // The abort ends cart's span with the status code it had: 200.
    const cart = span({ traceId, spanId: id(), parentSpanId: call.spanId, service: 'cart', name: 'POST /cart/checkout', kind: 'server', startTime: t + 1, endTime: t + cartMs + 1.2, attributes: http('POST', '/cart/checkout', 200) });
    spans.push(server, call, cart);
    if (faulty && fault === 'hang') continue;
    const get = span({ traceId, spanId: id(), parentSpanId: cart.spanId, service: 'cart', name: 'GET', kind: 'client', startTime: t + 1.5, endTime: t + catalogMs + 2.5, attributes: { 'http.request.method': 'GET', 'server.address': 'catalog', 'server.port': 80 } });
    const answer = span({ traceId, spanId: id(), parentSpanId: get.spanId, service: 'catalog', name: 'GET /products/:id', kind: 'server', startTime: t + 2, endTime: t + catalogMs + 2, attributes: http('GET', '/products/:id', 200) });
    spans.push(get, answer);
    // Waiting in the pool, it made no INSERT before web gave up; one that holds a connection did.
    if (faulty && !holds) continue;
    spans.push(span({ traceId, spanId: id(), parentSpanId: cart.spanId, service: 'cart', name: 'INSERT orders', kind: 'client', startTime: t + catalogMs + 3, endTime: t + catalogMs + 3 + insertMs, attributes: { 'db.system.name': 'mysql', 'db.operation.name': 'INSERT', 'db.collection.name': 'orders' } }));
  }
  return spans.sort((a, b) => a.endTime - b.endTime);
}

/** Incidents open during the fault, by the root cause they name at its end. */
function during(fault: 'lock' | 'hang'): Incident[] {
  const a = createAnalyzer({ resolveAfterMs: 30_000 });
  const spans = shop(fault);
  for (let i = 0; i < spans.length; i += 200) a.ingest(spans.slice(i, i + 200));
  a.advanceTo(T0 + FAULT_END);
  return a.incidents().filter((x) => x.openedAt >= T0 + FAULT - 10_000);
}

describe('seen from outside', () => {
  it('callers that give up on a service give up on what it waits for: the database, not the cart', () => {
    const incidents = during('lock');
    expect(incidents.map((x) => x.rootCause.service)).toEqual(['mysql']);
  });

  it('a service that hangs before its usual call to a callee still answering others is the root, not that callee', () => {
    const incidents = during('hang');
    expect(incidents.map((x) => [x.rootCause.service, x.rootCause.operation])).toEqual([['cart', 'POST /cart/checkout']]);
  });
});
