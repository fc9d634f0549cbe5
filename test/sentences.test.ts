/** The sentence checks the issue-21 end-to-end tests apply (test/support/sentences.ts). */
import { describe, expect, it } from 'vitest';
import { offTier, onTier, parseTiers, readmeTiers, statesWindow, tierOf, type Tiers } from './support/sentences.js';

/** The tiers the root README states today. */
const README: Tiers = { low: [3, 5], medium: [5, 10], high: [10, 20], critical: 20, criticalMs: 10_000 };

describe('explanation sentence checks', () => {
  it('reads the tiers a text states in the README\'s words, across line breaks', () => {
    expect(parseTiers('Latency: ≥ 3× the baseline (severity\n  low 3–5×, medium 5–10×, high 10–20×, critical > 20× or > 10 s); smaller')).toEqual(README);
    expect(parseTiers('low 1.5–4×, medium 4–8×, high 8–16×, critical >16× or >5 s')).toEqual({ low: [1.5, 4], medium: [4, 8], high: [8, 16], critical: 16, criticalMs: 5000 });
    expect(() => parseTiers('severity depends on the ratio')).toThrow(/no latency severity tiers/);
    // The root README states them (whether they are the engine's is the issue-21 e2e tests' to check).
    expect(() => readmeTiers()).not.toThrow();
  });

  it('a sentence with figures must name its window', () => {
    expect(statesWindow('billing POST /charge error rate 27% (27/100) vs baseline 0% in the last 60 s')).toBe(true);
    expect(statesWindow('inventory GET typical latency 38 ms vs baseline 4.5 ms (8.4×) over 67 requests in the last 5 s')).toBe(true);
    expect(statesWindow('inventory GET latency p95 410 ms vs baseline 21 ms (20×); 96% of slow frontend GET /products requests spend the extra time in inventory')).toBe(false);
    expect(statesWindow('4% (12/299)')).toBe(false);
    expect(statesWindow('callers gave up waiting on billing')).toBe(true);
    // Figures told after they were taken (a resolved incident's sentence): their window dated.
    expect(statesWindow('in the 5 s to 14:02:07 UTC: billing POST /charge error rate 100% (7/7) vs baseline 0%')).toBe(true);
  });

  it('places ratios in tiers, with the absolute bound', () => {
    expect(tierOf(README, 1.9)).toBeNull();
    expect(tierOf(README, 3)).toBe('low');
    expect(tierOf(README, 8.4)).toBe('medium');
    expect(tierOf(README, 12)).toBe('high');
    expect(tierOf(README, 20)).toBe('critical');
    expect(tierOf(README, 1.6, 12_000)).toBe('critical');
  });

  it("judges a sentence's severity by the figures it states, not by its window", () => {
    expect(onTier(README, 'billing POST /charge latency p95 429 ms vs baseline 226 ms (1.9×)', 'low')).toBe(false);
    expect(onTier(README, 'checkout POST latency p95 443 ms vs baseline 102 ms (4.3×)', 'low')).toBe(true);
    expect(onTier(README, 'inventory POST latency p95 409 ms vs baseline 25 ms (16×) in the last 60 s', 'critical')).toBe(false);
    expect(onTier(README, 'orders-api GET /orders/:id self-time p95 12.0 s vs baseline 3.3 ms (907×)', 'critical')).toBe(true);
    expect(onTier(README, 'orders-api GET /orders/:id self-time p95 3.00 s vs baseline 5.3 ms (572×)', 'high')).toBe(false);
    // A hang's give-up figure backs its own severity: half of the calls or more unanswered is critical, 3 of 10 high.
    const hang = (n: number) => `in the last 5 s: postgresql pg-pool.connect latency p95 24 ms vs baseline 3.5 ms (6.8×); worst: orders-api got no answer from postgresql SELECT orders in ${n} of 10 calls (…) in the last 5 s`;
    expect(onTier(README, hang(10), 'critical')).toBe(true);
    expect(onTier(README, hang(5), 'critical')).toBe(true);
    expect(onTier(README, hang(3), 'critical')).toBe(false);
    expect(onTier(README, hang(3), 'high')).toBe(true);
  });

  it('lists each off-tier latency sentence once', () => {
    const a = { kind: 'latency', observed: 38, expected: 20, severity: 'low' as const, explanation: 'x (1.9×) in the last 5 s' };
    const i = { type: 'updated', kind: 'latency', severity: 'high' as const, explanation: 'y (4.3×)' };
    expect(offTier(README, [a, a, { ...a, observed: 70 }], [i, i, { ...i, type: 'resolved' }, { ...i, kind: 'errors' }])).toEqual([
      'anomaly [low] 1.90×: x (1.9×) in the last 5 s',
      'incident [high]: y (4.3×)',
    ]);
  });
});
