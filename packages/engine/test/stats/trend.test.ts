import { describe, expect, it } from 'vitest';
import { ShareTrend } from '../../src/stats/trend.js';
import { binomial, mulberry32 } from '../helpers/random.js';

/** A trend fed `shares` (one per window) of `requests` parent requests each. */
function fed(shares: readonly number[], requests = 20): ShareTrend {
  const t = new ShareTrend(0.9);
  for (const s of shares) t.add(requests, s);
  return t;
}

describe('ShareTrend', () => {
  it('follows a steady fall to the latest window, where an EWMA lags it', () => {
    const shares = Array.from({ length: 20 }, (_, i) => 1 - 0.04 * i); // 100% → 24%
    const level = fed(shares).fallingLevel();
    expect(level).toBeCloseTo(0.24, 6);
  });

  it('has no falling level on a flat, a rising or a too short series', () => {
    expect(fed(Array(30).fill(0.7)).fallingLevel()).toBeUndefined();
    expect(fed(Array.from({ length: 20 }, (_, i) => 0.2 + 0.03 * i)).fallingLevel()).toBeUndefined();
    expect(fed([0.9]).fallingLevel()).toBeUndefined();
    expect(new ShareTrend(0.9).fallingLevel()).toBeUndefined();
    // A share over 1 (more calling requests than the window counted) is taken as all of them.
    expect(fed([1.5, ...Array(20).fill(1)]).fallingLevel()).toBeUndefined();
  });

  it('takes binomial noise on a steady share for no fall (3000 windows: hardly ever a fall, and a slight one)', () => {
    const rng = mulberry32(17);
    const t = new ShareTrend(0.9);
    let falls = 0;
    let lowest = 1;
    for (let i = 0; i < 3000; i++) {
      t.add(20, binomial(rng, 20, 0.7) / 20);
      const level = t.fallingLevel();
      if (level !== undefined) {
        falls++;
        lowest = Math.min(lowest, level);
      }
    }
    expect(falls).toBeLessThan(10);
    // Even then the level stays near the share: a missing call (half of it) is still told.
    expect(lowest).toBeGreaterThan(0.5);
  });

  it('round-trips through JSON and refuses anything else', () => {
    const t = fed(Array.from({ length: 12 }, (_, i) => 0.9 - 0.05 * i));
    const copy = new ShareTrend(0.9);
    copy.restore(JSON.parse(JSON.stringify(t.toJSON())));
    expect(copy.fallingLevel()).toBe(t.fallingLevel());
    expect(() => copy.restore([1, 2, 3])).toThrow(/five finite numbers/);
    expect(() => copy.restore([1, 2, 3, 4, NaN])).toThrow(/five finite numbers/);
  });
});
