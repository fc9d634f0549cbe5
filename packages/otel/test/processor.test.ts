import { context, diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RootspanSpanProcessor, rootspan } from '../src/index.js';
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
});

describe('RootspanSpanProcessor', () => {
  it('onEnd only enqueues; the drain ingests off the request path', async () => {
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer);
    p.onEnd(readable());
    p.onEnd(readable());
    expect(analyzer.ingestCalls).toHaveLength(0);
    expect(p.stats()).toMatchObject({ queued: 2, ingested: 0 });
    await nextTurn();
    expect(analyzer.ingested).toHaveLength(2);
    expect(analyzer.ingested[0].service).toBe('checkout');
    expect(p.stats()).toMatchObject({ queued: 0, ingested: 2, dropped: 0 });
  });

  it('schedules one drain at a time', async () => {
    const analyzer = new FakeAnalyzer();
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    const p = make(analyzer);
    for (let i = 0; i < 50; i++) p.onEnd(readable());
    expect(immediate).toHaveBeenCalledTimes(1);
    await nextTurn();
    expect(analyzer.ingestCalls).toHaveLength(1);
  });

  it('bounds the queue: drops and counts, logging once when dropping starts and once with the total', async () => {
    const lines = captureDiag();
    const analyzer = new FakeAnalyzer();
    const p = make(analyzer, { queueSize: 10 });
    for (let i = 0; i < 25; i++) p.onEnd(readable());
    expect(p.stats()).toMatchObject({ queued: 10, dropped: 15 });
    const warns = () => lines.filter((l) => l.level === 'warn' || l.level === 'error');
    expect(warns()).toHaveLength(1);
    expect(warns()[0].message).toMatch(/queue full/);
    await nextTurn();
    expect(analyzer.ingested).toHaveLength(10);
    p.onEnd(readable()); // room again: the episode's total is reported once
    expect(warns()).toHaveLength(2);
    expect(warns()[1].message).toMatch(/dropped 15 spans/);
    p.onEnd(readable());
    expect(warns()).toHaveLength(2);
    expect(p.stats().dropped).toBe(15);
  });

  it('drains in chunks and yields after ~1 ms of work', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.ingestCostMs = 2;
    const p = make(analyzer);
    for (let i = 0; i < 300; i++) p.onEnd(readable());
    await nextTurn();
    // One chunk took longer than the budget: the drain yielded and rescheduled itself.
    expect(analyzer.ingestCalls).toHaveLength(1);
    expect(p.stats().queued).toBe(300 - analyzer.ingestCalls[0].length);
    for (let i = 0; i < 20 && p.stats().queued > 0; i++) await nextTurn();
    expect(p.stats().queued).toBe(0);
    expect(analyzer.ingested).toHaveLength(300);
    expect(analyzer.ingestCalls.length).toBeGreaterThan(1);
    for (const chunk of analyzer.ingestCalls) expect(chunk.length).toBeLessThanOrEqual(64);
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
    const p = make(analyzer, { tickMs: 5 });
    expect(() => p.onEnd(readable())).not.toThrow();
    await nextTurn(); // the drain's ingest throws
    await new Promise((r) => setTimeout(r, 20)); // ticks' advanceTo throw
    await expect(p.forceFlush()).resolves.toBeUndefined();
    await expect(p.shutdown()).resolves.toBeUndefined();
    expect(p.stats().internalErrors).toBeGreaterThanOrEqual(3);
  });

  it('a span that cannot be read never throws into the host', () => {
    captureDiag();
    const p = make(new FakeAnalyzer());
    const broken = readable();
    Object.defineProperty(broken, 'spanContext', { value: () => { throw new Error('weird span'); } });
    expect(() => p.onEnd(broken)).not.toThrow();
    expect(() => p.onEnd(null as never)).not.toThrow();
    expect(p.stats().internalErrors).toBe(2);
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
    await nextTurn(); // let the rejection be observed
    expect(suppressed).toEqual([true, true]);
    expect(p.stats().callbackErrors).toBe(3);
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1); // first failure only
  });

  it('starts one unref()d clock on the first span, which advances the analyzer to now, and stops it on shutdown', async () => {
    const analyzer = new FakeAnalyzer();
    const timers: NodeJS.Timeout[] = [];
    const real = globalThis.setInterval;
    vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms: number) => {
      const t = real(fn, ms);
      timers.push(t);
      return t;
    }) as typeof setInterval);
    const p = make(analyzer, { tickMs: 10 });
    await new Promise((r) => setTimeout(r, 30));
    expect(timers).toHaveLength(0); // lazily: no span yet, no timer
    p.onEnd(readable());
    p.onEnd(readable());
    expect(timers).toHaveLength(1);
    expect(timers[0].hasRef()).toBe(false);
    const before = Date.now();
    await new Promise((r) => setTimeout(r, 60));
    expect(analyzer.advanceCalls.length).toBeGreaterThanOrEqual(2);
    for (const t of analyzer.advanceCalls) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(Date.now());
    }
    await p.shutdown();
    const count = analyzer.advanceCalls.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(analyzer.advanceCalls.length).toBe(count);
  });

  it('a clock tick ingests queued spans before advancing time', async () => {
    const analyzer = new FakeAnalyzer();
    const order: string[] = [];
    const ingest = analyzer.ingest.bind(analyzer);
    analyzer.ingest = (s) => (order.push('ingest'), ingest(s));
    analyzer.advanceTo = (t) => void order.push(`advance`);
    const p = make(analyzer, { tickMs: 5 });
    p.onEnd(readable());
    await new Promise((r) => setTimeout(r, 15));
    expect(order[0]).toBe('ingest');
    expect(order).toContain('advance');
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
    // Analyzer options are validated by the engine, which names the option.
    expect(() => new RootspanSpanProcessor({ bucketMs: -5 })).toThrow(/bucketMs/);
    expect(() => new RootspanSpanProcessor({ bukcetMs: 5 } as never)).toThrow(/unknown option bukcetMs/);
  });

  it('rootspan() returns the processor and its analyzer; bring your own analyzer works', async () => {
    const { processor, analyzer } = rootspan({ bucketMs: 1000 });
    expect(analyzer).toBe(processor.analyzer);
    expect(analyzer.options.bucketMs).toBe(1000);
    await processor.shutdown();
    const own = new FakeAnalyzer();
    const byo = rootspan({ analyzer: own });
    expect(byo.analyzer).toBe(own);
    byo.processor.onEnd(readable());
    await byo.processor.forceFlush();
    expect(own.ingested).toHaveLength(1);
    await byo.processor.shutdown();
  });
});
