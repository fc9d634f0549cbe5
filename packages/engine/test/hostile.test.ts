/**
 * Hostile input (issue 19): each case once failed (a throw, a hang, an abort or unbounded memory) and
 * must now be dropped or handled, counted, and leave the analyzer working.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { CLOCK_JUMP_MS, FUTURE_RUN, MAX_CALLEES_PER_OPERATION, MAX_CALLERS_PER_OPERATION, MAX_FUTURE_SKEW_MS, MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_TIME_MS } from '../src/limits.js';
import { SHOP_START, batches, shopTraffic } from './helpers/shop.js';
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

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** Ten minutes of healthy shop traffic, in batches: baselines learned, traffic judged. */
function warmedUp(options: Parameters<typeof createAnalyzer>[0] = {}) {
  const analyzer = createAnalyzer(options);
  const opened: string[] = [];
  analyzer.onIncident((e) => e.type === 'opened' && opened.push(e.incident.title));
  for (const b of batches(shopTraffic({ seed: 3, durationMs: 10 * MIN }), 200)) analyzer.ingest(b);
  return { analyzer, opened, end: T0 + 10 * MIN };
}

describe('huge finite times (defect 1)', () => {
  it('spans near 1e20 ms are dropped as badTime and move nothing', () => {
    const { analyzer, end } = warmedUp();
    const now = analyzer.now();
    const r = analyzer.ingest([
      span({ service: 'x', name: 'GET /', kind: 'server', startTime: 1e20, endTime: 1e20 + 1 }),
      span({ service: 'x', name: 'GET /', kind: 'server', startTime: end, endTime: 1e20 }),
      span({ service: 'x', name: 'GET /', kind: 'server', startTime: MAX_TIME_MS, endTime: MAX_TIME_MS + 1 }),
    ]);
    expect(r).toEqual({ accepted: 0, dropped: 3 });
    expect(analyzer.stats().droppedBy.badTime).toBe(3);
    expect(analyzer.now()).toBe(now);
    expect(analyzer.metrics().length).toBeGreaterThan(0);
    stillWorks(analyzer, end + 1000);
  });
});

