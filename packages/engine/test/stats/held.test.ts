import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LaggedCounts } from '../../src/stats/held.js';

type Step = { gap: number; a: number; b: number; lag: number } | 'forget';

/** What LaggedCounts promises, as plainly as it can be said: a list of waiting buckets, oldest first. */
function expected(steps: readonly Step[]): Array<[number, number]> {
  const learned: Array<[number, number]> = [];
  let waiting: Array<{ index: number; a: number; b: number }> = [];
  let index = 0;
  for (const step of steps) {
    if (step === 'forget') {
      waiting = [];
      continue;
    }
    index += step.gap;
    waiting.push({ index, a: step.a, b: step.b });
    while (waiting.length > 0 && index - waiting[0].index >= step.lag) {
      const w = waiting.shift()!;
      learned.push([w.a, w.b]);
    }
  }
  return learned;
}

function actual(steps: readonly Step[], start = 0): Array<[number, number]> {
  const learned: Array<[number, number]> = [];
  const counts = new LaggedCounts();
  let index = start;
  for (const step of steps) {
    if (step === 'forget') counts.forget();
    else counts.add((index += step.gap), step.a, step.b, step.lag, (a, b) => learned.push([a, b]));
  }
  return learned;
}

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ gap: fc.integer({ min: 1, max: 20 }), a: fc.nat(1000), b: fc.nat(1000), lag: fc.constantFrom(0, 3, 12, 12, 12, 30) }) },
  { weight: 1, arbitrary: fc.constant('forget' as const) },
);

describe('LaggedCounts', () => {
  it('learns each bucket once it is `lag` buckets old, oldest first, and none that were forgotten', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), fc.integer({ min: -1000, max: 1_000_000 }), (steps, start) => {
        expect(actual(steps, start)).toEqual(expected(steps));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a ring of buckets waiting with gaps between them, then a longer lag, then none', () => {
    const learned: number[] = [];
    const counts = new LaggedCounts();
    const learn = (a: number) => learned.push(a);
    for (let i = 1; i <= 12; i++) counts.add(2 * i, i, 0, 12, learn);
    // Indexes 2 … 24: those at most 12 (1 … 6) are learned.
    expect(learned).toEqual([1, 2, 3, 4, 5, 6]);
    // A lag of 30 keeps 14 … 40 waiting: more than the slots made for a ring.
    for (let i = 13; i <= 20; i++) counts.add(2 * i, i, 0, 30, learn);
    expect(learned).toEqual([1, 2, 3, 4, 5, 6]);
    counts.add(41, 21, 0, 0, learn);
    expect(learned).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });
});
