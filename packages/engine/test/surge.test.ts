/**
 * A slowdown under a flood of requests: the catalog of a real app (Fastify + mysql2, pool of 5) got ten
 * times its usual requests at once when its caller's cache came back and every request held meanwhile was
 * let go, and its database calls queued. The incident's sentence says that traffic surged meanwhile (a
 * surge joins no incident: load is no fault), so the reader sees the flood beside the slowdown.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Analyzer } from '../src/index.js';
import type { Span } from '../src/types.js';
import { hexId, span } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';
import { watch } from './helpers/events.js';

/** One catalog request: its server span and its query. */
function request(at: number, queryMs: number): Span[] {
  const traceId = hexId(32);
  const server = span({
    traceId,
    service: 'catalog',
    name: 'GET /products/:id',
    kind: 'server',
    startTime: at,
    endTime: at + queryMs + 1,
    attributes: { 'http.request.method': 'GET', 'http.route': '/products/:id', 'http.response.status_code': 200 },
  });
  const query = span({
    traceId,
    parentSpanId: server.spanId,
    service: 'catalog',
    name: 'SELECT products',
    kind: 'client',
    startTime: at + 0.5,
    endTime: at + 0.5 + queryMs,
    attributes: { 'db.system.name': 'mysql', 'db.operation.name': 'SELECT', 'db.collection.name': 'products' },
  });
  return [query, server];
}

/** The sentences of every traffic surge `analyzer` reports from now on. */
function surgesOf(analyzer: Analyzer): string[] {
  const surges: string[] = [];
  analyzer.onAnomaly((a) => {
    if (a.signal === 'traffic.surge') surges.push(a.explanation);
  });
  return surges;
}

