import { describe, expect, it } from 'vitest';
import { MAX_INSTANCES, createAnalyzer, RootspanError, type Analyzer, type Anomaly, type Incident } from '../src/index.js';
import { span } from './helpers/spans.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';

const MIN = 60_000;
/** The process restarts (its analyzer restored from a snapshot) this long into the traffic. */
const RESTART = 4 * MIN;
const COLD_MS = 10_000;

/**
 * Four minutes learned, a snapshot, then a restarted analyzer restored from it that sees two more minutes
 * with `fault` (times relative to the restart): the anomalies it raises.
 */
function afterRestart(fault: Omit<ShopFault, 'from' | 'to'> & { from: number; to: number }, coldStartUntil?: number): Anomaly[] {
  const spans = shopTraffic({ seed: 21, durationMs: RESTART + 2 * MIN, faults: [{ ...fault, from: RESTART + fault.from, to: RESTART + fault.to }] });
  const restartAt = SHOP_START + RESTART;
  const first = createAnalyzer();
  for (const b of batches(spans.filter((s) => s.endTime < restartAt), 50)) first.ingest(b);
  const second = createAnalyzer(coldStartUntil === undefined ? {} : { coldStartUntil });
  second.restore(JSON.parse(JSON.stringify(first.snapshot())));
  const anomalies: Anomaly[] = [];
  second.onAnomaly((a) => anomalies.push(a));
  // Only traces the restarted process served: none that started before it.
  for (const b of batches(spans.filter((s) => s.startTime >= restartAt && s.endTime >= restartAt), 50)) second.ingest(b);
  second.flush();
  return anomalies;
}

const signals = (anomalies: readonly Anomaly[], service: string) =>
  [...new Set(anomalies.filter((a) => a.service === service).map((a) => a.signal))].sort();

describe('cold start (coldStartUntil)', () => {
  const coldUntil = SHOP_START + RESTART + COLD_MS;
  // The restarted process's first seconds: payment's own time 10× its restored baseline.
  const coldSlow = { service: 'payment', slow: 10, from: 0, to: COLD_MS - 1000 } as const;

  it('without it, the slow first seconds after a restart fire a latency anomaly (the false alarm it prevents)', () => {
    expect(signals(afterRestart(coldSlow), 'payment')).toContain('latency');
  });

  it('requests started inside the cold window neither fire a latency anomaly nor teach the baseline', () => {
    const anomalies = afterRestart(coldSlow, coldUntil);
    expect(anomalies.filter((a) => a.signal.startsWith('latency'))).toEqual([]);
  });

  it('the same slow requests after the window fire as usual', () => {
    const late = { ...coldSlow, from: COLD_MS, to: 2 * COLD_MS };
    expect(signals(afterRestart(late, coldUntil), 'payment')).toContain('latency');
  });

  it('errors inside the window are still detected at once', () => {
    const anomalies = afterRestart({ service: 'payment', errorRate: 0.6, from: 0, to: COLD_MS - 1000 }, coldUntil);
    const errors = anomalies.find((a) => a.service === 'payment' && a.signal === 'errors');
    expect(errors).toBeDefined();
    expect(errors!.at).toBeLessThan(coldUntil);
  });

  it('requests started inside the window are counted but not learned; later ones are', () => {
    const spans = shopTraffic({ seed: 22, durationMs: RESTART + MIN });
    const restartAt = SHOP_START + RESTART;
    const first = createAnalyzer();
    for (const b of batches(spans.filter((s) => s.endTime < restartAt), 50)) first.ingest(b);
    const second = createAnalyzer({ coldStartUntil: coldUntil });
    second.restore(JSON.parse(JSON.stringify(first.snapshot())));
    const payment = () => second.baselines().find((b) => b.service === 'payment' && b.nodeType === 'service')!;
    const restored = payment().samples;
    const after = spans.filter((s) => s.startTime >= restartAt);
    for (const b of batches(after.filter((s) => s.endTime < coldUntil), 50)) second.ingest(b);
    second.advanceTo(coldUntil + 10_000);
    expect(payment().samples).toBe(restored);
    expect(second.metrics().find((m) => m.service === 'payment')!.requests).toBeGreaterThan(30);
    for (const b of batches(after.filter((s) => s.endTime >= coldUntil), 50)) second.ingest(b);
    second.flush();
    expect(payment().samples).toBeGreaterThan(restored + 100);
  });

  it('is validated', () => {
    expect(() => createAnalyzer({ coldStartUntil: -1 })).toThrow(RootspanError);
    expect(() => createAnalyzer({ coldStartUntil: Number.NaN })).toThrow(/coldStartUntil/);
    expect(() => createAnalyzer({ coldStartUntil: '5' as unknown as number })).toThrow(/coldStartUntil/);
    expect(() => createAnalyzer({ coldStartUntil: 0 })).not.toThrow();
  });
});

