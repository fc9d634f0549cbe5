import { context, diag, DiagLogLevel, SpanKind, type DiagLogger } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RootspanSpanExporter, RootspanSpanProcessor, rootspan } from '../src/index.js';
import { FakeAnalyzer, StackContextManager, incidentEvent, nextTurn, readable } from './helpers/fakes.js';

/** Captures diag output so the tests can count log lines. */
function captureDiag() {
  const lines: Array<{ level: string; message: string }> = [];
  const rec = (level: string) => (message: string) => void lines.push({ level, message });
  const logger: DiagLogger = { error: rec('error'), warn: rec('warn'), info: rec('info'), debug: rec('debug'), verbose: rec('verbose') };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return lines;
}

let processors: RootspanSpanProcessor[] = [];
function make(analyzer: FakeAnalyzer, options: ConstructorParameters<typeof RootspanSpanProcessor>[0] = {}) {
  const p = new RootspanSpanProcessor({ analyzer, ...options });
  processors.push(p);
  return p;
}

beforeAll(() => {
  context.setGlobalContextManager(new StackContextManager());
});
afterAll(() => {
  context.disable();
});
beforeEach(() => {
  processors = [];
});
afterEach(async () => {
  for (const p of processors) await p.shutdown();
  diag.disable();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('RootspanSpanProcessor', () => {
  it('onEnd only enqueues; the next clock tick converts and ingests the batch, off the request path', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer, { tickMs: 1000 });
    p.onEnd(readable());
    p.onEnd(readable());
    expect(analyzer.ingestCalls).toHaveLength(0);
    expect(p.stats()).toMatchObject({ queued: 2, ingested: 0 });
    await nextTurn();
    expect(analyzer.ingestCalls).toHaveLength(0); // not yet: a small batch waits for the tick
    vi.advanceTimersByTime(999);
    expect(analyzer.ingestCalls).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(analyzer.ingestCalls).toHaveLength(1);
    expect(analyzer.ingested).toHaveLength(2);
    expect(analyzer.ingested[0].service).toBe('checkout');
    expect(analyzer.advanceCalls).toHaveLength(1); // after the batch went in
    expect(p.stats()).toMatchObject({ queued: 0, ingested: 2, dropped: 0 });
  });

  it('the queue is a ring of what onEnd copied: order kept across its end, spans re-parented as they are taken, invalid ids skipped', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer, { tickMs: 1000, queueSize: 4 });
    const traceId = 'a'.repeat(32);
    // A middleware span, then a call made under a route handler, the handler and the request: the call waits
    // in the queue while the handler ends (both internal spans pruned), and is taken under the request.
    p.onEnd(readable({ traceId, spanId: '1'.repeat(16), parentSpanId: 'f'.repeat(16), kind: SpanKind.INTERNAL, name: 'middleware - query' }));
    p.onEnd(readable({ traceId, spanId: '2'.repeat(16), parentSpanId: '3'.repeat(16), kind: SpanKind.CLIENT, name: 'GET' }));
    p.onEnd(readable({ traceId, spanId: '3'.repeat(16), parentSpanId: 'f'.repeat(16), kind: SpanKind.INTERNAL, name: 'request handler - /checkout' }));
    p.onEnd(readable({ traceId, spanId: 'f'.repeat(16), name: 'POST /checkout' }));
    vi.advanceTimersByTime(1000);
    expect(analyzer.ingested.map((s) => s.name)).toEqual(['GET', 'POST /checkout']);
    expect(analyzer.ingested[0]).toMatchObject({ kind: 'client', parentSpanId: 'f'.repeat(16) });
    expect(p.stats()).toMatchObject({ pruned: 2, queued: 0 });
    // Past the ring's end, and a span with the API's invalid ids (accepted, never analysed).
    p.onEnd({ ...readable({ name: 'invalid' }), spanContext: () => ({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }) });
    for (const name of ['A', 'B', 'C']) p.onEnd(readable({ name }));
    vi.advanceTimersByTime(1000);
    expect(analyzer.ingested.slice(2).map((s) => s.name)).toEqual(['A', 'B', 'C']);
    expect(p.stats()).toMatchObject({ dropped: 0, queued: 0 });
  });

  it('sets no timer but the clock: 1024 spans waiting drain on the next turn, in chunks of 256, one drain at a time', async () => {
    const analyzer = new FakeAnalyzer();
    const timeout = vi.spyOn(globalThis, 'setTimeout');
    const interval = vi.spyOn(globalThis, 'setInterval');
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    const p = make(analyzer);
    for (let i = 0; i < 1023; i++) p.onEnd(readable());
    expect(timeout).not.toHaveBeenCalled();
    expect(interval).toHaveBeenCalledTimes(1); // the live clock, unref()'d
    expect((interval.mock.results[0].value as NodeJS.Timeout).hasRef()).toBe(false);
    expect(immediate).not.toHaveBeenCalled();
    p.onEnd(readable());
    expect(immediate).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 241; i++) p.onEnd(readable());
    expect(immediate).toHaveBeenCalledTimes(1);
    // One drain; it may yield between chunks (its ~1 ms budget) and finish on a later turn.
    for (let i = 0; i < 5 && p.stats().queued > 0; i++) await nextTurn();
    expect(analyzer.ingestCalls.map((c) => c.length)).toEqual([256, 256, 256, 256, 241]);
    expect(timeout).not.toHaveBeenCalled();
  });

  it('bounds the queue: drops and counts, logging once when dropping starts and once with the total', async () => {
    const lines = captureDiag();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer, { queueSize: 10, tickMs: 100 });
    for (let i = 0; i < 25; i++) p.onEnd(readable());
    expect(p.stats()).toMatchObject({ queued: 10, dropped: 15 });
    const warns = () => lines.filter((l) => l.level === 'warn' || l.level === 'error');
    expect(warns()).toHaveLength(1);
    expect(warns()[0].message).toMatch(/queue full/);
    vi.advanceTimersByTime(100);
    expect(analyzer.ingested).toHaveLength(10);
    p.onEnd(readable()); // room again: the episode's total is reported once
    expect(warns()).toHaveLength(2);
    expect(warns()[1].message).toMatch(/dropped 15 spans/);
    p.onEnd(readable());
    expect(warns()).toHaveLength(2);
    expect(p.stats().dropped).toBe(15);
  });

  it('prunes in onEnd: a pruned span takes no queue slot, so a full queue drops only spans it would keep', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer, { queueSize: 2, tickMs: 100 });
    const traceId = 'c'.repeat(32);
    p.onEnd(readable({ traceId, spanId: '1'.repeat(16), name: 'GET /a' }));
    p.onEnd(readable({ traceId, spanId: '2'.repeat(16), name: 'GET /b' }));
    p.onEnd(readable({ traceId, spanId: '3'.repeat(16), parentSpanId: '1'.repeat(16), kind: SpanKind.INTERNAL, name: 'middleware - query' }));
    expect(p.stats()).toMatchObject({ queued: 2, pruned: 1, dropped: 0 });
    p.onEnd(readable({ traceId, spanId: '4'.repeat(16), name: 'GET /c' }));
    expect(p.stats()).toMatchObject({ queued: 2, pruned: 1, dropped: 1 });
    vi.advanceTimersByTime(100);
    expect(analyzer.ingested.map((s) => s.name)).toEqual(['GET /a', 'GET /b']);
  });

  it('drains in chunks and yields after ~1 ms of work', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.ingestCostMs = 2;
    const p = make(analyzer);
    for (let i = 0; i < 1200; i++) p.onEnd(readable());
    await nextTurn();
    // One chunk took longer than the budget: the drain yielded and rescheduled itself.
    expect(analyzer.ingestCalls).toHaveLength(1);
    expect(p.stats().queued).toBe(1200 - analyzer.ingestCalls[0].length);
    for (let i = 0; i < 40 && p.stats().queued > 0; i++) await nextTurn();
    expect(p.stats().queued).toBe(0);
    expect(analyzer.ingested).toHaveLength(1200);
    expect(analyzer.ingestCalls.length).toBeGreaterThan(1);
    for (const chunk of analyzer.ingestCalls) expect(chunk.length).toBeLessThanOrEqual(256);
  });

  it('forceFlush ingests everything synchronously and resolves', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.ingestCostMs = 2;
    const p = make(analyzer);
    for (let i = 0; i < 200; i++) p.onEnd(readable());
    const done = p.forceFlush();
    expect(analyzer.ingested).toHaveLength(200);
    await expect(done).resolves.toBeUndefined();
  });

  it('shutdown drains, flushes the analyzer once, is idempotent, and ignores later spans', async () => {
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer);
    p.onEnd(readable());
    const a = p.shutdown();
    const b = p.shutdown();
    await expect(a).resolves.toBeUndefined();
    await expect(b).resolves.toBeUndefined();
    expect(analyzer.ingested).toHaveLength(1);
    expect(analyzer.flushCalls).toBe(1);
    p.onEnd(readable());
    await nextTurn();
    expect(analyzer.ingested).toHaveLength(1);
    expect(p.stats().queued).toBe(0);
    expect(analyzer.incidentListeners.size).toBe(0);
    await p.shutdown();
    expect(analyzer.flushCalls).toBe(1);
  });

  it('a throwing analyzer never throws into the host', async () => {
    captureDiag();
    const analyzer = new FakeAnalyzer();
    analyzer.throwIn = new Set(['ingest', 'advanceTo', 'flush']);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const p = make(analyzer, { tickMs: 500 });
    expect(() => p.onEnd(readable())).not.toThrow();
    expect(() => vi.advanceTimersByTime(500)).not.toThrow(); // the tick's drain: ingest throws, then advanceTo
    expect(p.stats().internalErrors).toBe(2);
    expect(() => vi.advanceTimersByTime(1000)).not.toThrow(); // later ticks' advanceTo throw
    expect(p.stats().internalErrors).toBeGreaterThanOrEqual(2);
    await expect(p.forceFlush()).resolves.toBeUndefined();
    await expect(p.shutdown()).resolves.toBeUndefined();
    expect(p.stats().internalErrors).toBeGreaterThanOrEqual(3);
  });

  it('a span that cannot be read never throws into the host, nor costs the spans around it', async () => {
    captureDiag();
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer);
    const broken = readable();
    Object.defineProperty(broken, 'spanContext', { value: () => { throw new Error('weird span'); } });
    expect(() => p.onEnd(readable())).not.toThrow();
    expect(() => p.onEnd(broken)).not.toThrow();
    expect(() => p.onEnd(null as never)).not.toThrow();
    expect(() => p.onEnd(readable())).not.toThrow();
    await p.forceFlush(); // converted off the request path: counted there, the good spans still ingested
    expect(p.stats().internalErrors).toBe(2);
    expect(analyzer.ingested).toHaveLength(2);
  });

  it('catches and counts throwing and rejecting callbacks, and runs them with tracing suppressed', async () => {
    const lines = captureDiag();
    const analyzer = new FakeAnalyzer();
    const suppressed: boolean[] = [];
    make(analyzer, {
      onIncident: () => {
        suppressed.push(isTracingSuppressed(context.active()));
        throw new Error('callback bug');
      },
      onAnomaly: async () => {
        throw new Error('async callback bug');
      },
    });
    const p = processors[0];
    expect(() => analyzer.emitIncident(incidentEvent())).not.toThrow();
    expect(() => analyzer.emitIncident(incidentEvent('updated'))).not.toThrow();
    expect(() => analyzer.emitAnomaly({} as never)).not.toThrow();
    await p.forceFlush(); // the calls run one per turn
    await nextTurn(); // let the rejection be observed
    expect(suppressed).toEqual([true, true]);
    expect(p.stats().callbackErrors).toBe(3);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1); // first failure only
  });

  it('starts one unref()d clock on the first span, which advances the analyzer to now, and stops it on shutdown', async () => {
    const start = 1_700_000_000_000;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: start });
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer, { tickMs: 10 });
    vi.advanceTimersByTime(30);
    expect(vi.getTimerCount()).toBe(0); // lazily: no span yet, no timer
    const interval = vi.spyOn(globalThis, 'setInterval');
    p.onEnd(readable());
    p.onEnd(readable());
    expect(vi.getTimerCount()).toBe(1);
    expect((interval.mock.results[0].value as NodeJS.Timeout).hasRef()).toBe(false);
    vi.advanceTimersByTime(60);
    // One advance per tick, each to the (fake) wall clock of that tick.
    expect(analyzer.advanceCalls).toEqual([40, 50, 60, 70, 80, 90].map((ms) => start + ms));
    expect(analyzer.ingested).toHaveLength(2); // the first tick drained the queue before advancing
    await p.shutdown();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(analyzer.advanceCalls).toHaveLength(6);
  });

  it('a clock tick ingests queued spans before advancing time', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const analyzer = new FakeAnalyzer();
    const order: string[] = [];
    const ingest = analyzer.ingest.bind(analyzer);
    analyzer.ingest = (s) => (order.push('ingest'), ingest(s));
    analyzer.advanceTo = () => void order.push('advance');
    const p = make(analyzer, { tickMs: 5 });
    p.onEnd(readable());
    vi.advanceTimersByTime(5); // the tick comes before the scheduled drain has run
    expect(order).toEqual(['ingest', 'advance']);
    await p.shutdown();
  });
});

