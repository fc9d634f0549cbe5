/**
 * The report's distinct trace count: a trace id's key is the value of its last 13 hex digits, as
 * `parseInt` reads them, or a hash of the whole id when they are not all hex; each key counts once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TraceCount, traceKey } from '../src/trace-count.js';

describe('trace count', () => {
  it('keys hex ids by parseInt of their last 13 digits, any case, any length', () => {
    const hex = fc.array(fc.constantFrom(...'0123456789abcdefABCDEF'), { minLength: 1, maxLength: 32 }).map((c) => c.join(''));
    fc.assert(
      fc.property(hex, (id) => {
        expect(traceKey(id)).toBe(parseInt(id.slice(-13), 16));
      }),
    );
  });

  it('hashes other ids above 2^52, so they never meet a hex key', () => {
    for (const id of ['', 'not-a-trace-id', 'zz', '0x1234567890abc', 'g0000000000000']) {
      const parsed = parseInt(id.slice(-13), 16);
      if (Number.isNaN(parsed)) expect(traceKey(id)).toBeGreaterThanOrEqual(2 ** 52);
      else expect(traceKey(id)).toBe(parsed);
    }
  });

  it('counts each key once, as a Set of the keys does, across its growth', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 60n) - 1n }), { maxLength: 3000 }), (ids) => {
        const count = new TraceCount();
        const hexIds = ids.flatMap((n) => [n.toString(16).padStart(32, '0'), n.toString(16)]);
        for (const id of hexIds) count.add(id);
        expect(count.size).toBe(new Set(hexIds.map(traceKey)).size);
        count.clear();
        expect(count.size).toBe(0);
        count.add('abc');
        expect(count.size).toBe(1);
      }),
      { numRuns: 30 },
    );
  });
});
