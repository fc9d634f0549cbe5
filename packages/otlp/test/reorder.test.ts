import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { EndTimeWindow, sortByEnd } from '../src/reorder.js';

const T0 = Date.UTC(2026, 0, 1);

/** Spans ending at the given times (ms after T0), 10 ms long (`ms`), each of its own trace. */
function ending(times: number[], ms = 10): Span[] {
  return times.map((t, i) => ({ traceId: `${i + 1}`.padStart(32, 'a'), spanId: `${i + 1}`.padStart(16, 'b'), service: 'svc', name: 'GET /x', startTime: T0 + t - ms, endTime: T0 + t }));
}

/** Pushes `spans` in batches of `batch` through a window of `capacity`; what came out, and the most held. */
function run(spans: Span[], capacity: number, batch: number) {
  const out: Span[][] = [];
  const window = new EndTimeWindow(capacity, (s) => out.push(s));
  let most = 0;
  for (let i = 0; i < spans.length; i += batch) {
    window.push(spans.slice(i, i + batch));
    most = Math.max(most, spans.slice(0, i + batch).length - out.flat().length);
  }
  window.flush();
  return { out: out.flat(), deliveries: out.length, most };
}

describe('EndTimeWindow', () => {
  it('sorts a document of two services, each listed whole, by end time', () => {
    // service a's spans at 0..9 s, then service b's at 0..9 s: as OTLP groups them
    const a = ending(Array.from({ length: 10 }, (_, i) => i * 1000));
    const b = ending(Array.from({ length: 10 }, (_, i) => i * 1000 + 500));
    const { out } = run([...a, ...b], 100, 3);
    expect(out.map((s) => s.endTime)).toEqual([...a, ...b].map((s) => s.endTime).sort((x, y) => x - y));
  });

  it('holds at most its capacity (plus one batch), delivering every span once, in order within the window', () => {
    const times = Array.from({ length: 1000 }, (_, i) => i * 10 + ((i * 7919) % 13) * 10); // disorder of up to 13 places
    const spans = ending(times);
    const { out, deliveries, most } = run(spans, 50, 7);
    expect(most).toBeLessThanOrEqual(50 + 7);
    expect(deliveries).toBeGreaterThan(10);
    expect(new Set(out)).toEqual(new Set(spans));
    expect(out).toHaveLength(spans.length);
    expect(out.map((s) => s.endTime)).toEqual([...times].sort((x, y) => x - y).map((t) => T0 + t));
  });

  it('with a hold, streams spans on once the input is that far past them, merging exporters\' batches in end-time order', () => {
    const out: Span[][] = [];
    const window = new EndTimeWindow(1000, (s) => out.push(s), 6000);
    // Each line is one service's 5 s export: checkout's half of a trace (0-5 s), then frontend's, then the next period.
    const checkout = ending([100, 2000, 4900]);
    const frontend = ending([150, 2100, 4950]);
    const next = ending([5500, 9000, 12_000]);
    window.push(checkout);
    window.push(frontend);
    expect(out).toEqual([]); // nothing is 6 s old yet: both halves are still held together
    window.push(next);
    expect(out.flat().map((s) => s.endTime - T0)).toEqual([100, 150, 2000, 2100, 4900, 4950, 5500]);
    window.flush();
    expect(out.flat()).toHaveLength(9);
  });

  it('with a hold, hands a long span on in end-time order when the input lists spans as they started', () => {
    const out: Span[] = [];
    const window = new EndTimeWindow(10_000, (s) => out.push(...s), 6000);
    // 100 s of 20 ms requests, 10 a second, and a 50 s job starting every 2 s, each listed at its start.
    const spans: Span[] = [];
    for (let t = 0; t < 100_000; t += 100) {
      spans.push(...ending([t + 20], 20));
      if (t % 2000 === 0) spans.push(...ending([t + 50_000], 50_000));
    }
    for (const s of spans) window.push([s]);
    window.flush();
    expect(out).toHaveLength(spans.length);
    // What the analyzer is handed runs forward in time: never more than the hold back from what came before.
    let latest = -Infinity;
    let back = 0;
    for (const s of out) {
      back = Math.max(back, latest - s.endTime);
      latest = Math.max(latest, s.endTime);
    }
    expect(back).toBeLessThanOrEqual(6000);
  });

  it('hands on the same spans in the same deliveries however the input is split into pushes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), fc.constantFrom(undefined, 6000), (times, cuts, holdMs) => {
        const spans = ending(times);
        const deliveries = (sizes: number[]) => {
          const out: Span[][] = [];
          const window = new EndTimeWindow(64, (s) => out.push(s), holdMs);
          for (let i = 0, k = 0; i < spans.length; i += sizes[k++ % sizes.length]) window.push(spans.slice(i, i + sizes[k % sizes.length]));
          window.flush();
          return out;
        };
        expect(deliveries(cuts)).toEqual(deliveries([spans.length]));
      }),
    );
  });

  it('delivers as re-sorting everything held, stably, at each release would (ties in input order)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30_000 }), { minLength: 1, maxLength: 400 }), fc.constantFrom(undefined, 6000), fc.constantFrom(16, 64), (times, holdMs, capacity) => {
        // Few distinct end times (multiples of 500 ms): many ties, which must keep their input order.
        const spans = ending(times.map((t) => t - (t % 500)));
        const out: Span[][] = [];
        const window = new EndTimeWindow(capacity, (s) => out.push(s), holdMs);
        for (const s of spans) window.push([s]);
        window.flush();
        // The reference: every release sorts all it holds.
        const expected: Span[][] = [];
        let held: Span[] = [];
        let latest = -Infinity;
        let releasedAt = -Infinity;
        const release = (n: number) => {
          held.sort((a, b) => a.endTime - b.endTime);
          expected.push(held.slice(0, n));
          held = held.slice(n);
        };
        for (const s of spans) {
          held.push(s);
          latest = Math.max(latest, s.endTime);
          if (held.length >= capacity) release(held.length - Math.floor(capacity / 2));
          else if (holdMs !== undefined && latest - releasedAt >= holdMs / 4) {
            releasedAt = latest;
            held.sort((a, b) => a.endTime - b.endTime);
            const n = held.filter((h) => h.endTime < latest - holdMs).length;
            if (n > 0) release(n);
          }
        }
        if (held.length > 0) release(held.length);
        expect(out).toEqual(expected);
        expect(out.flat().map((s) => s.spanId)).toEqual(expected.flat().map((s) => s.spanId));
      }),
    );
  });

  it('sortByEnd sorts spans and their end times as a stable sort by end time does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), (times) => {
        const spans = ending(times);
        const sorted = [...spans];
        const ends = sorted.map((s) => s.endTime);
        sortByEnd(sorted, ends);
        const expected = [...spans].sort((a, b) => a.endTime - b.endTime);
        expect(sorted.map((s) => s.spanId)).toEqual(expected.map((s) => s.spanId));
        expect(ends).toEqual(expected.map((s) => s.endTime));
      }),
    );
  });
});
