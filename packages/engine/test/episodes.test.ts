/** Issue 21: an episode ends when its signal has been normal for anomalyEndMs; a later deviation is a new one. */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type IncidentEvent, type Span } from '../src/index.js';
import { SHOP_START, batches, shopTraffic } from './helpers/shop.js';
import { span } from './helpers/spans.js';

const MIN = 60_000;
const SEC = 1000;
/** 40 s faults: a 60 s window stays mostly slow for 20 s after the first ends, and keeps firing. */
const FAULT_MS = 40 * SEC;
const RECOVERY_MS = 40 * SEC;
const FAULT_1 = SHOP_START + 10 * MIN;
const FAULT_2 = FAULT_1 + FAULT_MS + RECOVERY_MS;

function twoFaults(recoveryMs: number) {
  const spans = shopTraffic({
    seed: 11,
    durationMs: 14 * MIN,
    noiseErrors: 0.002,
    faults: [
      { service: 'payment', from: 10 * MIN, to: 10 * MIN + FAULT_MS, slow: 12 },
      { service: 'payment', from: 10 * MIN + FAULT_MS + recoveryMs, to: 10 * MIN + 2 * FAULT_MS + recoveryMs, slow: 12 },
    ],
  });
  return analyze(spans);
}

/** Streams spans through a default analyzer, then moves event time to `until` (if given) and flushes. */
function analyze(spans: Span[], until?: number): { anomalies: Anomaly[]; events: IncidentEvent[] } {
  const analyzer = createAnalyzer();
  const anomalies: Anomaly[] = [];
  const events: IncidentEvent[] = [];
  analyzer.onAnomaly((a) => anomalies.push(a));
  analyzer.onIncident((e) => events.push(e));
  for (const b of batches(spans, 50)) analyzer.ingest(b);
  if (until !== undefined) analyzer.advanceTo(until);
  analyzer.flush();
  return { anomalies, events };
}

describe('anomaly episodes', () => {
  it('a second fault 40 s after the first ended is a new episode: onAnomaly again, the incident updated with new figures', () => {
    const { anomalies, events } = twoFaults(RECOVERY_MS);
    const payment = anomalies.filter((a) => a.service === 'payment' && a.kind === 'latency');
    const first = payment.filter((a) => a.firstAt >= FAULT_1 && a.firstAt < FAULT_2);
    const second = payment.filter((a) => a.firstAt >= FAULT_2);
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    // New episodes: new ids.
    expect(second.filter((a) => first.some((b) => b.id === a.id))).toEqual([]);
    const later = events.filter((e) => e.incident.rootCause.service === 'payment' && e.type !== 'resolved' && e.incident.updatedAt >= FAULT_2);
    expect(later.length).toBeGreaterThan(0);
    // Detected, not first seen, in the second fault's own window.
    expect(Math.min(...second.map((a) => a.firstAt))).toBeLessThanOrEqual(FAULT_2 + 15 * SEC);
  });

  it('calls onAnomaly again for the same episode only when its severity rises', () => {
    const { anomalies } = twoFaults(RECOVERY_MS);
    const byId = new Map<string, Anomaly[]>();
    for (const a of anomalies) byId.set(a.id, [...(byId.get(a.id) ?? []), a]);
    const rank = { low: 1, medium: 2, high: 3, critical: 4 } as const;
    for (const calls of byId.values()) {
      for (let i = 1; i < calls.length; i++) expect(rank[calls[i].severity]).toBeGreaterThan(rank[calls[i - 1].severity]);
    }
  });

  it('a fault that keeps going stays one episode', () => {
    const { anomalies } = twoFaults(0);
    const payment = anomalies.filter((a) => a.service === 'payment' && a.signal === 'latency');
    expect(new Set(payment.map((a) => a.id)).size).toBe(1);
  });
});

