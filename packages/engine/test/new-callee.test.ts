/**
 * A callee first seen failing has no healthy rate to compare with: a deploy pointed web at a host that
 * does not resolve, and the root-cause sentence read "error rate 100% (5/5) vs baseline 100%".
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { span } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);

/** web POST /checkout → payments, 5 req/s for 7 minutes; from minute 6 web calls `payments.invalid`, which does not resolve. */
function checkouts(): Span[] {
  const rng = mulberry32(41);
  const spans: Span[] = [];
  let n = 0;
  const id = () => (++n).toString(16).padStart(16, '0');
  for (let t = T0; t < T0 + 420_000; t += 200) {
    const traceId = id().padStart(32, '0');
    const moved = t - T0 >= 360_000;
    const ms = moved ? 1 : logNormal(rng, 20, 0.2);
    const server = span({ traceId, spanId: id(), service: 'web', name: 'POST /checkout', kind: 'server', startTime: t, endTime: t + ms + 2, status: moved ? 'error' : 'unset', attributes: { 'http.request.method': 'POST', 'http.route': '/checkout', 'http.response.status_code': moved ? 500 : 200 } });
    const host = moved ? 'payments.invalid' : 'payments';
    const call = span({ traceId, spanId: id(), parentSpanId: server.spanId, service: 'web', name: 'POST', kind: 'client', startTime: t + 0.5, endTime: t + ms + 1.5, status: moved ? 'error' : 'unset', ...(moved ? { statusMessage: 'getaddrinfo ENOTFOUND payments.invalid' } : {}), attributes: { 'http.request.method': 'POST', 'server.address': host, 'server.port': 80, 'url.full': `http://${host}/charge` } });
    spans.push(call, server);
    if (!moved) spans.push(span({ traceId, spanId: id(), parentSpanId: call.spanId, service: 'payments', name: 'POST /charge', kind: 'server', startTime: t + 1, endTime: t + ms + 1, attributes: { 'http.request.method': 'POST', 'http.route': '/charge', 'http.response.status_code': 200 } }));
  }
  return spans.sort((a, b) => a.endTime - b.endTime);
}

describe('a callee first seen failing', () => {
  it('is told as never having succeeded, not against a baseline of its own failures', () => {
    const a = createAnalyzer();
    const spans = checkouts();
    for (let i = 0; i < spans.length; i += 200) a.ingest(spans.slice(i, i + 200));
    a.flush();
    const [incident] = a.incidents();
    expect(incident.rootCause.service).toBe('payments.invalid');
    expect(incident.rootCause.explanation).toMatch(/^in the .*: payments\.invalid POST \/charge error rate 100% \(\d+\/\d+\) and not one ever succeeded, last error "getaddrinfo ENOTFOUND payments\.invalid"/);
  });
});