describe('a span from the future, a clock jump (defect 2)', () => {
  it('one span 30 days ahead is dropped as future without moving event time; later spans are kept', () => {
    const { analyzer, opened, end } = warmedUp();
    const now = analyzer.now() as number;
    const r = analyzer.ingest(span({ service: 'frontend', name: 'GET /', kind: 'server', startTime: end + 30 * DAY, endTime: end + 30 * DAY + 5 }));
    expect(r).toEqual({ accepted: 0, dropped: 1 });
    expect(analyzer.now()).toBe(now);
    const later = shopTraffic({ seed: 4, start: end, durationMs: 2 * MIN });
    for (const b of batches(later, 200)) analyzer.ingest(b);
    analyzer.flush();
    expect(analyzer.stats().droppedBy).toMatchObject({ future: 1, late: 0 });
    expect(analyzer.stats().accepted).toBe(analyzer.stats().ingested - 1);
    expect(opened).toEqual([]);
  });

  it('within the skew window a span that started ahead is held until what follows tells; at the end of input it is taken and moves event time', () => {
    const { analyzer, end } = warmedUp();
    const now = analyzer.now() as number;
    const at = now + MAX_FUTURE_SKEW_MS - 1;
    expect(analyzer.ingest(span({ service: 'x', name: 'GET /', kind: 'server', startTime: at - 5, endTime: at })).accepted).toBe(0);
    expect(analyzer.now()).toBe(now);
    expect(analyzer.stats().droppedBy.future).toBe(1);
    analyzer.flush();
    expect(analyzer.now()).toBe(at);
    expect(analyzer.stats().droppedBy.future).toBe(0);
    expect(analyzer.stats().accepted).toBe(analyzer.stats().ingested);
    expect(end).toBeLessThan(at);
  });

  it('spans of two services that started ahead: the stream moved on, and event time follows them', () => {
    const { analyzer } = warmedUp();
    const at = (analyzer.now() as number) + 60_000;
    analyzer.ingest([
      span({ service: 'x', name: 'GET /', kind: 'server', startTime: at, endTime: at + 5 }),
      span({ service: 'y', name: 'GET /', kind: 'server', startTime: at + 1, endTime: at + 6 }),
    ]);
    expect(analyzer.now()).toBe(at + 6);
    expect(analyzer.stats()).toMatchObject({ accepted: analyzer.stats().ingested, clockAhead: 0 });
  });
  it('with the clock driven (advanceTo), every span beyond the window is dropped however many', () => {
    const { analyzer, end } = warmedUp();
    analyzer.advanceTo(end);
    const ahead = shopTraffic({ seed: 5, start: end + DAY, durationMs: MIN });
    analyzer.ingest(ahead);
    expect(analyzer.stats().droppedBy.future).toBe(ahead.length);
    expect(analyzer.now()).toBe(end);
  });

  it('with the clock driven, a span from a host minutes fast is placed at the driven time: it moves event time for no one', () => {
    const { analyzer, end, opened } = warmedUp();
    analyzer.advanceTo(end);
    // Live: traffic arrives second by second, event time driven to the second's end after it.
    const later = shopTraffic({ seed: 6, start: end, durationMs: 2 * MIN });
    let at = 0;
    for (let t = end + 1000; t <= end + 2 * MIN; t += 1000) {
      const batch: Span[] = [];
      while (at < later.length && later[at].endTime <= t) batch.push(later[at++]);
      // One span from a host whose clock is 4 minutes fast (inside the 5-minute skew allowance).
      if (t === end + 10_000) batch.push(span({ service: 'skewed', name: 'GET /', kind: 'server', startTime: t + 4 * MIN - 30, endTime: t + 4 * MIN }));
      analyzer.ingest(batch);
      analyzer.advanceTo(t);
    }
    const s = analyzer.stats();
    expect(s.droppedBy.late).toBe(0);
    expect(s.accepted).toBe(s.ingested);
    expect(s.clockAhead).toBe(1);
    expect(analyzer.now()).toBe(end + 2 * MIN);
    expect(opened).toEqual([]);
  });

  it('advanceTo after a one-day jump opens no incident, and detection works again after it', () => {
    const { analyzer, opened, end } = warmedUp();
    analyzer.advanceTo(end + DAY);
    expect(analyzer.now()).toBe(end + DAY);
    expect(opened).toEqual([]);
    expect(analyzer.anomalies()).toEqual([]);
    // After the gap: healthy traffic, then payment fails; found as before.
    const after = shopTraffic({ seed: 6, start: end + DAY, durationMs: 6 * MIN, faults: [{ service: 'payment', from: 3 * MIN, to: 6 * MIN, errorRate: 1 }] });
    for (const b of batches(after, 200)) analyzer.ingest(b);
    analyzer.flush();
    expect(opened).toHaveLength(1);
    expect(analyzer.incidents()[0].rootCause.service).toBe('payment');
  });

  it('a jump of a century completes: its cost does not grow with the gap', () => {
    const { analyzer, opened, end } = warmedUp();
    analyzer.advanceTo(end + 36_500 * DAY);
    expect(analyzer.stats().watermark).toBeGreaterThan(end + 36_499 * DAY);
    expect(opened).toEqual([]);
  });

  it('a replay with an hour-long gap follows the stream after FUTURE_RUN spans, taking them all, opening nothing', () => {
    const { analyzer, opened, end } = warmedUp();
    const before = analyzer.stats().accepted;
    const after = shopTraffic({ seed: 7, start: end + 60 * MIN, durationMs: 5 * MIN });
    for (const b of batches(after, 200)) analyzer.ingest(b);
    analyzer.flush();
    const s = analyzer.stats();
    // The run's first spans were counted future until it moved event time: then taken.
    expect(s.droppedBy.future).toBe(0);
    expect(s.accepted - before).toBe(after.length);
    expect(s.ingested).toBe(s.accepted + s.dropped);
    expect(analyzer.now()).toBeGreaterThan(end + 60 * MIN);
    expect(opened).toEqual([]);
    expect(CLOCK_JUMP_MS).toBeLessThan(60 * MIN);
  });
});

