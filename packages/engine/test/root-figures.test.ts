import { describe, expect, it } from 'vitest';
import { createAnalyzer, type IncidentEvent } from '../src/index.js';
import { mulberry32, logNormal } from './helpers/random.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';
import { TraceBuilder } from './helpers/spans.js';
import type { Span } from '../src/types.js';

const START = Date.UTC(2026, 0, 1);
const S = 1000;
const MIN = 60 * S;

/**
 * An API on one table: three routes query it, one of them (`/stats`, a fifth of the calls) with a raw query
 * that sleeps 300 ms from `from` to `to`; every statement is `SELECT orders`, so the slow one moves the
 * route and the statement's tail, not its median.
 */
function traffic(from: number, to: number, end: number): Span[] {
  const rng = mulberry32(7);
  const spans: Span[] = [];
  const routes = ['/orders/:id', '/customers/:id/orders', '/customers/:id/stats'];
  const weights = [0.45, 0.35, 0.2];
  for (let t = START; t < START + end; t += (-Math.log(1 - rng()) / 40) * 1000) {
    const u = rng();
    const route = u < weights[0] ? routes[0] : u < weights[0] + weights[1] ? routes[1] : routes[2];
    const slow = route === routes[2] && t - START >= from && t - START < to;
    const b = new TraceBuilder();
    const query = slow ? 300 + logNormal(rng, 2, 0.2) : logNormal(rng, 1, 0.3);
    const server = b.server('api', route, t, t + 2 + query + logNormal(rng, 1, 0.3));
    b.db(server, 'postgresql', 'SELECT', t + 1, t + 1 + query);
    spans.push(...b.spans);
  }
  return spans.sort((a, b) => a.endTime - b.endTime);
}

describe('root-cause figures of an operation named without an anomaly of its own', () => {
  it('keep their worst window in the incident: a slow query among a table\'s statements is told by its p95 at the fault, not by the last window', () => {
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    const spans = traffic(240 * S, 280 * S, 400 * S);
    for (let i = 0; i < spans.length; i += 50) analyzer.ingest(spans.slice(i, i + 50));
    analyzer.flush();
    const incidents = analyzer.incidents();
    expect(incidents).toHaveLength(1);
    const [inc] = incidents;
    expect(inc.rootCause).toMatchObject({ service: 'postgresql', operation: 'SELECT orders' });
    // The statement's median never moved: no anomaly of its own.
    expect(inc.anomalies.some((a) => a.service === 'postgresql')).toBe(false);
    // Resolved well after the fault: the sentence still says how slow the statement's tail was.
    expect(inc.status).toBe('resolved');
    const p95 = /postgresql SELECT orders latency p95 ([\d.]+) (ms|s) vs baseline ([\d.]+) ms/.exec(inc.rootCause.explanation);
    expect(p95, inc.rootCause.explanation).not.toBeNull();
    expect(Number(p95![1]) * (p95![2] === 's' ? 1000 : 1)).toBeGreaterThan(250);
  });
});

describe('root-cause figures told later', () => {
  it('are dated once they are not the latest: an incident does not pass its worst moment off as "the last 15 s"', () => {
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    const events: IncidentEvent[] = [];
    analyzer.onIncident((e) => events.push(e));
    // Payment fails every request for 20 s, then hangs a fifth of them (checkout gives up) for two minutes.
    const faults: ShopFault[] = [
      { service: 'payment', from: 10 * MIN, to: 10 * MIN + 20 * S, errorRate: 1 },
      { service: 'payment', from: 10 * MIN + 20 * S, to: 12 * MIN + 20 * S, hangMs: 3000, hangShare: 0.2 },
    ];
    for (const b of batches(shopTraffic({ seed: 5, durationMs: 14 * MIN, noiseErrors: 0.002, faults }), 50)) analyzer.ingest(b);
    analyzer.flush();
    expect(events.map((e) => e.type)).toEqual(['opened', 'updated', 'updated', 'resolved']);
    const clock = (t: number) => new Date(t).toISOString().slice(11, 19);
    const dates = (s: string) => [...s.matchAll(/in the \d+ (?:s|min) to (\d\d:\d\d:\d\d) UTC/g)].map((m) => m[1]);
    // Told as they happen: current.
    expect(events[0].incident.rootCause.explanation).toMatch(/^in the last 5 s: payment GET \/pay error rate 100%/);
    expect(dates(events[0].incident.rootCause.explanation)).toEqual([]);
    // A minute on, the errors (over since 10:20) are still its worst: told with the time they were taken.
    const later = events[1].incident;
    expect(later.updatedAt - SHOP_START).toBeGreaterThanOrEqual(10 * MIN + 30 * S);
    expect(later.rootCause.explanation).toMatch(/^(in the 15 s to 00:10:2\d UTC: )?payment GET \/pay error rate 100% \(\d+\/\d+\) vs baseline [\d.]+%( in the 15 s to 00:10:2\d UTC)?; /);
    expect(dates(later.rootCause.explanation).some((d) => d.startsWith('00:10:2'))).toBe(true);
    // Never dated when current; every date is of a window that ended before the update.
    for (const { incident } of events.slice(0, 3)) for (const d of dates(incident.rootCause.explanation)) expect(d < clock(incident.updatedAt)).toBe(true);
    // Resolved: nothing passes for "the last" seconds; its undated figures end when it was last told.
    const resolved = events[3].incident;
    expect(resolved.rootCause.explanation).not.toMatch(/in the last/);
    expect(dates(resolved.rootCause.explanation)).toContain(clock(resolved.updatedAt));
    for (const d of dates(resolved.rootCause.explanation)) expect(d <= clock(resolved.updatedAt)).toBe(true);
  });
});
