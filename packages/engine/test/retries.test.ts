/**
 * A caller that retries a failing callee after a backoff (the example shop's checkout retries shipping's
 * quote once, 100 ms later) waits on that callee during the backoff: the time is the callee's fault, not
 * the caller's own work. Spans are as one service's embedded processor sees them: its own server, internal
 * and client spans only (the callees' server spans are in their own processes), timed as the shop's
 * checkout recorded them under the `error_storm` preset (shipping failing half its requests).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import { analyzeTrace, type TraceContext } from '../src/trace/analyze.js';
import { OperationNames } from '../src/model/operation.js';
import { opKey } from '../src/keys.js';
import type { Anomaly, IncidentEvent, Span } from '../src/types.js';
import { hexId, span } from './helpers/spans.js';
import { logNormal, mulberry32, type Rng } from './helpers/random.js';

const PORTS: Record<string, number> = { inventory: 34169, shipping: 40785, payment: 45559 };

/** One POST /orders request of checkout, its own spans only; `calls` are [peer, start, end, status] relative to `at`. */
function checkoutRequest(at: number, end: number, failed: boolean, calls: Array<[string, number, number, number]>): Span[] {
  const traceId = hexId(32);
  const server = span({
    traceId,
    // Its parent is the frontend's client span, in another process.
    parentSpanId: hexId(16),
    service: 'checkout',
    name: 'POST /orders',
    kind: 'server',
    startTime: at,
    endTime: at + end,
    status: failed ? 'error' : 'unset',
    attributes: { 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': failed ? 502 : 201 },
  });
  const handler = span({ traceId, parentSpanId: server.spanId, service: 'checkout', name: 'request handler - /orders', kind: 'internal', startTime: at + 0.5, endTime: at + end - 0.2 });
  const out: Span[] = [server, handler];
  for (const [peer, start, stop, status] of calls) {
    out.push(
      span({
        traceId,
        parentSpanId: handler.spanId,
        service: 'checkout',
        name: 'POST',
        kind: 'client',
        startTime: at + start,
        endTime: at + stop,
        status: status >= 400 ? 'error' : 'unset',
        attributes: { 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'server.port': PORTS[peer], 'peer.service': peer, 'http.response.status_code': status },
      }),
    );
  }
  return out;
}

/**
 * checkout's POST /orders as the shop runs it: reserve stock, quote shipping (retried once after 100 ms
 * when it fails), charge; when shipping fails twice, release the stock and answer 502. `shippingFails` is
 * the share of shipping's answers that are 500s.
 */
function order(rng: Rng, at: number, shippingFails: number): Span[] {
  const own = () => logNormal(rng, 1.5, 0.3);
  let t = 1;
  const calls: Array<[string, number, number, number]> = [];
  const call = (peer: string, median: number, status = 200) => {
    const start = t;
    t += logNormal(rng, median, 0.4);
    calls.push([peer, start, t, status]);
    t += own();
  };
  call('inventory', 4);
  let quoted = false;
  for (let attempt = 1; attempt <= 2 && !quoted; attempt++) {
    quoted = rng() >= shippingFails;
    call('shipping', 4, quoted ? 200 : 500);
    if (!quoted && attempt === 1) t += 100; // the client's backoff before its retry
  }
  if (quoted) call('payment', 20);
  else call('inventory', 4); // release the reservation
  return checkoutRequest(at, t + own(), !quoted, calls);
}

/** Observed in the shop (trace 8ba300e6…): shipping's first answer a 500, the retry 101 ms later a 200. */
const RETRIED = (at: number) =>
  checkoutRequest(at, 170.4, false, [
    ['inventory', 3, 7.7, 200],
    ['shipping', 9, 12.7, 500],
    ['shipping', 114, 127.4, 200],
    ['payment', 128, 167, 200],
  ]);

function context(typical: Record<string, number>, typicalSelf: Record<string, number>): TraceContext {
  return {
    names: new OperationNames(100),
    operation: (k) => ({ typicalLatency: () => typical[k], typicalSelf: () => typicalSelf[k], unusualLatency: () => false, usual: [], usualCalls: () => undefined, newCallee: () => false, lastOkAt: Infinity, nodeType: 'peer' }),
    resolvePeer: () => undefined,
    learnPeer: () => undefined,
    answeredAt: () => -Infinity,
    hasOpenCall: () => false,
    givenUpCall: () => undefined,
    heldLoop: () => undefined,
    loopDelay: () => undefined,
    noteLate: () => {},
    noteReadLate: () => {},
    noteHeld: () => {},
    noteAnswer: () => {},
    heldDuring: () => undefined,
    sentAt: () => undefined,
  };
}

describe('a request that retries a failing callee after a backoff', () => {
  const orders = opKey('checkout', 'POST /orders');
  const shipping = opKey('shipping', 'POST');

  it('waits on that callee until the retry: not its own time, and a slow request blames the callee', () => {
    const ctx = context({ [orders]: 30, [shipping]: 4, [opKey('inventory', 'POST')]: 4, [opKey('payment', 'POST')]: 30 }, { [orders]: 8 });
    const [entry] = analyzeTrace(RETRIED(0), ctx).entries;
    // 170.4 ms minus the calls (4.7 + 3.7 + 13.4 + 39) and the 101.3 ms between the failed quote and its retry.
    expect(entry.self).toBeCloseTo(170.4 - 4.7 - (127.4 - 9) - 39, 6);
    expect(entry.slowOrigin).toMatchObject({ service: 'shipping', operation: 'POST', kind: 'latency' });
  });

  it('a failed call followed by a call to another service is no retry: the time between is the request’s own', () => {
    const spans = checkoutRequest(0, 130, false, [
      ['shipping', 1, 5, 500],
      ['payment', 105, 125, 200],
    ]);
    const [entry] = analyzeTrace(spans, context({}, {})).entries;
    expect(entry.self).toBeCloseTo(130 - 4 - 20, 6);
  });

  it("checkout's own processor under shipping's error storm names shipping, never checkout (event time)", () => {
    const rng = mulberry32(7);
    const start = Date.UTC(2026, 0, 1);
    const spans: Span[] = [];
    // 4 requests/s as checkout gets them in the shop: 60 s healthy, then 20 s with shipping failing half its answers.
    for (let at = start; at < start + 80_000; at += (-Math.log(1 - rng()) / 4) * 1000) {
      spans.push(...order(rng, at, at - start < 60_000 ? 0 : 0.5));
    }
    spans.sort((a, b) => a.endTime - b.endTime);
    // The windows of the shop's end-to-end test.
    const analyzer = createAnalyzer({ bucketMs: 1000, latenessMs: 300, traceIdleMs: 200, anomalyEndMs: 3000, resolveAfterMs: 4000 });
    const anomalies: Anomaly[] = [];
    const events: IncidentEvent[] = [];
    analyzer.onAnomaly((a) => anomalies.push(a));
    analyzer.onIncident((e) => events.push(e));
    for (const s of spans) analyzer.ingest(s);
    analyzer.flush();
    const story = JSON.stringify(events.map((e) => `${e.incident.id} ${e.type}: ${e.incident.rootCause.service} ${e.incident.rootCause.operation}`));
    expect(events.some((e) => e.type === 'opened' && e.incident.rootCause.service === 'shipping'), story).toBe(true);
    expect(events.filter((e) => e.incident.rootCause.service !== 'shipping').map((e) => e.incident.id), story).toEqual([]);
    expect(anomalies.filter((a) => a.cause.service === 'checkout').map((a) => a.explanation)).toEqual([]);
  });
});
