import { describe, expect, it } from 'vitest';
import { FOREIGN_SCENARIOS, SCENARIOS, scenarioByName, shopTopology, SIM_EPOCH, simulate } from '@rootspan/sim';
import { MIN, serverSpans, errorRate } from './helpers.js';

const CATALOGUE = SCENARIOS.filter((s) => s.family !== 'foreign');

describe('scenario catalogue', () => {
  it('has unique names and scenarioByName finds them', () => {
    const names = SCENARIOS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(scenarioByName(n)?.name).toBe(n);
    expect(scenarioByName('nope')).toBeUndefined();
  });

  it('covers the required cases and at least three topologies', () => {
    expect(new Set(CATALOGUE.map((s) => s.topology.name))).toEqual(new Set(['shop', 'media', 'bank']));
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(24);
    expect(SCENARIOS.slice(CATALOGUE.length)).toEqual(FOREIGN_SCENARIOS);
    expect(scenarioByName('shop-two-faults')!.truth.expectedIncidents).toBe(2);
    expect(scenarioByName('shop-traffic-surge')!.truth).toMatchObject({ healthy: true, expectedIncidents: 0, faults: [] });
    expect(scenarioByName('shop-payment-intermittent')!.truth.expectedIncidents).toBe(1);
    expect(CATALOGUE.filter((s) => s.truth.healthy).length).toBeGreaterThanOrEqual(4);
  });

  it('every fault starts after ≥ 5 min of warm-up, and truth lies inside the run', () => {
    for (const s of CATALOGUE) {
      for (const f of s.faults) expect(f.fromMs, s.name).toBeGreaterThanOrEqual(5 * MIN);
      expect(s.truth.expectedIncidents, s.name).toBe(s.truth.healthy ? 0 : s.truth.faults.length);
      for (const f of s.truth.faults) {
        expect(f.startMs - SIM_EPOCH, s.name).toBeGreaterThanOrEqual(5 * MIN);
        expect(f.endMs, s.name).toBeGreaterThan(f.startMs);
        expect(f.endMs - SIM_EPOCH, s.name).toBeLessThanOrEqual(s.durationMs - 2 * MIN); // recovery period
        const services = new Set([...s.topology.services.map((x) => x.name), ...s.topology.databases.map((d) => d.name)]);
        expect(services.has(f.service), `${s.name}: ${f.service}`).toBe(true);
        if (f.operation !== null) {
          const svc = s.topology.services.find((x) => x.name === f.service)!;
          expect(svc.operations.map((o) => o.name), s.name).toContain(f.operation);
        }
      }
    }
  });

  // How fast it simulates is a benchmark's business (README: about 3 s), not a timed test's.
  it('every run of the catalogue has traffic for its truth', () => {
    let spans = 0;
    for (const s of CATALOGUE) {
      const r = simulate(s);
      spans += r.spans.length;
      for (const f of r.truth.faults) {
        if (f.operation === null || f.kind === 'traffic') continue;
        const inside = serverSpans(r.spans, f.service, f.operation, f.startMs, f.endMs);
        expect(inside.length, `${s.name} ${f.service} ${f.operation}`).toBeGreaterThan(20);
        if (f.kind === 'errors') expect(errorRate(inside), s.name).toBeGreaterThan(0.05);
      }
    }
    expect(spans).toBeGreaterThan(1_000_000);
  }, 60_000);

  it('shopTopology returns a fresh copy each time', () => {
    const a = shopTopology();
    a.services.pop();
    expect(shopTopology().services.length).toBe(a.services.length + 1);
  });
});
