import { describe, expect, it } from 'vitest';
import { createAnalyzer, type AnalyzerSnapshot, type OperationRollup } from '../src/index.js';
import { SHOP_START, batches, shopTraffic } from './helpers/shop.js';

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
