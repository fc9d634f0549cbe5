/**
 * Issue 13: a failure incident resolves when its fault stops, even when traffic stops with it. The callers'
 * traffic drops that joined it are the failure's effect, not evidence that it goes on.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type Incident, type IncidentEvent, type Span } from '../src/index.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';
import { span } from './helpers/spans.js';

const SEC = 1000;
const MIN = 60 * SEC;
/** The central server's quiet period. */
const RESOLVE_AFTER_MS = 30 * SEC;

/**
 * Streams the shop (its fault from minute 10 to `faultEnd`, traffic until `durationMs`) live, event time
 * moving on in 5 s steps after the last span for 5 minutes. Returns the incidents, anomalies and events.
 */
function live(fault: Omit<ShopFault, 'from'>, durationMs: number) {
  const analyzer = createAnalyzer({ resolveAfterMs: RESOLVE_AFTER_MS });
  const anomalies: Anomaly[] = [];
  const events: IncidentEvent[] = [];
  analyzer.onAnomaly((a) => anomalies.push(a));
  analyzer.onIncident((e) => events.push(e));
  const spans = shopTraffic({ seed: 13, durationMs, noiseErrors: 0.002, faults: [{ ...fault, from: 10 * MIN }] });
  for (const b of batches(spans, 50)) analyzer.ingest(b);
  for (let t = SHOP_START + durationMs; t <= SHOP_START + durationMs + 5 * MIN; t += 5 * SEC) analyzer.advanceTo(t);
  const resolvedAt = (inc: Incident) => events.find((e) => e.incident.id === inc.id && e.type === 'resolved')?.incident.resolvedAt ?? Infinity;
  return { incidents: analyzer.incidents(), anomalies, events, resolvedAt, active: analyzer.anomalies() };
}

describe('a failure incident resolves when traffic stops with its fault', () => {
  it('payment errors until the traffic stops: every incident resolves, the drops of operations with no requests stop firing', () => {
    const end = 14 * MIN;
    const { incidents, anomalies, resolvedAt, active } = live({ service: 'payment', to: end, errorRate: 1 }, end);
    const payment = incidents.find((i) => i.rootCause.service === 'payment');
    expect(payment).toMatchObject({ status: 'resolved', resolvedBy: 'auto', rootCause: { service: 'payment', kind: 'errors' } });
    // Its errors windows age out (a minute), their episodes end 30 s later, then the quiet period.
    expect(resolvedAt(payment!) - (SHOP_START + end)).toBeLessThanOrEqual(2 * MIN);
    // The drops of stopped traffic fired, once per operation: nothing stays open or keeps firing.
    const drops = anomalies.filter((a) => a.signal === 'traffic.drop');
    expect(drops.length).toBeGreaterThan(0);
    expect(incidents.filter((i) => i.status !== 'resolved')).toEqual([]);
    expect(active).toEqual([]);
    expect(new Set(drops.map((a) => a.id)).size).toBeLessThanOrEqual(new Set(drops.map((a) => `${a.service} ${a.operation}`)).size);
  });
});

describe('all traffic stopping', () => {
  it('is one traffic drop incident of medium severity whose sentence reports the stop, not its first minute', () => {
    const analyzer = createAnalyzer({ resolveAfterMs: RESOLVE_AFTER_MS });
    const events: IncidentEvent[] = [];
    analyzer.onIncident((e) => events.push(e));
    const end = 10 * MIN;
    for (const b of batches(shopTraffic({ seed: 13, durationMs: end, noiseErrors: 0.002 }), 50)) analyzer.ingest(b);
    for (let t = SHOP_START + end; t <= SHOP_START + end + 3 * MIN; t += 5 * SEC) analyzer.advanceTo(t);
    const incidents = analyzer.incidents();
    expect(incidents).toHaveLength(1);
    const [drop] = incidents;
    expect(drop).toMatchObject({ severity: 'medium', rootCause: { service: 'frontend', kind: 'traffic' } });
    // Under a tenth of the expected rate: the window is (nearly) empty of the requests before the stop.
    const [, share] = /\(−(\d+)%\)/.exec(drop.rootCause.explanation) ?? [];
    expect(Number(share)).toBeGreaterThanOrEqual(90);
    // It opened once the stop had lasted (half a minute after its drop first fired), at the severity the
    // drop had reached, and was not updated for every empty bucket.
    expect(events.filter((e) => e.incident.id === drop.id).map((e) => `${e.type} ${e.incident.severity}`)).toEqual(['opened medium', 'resolved medium']);
  });
});

