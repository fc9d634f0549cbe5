import { describe, expect, it } from 'vitest';
import { createAnalyzer, type AnalyzerSnapshot, type OperationRollup, type Span } from '../src/index.js';
import { SHOP_START, batches, shopTraffic } from './helpers/shop.js';
import { span } from './helpers/spans.js';

const MIN = 60_000;

function learned(minutes: number, seed: number) {
  const analyzer = createAnalyzer();
  for (const b of batches(shopTraffic({ seed, durationMs: minutes * MIN }), 50)) analyzer.ingest(b);
  return analyzer;
}

describe('atomic restore', () => {
  it('a snapshot that fails part-way leaves the analyzer exactly as it was', () => {
    const analyzer = learned(4, 11);
    const before = { baselines: analyzer.baselines(), graph: analyzer.serviceGraph(), stats: analyzer.stats(), snap: analyzer.snapshot() };
    const other = learned(3, 12).snapshot();
    const bad: AnalyzerSnapshot = structuredClone(other);
    // The last operation's detector state is corrupt: every operation before it restores fine.
    bad.operations[bad.operations.length - 1].errors = { events: 'x' };
    expect(() => analyzer.restore(bad)).toThrow(TypeError);
    expect(analyzer.baselines()).toEqual(before.baselines);
    expect(analyzer.serviceGraph()).toEqual(before.graph);
    expect(analyzer.stats()).toEqual(before.stats);
    expect(analyzer.snapshot()).toEqual(before.snap);
  });

  it('names the malformed field and changes nothing', () => {
    const analyzer = learned(2, 13);
    const snap = analyzer.snapshot();
    const bad = structuredClone(snap) as unknown as { incidents: { records: unknown } };
    bad.incidents.records = 'nope';
    expect(() => analyzer.restore(bad as unknown as AnalyzerSnapshot)).toThrow(/incidents\.records must be an array/);
    const badEdge = structuredClone(snap);
    (badEdge.edges[0] as { calls: unknown }).calls = null;
    expect(() => analyzer.restore(badEdge)).toThrow(/edges\[0\]\.calls/);
    expect(analyzer.snapshot()).toEqual(snap);
  });

  it('drops the traces buffered before the restore', () => {
    const snap = learned(3, 14).snapshot();
    const analyzer = learned(3, 15);
    expect(analyzer.stats().traces.buffered).toBeGreaterThan(0);
    analyzer.restore(snap);
    expect(analyzer.stats().traces.buffered).toBe(0);
    analyzer.flush();
    // Nothing of the replaced state's buffered traces was processed into the restored one.
    expect(analyzer.stats().traces.processed).toBe(snap.counters.tracesProcessed);
    expect(analyzer.baselines()).toEqual(createRestored(snap).baselines());
  });
});