describe('options', () => {
  it('validates once, with clear errors', () => {
    expect(() => new RootspanSpanProcessor({ queueSize: 0 })).toThrow(/queueSize must be a positive integer/);
    expect(() => new RootspanSpanProcessor({ queueSize: 1.5 })).toThrow(/queueSize/);
    expect(() => new RootspanSpanProcessor({ tickMs: -1 })).toThrow(/tickMs must be a positive finite number/);
    expect(() => new RootspanSpanProcessor({ onIncident: 'log' as never })).toThrow(/onIncident must be a function/);
    expect(() => new RootspanSpanProcessor({ analyzer: {} as never })).toThrow(/analyzer must be an Analyzer/);
    expect(() => new RootspanSpanProcessor({ analyzer: new FakeAnalyzer(), bucketMs: 1000 })).toThrow(/bucketMs.*createAnalyzer/);
    expect(() => new RootspanSpanProcessor({ clockLagMs: 5 } as never)).toThrow(/clockLagMs does not apply/);
    expect(() => new RootspanSpanExporter({ queueSize: 5 } as never)).toThrow(/queueSize does not apply/);
    expect(() => new RootspanSpanExporter({ inFlightSize: 5 } as never)).toThrow(/inFlightSize does not apply/);
    expect(new RootspanSpanExporter({ clockLagMs: 5, coldStartMs: 0 })).toBeInstanceOf(RootspanSpanExporter);
    // Analyzer options are validated by the engine, which names the option.
    expect(() => new RootspanSpanProcessor({ bucketMs: -5 })).toThrow(/bucketMs/);
    expect(() => new RootspanSpanProcessor({ bukcetMs: 5 } as never)).toThrow(/unknown option bukcetMs/);
    expect(() => new RootspanSpanProcessor({ peers: { '10.0.0.1': 42 } as never })).toThrow(/peers\["10.0.0.1"\] must be a non-empty service name/);
  });

  it('rootspan() returns the processor and its analyzer; bring your own analyzer works', async () => {
    const { processor, analyzer } = rootspan({ bucketMs: 1000 });
    expect(analyzer).toBe(processor.analyzer);
    expect(analyzer.options.bucketMs).toBe(1000);
    // Live traffic: incidents resolve 30 s after their anomalies end (the engine alone waits 5 min), unless set.
    expect(analyzer.options.resolveAfterMs).toBe(30_000);
    await processor.shutdown();
    const patient = rootspan({ resolveAfterMs: 600_000 });
    expect(patient.analyzer.options.resolveAfterMs).toBe(600_000);
    await patient.processor.shutdown();
    const exporter = new RootspanSpanExporter({ coldStartMs: 0 });
    expect(exporter.analyzer.options.resolveAfterMs).toBe(30_000);
    await exporter.shutdown();
    const own = new FakeAnalyzer();
    const byo = rootspan({ analyzer: own });
    expect(byo.analyzer).toBe(own);
    byo.processor.onEnd(readable());
    await byo.processor.forceFlush();
    expect(own.ingested).toHaveLength(1);
    await byo.processor.shutdown();
  });

  it('the peers option names client spans to listed addresses (processor and exporter alike)', async () => {
    const own = new FakeAnalyzer();
    const { processor } = rootspan({ analyzer: own, peers: { '127.0.0.1:4001': 'billing' } });
    const call = readable({ kind: SpanKind.CLIENT, attributes: { 'server.address': '127.0.0.1', 'server.port': 4001 } });
    processor.onEnd(call);
    await processor.forceFlush();
    expect(own.ingested[0].attributes!['peer.service']).toBe('billing');
    await processor.shutdown();
    const viaExporter = new FakeAnalyzer();
    const exporter = new RootspanSpanExporter({ analyzer: viaExporter, peers: new Map([['127.0.0.1', 'billing']]) });
    exporter.export([call], () => {});
    expect(viaExporter.ingested[0].attributes!['peer.service']).toBe('billing');
    await exporter.shutdown();
  });
});