describe('a replay with one host whose clock is fast (inside the skew window)', () => {
  /** Ten minutes of the shop, and from `skewed`, a host 60 s fast, a span every `everyMs` among them (file order: as they arrived). */
  function replay(everyMs: number) {
    const analyzer = createAnalyzer();
    // Payment slows tenfold from minute 6.
    const traffic = shopTraffic({ seed: 7, durationMs: 10 * MIN, faults: [{ service: 'payment', from: 6 * MIN, to: 10 * MIN, slow: 10 }] });
    const spans: Span[] = [];
    // (Its first span after the shop's first: the first span of a replay sets event time.)
    let next = T0 + 5000;
    for (const s of traffic) {
      while (s.endTime >= next) {
        spans.push(span({ service: 'skewed', name: 'GET /tick', kind: 'server', startTime: next + 60_000, endTime: next + 60_005 }));
        next += everyMs;
      }
      spans.push(s);
    }
    for (const b of batches(spans, 200)) analyzer.ingest(b);
    analyzer.flush();
    return { analyzer, traffic, ticks: spans.length - traffic.length };
  }

  it("drops none of the other hosts' spans as late: the fast host's spans move back to event time", () => {
    const { analyzer, ticks } = replay(10_000);
    const stats = analyzer.stats();
    expect(stats.droppedBy).toMatchObject({ late: 0, future: 0 });
    expect(stats.accepted).toBe(stats.ingested);
    expect(stats.clockAhead).toBeGreaterThanOrEqual(ticks - 1);
    // Event time is the shop's, not the fast host's.
    expect(analyzer.now()).toBeLessThan(T0 + 10 * MIN + 30_000);
    expect(analyzer.baselines().some((b) => b.service === 'skewed')).toBe(true);
    expect(analyzer.incidents().map((i) => i.rootCause.service)).toEqual(['payment']);
  });

  it('a span from it every second: the same, and the end of input does not follow its clock', () => {
    const { analyzer } = replay(1000);
    expect(analyzer.stats().droppedBy).toMatchObject({ late: 0, future: 0 });
    expect(analyzer.now()).toBeLessThan(T0 + 10 * MIN + 30_000);
    expect(analyzer.incidents().map((i) => i.rootCause.service)).toEqual(['payment']);
  });
});

describe('a replay whose first span is far older than the rest (a placeholder time)', () => {
  it('follows the stream after FUTURE_RUN spans and loses none of them; only a run that ends early stays dropped', () => {
    const analyzer = createAnalyzer();
    analyzer.ingest(span({ service: 'epoch', name: 'GET /', kind: 'server', startTime: 1000, endTime: 1005 }));
    const stream = shopTraffic({ seed: 12, start: T0, durationMs: 2 * MIN });
    for (const b of batches(stream, 200)) analyzer.ingest(b);
    analyzer.flush();
    const s = analyzer.stats();
    expect(s.droppedBy.future).toBe(0);
    expect(s.accepted).toBe(stream.length + 1);
    // A run broken before FUTURE_RUN spans: those far ahead are dropped, and stay so.
    const wrong = createAnalyzer();
    wrong.ingest(stream.slice(0, 100));
    const at = stream[99].endTime;
    for (let i = 0; i < 5; i++) wrong.ingest(span({ service: 'skewed', name: 'GET /', kind: 'server', startTime: at + DAY, endTime: at + DAY + 5 }));
    wrong.ingest(stream.slice(100, 200));
    expect(wrong.stats().droppedBy.future).toBe(5);
    expect(wrong.stats().accepted).toBe(200);
  });
});

