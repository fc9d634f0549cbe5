import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReleasedSpans } from '../src/trace/released.js';

const spans = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ spanId: String(from + i) }));
const ids = (from: number, n: number) => spans(from, n).map((s) => s.spanId);

describe('ReleasedSpans', () => {
  it('answers per trace: a span id released in one trace is not released in another', () => {
    const r = new ReleasedSpans(64, 4, (id) => Number(id));
    r.add(7, spans(1, 3));
    expect(ids(1, 3).map((id) => r.has(7, id))).toEqual([true, true, true]);
    expect(r.has(7, '4')).toBe(false);
    expect(r.has(8, '1')).toBe(false);
    // Trace hashes that share a slot (8 slots: 7 and 15) probe on.
    r.add(15, spans(100, 2));
    expect(r.has(15, '101')).toBe(true);
    expect(r.has(7, '101')).toBe(false);
    expect(r.has(7, '2')).toBe(true);
  });

  it('tells server spans from others when asked: a B3 shared server side is no duplicate of its client side', () => {
    const r = new ReleasedSpans(64, 4, (id) => Number(id));
    r.add(7, [{ spanId: '1', kind: 'server' }, { spanId: '2', kind: 'client' }]);
    expect([r.has(7, '1'), r.has(7, '1', true), r.has(7, '1', false)]).toEqual([true, true, false]);
    expect([r.has(7, '2'), r.has(7, '2', true), r.has(7, '2', false)]).toEqual([true, false, true]);
  });

  it('keeps both parts of a trace released twice (its stragglers after its request)', () => {
    const r = new ReleasedSpans(64, 4, (id) => Number(id));
    r.add(7, spans(1, 3));
    r.add(9, spans(50, 2));
    r.add(7, spans(4, 2));
    expect(ids(1, 5).every((id) => r.has(7, id))).toBe(true);
  });

  it('forgets span ids the ring has written over, oldest first, even within one trace', () => {
    const r = new ReleasedSpans(8, 16, (id) => Number(id));
    r.add(1, spans(1, 6));
    r.add(2, spans(20, 4)); // 10 written into 8 slots: the first trace's first two are gone
    expect(ids(1, 6).map((id) => r.has(1, id))).toEqual([false, false, true, true, true, true]);
    expect(ids(20, 4).every((id) => r.has(2, id))).toBe(true);
    r.add(3, spans(40, 8)); // the whole ring
    expect(ids(1, 6).some((id) => r.has(1, id)) || ids(20, 4).some((id) => r.has(2, id))).toBe(false);
    expect(ids(40, 8).every((id) => r.has(3, id))).toBe(true);
  });

  it('remembers the last capacity to twice capacity traces, and forgets older generations whole', () => {
    const r = new ReleasedSpans(1024, 4, (id) => Number(id));
    for (let t = 1; t <= 4; t++) r.add(t, spans(t * 10, 2));
    for (let t = 5; t <= 8; t++) r.add(t, spans(t * 10, 2)); // 1–4 now the older generation
    expect([1, 2, 3, 4, 5, 6, 7, 8].every((t) => r.has(t, String(t * 10 + 1)))).toBe(true);
    r.add(9, spans(90, 2)); // a third generation: 1–4 forgotten
    expect([1, 2, 3, 4].some((t) => r.has(t, String(t * 10)))).toBe(false);
    expect([5, 6, 7, 8, 9].every((t) => r.has(t, String(t * 10)))).toBe(true);
  });

  it('finds every span of the recent releases and nothing else, whatever the releases (property)', () => {
    // Trace hashes from a small set (so traces repeat and share slots), span ids unique (the hash is the id).
    const release = fc.record({ trace: fc.integer({ min: 1, max: 40 }), spans: fc.integer({ min: 1, max: 12 }) });
    fc.assert(
      fc.property(fc.array(release, { minLength: 1, maxLength: 200 }), (releases) => {
        const ringSize = 64;
        const traceCapacity = 8;
        const r = new ReleasedSpans(ringSize, traceCapacity, (id) => Number(id));
        let next = 1;
        const done: Array<{ trace: number; ids: number[] }> = [];
        for (const { trace, spans } of releases) {
          const ids = Array.from({ length: spans }, () => next++);
          r.add(trace, ids.map((id) => ({ spanId: String(id) })));
          done.push({ trace, ids });
        }
        // Remembered for sure: the last `traceCapacity` releases' ids among the last `ringSize` written.
        const recent = done.slice(-traceCapacity);
        for (const { trace, ids } of recent) {
          for (const id of ids) if (id > next - 1 - ringSize) expect(r.has(trace, String(id))).toBe(true);
        }
        // Never: an id released in another trace only, or never released.
        for (const { trace, ids } of done) expect(r.has(trace === 40 ? 1 : trace + 1, String(ids[0]))).toBe(false);
        expect(r.has(1, String(next))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