describe('a new process behind one analyzer (instanceWarmupMs)', () => {
  const replacedAt = SHOP_START + RESTART;
  const WARMUP_MS = 20_000;

  /**
   * One analyzer (a central receiver) over shop traffic in which payment's process is replaced by a new one
   * at RESTART (a new `instance`), with `fault` (times relative to the replacement): the anomalies it raises.
   * `named: false` strips the instances (an exporter that names no process).
   */
  function replaced(fault: Omit<ShopFault, 'from' | 'to'> & { from: number; to: number }, named = true): { anomalies: Anomaly[]; analyzer: Analyzer; opened: Incident[] } {
    const spans = shopTraffic({ seed: 21, durationMs: RESTART + 2 * MIN, faults: [{ ...fault, from: RESTART + fault.from, to: RESTART + fault.to }] });
    if (named) for (const s of spans) s.instance = s.service === 'payment' && s.startTime >= replacedAt ? 'payment-2' : `${s.service}-1`;
    const analyzer = createAnalyzer();
    const anomalies: Anomaly[] = [];
    const opened: Incident[] = [];
    analyzer.onAnomaly((a) => anomalies.push(a));
    analyzer.onIncident((e) => e.type === 'opened' && opened.push(e.incident));
    for (const b of batches(spans, 50)) analyzer.ingest(b);
    analyzer.flush();
    return { anomalies, analyzer, opened };
  }
  // The new process's first seconds: payment's own time 10× usual.
  const coldSlow = { service: 'payment', slow: 10, from: 0, to: 8000 } as const;
  const latency = (anomalies: readonly Anomaly[]) => anomalies.filter((a) => a.signal.startsWith('latency')).map((a) => `${a.service} ${a.operation} ${a.signal}`);

  it('without instances, the slow first seconds of the new process fire latency anomalies (the false alarm it prevents)', () => {
    expect(latency(replaced(coldSlow, false).anomalies)).toContain('payment GET /pay latency');
  });

  it('with them, neither the new process nor its callers, slowed by it, fire a latency anomaly', () => {
    const { anomalies, analyzer } = replaced(coldSlow);
    expect(latency(anomalies)).toEqual([]);
    expect(analyzer.stats().instances).toEqual({ tracked: 5, untrackedSpans: 0 });
  });

  it('the same slowness past the warm-up fires as usual', () => {
    const late = { ...coldSlow, from: WARMUP_MS + 5000, to: WARMUP_MS + 15_000 };
    expect(latency(replaced(late).anomalies)).toContain('payment GET /pay latency');
  });

  it('errors in the warm-up are detected at once, and the sentence says the process is new', () => {
    const { anomalies, opened } = replaced({ service: 'payment', errorRate: 0.6, from: 0, to: 8000 });
    const errors = anomalies.find((a) => a.service === 'payment' && a.signal === 'errors');
    expect(errors).toBeDefined();
    expect(errors!.at).toBeLessThan(replacedAt + WARMUP_MS);
    expect(opened).toHaveLength(1);
    expect(opened[0].rootCause.explanation).toMatch(/; payment restarted as it began \(a new process\)$/);
    // Without process identities, no such clause.
    expect(replaced({ service: 'payment', errorRate: 0.6, from: 0, to: 8000 }, false).opened[0].rootCause.explanation).not.toMatch(/new payment process/);
  });

  it('a rollback once the incident was told: the new process says which version it brought back', () => {
    // payment 1.1.0 replaces 1.0.0 at RESTART and fails half its requests; a minute on, 1.0.0 is back (a third process).
    const back = replacedAt + MIN;
    const spans = shopTraffic({ seed: 21, durationMs: RESTART + 4 * MIN, faults: [{ service: 'payment', errorRate: 0.5, from: RESTART, to: RESTART + MIN }] });
    for (const s of spans) {
      if (s.service !== 'payment') continue;
      const [instance, version] = s.startTime < replacedAt ? ['payment-1', '1.0.0'] : s.startTime < back ? ['payment-2', '1.1.0'] : ['payment-3', '1.0.0'];
      s.instance = instance;
      s.serviceVersion = version;
    }
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    for (const b of batches(spans, 50)) analyzer.ingest(b);
    analyzer.flush();
    const [inc] = analyzer.incidents();
    expect(inc.rootCause.service).toBe('payment');
    expect(inc.rootCause.explanation).toMatch(/payment 1\.0\.0 → 1\.1\.0 seen /);
    expect(inc.rootCause.explanation).toMatch(/a new payment process \(1\.1\.0 → 1\.0\.0\) started \d+ s after it was detected/);
  });

  it('the processes found at first were running already: only one appearing later is warming up', () => {
    const analyzer = createAnalyzer();
    // Two requests a second: api-1 from the start; api-2 from 60 s on, alongside.
    const spans = [];
    for (let t = 0; t < 120_000; t += 500) {
      spans.push(span({ service: 'api', name: 'GET /', kind: 'server', instance: 'api-1', startTime: SHOP_START + t, endTime: SHOP_START + t + 10 }));
      if (t >= 60_000) spans.push(span({ service: 'api', name: 'GET /', kind: 'server', instance: 'api-2', startTime: SHOP_START + t + 250, endTime: SHOP_START + t + 260 }));
    }
    for (const b of batches(spans, 20)) analyzer.ingest(b);
    analyzer.flush();
    const api = analyzer.baselines().find((b) => b.service === 'api')!;
    // Every request learned but api-2's first 20 s (40 requests).
    expect(api.samples).toBe(spans.length - 40);
  });

  it('a service whose processes come and go faster than they warm up (one per request) still has its latency judged', () => {
    // Before: every trace had a process in its first 20 s, so no latency was ever judged: a 2 s fault hid.
    const analyzer = createAnalyzer();
    const anomalies: Anomaly[] = [];
    analyzer.onAnomaly((a) => anomalies.push(a));
    let n = 0;
    for (let s = 0; s < 6 * 60; s++) {
      const t = SHOP_START + s * 1000;
      const ms = s >= 5 * 60 ? 2000 : 10 + (s % 7);
      const batch = [0, 300, 600].map((dt) => span({ service: 'api', name: 'GET /', kind: 'server', instance: `req-${n++}`, startTime: t + dt, endTime: t + dt + ms }));
      analyzer.ingest(batch);
      analyzer.advanceTo(t + 1000);
    }
    analyzer.flush();
    expect(anomalies.some((a) => a.service === 'api' && a.signal === 'latency')).toBe(true);
  });

  it('a full table whose processes of one service are all gone makes room for that service too', () => {
    const analyzer = createAnalyzer();
    const flood = (at: number, prefix: string, service: string) =>
      Array.from({ length: MAX_INSTANCES }, (_, i) => span({ service, name: 'GET /', kind: 'server', instance: `${prefix}-${i}`, startTime: at + i / 10, endTime: at + i / 10 + 5 }));
    for (const b of batches(flood(SHOP_START, 'a', 'x'), 1000)) analyzer.ingest(b);
    // An hour later the first ones are gone; a new flood of the same service takes their place.
    const later = SHOP_START + 62 * MIN;
    analyzer.advanceTo(later);
    for (const b of batches(flood(later, 'b', 'x'), 1000)) analyzer.ingest(b);
    expect(analyzer.stats().instances.tracked).toBe(MAX_INSTANCES);
    // Before: the sweep dropped x's table while adding to it, so x's new processes were counted but out of
    // reach of any later sweep, and the table stayed full for good.
    const muchLater = later + 62 * MIN;
    analyzer.advanceTo(muchLater);
    analyzer.ingest(span({ service: 'z', name: 'GET /', kind: 'server', instance: 'z-1', startTime: muchLater, endTime: muchLater + 5 }));
    expect(analyzer.stats().instances.tracked).toBe(1);
  });

  it(`tracks at most MAX_INSTANCES processes: later ones are warm, and counted, until the gone ones are forgotten`, () => {
    const analyzer = createAnalyzer();
    const spans = Array.from({ length: MAX_INSTANCES + 5 }, (_, i) =>
      span({ service: 'api', name: 'GET /', kind: 'server', instance: `pod-${i}`, startTime: SHOP_START + i, endTime: SHOP_START + i + 5 }),
    );
    for (const b of batches(spans, 500)) analyzer.ingest(b);
    expect(analyzer.stats().instances).toEqual({ tracked: MAX_INSTANCES, untrackedSpans: 5 });
    // An hour later they are gone (none seen since): a new process finds room, and the table empties.
    const later = SHOP_START + 2 * 3_600_000;
    analyzer.advanceTo(later);
    analyzer.ingest(span({ service: 'api', name: 'GET /', kind: 'server', instance: 'pod-new', startTime: later, endTime: later + 5 }));
    expect(analyzer.stats().instances).toEqual({ tracked: 1, untrackedSpans: 5 });
  });
});

