/**
 * Zipkin's B3 shared spans converted to OTLP (the Collector's Zipkin receiver keeps the shared id): the
 * server side of a call recorded under its client's span id. Before, it was dropped as a duplicate of its
 * client, and the callee served nothing: its requests, and what failed under them, were the caller's peer's.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/analyzer.js';
import type { Span } from '../src/types.js';

const T0 = 1_780_000_000_000;

/** Request `n` at `t`: web GET / → api GET /items (the server side sharing the client's id) → postgresql. */
function request(n: number, t: number, failing: boolean): { web: Span[]; api: Span[] } {
  const traceId = n.toString(16).padStart(32, '0');
  const id = (k: number) => (n * 8 + k).toString(16).padStart(16, '0');
  const status = failing ? ('error' as const) : ('unset' as const);
  const http = (route: string | undefined) => ({ 'http.request.method': 'GET', ...(route ? { 'http.route': route } : { 'server.address': 'api' }), 'http.response.status_code': failing ? 500 : 200 });
  return {
    web: [
      { traceId, spanId: id(2), parentSpanId: id(1), service: 'web', name: 'GET', kind: 'client', startTime: t + 1, endTime: t + 29, status, attributes: http(undefined) },
      { traceId, spanId: id(1), service: 'web', name: 'GET /', kind: 'server', startTime: t, endTime: t + 30, status, attributes: http('/') },
    ],
    api: [
      { traceId, spanId: id(3), parentSpanId: id(2), service: 'api', name: 'SELECT items', kind: 'client', startTime: t + 3, endTime: t + 27, status, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT' } },
      { traceId, spanId: id(2), parentSpanId: id(1), service: 'api', name: 'GET /items', kind: 'server', startTime: t + 2, endTime: t + 28, status, attributes: http('/items') },
    ],
  };
}

/** 5 min at 2 req/s, postgresql failing from minute 3; each request's sides ingested in `order`. */
function run(order: 'client first' | 'server first' | 'apart'): ReturnType<typeof createAnalyzer> {
  const analyzer = createAnalyzer();
  for (let n = 0; n < 600; n++) {
    const t = T0 + n * 500;
    const { web, api } = request(n, t, t >= T0 + 3 * 60_000);
    if (order === 'client first') analyzer.ingest([...web, ...api]);
    else if (order === 'server first') analyzer.ingest([...api, ...web]);
    else {
      // The callee's exporter a few seconds behind: the caller's side is processed alone first.
      analyzer.ingest(web);
      analyzer.advanceTo(t + 3000);
      analyzer.ingest(api);
    }
  }
  analyzer.flush();
  return analyzer;
}

describe('B3 shared spans (a server side under its client\'s span id)', () => {
  for (const order of ['client first', 'server first', 'apart'] as const) {
    it(`are both kept, the server side under the client side (${order})`, () => {
      const analyzer = run(order);
      expect(analyzer.stats().droppedBy.duplicate).toBe(0);
      const api = analyzer.metrics().find((m) => m.service === 'api' && m.operation === 'GET /items');
      expect(api).toMatchObject({ nodeType: 'service' });
      const incidents = analyzer.incidents();
      expect(incidents.map((i) => `${i.rootCause.service} ${i.rootCause.kind}`)).toEqual(['postgresql errors']);
      expect(incidents[0].affected.map((a) => a.service).sort()).toEqual(['api', 'postgresql', 'web']);
      // Apart, web's first calls went unanswered and left an operation of api's that was a peer's ("GET"):
      // api is instrumented all the same.
      expect(analyzer.serviceGraph().nodes.find((n) => n.service === 'api')?.type).toBe('service');
      // …and once api was seen answering, that operation is let go: api's calls are its GET /items.
      expect(analyzer.metrics().filter((m) => m.service === 'api').map((m) => `${m.operation} ${m.nodeType}`)).toEqual(['GET /items service']);
    });
  }

  it("a callee's span that names the shared id (reported before its server side, given an id of its own) is the server side's", () => {
    // rootspan's Zipkin decoder gives a shared server side an id of its own; a child of it in an earlier
    // report still names the shared id, its client's. Half of api's queries come so.
    const analyzer = createAnalyzer();
    for (let n = 0; n < 600; n++) {
      const t = T0 + n * 500;
      const { web, api } = request(n, t, t >= T0 + 3 * 60_000);
      const [query, server] = api;
      const own = { ...server, spanId: `${server.spanId}5e`, parentSpanId: server.spanId };
      analyzer.ingest([...web, n % 2 === 0 ? query : { ...query, parentSpanId: own.spanId }, own]);
    }
    analyzer.flush();
    // Each request of api's is 26 ms, 24 of them its query: 2 ms its own.
    const api = analyzer.baselines().find((b) => b.service === 'api' && b.operation === 'GET /items');
    expect(api?.selfTime?.typical).toBeLessThan(5);
    expect(analyzer.serviceGraph().edges.map((e) => `${e.from} → ${e.to}`).sort()).toEqual(['api → postgresql', 'web → api']);
    expect(analyzer.incidents().map((i) => `${i.rootCause.service} ${i.rootCause.kind}`)).toEqual(['postgresql errors']);
  });

  it('a span sent again (an exporter retrying a batch) is still a duplicate, the shared server side too', () => {
    const analyzer = createAnalyzer();
    const { web, api } = request(1, T0, false);
    analyzer.ingest([...web, ...api]);
    expect(analyzer.ingest([...api, ...web])).toEqual({ accepted: 0, dropped: 4 });
    // And once the trace was processed.
    analyzer.advanceTo(T0 + 10_000);
    expect(analyzer.ingest([...api, ...web])).toEqual({ accepted: 0, dropped: 4 });
    expect(analyzer.stats().droppedBy.duplicate).toBe(8);
  });
});
