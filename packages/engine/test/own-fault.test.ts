/**
 * A fault of a service's own that begins while an incident that only counts it as affected is open: its
 * own incident, not a member of the first. The shop (frontend → checkout → inventory → postgresql, checkout
 * → payment) has a first fault, then, minutes into it, a second in a service the first one reaches.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';

const MIN = 60_000;

function incidentsOf(faults: ShopFault[], seed: number) {
  const a = createAnalyzer();
  for (const b of batches(shopTraffic({ seed, rps: 8, durationMs: 16 * MIN, faults }), 300)) a.ingest(b);
  a.flush();
  return a
    .incidents()
    .filter((i) => i.resolvedBy !== 'merged')
    .map((i) => ({ at: (i.openedAt - SHOP_START) / MIN, root: i.rootCause.service, kind: i.rootCause.kind }))
    .sort((x, y) => x.at - y.at);
}

describe('a fault of an affected service, minutes into another', () => {
  it("is its own incident: errors in a service the database's slowdown slowed", () => {
    for (const seed of [1, 2, 3]) {
      const found = incidentsOf([{ service: 'postgresql', slow: 8, from: 7 * MIN, to: 11 * MIN }, { service: 'inventory', errorRate: 0.5, from: 9 * MIN, to: 12 * MIN }], seed);
      expect(found.map((f) => `${f.root} ${f.kind}`)).toEqual(['postgresql latency', 'inventory errors']);
      expect(found[1].at).toBeGreaterThanOrEqual(9);
      expect(found[1].at).toBeLessThan(9.5);
    }
  });

  it("is its own incident: slowness of checkout's own code while payment fails", () => {
    for (const seed of [1, 2, 3]) {
      const found = incidentsOf([{ service: 'payment', errorRate: 1, from: 7 * MIN, to: 11 * MIN }, { service: 'checkout', slow: 10, from: 9 * MIN, to: 13 * MIN }], seed);
      expect(found.map((f) => `${f.root} ${f.kind}`)).toEqual(['payment errors', 'checkout latency']);
      expect(found[1].at).toBeGreaterThanOrEqual(9);
    }
  });

  it('is the first incident when it is only its spread: the database slowed, its callers with it', () => {
    for (const seed of [1, 2, 3]) {
      const found = incidentsOf([{ service: 'postgresql', slow: 8, from: 7 * MIN, to: 11 * MIN }], seed);
      expect(found.map((f) => `${f.root} ${f.kind}`)).toEqual(['postgresql latency']);
    }
  });
});