describe('traffic drops', () => {
  it('a load that stops, 20 s before the process flushes and shuts down, opens no incident', () => {
    // The load generator stops; the process lives on for 20 s, then shuts down (a final flush).
    const { events, anomalies } = analyze(shopTraffic({ seed: 5, durationMs: 12 * MIN, noiseErrors: 0.002 }), SHOP_START + 12 * MIN + 20 * SEC);
    expect(events).toEqual([]);
    expect(anomalies.filter((a) => a.kind === 'traffic')).toEqual([]);
  });

  it('a drop lasting a minute is judged over the minute, and alone is not high', () => {
    const { anomalies } = analyze(shopTraffic({ seed: 5, durationMs: 12 * MIN, noiseErrors: 0.002 }), SHOP_START + 14 * MIN);
    const drops = anomalies.filter((a) => a.signal === 'traffic.drop');
    expect(drops.length).toBeGreaterThan(0);
    for (const d of drops) {
      expect(d.at - d.windowStart).toBeGreaterThanOrEqual(60 * SEC);
      expect(d.severity).not.toMatch(/high|critical/);
    }
  });
});

describe('a route that comes and goes', () => {
  /**
   * One route of `api` served evenly at 2 req/s in its `on` periods (seconds since the start), another at
   * 2 req/s throughout; event time advanced every second as the live wrappers do.
   */
  function onOff(on: (s: number) => boolean, seconds: number): { anomalies: Anomaly[]; events: IncidentEvent[] } {
    const analyzer = createAnalyzer();
    const anomalies: Anomaly[] = [];
    const events: IncidentEvent[] = [];
    analyzer.onAnomaly((a) => anomalies.push(a));
    analyzer.onIncident((e) => events.push(e));
    const request = (route: string, start: number): Span =>
      span({ service: 'api', name: `GET ${route}`, kind: 'server', startTime: start, endTime: start + 20, status: 'unset', attributes: { 'http.request.method': 'GET', 'http.route': route, 'http.response.status_code': 200 } });
    for (let s = 0; s < seconds; s++) {
      const t = SHOP_START + s * SEC;
      const batch = [request('/api/items', t + 100), request('/api/items', t + 600)];
      if (on(s)) batch.push(request('/api/reports', t + 300), request('/api/reports', t + 800));
      analyzer.ingest(batch);
      analyzer.advanceTo(t + SEC);
    }
    analyzer.flush();
    return { anomalies, events };
  }

  it('coming back after ten quiet minutes is no traffic drop, nor is stopping again', () => {
    // On for 3 min, off for 10, one request at 13:00, off again.
    const back = 13 * 60;
    const { anomalies, events } = onOff((s) => s < 3 * 60 || s === back, 16 * 60);
    const late = anomalies.filter((a) => a.signal === 'traffic.drop' && a.at >= SHOP_START + back * SEC);
    expect(late).toEqual([]);
    expect(events.filter((e) => e.type === 'opened' && e.incident.openedAt >= SHOP_START + back * SEC)).toEqual([]);
  });

  it('an hour of one minute on, four off: at most the first two stops are incidents, and they resolve', () => {
    const { events } = onOff((s) => s % 300 < 60, 60 * 60);
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.length).toBeLessThanOrEqual(2);
    for (const o of opened) {
      expect(o.incident.openedAt).toBeLessThan(SHOP_START + 10 * MIN);
      expect(events.some((e) => e.type === 'resolved' && e.incident.id === o.incident.id)).toBe(true);
    }
  });

  it('after one pause, a drop is judged again once the rate is learned afresh (a load paused between two phases)', () => {
    // The route runs 5 min, pauses 3 min, runs 5 min, then stops for good (its caller went away).
    const { anomalies } = onOff((s) => s < 5 * 60 || (s >= 8 * 60 && s < 13 * 60), 16 * 60);
    const drops = anomalies.filter((a) => a.signal === 'traffic.drop' && a.operation === 'GET /api/reports');
    expect(drops.some((a) => a.at >= SHOP_START + 13 * MIN)).toBe(true);
    // Never at its return.
    expect(drops.filter((a) => a.at >= SHOP_START + 8 * MIN && a.at < SHOP_START + 13 * MIN)).toEqual([]);
  });

  it('once it has come and gone, then runs without a break for 30 min, its stop is a drop again', () => {
    // Two on/off cycles (its stops are its normal), then on from 10:00 to 45:00, then it stops for good.
    const { anomalies } = onOff((s) => (s < 10 * 60 ? s % 300 < 60 : s < 45 * 60), 50 * 60);
    const drops = anomalies.filter((a) => a.signal === 'traffic.drop' && a.operation === 'GET /api/reports');
    expect(drops.some((a) => a.at >= SHOP_START + 45 * MIN)).toBe(true);
  });
});