describe('a span from the future before any other, with a wall clock (a receiver)', () => {
  it('is dropped as future and neither starts event time nor makes the spans after it late', () => {
    const wall = T0 + 10 * MIN;
    const analyzer = createAnalyzer({ wallClock: () => wall });
    // A host whose clock runs ten minutes fast sends first.
    const r = analyzer.ingest(span({ service: 'skewed', name: 'GET /', kind: 'server', startTime: wall + 10 * MIN - 5, endTime: wall + 10 * MIN }));
    expect(r).toEqual({ accepted: 0, dropped: 1 });
    expect(analyzer.now()).toBeNull();
    const onTime = shopTraffic({ seed: 7, start: wall - 2 * MIN, durationMs: 2 * MIN });
    for (const b of batches(onTime, 200)) analyzer.ingest(b);
    const s = analyzer.stats();
    expect(s.droppedBy).toMatchObject({ future: 1, late: 0 });
    expect(s.accepted).toBe(onTime.length);
  });

  it('acceptedEnds gives the bounds ingest applies: a span just outside either is dropped under its reason', () => {
    const wall = T0 + 10 * MIN;
    const analyzer = createAnalyzer({ wallClock: () => wall });
    expect(analyzer.acceptedEnds()).toEqual({ from: -Infinity, to: wall + MAX_FUTURE_SKEW_MS });
    for (const b of batches(shopTraffic({ seed: 7, start: wall - 2 * MIN, durationMs: 2 * MIN }), 200)) analyzer.ingest(b);
    const { from, to } = analyzer.acceptedEnds();
    expect(from).toBe((analyzer.now() as number) - analyzer.options.maxTraceWaitMs - analyzer.options.latenessMs);
    const at = (end: number) => span({ service: 'edge', name: 'GET /', kind: 'server', startTime: end - 1, endTime: end });
    analyzer.ingest([at(from - 1), at(to + 1)]);
    expect(analyzer.stats().droppedBy).toMatchObject({ late: 1, future: 1 });
  });

  it('also past the first: however many come, they never move event time (a replay of old data is still taken)', () => {
    const wall = T0 + 60 * MIN;
    const analyzer = createAnalyzer({ wallClock: () => wall });
    const old = shopTraffic({ seed: 8, start: T0, durationMs: 2 * MIN });
    for (const b of batches(old, 200)) analyzer.ingest(b);
    const ahead = shopTraffic({ seed: 9, start: wall + DAY, durationMs: MIN });
    analyzer.ingest(ahead);
    expect(analyzer.stats().droppedBy.future).toBe(ahead.length);
    expect(analyzer.now()).toBeLessThan(T0 + 3 * MIN);
    expect(analyzer.stats().accepted).toBe(old.length);
  });

  it('a restored event time past the wall clock is not resumed: learned baselines stay, on-time spans are taken', () => {
    const source = createAnalyzer();
    const learned = shopTraffic({ seed: 10, start: T0, durationMs: 10 * MIN });
    for (const b of batches(learned, 200)) source.ingest(b);
    // Saved by a version that let one span from the year 9999 set event time.
    source.ingest(span({ service: 'skewed', name: 'GET /', kind: 'server', startTime: MAX_TIME_MS - 10, endTime: MAX_TIME_MS - 5 }));
    for (let i = 0; i < FUTURE_RUN; i++) source.ingest(span({ service: 'skewed', name: 'GET /', kind: 'server', startTime: MAX_TIME_MS - 5, endTime: MAX_TIME_MS }));
    const saved = source.snapshot();
    expect(saved.clock).toBeGreaterThan(T0 + DAY);
    const wall = T0 + 20 * MIN;
    const analyzer = createAnalyzer({ wallClock: () => wall });
    analyzer.restore(saved);
    expect(analyzer.now()).toBeNull();
    const onTime = shopTraffic({ seed: 11, start: wall - 5 * MIN, durationMs: 5 * MIN });
    for (const b of batches(onTime, 200)) analyzer.ingest(b);
    const s = analyzer.stats();
    expect(s.droppedBy.late).toBe(0);
    expect(analyzer.baselines().find((b) => b.service === 'frontend')?.samples).toBeGreaterThan(100);
    // Without a wall clock the restored time is resumed, and every on-time span is late.
    const blind = createAnalyzer();
    blind.restore(saved);
    blind.ingest(onTime.slice(0, 50));
    expect(blind.stats().droppedBy.late - saved.counters.drops.late).toBe(50);
  });
});