describe("the analyzer's own first warm-up (instanceWarmupMs)", () => {
  /**
   * Shop traffic, its spans naming their processes unless `named` is false, seen by an analyzer from its
   * first span (restored first from `restoreFrom` if given), with `faults`: the latency anomalies.
   */
  function fromStart(faults: ShopFault[], restoreFrom?: Analyzer, named = true): Anomaly[] {
    const spans = shopTraffic({ seed: 23, durationMs: 2 * MIN, faults });
    if (named) for (const s of spans) s.instance = `${s.service}-1`;
    const analyzer = createAnalyzer();
    if (restoreFrom !== undefined) analyzer.restore(JSON.parse(JSON.stringify(restoreFrom.snapshot())));
    const anomalies: Anomaly[] = [];
    analyzer.onAnomaly((a) => a.signal.startsWith('latency') && anomalies.push(a));
    for (const b of batches(spans, 20)) analyzer.ingest(b);
    analyzer.flush();
    return anomalies;
  }
  // Everything started with the analyzer (a deploy of all, a demo): checkout compiles and connects, 5× slower 8–16 s in.
  const warming = { service: 'checkout', slow: 5, from: 8000, to: 16_000 } as const;

  it('is learned but not judged: the processes it finds may have started with it', () => {
    // Before: "Latency in checkout", 15 s in, against a baseline of its first seconds.
    expect(fromStart([warming])).toEqual([]);
    // Spans that name no process come from one that knows its start (the plugin's coldStartMs): judged.
    expect(fromStart([warming], undefined, false).map((a) => a.service)).toContain('checkout');
  });

  it('a slowdown after it fires as usual', () => {
    const later = fromStart([warming, { service: 'checkout', slow: 5, from: 40_000, to: 60_000 }]);
    expect(later.map((a) => `${a.service} ${a.signal}`)).toContain('checkout latency.self');
    expect(Math.min(...later.map((a) => a.at))).toBeGreaterThanOrEqual(SHOP_START + 40_000);
  });

  it('an analyzer resumed from saved state knows what runs: its first seconds are judged', () => {
    const before = createAnalyzer();
    for (const b of batches(shopTraffic({ seed: 24, durationMs: 4 * MIN, start: SHOP_START - 5 * MIN }), 20)) before.ingest(b);
    expect(fromStart([warming], before).map((a) => a.service)).toContain('checkout');
  });
});