describe('lasting changes (adaptAfterMs)', () => {
  const ADAPT = 30 * MIN;

  it('a slowdown that stays becomes the new normal after 30 min: its incident resolves as adapted, and a later fault is caught afresh', () => {
    const spans = shopTraffic({
      seed: 5,
      durationMs: 55 * MIN,
      faults: [
        // From 10 min on payment stays 4× slower (a deploy, say); from 48 min it is 40× slower.
        { service: 'payment', from: 10 * MIN, to: 48 * MIN, slow: 4 },
        { service: 'payment', from: 48 * MIN, to: 55 * MIN, slow: 40 },
      ],
    });
    const { events } = analyze(spans);
    const opened = events.filter((e) => e.type === 'opened');
    const first = opened.find((e) => e.incident.rootCause.service === 'payment' && e.incident.rootCause.kind === 'latency');
    expect(first).toBeDefined();
    const firstAt = first!.incident.openedAt;
    expect(firstAt).toBeLessThan(SHOP_START + 11 * MIN);
    const resolved = events.find((e) => e.type === 'resolved' && e.incident.id === first!.incident.id);
    expect(resolved?.incident.resolvedBy).toBe('adapted');
    // Its anomalies lasted 30 min from their detection (the incident may open a bucket after its first
    // anomaly); it resolves in the bucket that passes that.
    expect(resolved!.incident.resolvedAt! - firstAt).toBeGreaterThanOrEqual(ADAPT - 10 * SEC);
    expect(resolved!.incident.resolvedAt! - firstAt).toBeLessThan(ADAPT + MIN);
    // Nothing between the adaptation and the second fault: the 4× level is now normal.
    expect(opened.filter((e) => e.incident.openedAt > firstAt && e.incident.openedAt < SHOP_START + 48 * MIN)).toEqual([]);
    // The 40× fault against the new normal (10×) is a new incident on payment, detected in seconds.
    const second = opened.find((e) => e.incident.openedAt >= SHOP_START + 48 * MIN);
    expect(second?.incident.rootCause.service).toBe('payment');
    expect(second!.incident.openedAt).toBeLessThan(SHOP_START + 48 * MIN + 20 * SEC);
  });

  it('errors never become normal: a service failing for 40 min keeps its incident open', () => {
    const spans = shopTraffic({ seed: 6, durationMs: 52 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 52 * MIN, errorRate: 0.4 }] });
    const { events } = analyze(spans);
    const incident = events.find((e) => e.type === 'opened' && e.incident.rootCause.service === 'payment')?.incident;
    expect(incident?.rootCause.kind).toBe('errors');
    expect(events.filter((e) => e.incident.id === incident!.id && e.type === 'resolved').map((e) => e.incident.resolvedBy)).not.toContain('adapted');
    // Still open 42 min in: only the end of input (the flush) could resolve it, after its quiet period.
    expect(events.some((e) => e.incident.id === incident!.id && e.type === 'resolved' && e.incident.resolvedAt! < SHOP_START + 52 * MIN)).toBe(false);
  });
});