describe('a client pausing', () => {
  /** The shop for 10 minutes, then no request at all for `pauseMs`, then 3 minutes more. */
  function paused(pauseMs: number) {
    const analyzer = createAnalyzer({ resolveAfterMs: RESOLVE_AFTER_MS });
    const anomalies: Anomaly[] = [];
    analyzer.onAnomaly((a) => anomalies.push(a));
    const spans = shopTraffic({ seed: 13, durationMs: 13 * MIN + pauseMs, noiseErrors: 0.002 }).filter((s) => s.startTime < SHOP_START + 10 * MIN || s.startTime >= SHOP_START + 10 * MIN + pauseMs);
    for (const b of batches(spans, 50)) analyzer.ingest(b);
    analyzer.flush();
    return { incidents: analyzer.incidents(), drops: anomalies.filter((a) => a.signal === 'traffic.drop') };
  }

  it('for a minute (a load test’s idle phase, a drain) is reported, but opens no incident', () => {
    const { incidents, drops } = paused(MIN);
    expect(drops.length).toBeGreaterThan(0);
    expect(incidents).toEqual([]);
  });

  it('for two minutes is an outage in front of the shop', () => {
    const { incidents } = paused(2 * MIN);
    expect(incidents.map((i) => `${i.title} [${i.rootCause.kind}]`)).toEqual(['Traffic drop in frontend GET /, affecting checkout, inventory, payment [traffic]']);
  });
});

describe('requests refused as the client’s fault', () => {
  /** The shop for 12 minutes with a scanner probing ten route-less paths at 20 req/s for `minutes` from minute 4, answered `status`. */
  function scanned(status: number, minutes = 1) {
    const analyzer = createAnalyzer({ resolveAfterMs: RESOLVE_AFTER_MS });
    const events: IncidentEvent[] = [];
    analyzer.onIncident((e) => events.push(e));
    const end = 12 * MIN;
    const spans = shopTraffic({ seed: 13, durationMs: end, noiseErrors: 0.002 });
    const paths = ['/.env', '/.git/config', '/wp-login.php', '/admin', '/phpmyadmin/index.php', '/server-status', '/actuator/env', '/config.json', '/xmlrpc.php', '/backup.zip'];
    for (let i = 0, t = SHOP_START + 4 * MIN; t < SHOP_START + (4 + minutes) * MIN; i++, t += 50) {
      spans.push(
        span({
          service: 'frontend',
          name: 'GET',
          kind: 'server',
          startTime: t,
          endTime: t + 2,
          attributes: { 'http.request.method': 'GET', 'url.path': paths[i % paths.length], 'http.response.status_code': status },
        }),
      );
    }
    spans.sort((a, b) => a.endTime - b.endTime);
    for (const b of batches(spans, 50)) analyzer.ingest(b);
    // The shop's own traffic goes on to the end: no stop of its own to report.
    analyzer.flush();
    return { incidents: analyzer.incidents(), operations: analyzer.stats().operations };
  }

  it('a scanner whose every request was a 404 leaving is no traffic drop', () => {
    const { incidents, operations } = scanned(404);
    // Its ten probes matched none of the frontend's routes: one operation, the method's (answered 200, ten)...
    expect(operations).toBe(scanned(200).operations - 9);
    // ...and their stop is no outage.
    expect(incidents).toEqual([]);
  });

  it('the same paths answered 200 for minutes dropping to nothing are (the gate is the refusal, not the paths)', () => {
    const { incidents } = scanned(200, 6);
    expect(incidents.map((i) => i.rootCause.kind)).toContain('traffic');
  });

  it('paths first requested a minute before they stop have ended, not dropped, whatever they were answered', () => {
    // Operations that began while the analyzer watched and lived for fewer than five drop windows: an upload,
    // a batch, a feature tried for two minutes. Their short life is all their rate was learned from.
    expect(scanned(200).incidents).toEqual([]);
  });
});

