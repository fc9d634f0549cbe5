import { describe, expect, it } from 'vitest';
import { Rng } from '@rootspan/sim';

describe('Rng', () => {
  it('is deterministic per (seed, stream) and differs across seeds and streams', () => {
    const draw = (seed: number, stream: number) => {
      const r = new Rng(seed, stream);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(draw(1, 5)).toEqual(draw(1, 5));
    expect(draw(1, 5)).not.toEqual(draw(2, 5));
    expect(draw(1, 5)).not.toEqual(draw(1, 6));
  });

  it('reseeding restarts the stream, including the cached normal deviate', () => {
    const r = new Rng(7, 1);
    const first = [r.normal(), r.next()];
    r.normal(); // leaves a spare cached
    r.reseed(7, 1);
    expect([r.normal(), r.next()]).toEqual(first);
  });

  it('draws uniform and standard normal values', () => {
    const r = new Rng(3, 0);
    const n = 200_000;
    let sum = 0;
    let nsum = 0;
    let nsq = 0;
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      if (!(u >= 0 && u < 1)) outOfRange++;
      sum += u;
      const z = r.normal();
      nsum += z;
      nsq += z * z;
    }
    expect(outOfRange).toBe(0);
    expect(sum / n).toBeCloseTo(0.5, 2);
    expect(nsum / n).toBeCloseTo(0, 1);
    expect(nsq / n).toBeCloseTo(1, 1);
  });

  it('makes lowercase hex W3C ids', () => {
    const r = new Rng(9, 2);
    expect(r.traceId()).toMatch(/^[0-9a-f]{32}$/);
    expect(r.spanId()).toMatch(/^[0-9a-f]{16}$/);
  });
});
