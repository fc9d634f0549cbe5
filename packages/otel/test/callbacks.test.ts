import { context, diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import type { Anomaly } from '@rootspan/engine';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RootspanSpanExporter, RootspanSpanProcessor } from '../src/index.js';
import { FakeAnalyzer, StackContextManager, incidentEvent, nextTurn, readable } from './helpers/fakes.js';

beforeAll(() => {
  context.setGlobalContextManager(new StackContextManager());
});
afterAll(() => {
  context.disable();
});
afterEach(() => {
  diag.disable();
});

const anomaly = { kind: 'errors' } as unknown as Anomaly;

/** Busy-waits `ms`: a synchronous callback doing slow work (the defect's 2 s callbacks, shortened). */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('user callbacks', () => {
  it('run off the analyzer path, one call per event-loop turn: the host runs between any two', async () => {
    const analyzer = new FakeAnalyzer();
    const order: string[] = [];
    // Each callback is slow and synchronous; each schedules "host" work, as a request arriving would be.
    const host = (after: string) => setImmediate(() => order.push(`host after ${after}`));
    const p = new RootspanSpanProcessor({
      analyzer,
      onIncident: (e) => {
        block(5);
        order.push(e.type);
        host(e.type);
      },
      onAnomaly: () => {
        block(5);
        order.push('anomaly');
        host('anomaly');
      },
    });
    // What one ingest can emit, synchronously: an anomaly, the incident it opens, an update.
    analyzer.emitAnomaly(anomaly);
    analyzer.emitIncident(incidentEvent('opened'));
    analyzer.emitIncident(incidentEvent('updated'));
    expect(order).toEqual([]); // nothing ran on the analyzer's path
    expect(p.stats().callbacksQueued).toBe(3);
    await p.forceFlush();
    await nextTurn();
    expect(order).toEqual(['anomaly', 'host after anomaly', 'opened', 'host after opened', 'updated', 'host after updated']);
    expect(p.stats()).toMatchObject({ callbacksQueued: 0, callbacksDropped: 0, callbackErrors: 0 });
    await p.shutdown();
  });

  it('a callback that never settles holds up neither later calls nor shutdown', async () => {
    const analyzer = new FakeAnalyzer();
    let calls = 0;
    const p = new RootspanSpanProcessor({ analyzer, onIncident: () => (calls++, new Promise<void>(() => {})) });
    analyzer.emitIncident(incidentEvent('opened'));
    analyzer.emitIncident(incidentEvent('resolved'));
    await p.forceFlush();
    expect(calls).toBe(2);
    await expect(p.shutdown()).resolves.toBeUndefined();
  });

  it('bounds the callback queue: drops and counts, logging once per episode', async () => {
    const warns: string[] = [];
    const rec = (m: string) => void warns.push(m);
    const logger: DiagLogger = { error: rec, warn: rec, info: () => {}, debug: () => {}, verbose: () => {} };
    diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    const analyzer = new FakeAnalyzer();
    const seen: string[] = [];
    const p = new RootspanSpanProcessor({ analyzer, callbackQueueSize: 2, onIncident: (e) => void seen.push(e.incident.id) });
    for (let i = 0; i < 5; i++) analyzer.emitIncident(incidentEvent('updated'));
    expect(p.stats()).toMatchObject({ callbacksQueued: 2, callbacksDropped: 3 });
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatch(/callback queue full \(callbackQueueSize 2\)/);
    await p.forceFlush();
    expect(seen).toHaveLength(2);
    analyzer.emitIncident(incidentEvent('resolved')); // room again: the episode's total, once
    expect(warns).toHaveLength(2);
    expect(warns[1]).toMatch(/dropped 3 callback calls/);
    await p.shutdown();
    expect(seen).toHaveLength(3); // shutdown ran the call still queued
  });

  it('shutdown lets queued calls run, then stops listening', async () => {
    const analyzer = new FakeAnalyzer();
    const types: string[] = [];
    const p = new RootspanSpanProcessor({ analyzer, onIncident: (e) => void types.push(e.type) });
    p.onEnd(readable());
    analyzer.emitIncident(incidentEvent('opened'));
    await p.shutdown();
    expect(types).toEqual(['opened']);
    expect(analyzer.incidentListeners.size).toBe(0);
  });

  it('a store whose close hangs or throws cannot hang shutdown: it is counted after closeTimeoutMs', async () => {
    const hanging = new RootspanSpanExporter({
      analyzer: new FakeAnalyzer(),
      closeTimeoutMs: 20,
      store: { attach: () => ({ close: () => new Promise<void>(() => {}) }) },
    });
    await expect(hanging.shutdown()).resolves.toBeUndefined();
    expect(hanging.stats().storeErrors).toBe(1);
    const throwing = new RootspanSpanProcessor({
      analyzer: new FakeAnalyzer(),
      store: { attach: () => ({ close: () => { throw new Error('disk gone'); } }) },
    });
    await expect(throwing.shutdown()).resolves.toBeUndefined();
    expect(throwing.stats()).toMatchObject({ storeErrors: 1, internalErrors: 0 });
  });

  it('validates the new options', () => {
    expect(() => new RootspanSpanProcessor({ callbackQueueSize: 0 })).toThrow(/callbackQueueSize must be a positive integer/);
    expect(() => new RootspanSpanExporter({ closeTimeoutMs: -1 })).toThrow(/closeTimeoutMs must be a positive finite number/);
  });
});
