/**
 * Hostile input (issue 19): each case once failed (a throw, a hang, an abort or unbounded memory) and
 * must now be dropped or handled, counted, and leave the analyzer working.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { SHOP_START } from './helpers/shop.js';
import { hexId, span } from './helpers/spans.js';

const T0 = SHOP_START;

/** A healthy request after the hostile input: the analyzer still takes it and builds its operation. */
function stillWorks(analyzer: ReturnType<typeof createAnalyzer>, at: number): void {
  const before = analyzer.stats().accepted;
  analyzer.ingest(span({ service: 'after', name: 'GET /ok', kind: 'server', startTime: at, endTime: at + 5 }));
  analyzer.flush();
  expect(analyzer.stats().accepted).toBe(before + 1);
  expect(analyzer.baselines().some((b) => b.service === 'after')).toBe(true);
}

describe('parent cycles (defect 3)', () => {
  const pair = (kindA: Span['kind'], kindB: Span['kind'], serviceB = 'a'): Span[] => {
    const traceId = hexId(32);
    const [a, b] = [hexId(16), hexId(16)];
    return [
      span({ traceId, spanId: a, parentSpanId: b, service: 'a', name: 'A', kind: kindA, startTime: T0, endTime: T0 + 10, status: 'error' }),
      span({ traceId, spanId: b, parentSpanId: a, service: serviceB, name: 'B', kind: kindB, startTime: T0 + 1, endTime: T0 + 9, status: 'error' }),
    ];
  };

  it.each([
    ['server ↔ internal', pair('server', 'internal')],
    ['client ↔ internal', pair('client', 'internal')],
    ['client ↔ server across services', pair('client', 'server', 'b')],
    ['no kinds at all', pair(undefined, undefined, 'b')],
  ])('%s: no throw, no hang, the spans are processed', (_, spans) => {
    const analyzer = createAnalyzer();
    expect(() => analyzer.ingest(spans)).not.toThrow();
    expect(() => analyzer.flush()).not.toThrow();
    expect(analyzer.stats().traces.processed).toBe(1);
    stillWorks(analyzer, T0 + 20);
  });

  it('a longer cycle inside a trace with a proper root', () => {
    const traceId = hexId(32);
    const ids = Array.from({ length: 5 }, () => hexId(16));
    const spans = [span({ traceId, spanId: hexId(16), service: 'a', name: 'root', kind: 'server', startTime: T0, endTime: T0 + 50 })];
    // ids[0] → ids[1] → … → ids[4] → ids[0]
    for (let i = 0; i < ids.length; i++) {
      spans.push(span({ traceId, spanId: ids[i], parentSpanId: ids[(i + 1) % ids.length], service: 'a', name: `s${i}`, kind: i % 2 ? 'client' : 'internal', startTime: T0 + 1, endTime: T0 + 40, status: 'error' }));
    }
    const analyzer = createAnalyzer();
    analyzer.ingest(spans);
    analyzer.flush();
    expect(analyzer.stats().traces.processed).toBe(1);
    stillWorks(analyzer, T0 + 60);
  });
});

describe('deep chains (defect 4)', () => {
  const DEPTH = 7000;
  const chain = (kindOf: (i: number) => Span['kind'], serviceOf: (i: number) => string): Span[] => {
    const traceId = hexId(32);
    const spans: Span[] = [];
    let parent: string | undefined;
    for (let i = 0; i < DEPTH; i++) {
      const id = hexId(16);
      const last = i === DEPTH - 1;
      spans.push(span({ traceId, spanId: id, parentSpanId: parent, service: serviceOf(i), name: `op${i % 4}`, kind: kindOf(i), startTime: T0 + i * 0.001, endTime: T0 + 100 - i * 0.001, status: last ? 'error' : 'unset' }));
      parent = id;
    }
    return spans;
  };

  it.each([
    ['internal spans in one service under a server', chain((i) => (i === 0 ? 'server' : 'internal'), () => 'a')],
    ['client → server hops across two services', chain((i) => (i % 2 === 0 ? 'server' : 'client'), (i) => (Math.floor((i + 1) / 2) % 2 === 0 ? 'a' : 'b'))],
    ['spans with no kind, alternating services', chain(() => undefined, (i) => (i % 2 === 0 ? 'a' : 'b'))],
  ])('%s, 7000 deep, each failing into the next: processed without recursion', (_, spans) => {
    const analyzer = createAnalyzer({ maxSpansPerTrace: 10_000 });
    expect(() => analyzer.ingest(spans)).not.toThrow();
    expect(() => analyzer.flush()).not.toThrow();
    expect(analyzer.stats()).toMatchObject({ accepted: DEPTH, traces: { processed: 1 } });
    stillWorks(analyzer, T0 + 200);
  });
});