describe('what failing requests said', () => {
  it('an error incident quotes the latest failure’s message (its first line), as does its anomaly', () => {
    const analyzer = createAnalyzer();
    const anomalies: Anomaly[] = [];
    analyzer.onAnomaly((a) => anomalies.push(a));
    const spans = shopTraffic({ seed: 13, durationMs: 12 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 12 * MIN, errorRate: 1 }] });
    for (const s of spans) {
      if (s.service === 'payment' && s.status === 'error') s.statusMessage = 'charge failed: card processor unavailable\n    at charge (/app/pay.js:10:5)';
    }
    for (const b of batches(spans, 50)) analyzer.ingest(b);
    analyzer.flush();
    const payment = analyzer.incidents().find((i) => i.rootCause.service === 'payment');
    expect(payment?.rootCause.explanation).toContain('error rate');
    expect(payment?.rootCause.explanation).toContain(', last error "charge failed: card processor unavailable"');
    const own = anomalies.find((a) => a.service === 'payment' && a.kind === 'errors');
    expect(own?.message).toBe('charge failed: card processor unavailable');
    expect(own?.explanation).toMatch(/in the last \d+ s, last error "charge failed: card processor unavailable"$/);
  });

  it('quotes the exception a web framework recorded on its handler span when the server span has no message', () => {
    // The HTTP server span fails by its status code alone; the framework's handler span below it holds the
    // exception (Fastify's, Nest's, Express error middleware's).
    const analyzer = createAnalyzer();
    const spans = shopTraffic({ seed: 13, durationMs: 12 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 12 * MIN, errorRate: 1 }] });
    const handlers: Span[] = [];
    for (const s of spans) {
      if (s.service !== 'payment' || s.kind !== 'server' || s.status !== 'error') continue;
      s.statusMessage = undefined;
      handlers.push({ ...s, spanId: `${s.spanId}h`, parentSpanId: s.spanId, kind: 'internal', name: 'handler', startTime: s.startTime + 0.1, endTime: s.endTime - 0.1, attributes: { 'exception.message': 'connect ECONNREFUSED 10.0.0.7:5432' } });
    }
    const all = [...spans, ...handlers].sort((a, b) => a.endTime - b.endTime);
    for (const b of batches(all, 50)) analyzer.ingest(b);
    analyzer.flush();
    const payment = analyzer.incidents().find((i) => i.rootCause.service === 'payment');
    expect(payment?.rootCause.explanation).toContain(', last error "connect ECONNREFUSED 10.0.0.7:5432"');
  });

  /** The shop's payment failing from minute 10 in a span of its own code named `inner` (under a handler named `handler`). */
  const failingIn = (handler: string, inner: string) => {
    const analyzer = createAnalyzer();
    const anomalies: Anomaly[] = [];
    analyzer.onAnomaly((a) => anomalies.push(a));
    const spans = shopTraffic({ seed: 13, durationMs: 12 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 12 * MIN, errorRate: 1 }] });
    const own: Span[] = [];
    for (const s of spans) {
      if (s.service !== 'payment' || s.kind !== 'server' || s.status !== 'error') continue;
      s.statusMessage = undefined;
      const outer = { ...s, spanId: `${s.spanId}h`, parentSpanId: s.spanId, kind: 'internal' as const, name: handler, startTime: s.startTime + 0.1, endTime: s.endTime - 0.1, attributes: {} };
      own.push(outer, { ...outer, spanId: `${s.spanId}r`, parentSpanId: outer.spanId, name: inner, status: 'error', attributes: { 'exception.message': 'pricing rules unavailable' } });
    }
    for (const b of batches([...spans, ...own].sort((a, b) => a.endTime - b.endTime), 50)) analyzer.ingest(b);
    analyzer.flush();
    return { incident: analyzer.incidents().find((i) => i.rootCause.service === 'payment'), anomaly: anomalies.find((a) => a.service === 'payment' && a.kind === 'errors') };
  };

  it('names the span of its own code a failure started in (a GraphQL resolver), list indices as *', () => {
    const { incident, anomaly } = failingIn('graphql.execute', 'graphql.resolve order.items.3.price');
    expect(anomaly?.failedIn).toBe('graphql.resolve order.items.*.price');
    expect(anomaly?.explanation).toMatch(/, last error "pricing rules unavailable" in graphql\.resolve order\.items\.\*\.price$/);
    expect(incident?.rootCause.explanation).toContain(', last error "pricing rules unavailable" in graphql.resolve order.items.*.price');
    // A handler span named after the request's route says no more than the request's own name.
    expect(failingIn('handler', 'request handler - /pay').anomaly?.failedIn).toBeUndefined();
  });
});