describe('restart continuity', () => {
  it('a process restarted on state saved half an hour before takes its first spans: its clock says time moved on', () => {
    const first = learned(4, 21);
    const snap = JSON.parse(JSON.stringify(first.snapshot())) as AnalyzerSnapshot;
    const back = (snap.clock as number) + 33 * MIN;
    const second = createAnalyzer({ clock: () => back });
    second.restore(snap);
    // The first batch after the restart, as the plugin drains it before its first tick.
    const spans = shopTraffic({ seed: 22, durationMs: 20_000 }).map((x) => ({ ...x, startTime: x.startTime - SHOP_START + back - 20_000, endTime: x.endTime - SHOP_START + back - 20_000 }));
    const before = second.stats();
    second.ingest(spans);
    const stats = second.stats();
    expect(stats.droppedBy.future).toBe(before.droppedBy.future);
    expect(stats.accepted - before.accepted).toBe(spans.length);
  });

  it('a restored analyzer raises no traffic drop for the time before its restart, then judges traffic again', () => {
    const spans = shopTraffic({ seed: 17, durationMs: 20 * MIN, noiseErrors: 0.002 });
    const stop = SHOP_START + 10 * MIN + 17_000;
    const first = createAnalyzer();
    for (const b of batches(spans.filter((s) => s.endTime < stop), 50)) first.ingest(b);
    const second = createAnalyzer();
    second.restore(JSON.parse(JSON.stringify(first.snapshot())));
    const anomalies: string[] = [];
    second.onAnomaly((a) => anomalies.push(`${a.signal} ${a.service}`));
    // Down for 40 s, restarted mid-bucket.
    for (const b of batches(spans.filter((s) => s.endTime >= stop + 40_000), 50)) second.ingest(b);
    second.flush();
    expect(anomalies).toEqual([]);
    // Traffic is still learned and judged after the restart.
    const fe = (a: ReturnType<typeof createAnalyzer>) => a.baselines().find((b) => b.service === 'frontend')!.rate;
    expect(fe(second)).toBeGreaterThan(fe(first) * 0.8);
  });

  it('does not learn the requests in flight at the snapshot, whose first calls it never saw', () => {
    // GET /orders takes 1 s, its query the first half of it: a request that started before the snapshot but
    // ends after it comes to the restored analyzer without its query, and seemed to take 1 s of its own time
    // and to skip the query.
    const t0 = SHOP_START;
    const spans: Span[] = [];
    for (let t = t0; t < t0 + 3 * MIN; t += 50) {
      const traceId = `a${t.toString(16).padStart(31, '0')}`;
      const server = span({ traceId, service: 'api', name: 'GET /orders', kind: 'server', startTime: t, endTime: t + 1000, attributes: { 'http.request.method': 'GET', 'http.route': '/orders' } });
      spans.push(span({ traceId, parentSpanId: server.spanId, service: 'api', name: 'SELECT orders', kind: 'client', startTime: t + 10, endTime: t + 500, attributes: { 'db.system': 'postgresql', 'db.query.text': 'SELECT * FROM orders' } }), server);
    }
    spans.sort((a, b) => a.endTime - b.endTime);
    const cut = t0 + 2.5 * MIN + 700;
    const first = createAnalyzer();
    for (const b of batches(spans.filter((s) => s.endTime <= cut), 100)) first.ingest(b);
    const second = createAnalyzer();
    second.restore(structuredClone(first.snapshot()));
    for (const b of batches(spans.filter((s) => s.endTime > cut), 100)) second.ingest(b);
    second.flush();
    const orders = (a: ReturnType<typeof createAnalyzer>) => a.baselines().find((b) => b.operation === 'GET /orders')!;
    expect(orders(first).selfTime?.p95).toBeCloseTo(510, 6);
    expect(orders(second).selfTime?.p95).toBeCloseTo(510, 6);
    expect(orders(second).calls).toEqual([{ callee: 'postgresql SELECT orders', share: expect.closeTo(1, 9) }]);
    // Still counted: every request that ended after the snapshot, in the window.
    const w = second.metrics().find((m) => m.operation === 'GET /orders')!;
    expect(w.windowStart).toBeLessThan(cut);
    expect(w.requests).toBe(spans.filter((s) => s.kind === 'server' && s.endTime > cut && s.endTime >= w.windowStart && s.endTime < w.windowEnd).length);
  });
});

function createRestored(snap: AnalyzerSnapshot) {
  const a = createAnalyzer();
  a.restore(snap);
  return a;
}

describe('rollups', () => {
  it('delivers one rollup per operation and minute of event time, and the partial minute at flush', () => {
    const spans = shopTraffic({ seed: 16, durationMs: 3.5 * MIN });
    const analyzer = createAnalyzer();
    const got: OperationRollup[] = [];
    analyzer.onRollup((r) => got.push(...r));
    for (const b of batches(spans, 50)) analyzer.ingest(b);
    analyzer.flush();
    const pay = got.filter((r) => r.service === 'payment');
    expect(pay.map((r) => r.start - SHOP_START)).toEqual([0, MIN, 2 * MIN, 3 * MIN]);
    expect(pay.every((r) => r.durationMs === MIN)).toBe(true);
    // The counts add up to the payment server spans in the input.
    const payServer = spans.filter((s) => s.service === 'payment' && s.kind === 'server').length;
    expect(pay.reduce((n, r) => n + r.requests, 0)).toBe(payServer);
    const first = pay[0];
    expect(first.latency?.p50).toBeGreaterThan(5);
    expect(first.latency!.p50).toBeLessThanOrEqual(first.latency!.p95);
    expect(first.latency!.p95).toBeLessThanOrEqual(first.latency!.p99);
    expect(first.selfTimeP95).toBeGreaterThan(0);
    // A peer (the database) is rolled up too.
    expect(got.some((r) => r.nodeType === 'peer' && r.service === 'postgresql')).toBe(true);
  });
});