describe('a slowdown under a traffic surge', () => {
  it('says that traffic surged meanwhile, with the surge’s figures', () => {
    const analyzer = createAnalyzer();
    const events = watch(analyzer);
    const rng = mulberry32(11);
    const t0 = 1_700_000_000_000;
    // 20 requests/s for three minutes, then 200/s for 30 s, each query 20× slower (queued for a connection).
    for (let at = t0; at < t0 + 180_000; at += 50) analyzer.ingest(request(at, logNormal(rng, 1, 0.2)));
    for (let at = t0 + 180_000; at < t0 + 210_000; at += 5) analyzer.ingest(request(at, logNormal(rng, 20, 0.2)));
    analyzer.flush();
    const [incident] = analyzer.incidents();
    expect(incident.title).toMatch(/^Latency in mysql SELECT products/);
    const surged = /; traffic surged meanwhile: catalog GET \/products\/:id traffic \d+(\.\d+)? req\/s vs \d+(\.\d+)? req\/s expected \(\+\d+%\)/;
    expect(incident.rootCause.explanation).toMatch(surged);
    // Told from the first event: the surge fired in the bucket the slowdown did.
    expect(events[0].type).toBe('opened');
    expect(events[0].incident.rootCause.explanation).toMatch(surged);
    // At its peak, not as its latest window (mostly after the flood) has it.
    const surge = analyzer.anomalies().find((a) => a.signal === 'traffic.surge')!;
    expect(surge.peak.observed).toBeGreaterThan(surge.observed);
    expect(incident.rootCause.explanation).toContain(`traffic surged meanwhile: ${surge.peak.explanation.split('; ')[0]}`);
  });

  it('is not said when traffic is as usual', () => {
    const analyzer = createAnalyzer();
    const rng = mulberry32(12);
    const t0 = 1_700_000_000_000;
    for (let at = t0; at < t0 + 210_000; at += 50) analyzer.ingest(request(at, logNormal(rng, at < t0 + 180_000 ? 1 : 20, 0.2)));
    analyzer.flush();
    const [incident] = analyzer.incidents();
    expect(incident.title).toMatch(/^Latency in mysql SELECT products/);
    expect(incident.rootCause.explanation).not.toContain('surged');
  });

  it('is neither fired nor said of a backlog let go: requests held by a hang, ending together once it lets go, are no more traffic', () => {
    const analyzer = createAnalyzer();
    const surges = surgesOf(analyzer);
    const rng = mulberry32(13);
    const t0 = 1_700_000_000_000;
    // 20 requests/s throughout; from minute 3 the database hangs for 10 s, and every query sent meanwhile ends
    // when it lets go: two hundred requests end in one instant.
    const release = t0 + 190_000;
    for (let at = t0; at < t0 + 240_000; at += 50) {
      const held = at >= t0 + 180_000 && at < release;
      analyzer.ingest(request(at, held ? release - at + logNormal(rng, 1, 0.2) : logNormal(rng, 1, 0.2)));
    }
    analyzer.flush();
    // The surge of ends is no anomaly (an alarm of a surge at a steady load) ...
    expect(surges).toEqual([]);
    const [incident] = analyzer.incidents();
    expect(incident.title).toMatch(/^Latency in mysql SELECT products/);
    // ... nor told as traffic that surged.
    expect(incident.rootCause.explanation).not.toContain('surged');
    expect((incident.story ?? []).some((e) => e.explanation.includes('surged'))).toBe(false);
  });

  it('is not fired of requests that ended on time but whose traces waited for a late span', () => {
    const analyzer = createAnalyzer();
    const surges = surgesOf(analyzer);
    const rng = mulberry32(15);
    const t0 = 1_700_000_000_000;
    // 20 requests/s throughout; from minute 3, for 10 s, a row lock holds the pool: every request's caller
    // gives up at 2 s (its server span ends then), while its handler (a framework's span, the query's parent)
    // waits for a connection until the release, 20 s in. The query ended long before its parent: the trace
    // waits for it, and two hundred requests are recorded in the bucket of the release.
    const release = t0 + 200_000;
    const spans: Span[] = [];
    for (let at = t0; at < t0 + 240_000; at += 50) {
      const [query, server] = request(at, logNormal(rng, 1, 0.2));
      if (at < t0 + 180_000 || at >= t0 + 190_000) {
        spans.push(query, server);
        continue;
      }
      const handler = span({ traceId: server.traceId, parentSpanId: server.spanId, service: 'catalog', name: 'ProductsController.get', kind: 'internal', startTime: at + 0.2, endTime: release });
      spans.push({ ...query, parentSpanId: handler.spanId }, handler, { ...server, endTime: at + 2000 });
    }
    spans.sort((x, y) => x.endTime - y.endTime);
    for (const x of spans) analyzer.ingest([x]);
    analyzer.flush();
    expect(surges).toEqual([]);
  });

  it('is not fired of a backlog that fails together: commands a client queued for a dead cache, failed at its retry limit', () => {
    const analyzer = createAnalyzer();
    const surges = surgesOf(analyzer);
    const rng = mulberry32(14);
    const t0 = 1_700_000_000_000;
    // 20 requests/s throughout; from minute 3, for 90 s, every request waits for its queued command until the
    // client gives up on the whole queue, every 30 s, and fails.
    for (let at = t0; at < t0 + 300_000; at += 50) {
      const down = at >= t0 + 180_000 && at < t0 + 270_000;
      if (!down) {
        analyzer.ingest(request(at, logNormal(rng, 1, 0.2)));
        continue;
      }
      const failAt = t0 + 180_000 + Math.ceil((at - t0 - 180_000 + 1) / 30_000) * 30_000;
      const [query, server] = request(at, failAt - at);
      analyzer.ingest([{ ...query, status: 'error', statusMessage: 'Reached the max retries per request limit (which is 20)' }, { ...server, status: 'error', attributes: { ...server.attributes, 'http.response.status_code': 500 } }]);
    }
    analyzer.flush();
    expect(surges).toEqual([]);
  });
});

