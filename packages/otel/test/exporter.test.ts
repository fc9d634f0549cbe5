import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RootspanSpanExporter } from '../src/index.js';
import { FakeAnalyzer, incidentEvent, readable } from './helpers/fakes.js';

const exportOnce = (e: RootspanSpanExporter, spans = [readable(), readable()]) =>
  new Promise<ExportResult>((resolve) => e.export(spans, resolve));

afterEach(() => {
  diag.disable();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('RootspanSpanExporter', () => {
  it('maps and ingests each batch and reports SUCCESS', async () => {
    const analyzer = new FakeAnalyzer();
    const e = new RootspanSpanExporter({ analyzer });
    expect((await exportOnce(e)).code).toBe(ExportResultCode.SUCCESS);
    expect(analyzer.ingestCalls).toHaveLength(1);
    expect(analyzer.ingested.map((s) => s.service)).toEqual(['checkout', 'checkout']);
    expect(e.stats()).toMatchObject({ queued: 0, dropped: 0, ingested: 2 });
    await e.shutdown();
  });

  it('still reports SUCCESS when the analyzer throws, and counts it', async () => {
    const analyzer = new FakeAnalyzer();
    analyzer.throwIn = new Set(['ingest', 'flush']);
    const e = new RootspanSpanExporter({ analyzer });
    expect((await exportOnce(e)).code).toBe(ExportResultCode.SUCCESS);
    await expect(e.shutdown()).resolves.toBeUndefined();
    expect(e.stats().internalErrors).toBe(2);
  });

  it('shutdown flushes once and is idempotent; export after shutdown fails per the SDK contract', async () => {
    const analyzer = new FakeAnalyzer();
    const e = new RootspanSpanExporter({ analyzer, onIncident: () => {} });
    await e.shutdown();
    await e.shutdown();
    expect(analyzer.flushCalls).toBe(1);
    expect(analyzer.incidentListeners.size).toBe(0);
    expect((await exportOnce(e)).code).toBe(ExportResultCode.FAILED);
    await expect(e.forceFlush()).resolves.toBeUndefined();
  });

  it('wraps callbacks like the processor does', async () => {
    const analyzer = new FakeAnalyzer();
    const e = new RootspanSpanExporter({ analyzer, onIncident: () => { throw new Error('x'); } });
    expect(() => analyzer.emitIncident(incidentEvent())).not.toThrow();
    expect(e.stats()).toMatchObject({ callbacksQueued: 1, callbackErrors: 0 });
    await e.forceFlush();
    expect(e.stats()).toMatchObject({ callbacksQueued: 0, callbackErrors: 1 });
    await e.shutdown();
  });

  it('its unref()d clock holds event time clockLagMs behind the wall clock', async () => {
    const start = 1_700_000_000_000;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: start });
    const analyzer = new FakeAnalyzer();
    const interval = vi.spyOn(globalThis, 'setInterval');
    const e = new RootspanSpanExporter({ analyzer, tickMs: 5, clockLagMs: 6000 });
    await exportOnce(e);
    expect((interval.mock.results[0].value as NodeJS.Timeout).hasRef()).toBe(false);
    vi.advanceTimersByTime(25);
    expect(analyzer.advanceCalls).toEqual([5, 10, 15, 20, 25].map((ms) => start + ms - 6000));
    await e.shutdown();
    vi.advanceTimersByTime(25);
    expect(analyzer.advanceCalls).toHaveLength(5);
  });

  it('rejects options that belong to the processor', () => {
    expect(() => new RootspanSpanExporter({ queueSize: 5 } as never)).toThrow(/queueSize does not apply/);
  });

  it('works behind a real BatchSpanProcessor', async () => {
    const analyzer = new FakeAnalyzer();
    const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new RootspanSpanExporter({ analyzer }))] });
    const tracer = provider.getTracer('t');
    for (let i = 0; i < 3; i++) tracer.startSpan(`op ${i}`).end();
    await provider.forceFlush();
    expect(analyzer.ingested.map((s) => s.name)).toEqual(['op 0', 'op 1', 'op 2']);
    await provider.shutdown();
    expect(analyzer.flushCalls).toBe(1);
  });
});
