/**
 * Property tests of `ingest` (issue 19): random and hostile spans — missing or malformed ids, wrong types,
 * NaN, negative and huge times, 1 MB names, parent cycles, duplicate ids, deep chains — never throw or
 * hang, every span is accepted or dropped under exactly one reason, and valid spans in the batch are kept.
 *
 * A failure prints fast-check's seed and path; run again with them to reproduce it:
 *   FC_SEED=<seed> FC_PATH=<path> npx vitest run packages/engine/test/fuzz.test.ts
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { MAX_NAME_LENGTH } from '../src/limits.js';
import { SHOP_START } from './helpers/shop.js';

function params(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED;
  return seed === undefined ? { numRuns } : { seed: Number(seed), path: process.env.FC_PATH, endOnFailure: true };
}

const MB = 'x'.repeat(1 << 20);
const T0 = SHOP_START;
/** A few ids, so parents, cycles and duplicates happen often. */
const id = fc.constantFrom('a1', 'b2', 'c3', 'd4', 'e5', 'f6');
const time = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 600_000 }).map((d) => T0 + d), weight: 20 },
  { arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 1e20, 1e26, Number.MAX_VALUE, T0 + 30 * 86_400_000), weight: 1 },
);
const name = fc.oneof({ arbitrary: fc.constantFrom('GET /a', 'POST /b', 'SELECT t', 'x'), weight: 10 }, { arbitrary: fc.constant(MB), weight: 1 }, { arbitrary: fc.string({ maxLength: 20 }), weight: 2 });
const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.string({ maxLength: 5 }), fc.constant(MB), fc.boolean());

const spanArb = fc.record(
  {
    traceId: fc.oneof({ arbitrary: fc.constantFrom('t1', 't2'), weight: 10 }, { arbitrary: junk, weight: 1 }),
    spanId: fc.oneof({ arbitrary: id, weight: 10 }, { arbitrary: junk, weight: 1 }),
    parentSpanId: fc.oneof(id, fc.constant(undefined), junk),
    service: fc.oneof({ arbitrary: fc.constantFrom('front', 'pay', 'db'), weight: 10 }, { arbitrary: name, weight: 1 }, { arbitrary: junk, weight: 1 }),
    name: fc.oneof({ arbitrary: name, weight: 10 }, { arbitrary: junk, weight: 1 }),
    kind: fc.constantFrom('server', 'client', 'internal', 'producer', 'consumer', undefined),
    startTime: time,
    duration: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constantFrom(-5, Number.NaN, 1e20)),
    status: fc.constantFrom('unset', 'ok', 'error', undefined),
    attributes: fc.oneof(
      fc.constant(undefined),
      fc.record({ 'http.route': name, 'http.request.method': fc.constantFrom('GET', 'POST'), 'db.system': fc.constantFrom('postgresql', undefined) }, { requiredKeys: [] }),
    ),
  },
  { requiredKeys: [] },
).map(({ duration, ...s }) => ({ ...s, endTime: typeof s.startTime === 'number' ? s.startTime + (duration ?? 0) : undefined }));

describe('ingest under random and hostile spans', () => {
  it('never throws; every span is accepted or dropped once; names stay bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.array(spanArb, { maxLength: 40 }), { minLength: 1, maxLength: 6 }), (batches) => {
        const analyzer = createAnalyzer({ maxOperations: 20 });
        let total = 0;
        for (const batch of batches) {
          const r = analyzer.ingest(batch as unknown as Span[]);
          expect(r.accepted + r.dropped).toBe(batch.length);
          total += batch.length;
        }
        analyzer.advanceTo(T0 + 3_600_000);
        analyzer.flush();
        const s = analyzer.stats();
        expect(s.ingested).toBe(total);
        expect(s.ingested).toBe(s.accepted + s.dropped);
        expect(Object.values(s.droppedBy).reduce((a, b) => a + b, 0)).toBe(s.dropped);
        for (const b of analyzer.baselines()) {
          expect(b.service.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
          expect(b.operation.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
        }
        expect(() => JSON.stringify(analyzer.snapshot())).not.toThrow();
      }),
      params(300),
    );
  });

  it('drops an object whose attribute getter throws as invalid, and throws nothing', () => {
    const analyzer = createAnalyzer();
    const attributes = Object.defineProperty({ 'http.route': '/a' }, 'http.request.method', { enumerable: true, get: () => { throw new Error('boom'); } });
    const bad = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), service: 's', name: 'n', kind: 'server', startTime: T0, endTime: T0 + 5, attributes };
    const good = { ...bad, spanId: 'c'.repeat(16), attributes: { 'http.route': '/a' } };
    expect(analyzer.ingest([bad, good] as unknown as Span[])).toEqual({ accepted: 1, dropped: 1 });
    expect(analyzer.stats().droppedBy.invalid).toBe(1);
  });
});
