/** The soak's pass/fail rules on made-up runs: each rule must be able to fail. */
import { describe, expect, it } from 'vitest';
import { DETECTION_GRACE_MS, duplicateNotifications, judgeIncidents, secondHalfGrowth, type MemorySample, type SeenIncident } from '../src/soak-verdict.js';

const T0 = Date.UTC(2026, 0, 1);
const incident = (id: string, service: string, openedAt: number): SeenIncident => ({
  id,
  title: `${service} broke`,
  severity: 'high',
  status: 'active',
  openedAt: new Date(openedAt).toISOString(),
  rootCause: { service, operation: null, kind: 'errors' },
});

describe('soak verdict', () => {
  const expected = [
    { label: 'A', service: 'payment', from: T0 + 10_000, to: T0 + 20_000 },
    { label: 'B', service: 'checkout', from: T0 + 60_000, to: T0 + 70_000 },
  ];

  it('one incident per fault passes; a miss, a duplicate and a false alarm are each told apart', () => {
    const good = judgeIncidents(expected, [incident('1', 'payment', T0 + 15_000), incident('2', 'checkout', T0 + 70_000 + DETECTION_GRACE_MS)]);
    expect(good.matches.map((m) => m.incidents.map((i) => i.id))).toEqual([['1'], ['2']]);
    expect(good.unexpected).toEqual([]);

    const bad = judgeIncidents(expected, [
      incident('1', 'payment', T0 + 15_000),
      incident('2', 'payment', T0 + 19_000),
      // Before its fault, after the grace, or the wrong service: none of them counts for B.
      incident('3', 'checkout', T0 + 59_000),
      incident('4', 'checkout', T0 + 70_001 + DETECTION_GRACE_MS),
      incident('5', 'frontend', T0 + 65_000),
    ]);
    expect(bad.matches.map((m) => m.incidents.map((i) => i.id))).toEqual([['1', '2'], []]);
    expect(bad.unexpected.map((i) => i.id)).toEqual(['3', '4', '5']);
  });

  it('memory growth compares the medians of 50–60 % and of the last 10 % of the run', () => {
    const at = (t: number, heap: number): MemorySample => ({ t: t * 1000, heap, rss: 2 * heap, loopMaxMs: 0, loopP99Ms: 0, answerMs: 0 });
    const heap = (s: MemorySample) => s.heap;
    const mid = [at(10, 20), at(50, 100), at(55, 100), at(60, 100)];
    // A single spike at the end is outvoted; a level that stays up is not.
    expect(secondHalfGrowth([...mid, at(90, 100), at(95, 300), at(100, 103)], 100_000, heap)?.growth).toBeCloseTo(0.03, 5);
    expect(secondHalfGrowth([...mid, at(90, 115), at(95, 300), at(100, 120)], 100_000, heap)?.growth).toBeCloseTo(0.2, 5);
    expect(secondHalfGrowth([...mid, at(90, 100), at(95, 100), at(100, 100)], 100_000, (s) => s.rss)?.growth).toBe(0);
    // No sample in a range: not measured (the check then fails).
    expect(secondHalfGrowth(mid, 100_000, heap)).toBeUndefined();
  });

  it('an incident notified as opened twice is reported', () => {
    expect(duplicateNotifications(['inc-1', 'inc-2', 'inc-1'])).toEqual(['inc-1']);
    expect(duplicateNotifications(['inc-1', 'inc-2'])).toEqual([]);
  });
});
