/**
 * An incident lasts as long as its fault, at the live resolve delay (`LIVE_RESOLVE_AFTER_MS`, as the plugin
 * and `rootspan serve` use): it neither resolves while the fault goes on nor lingers long after it.
 */
import { describe, expect, it } from 'vitest';
import { LIVE_RESOLVE_AFTER_MS, createAnalyzer } from '@rootspan/engine';
import { scenarioBatches } from './support/scenario-batches.js';

describe('incident lifetime', () => {
  // A tenth of payment's requests a second slower for 5 min, its median unchanged: proved once, its tail
  // was not proved as strictly by the next windows, its episodes ended within 30 s, the baselines learned
  // the slow tail, and the incident resolved 3.5 min before the fault ended.
  it('shop-payment-slow-tail: a tail slowdown stays open until its fault ends', () => {
    const { scenario, batches } = scenarioBatches('shop-payment-slow-tail');
    const [fault] = scenario.truth.faults;
    const analyzer = createAnalyzer({ resolveAfterMs: LIVE_RESOLVE_AFTER_MS });
    for (const b of batches) analyzer.ingest(b);
    analyzer.flush();
    const incidents = analyzer.incidents();
    expect(incidents.map((i) => i.title)).toEqual([expect.stringMatching(/^Latency in payment POST \/payment/)]);
    const [inc] = incidents;
    expect(inc.status).toBe('resolved');
    expect(inc.resolvedAt).toBeGreaterThan(fault.endMs);
    expect(inc.resolvedAt).toBeLessThan(fault.endMs + 2 * 60_000);
  });

  // Payment fails in 20 s bursts, 100 s apart: at the live resolve delay its incident resolves between
  // bursts. A burst that comes after the resolution, all its evidence new, is an incident of its own (an
  // alert each time, as a fault injected again is): each opens, names payment, and resolves.
  it('shop-payment-intermittent: each burst after a resolution opens, names payment and resolves', () => {
    const { scenario, batches } = scenarioBatches('shop-payment-intermittent');
    const analyzer = createAnalyzer({ resolveAfterMs: LIVE_RESOLVE_AFTER_MS });
    const reopened: string[] = [];
    const resolved = new Set<string>();
    analyzer.onIncident((e) => {
      if (resolved.has(e.incident.id)) reopened.push(e.incident.id);
      if (e.type === 'resolved') resolved.add(e.incident.id);
    });
    for (const b of batches) analyzer.ingest(b);
    analyzer.flush();
    const incidents = analyzer.incidents();
    expect(incidents.length).toBeGreaterThanOrEqual(3);
    for (const inc of incidents) {
      expect(inc.title).toMatch(/^Errors in payment POST \/payment/);
      expect(inc.status).toBe('resolved');
    }
    // None resolved and then reopened: each burst is told as it happens.
    expect(reopened).toEqual([]);
    const [fault] = scenario.truth.faults;
    expect(Math.min(...incidents.map((i) => i.openedAt))).toBeGreaterThanOrEqual(fault.startMs);
  });
});
