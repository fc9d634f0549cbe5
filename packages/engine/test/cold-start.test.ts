import { describe, expect, it } from 'vitest';
import { createAnalyzer, RootspanError, type Anomaly } from '../src/index.js';
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