describe('an episode past its worst', () => {
  it('keeps its worst severity, and its sentence gives the worst figure beside the latest window’s', () => {
    const analyzer = createAnalyzer();
    const spans = shopTraffic({
      seed: 13,
      durationMs: 14 * MIN,
      faults: [
        { service: 'payment', from: 10 * MIN, to: 11 * MIN, slow: 12 },
        { service: 'payment', from: 11 * MIN, to: 14 * MIN, slow: 3 },
      ],
    });
    for (const b of batches(spans, 50)) analyzer.ingest(b);
    analyzer.flush();
    const own = analyzer
      .incidents()
      .flatMap((i) => i.anomalies)
      .find((a) => a.service === 'payment' && a.signal === 'latency');
    expect(own?.severity).toMatch(/high|critical/);
    // The latest window is 3× (low on its own); the worst one said why the episode is high.
    expect(own?.explanation).toMatch(/\(\d\.\d×\) over \d+ requests in the last \d+ s; at worst \d+ ms \(\d+×\)$/);
  });
});

describe('a traffic drop in a service whose callers are in another process (its own view)', () => {
  /** payments at 20 requests/s, each called from outside (a remote parent), then at 1 a second from minute 4. */
  function drop(remote: boolean) {
    const analyzer = createAnalyzer({ resolveAfterMs: RESOLVE_AFTER_MS });
    for (let at = SHOP_START, i = 0; at < SHOP_START + 6 * MIN; at += 50, i++) {
      if (at >= SHOP_START + 4 * MIN && i % 20 !== 0) continue;
      analyzer.ingest(
        span({ service: 'payments', name: 'POST /charge', kind: 'server', parentSpanId: remote ? 'feedc0de00000001' : undefined, startTime: at, endTime: at + 4, attributes: { 'http.request.method': 'POST', 'http.route': '/charge', 'http.response.status_code': 200 } }),
      );
    }
    analyzer.flush();
    return analyzer.incidents();
  }

  it('says its callers are out of view, and where to look', () => {
    const [incident] = drop(true);
    expect(incident.title).toBe('Traffic drop in payments POST /charge');
    expect(incident.rootCause.explanation).toMatch(/^payments POST \/charge traffic .* \(−\d+%\).*; its callers are in another process: fewer of their requests reached it, so look upstream, or at what lies between \(its listener, a proxy\)$/);
  });

  it('a service called by no one (its clients are not traced) says nothing of callers', () => {
    const [incident] = drop(false);
    expect(incident.title).toBe('Traffic drop in payments POST /charge');
    expect(incident.rootCause.explanation).not.toMatch(/callers/);
  });
});