describe('counters (defect 10)', () => {
  it('ingested = accepted + dropped, each drop counted once under its reason', () => {
    const analyzer = createAnalyzer({ maxOperations: 2, maxSpansPerTrace: 3 });
    const traceId = hexId(32);
    const dup = hexId(16);
    const spans: unknown[] = [
      span({ service: 'a', name: 'GET /one', kind: 'server', startTime: T0, endTime: T0 + 5 }),
      span({ service: 'a', name: 'GET /two', kind: 'server', startTime: T0, endTime: T0 + 5 }),
      // Past the operation cap: folded, accepted.
      ...Array.from({ length: 5 }, (_, i) => span({ service: 'a', name: `GET /x${'abcde'[i]}`, kind: 'server', startTime: T0, endTime: T0 + 5 })),
      { traceId: 'x' }, // invalid
      span({ service: 'a', name: 'n', startTime: T0, endTime: Number.NaN }), // badTime
      span({ service: 'a', name: 'n', startTime: T0 + 10 * DAY, endTime: T0 + 10 * DAY + 1 }), // future
      span({ traceId, spanId: dup, service: 'a', name: 'n', kind: 'server', startTime: T0, endTime: T0 + 5 }),
      span({ traceId, spanId: dup, service: 'a', name: 'n', kind: 'server', startTime: T0, endTime: T0 + 5 }), // duplicate
      span({ traceId, service: 'a', name: 'n', kind: 'internal', parentSpanId: dup, startTime: T0, endTime: T0 + 5 }),
      span({ traceId, service: 'a', name: 'n', kind: 'internal', parentSpanId: dup, startTime: T0, endTime: T0 + 5 }),
      span({ traceId, service: 'a', name: 'n', kind: 'internal', parentSpanId: dup, startTime: T0, endTime: T0 + 5 }), // traceTooLarge
    ];
    const r = analyzer.ingest(spans as Span[]);
    analyzer.advanceTo(T0 + 10 * MIN);
    analyzer.ingest(span({ service: 'a', name: 'GET /one', kind: 'server', startTime: T0, endTime: T0 + 6 })); // late
    analyzer.flush();
    const s = analyzer.stats();
    expect(r).toEqual({ accepted: 10, dropped: 5 });
    expect(s.droppedBy).toEqual({ invalid: 1, badTime: 1, late: 1, future: 1, traceTooLarge: 1, duplicate: 1 });
    expect([s.ingested, s.accepted, s.dropped]).toEqual([16, 10, 6]);
    expect(s.overflow.requests).toBe(6);
  });
});

