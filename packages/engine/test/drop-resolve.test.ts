/**
 * Issue 13: a failure incident resolves when its fault stops, even when traffic stops with it. The callers'
 * traffic drops that joined it are the failure's effect, not evidence that it goes on.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type Incident, type IncidentEvent } from '../src/index.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';

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
    // It opened at low severity and was raised once, not updated for every empty bucket.
    expect(events.filter((e) => e.incident.id === drop.id && e.incident.severity === 'medium' && e.type === 'updated')).toHaveLength(1);
  });
});
