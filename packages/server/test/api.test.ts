/** The `/aiops` API and `/metrics` over HTTP, on a recorded payment outage posted to the receiver. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeOtlpJson } from '@rootspan/otlp';
import { scenarioByName, simulate } from '@rootspan/sim';
import { startServer, type RootspanServer } from '@rootspan/server';
import { call } from './helpers/server.js';

const TOKEN = 'tok';
let server: RootspanServer;

beforeAll(async () => {
  server = await startServer({ port: 0, token: TOKEN, log: () => {} });
  const { batches } = simulate({ ...scenarioByName('shop-payment-errors')!, durationMs: 9 * 60_000 });
  for (let i = 0; i < batches.length; i += 20) {
    const body = JSON.stringify(encodeOtlpJson(batches.slice(i, i + 20).flat()));
    const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body, token: TOKEN });
    expect(res.status).toBe(200);
  }
  expect((await call(server, '/aiops/analyze', { method: 'POST', token: TOKEN })).status).toBe(200);
  // Posting ~30k spans takes seconds, more on a busy machine.
}, 120_000);
afterAll(() => server.close());

const get = (path: string) => call(server, path, { token: TOKEN });

describe('/aiops API', () => {
  it('401 on every /aiops path, /metrics and /v1/traces without the right token; /healthz is open', async () => {
    for (const path of ['/aiops/status', '/aiops/incidents', '/aiops/nope', '/metrics']) {
      const res = await call(server, path);
      expect(res.status, path).toBe(401);
      expect(res.body.error).toMatch(/bearer/i);
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
      expect((await call(server, path, { token: `${TOKEN}x` })).status).toBe(401);
    }
    expect((await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await call(server, '/healthz')).body).toEqual({ status: 'ok' });
  });

  it('/healthz and /metrics answer GET and HEAD only: 405 with Allow for anything else', async () => {
    for (const path of ['/healthz', '/metrics']) {
      const res = await call(server, path, { method: 'POST', token: TOKEN });
      expect(res.status, path).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(res.body.error).toBe(`use GET for ${path}`);
      expect((await call(server, path, { method: 'HEAD', token: TOKEN })).status, path).toBe(200);
    }
  });

  it('the /aiops endpoints that read answer HEAD as GET without the body, and 405 with Allow: GET, HEAD to other methods', async () => {
    const list = await get('/aiops/incidents');
    const head = await call(server, '/aiops/incidents', { method: 'HEAD', token: TOKEN });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers.get('content-length')).toBe(list.headers.get('content-length'));
    const [inc] = list.body.incidents;
    for (const path of ['/aiops/incidents', `/aiops/incidents/${inc.id}`, '/aiops/status', '/aiops/graph', '/aiops/metrics', '/aiops/series']) {
      expect((await call(server, path, { method: 'HEAD', token: TOKEN })).status, path).toBe(200);
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
        const res = await call(server, path, { method, token: TOKEN });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow'), `${method} ${path}`).toBe('GET, HEAD');
      }
    }
    const analyze = await call(server, '/aiops/analyze', { method: 'HEAD', token: TOKEN });
    expect(analyze.status).toBe(405);
    expect(analyze.headers.get('allow')).toBe('POST');
  });

  it('GET /aiops/incidents with filters, and 400 for bad parameters', async () => {
    const all = await get('/aiops/incidents');
    expect(all.status).toBe(200);
    expect(all.body.incidents.length).toBeGreaterThan(0);
    const pay = all.body.incidents.find((i: any) => i.rootCause.service === 'payment');
    expect(pay).toBeDefined();
    expect((await get('/aiops/incidents?service=payment')).body.incidents.map((i: any) => i.id)).toContain(pay.id);
    expect((await get('/aiops/incidents?service=nosuch')).body.incidents).toEqual([]);
    expect((await get('/aiops/incidents?endpoint=/payment')).body.incidents.map((i: any) => i.id)).toContain(pay.id);
    expect((await get('/aiops/incidents?severity=low&status=active,acknowledged,resolved&limit=1')).body.incidents).toHaveLength(1);
    expect((await get(`/aiops/incidents?since=${encodeURIComponent('2100-01-01T00:00:00Z')}`)).body.incidents).toEqual([]);
    // A repeated status is a list, as the comma-separated one; another repeated filter is refused, not half ignored.
    expect((await get('/aiops/incidents?status=active&status=acknowledged&status=resolved&limit=1')).body.incidents).toHaveLength(1);
    expect((await get('/aiops/incidents?status=active&status=bogus')).status).toBe(400);
    // Pages: `offset` skips the newest, `total` counts every match.
    const pages = [0, 1, 2].map(async (offset) => (await get(`/aiops/incidents?status=active,acknowledged,resolved&limit=1&offset=${offset}`)).body);
    const [p0, p1, p2] = await Promise.all(pages);
    expect([...p0.incidents, ...p1.incidents, ...p2.incidents].map((i: any) => i.id)).toEqual(all.body.incidents.slice(0, 3).map((i: any) => i.id));
    expect(p1.total).toBe(all.body.total);
    expect((await get(`/aiops/incidents?offset=${all.body.total}`)).body).toEqual({ incidents: [], total: all.body.total });
    for (const bad of ['status=open', 'severity=urgent', 'limit=0', 'limit=x', 'offset=-1', 'offset=1.5', 'offset=', 'since=yesterday', 'since=99999999999999999999999', 'colour=red', 'service=payment&service=checkout', 'limit=5&limit=1']) {
      const res = await get(`/aiops/incidents?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(typeof res.body.error).toBe('string');
    }
  });

  it('GET /aiops/incidents/:id, acknowledge, resolve; 404 for unknown ids, 405 for wrong methods', async () => {
    const [inc] = (await get('/aiops/incidents?service=payment')).body.incidents;
    const detail = await get(`/aiops/incidents/${inc.id}`);
    expect(detail.body).toMatchObject({ id: inc.id, rootCause: { service: 'payment' } });
    expect(detail.body.timeline.map((t: any) => t.event)).toContain('opened');
    expect((await get('/aiops/incidents/inc-999')).status).toBe(404);
    expect((await get('/aiops/incidents/inc-999')).body.error).toMatch(/inc-999/);
    expect((await call(server, '/aiops/incidents/inc-999/resolve', { method: 'POST', token: TOKEN })).status).toBe(404);
    expect((await get(`/aiops/incidents/${inc.id}/acknowledge`)).status).toBe(405);
    if (inc.status === 'active') {
      const acked = await call(server, `/aiops/incidents/${inc.id}/acknowledge`, { method: 'POST', token: TOKEN });
      expect(acked.body.status).toBe('acknowledged');
      expect(acked.body.acknowledgedAt).not.toBeNull();
    }
    const resolved = await call(server, `/aiops/incidents/${inc.id}/resolve`, { method: 'POST', token: TOKEN, body: JSON.stringify({ resolution: 'restarted' }) });
    expect(resolved.body).toMatchObject({ status: 'resolved', resolvedBy: expect.stringMatching(/user|auto/) });
    expect((await call(server, `/aiops/incidents/${inc.id}/acknowledge`, { method: 'POST', token: TOKEN })).status).toBe(409);
    expect((await get('/aiops/nosuch')).status).toBe(404);
  });

  it('GET /aiops/metrics and /aiops/metrics/:service with baselines; 404 for an unknown service', async () => {
    const m = await get('/aiops/metrics');
    const pay = m.body.metrics.find((x: any) => x.service === 'payment' && x.operation === 'POST /payment');
    expect(pay).toMatchObject({ nodeType: 'service', requests: expect.any(Number), rate: expect.any(Number), errorRate: expect.any(Number) });
    expect(pay.errorRate).toBe(1);
    expect(pay.baseline.ready).toBe(true);
    const inv = m.body.metrics.find((x: any) => x.service === 'inventory' && x.operation === 'POST /reserve');
    expect(inv.latency).toMatchObject({ p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) });
    expect(inv.baseline.latency.typical).toBeGreaterThan(0);
    const svc = await get('/aiops/metrics/payment');
    expect(svc.body.service).toBe('payment');
    expect(svc.body.operations.every((o: any) => o.service === 'payment')).toBe(true);
    expect(svc.body.health.health).toBeGreaterThanOrEqual(0);
    expect((await get('/aiops/metrics/nosuch')).status).toBe(404);
    const b = await get('/aiops/baselines');
    expect(b.body.baselines.find((x: any) => x.service === 'payment' && x.operation === 'POST /payment').ready).toBe(true);
  });

  it('filters metrics, baselines and anomalies by ?service=, and refuses parameters it does not take', async () => {
    const only = await get('/aiops/metrics?service=payment');
    expect(only.body.metrics.length).toBeGreaterThan(0);
    expect(only.body.metrics.every((o: any) => o.service === 'payment')).toBe(true);
    expect((await get('/aiops/metrics')).body.metrics.some((o: any) => o.service !== 'payment')).toBe(true);
    const baselines = (await get('/aiops/baselines?service=payment')).body.baselines;
    expect(baselines.length).toBeGreaterThan(0);
    expect(baselines.every((x: any) => x.service === 'payment')).toBe(true);
    expect((await get('/aiops/anomalies?service=nosuch')).body.anomalies).toEqual([]);
    for (const path of ['/aiops/metrics?servce=payment', '/aiops/baselines?service=a&service=b', '/aiops/metrics/payment?window=5m', '/aiops/status?verbose=1', '/aiops/graph?service=payment']) {
      const r = await get(path);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/parameter/);
    }
  });

  it('GET /aiops/graph: services, uninstrumented peers and edges with rate and error rate', async () => {
    const g = await get('/aiops/graph');
    expect(g.body.services.map((s: any) => s.name)).toEqual(expect.arrayContaining(['frontend', 'checkout', 'payment']));
    const edge = g.body.edges.find((e: any) => e.from === 'checkout' && e.to === 'payment');
    expect(edge.calls).toBeGreaterThan(100);
    // Rates are in event time, over the window /aiops/metrics covers, however fast the spans were posted:
    // checkout's calls to payment per second are payment's requests per second (checkout is its only caller).
    expect(g.body.rateWindowMs).toBe(60_000);
    const payment = (await get('/aiops/metrics/payment')).body.operations;
    const paymentRate = payment.reduce((sum: number, o: any) => sum + o.rate, 0);
    expect(paymentRate).toBeGreaterThan(1);
    expect(Math.abs(edge.rate - paymentRate) / paymentRate).toBeLessThan(0.05);
    expect(edge.errorRate).toBeGreaterThanOrEqual(0);
    expect(edge.errorRate).toBeLessThanOrEqual(1);
    // Instrumented services are services even where callers' client spans named them first.
    expect(g.body.services.map((s: any) => s.name).sort()).toEqual(['checkout', 'frontend', 'inventory', 'payment', 'shipping']);
    const peers = g.body.peers.map((p: any) => p.name);
    expect(peers.every((p: string) => !g.body.services.some((s: any) => s.name === p))).toBe(true);
  });

  it('GET /aiops/status: ingest counters, drops, queue, store, notifications and per-service health', async () => {
    const s = (await get('/aiops/status')).body;
    expect(s.ingest.spansReceived).toBeGreaterThan(10_000);
    expect(s.ingest.spansAccepted).toBe(s.ingest.spansReceived);
    expect(s.drops).toMatchObject({ late: 0, malformed: 0, queueFull: 0 });
    expect(s.queue).toMatchObject({ spans: 0, capacity: 100_000, traceWaitMode: 'auto' });
    expect(s.operations).toEqual({ tracked: expect.any(Number), overflowRequests: 0, overflowCalls: 0, evicted: 0, messagesForgotten: 0 });
    expect(s.processes).toEqual({ tracked: expect.any(Number), untrackedSpans: 0 });
    expect(s.operations.tracked).toBeGreaterThan(0);
    expect(s.store).toMatchObject({ kind: 'memory', healthy: true });
    expect(s.notifications).toEqual({ healthy: true, targets: [] });
    // The README's formula, recomputed from the figures each entry gives and the open incidents.
    const open = (await get('/aiops/incidents?status=active,acknowledged')).body.incidents;
    const weight: Record<string, number> = { low: 10, medium: 20, high: 30, critical: 40 };
    for (const h of s.services) {
      let penalty = 0;
      for (const inc of open) {
        const p = inc.rootCause.service === h.name ? weight[inc.severity] : inc.affected.some((a: any) => a.service === h.name) ? weight[inc.severity] / 2 : 0;
        penalty = Math.max(penalty, p);
      }
      const expected = Math.max(0, Math.round(100 - Math.min(50, 100 * h.errorRate) - Math.min(30, 15 * Math.log2(h.latencyRatio)) - penalty));
      expect(h.health, h.name).toBe(expected);
      expect(h.latencyRatio).toBeGreaterThanOrEqual(1);
    }
    // The outage is still on at the end of the recording: payment fails every request (its incident was
    // resolved by hand above, so errors alone weigh).
    const payment = s.services.find((x: any) => x.name === 'payment');
    expect(payment.errorRate).toBe(1);
    expect(payment.health).toBe(50);
  });

  it('GET /metrics in the Prometheus text format', async () => {
    const res = await get('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(text).toMatch(/^# HELP rootspan_otlp_requests_total /m);
    expect(text).toMatch(/^rootspan_otlp_requests_total\{code="200"\} \d+$/m);
    expect(text).toMatch(/^rootspan_spans_received_total [1-9]\d*$/m);
    expect(text).toMatch(/^rootspan_spans_dropped_total\{reason="late"\} 0$/m);
    expect(text).toMatch(/^rootspan_incidents_open\{severity="critical"\} \d+$/m);
    expect(text).toMatch(/^rootspan_anomalies_total\{kind="errors"\} [1-9]\d*$/m);
    // Each anomaly once, however often its severity rose (a worse episode is reported again, same id).
    let counted = 0;
    for (const m of text.matchAll(/^rootspan_anomalies_total\{kind="\w+"\} (\d+)$/gm)) counted += Number(m[1]);
    expect(counted).toBe((await get('/aiops/status')).body.anomalies.total);
    expect(text).toMatch(/^rootspan_service_health\{service="payment",type="service"\} \d+$/m);
    expect(text).toMatch(/^rootspan_operations_tracked [1-9]\d*$/m);
    expect(text).toMatch(/^rootspan_overflow_requests_total 0$/m);
    expect(text).toMatch(/^rootspan_operations_evicted_total 0$/m);
    expect(text).toMatch(/^rootspan_messages_forgotten_total 0$/m);
    // Every sample line is `name{labels} value` after its family's HELP and TYPE.
    for (const line of text.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+|\w+(\{[^}]*\})? (NaN|[+-]Inf))$/);
  });
});