describe('unbounded names and sets (defect 6)', () => {
  it('long names are cut to MAX_NAME_LENGTH and copied out: 100 names of 1 MB leave no megabytes behind', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const analyzer = createAnalyzer();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100; i++) {
      const long = `GET /${String(i).padStart(3, '0')}/${'a'.repeat(1 << 20)}`;
      analyzer.ingest(span({ service: `svc-${long}`, name: long, kind: 'server', startTime: T0 + i, endTime: T0 + i + 5, serviceVersion: long, attributes: { 'http.route': long, 'db.statement': long } }));
    }
    analyzer.flush();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(20 * 1024 * 1024);
    const names = analyzer.baselines().map((b) => b.operation);
    expect(names).toHaveLength(100);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    for (const b of analyzer.baselines()) expect(b.service.length).toBe(MAX_NAME_LENGTH);
  });

  it('a cut never splits a surrogate pair', () => {
    const analyzer = createAnalyzer();
    const name = `${'a'.repeat(MAX_NAME_LENGTH - 1)}😀tail`;
    analyzer.ingest(span({ service: 's', name, kind: 'server', startTime: T0, endTime: T0 + 5 }));
    analyzer.flush();
    expect(analyzer.baselines()[0].operation).toBe('a'.repeat(MAX_NAME_LENGTH - 1));
  });

  it('ids longer than MAX_ID_LENGTH are invalid', () => {
    const analyzer = createAnalyzer();
    const r = analyzer.ingest(span({ traceId: 'f'.repeat(MAX_ID_LENGTH + 1), service: 's', name: 'n', startTime: T0, endTime: T0 + 5 }));
    expect(r).toEqual({ accepted: 0, dropped: 1 });
    expect(analyzer.stats().droppedBy.invalid).toBe(1);
  });

  it('one operation calling 1000 distinct callees, called by 1000 callers: its sets stay capped', () => {
    const analyzer = createAnalyzer({ maxSpansPerTrace: 5000 });
    const spans: Span[] = [];
    for (let t = 0; t < 20; t++) {
      const traceId = hexId(32);
      const root = hexId(16);
      const start = T0 + t * 1000;
      spans.push(span({ traceId, spanId: root, service: 'hub', name: 'GET /hub', kind: 'server', startTime: start, endTime: start + 100 }));
      for (let i = 0; i < 1000; i++) {
        const id = `${t}-${i}`;
        // A distinct database table per call (a peer operation each), and a distinct caller of /hub.
        spans.push(span({ traceId, parentSpanId: root, service: 'hub', name: `SELECT t${id}`, kind: 'client', startTime: start + 1, endTime: start + 2, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': `t${id}` } }));
      }
      const callerTrace = hexId(32);
      for (let i = 0; i < 50; i++) {
        const caller = hexId(16);
        const call = hexId(16);
        spans.push(span({ traceId: callerTrace, spanId: caller, service: `c${t}-${i}`, name: 'GET /c', kind: 'server', startTime: start, endTime: start + 50 }));
        spans.push(span({ traceId: callerTrace, spanId: call, parentSpanId: caller, service: `c${t}-${i}`, name: 'GET', kind: 'client', startTime: start + 1, endTime: start + 40 }));
        spans.push(span({ traceId: callerTrace, parentSpanId: call, service: 'hub', name: 'GET /hub', kind: 'server', startTime: start + 2, endTime: start + 30 }));
      }
    }
    for (const b of batches(spans, 1000)) analyzer.ingest(b);
    analyzer.flush();
    const hub = analyzer.snapshot().operations.find((o) => o.service === 'hub' && o.operation === 'GET /hub');
    expect(hub).toBeDefined();
    expect(hub?.shapes.length).toBeLessThanOrEqual(MAX_CALLEES_PER_OPERATION * 12);
    expect(hub?.shapes.length).toBeGreaterThan(0);
    expect(hub?.callers.length).toBeLessThanOrEqual(MAX_CALLERS_PER_OPERATION);
    expect(hub?.callers.length).toBeGreaterThan(0);
    const s = analyzer.stats();
    expect(s.ingested).toBe(s.accepted + s.dropped);
  });
});

describe('out-of-order batches (defect 9)', () => {
  it('the lateness limit the docs state is the one enforced: older spans are counted late, the rest counted in', () => {
    const options = createAnalyzer().options;
    const limit = options.maxTraceWaitMs + options.latenessMs;
    const spans = shopTraffic({ seed: 9, durationMs: 30 * MIN });
    // Batches of 10 s, shuffled over the 30 minutes.
    const groups = new Map<number, Span[]>();
    for (const s of spans) {
      const k = Math.floor((s.endTime - T0) / 10_000);
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    const order = [...groups.keys()].sort((a, b) => ((a * 7919) % 181) - ((b * 7919) % 181));
    const analyzer = createAnalyzer();
    // The rules as the README states them: late beyond the limit; future beyond the skew window until
    // FUTURE_RUN spans in a row were (then event time follows them); anything else accepted.
    const expected = { late: 0, future: 0 };
    let clock = -Infinity;
    let run = 0;
    for (const k of order) {
      for (const s of groups.get(k) as Span[]) {
        if (s.endTime < clock - limit) expected.late++;
        else if (clock > -Infinity && s.endTime > clock + MAX_FUTURE_SKEW_MS && ++run < FUTURE_RUN) expected.future++;
        else {
          run = 0;
          clock = Math.max(clock, s.endTime);
        }
      }
      analyzer.ingest(groups.get(k) as Span[]);
    }
    analyzer.flush();
    const st = analyzer.stats();
    expect(st.droppedBy).toMatchObject(expected);
    expect(st.droppedBy.late).toBeGreaterThan(0);
    expect(st.ingested).toBe(st.accepted + st.dropped);
    expect(st.accepted).toBeGreaterThan(spans.length / 10);
    expect(st.accepted).toBe(spans.length - expected.late - expected.future);
  });

  it('a span accepted after its own window closed counts in the first window still open', () => {
    const analyzer = createAnalyzer();
    analyzer.ingest(span({ service: 's', name: 'GET /', kind: 'server', startTime: T0, endTime: T0 + 1 }));
    analyzer.advanceTo(T0 + 20_000); // buckets up to T0 + 15 s closed
    const r = analyzer.ingest(span({ service: 's', name: 'GET /', kind: 'server', startTime: T0 + 1000, endTime: T0 + 2000 }));
    expect(r.accepted).toBe(1);
    analyzer.flush();
    const [m] = analyzer.metrics();
    expect(m.requests).toBe(2);
  });
});
