import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { afterEach, expect, it } from 'vitest';
import { createAnalyzer } from '@rootspan/engine';
import { RootspanSpanExporter, rootspan } from '@rootspan/otel';
import { sqliteStore } from '@rootspan/sqlite';
import { readable } from '../../otel/test/helpers/fakes.js';
import { batches, shopTraffic } from '../../engine/test/helpers/shop.js';

const MIN = 60_000;
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('rootspan({ store }) restores at start and writes its final state at shutdown', async () => {
  dir = mkdtempSync(join(tmpdir(), 'rootspan-otel-sqlite-'));
  const path = join(dir, 'rootspan.db');
  const before = createAnalyzer();
  const s1 = sqliteStore({ path });
  s1.attach(before);
  for (const b of batches(shopTraffic({ seed: 31, durationMs: 14 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 14 * MIN, errorRate: 1 }] }), 100)) {
    before.ingest(b);
  }
  const open = before.incidents({ status: 'active' });
  expect(open.length).toBeGreaterThan(0);
  await s1.close();

  const { processor, analyzer } = rootspan({ store: sqliteStore({ path }) });
  expect(analyzer.baselines()).toEqual(before.baselines());
  expect(analyzer.incidents({ status: 'active' }).map((i) => i.id)).toEqual(open.map((i) => i.id));

  // One more span through the processor, after the restored event time.
  const t = (before.now() as number) + 1000;
  processor.onEnd(readable({ start: [Math.floor(t / 1000), 0], end: [Math.floor(t / 1000), 4_000_000] }));
  await processor.shutdown();

  const reopened = sqliteStore({ path });
  expect(reopened.loadSnapshot()?.counters.ingested).toBe(before.stats().ingested + 1);
  expect(reopened.incidents({ status: 'active' }).incidents.map((i) => i.id)).toEqual(open.map((i) => i.id));
  await reopened.close();
});

it('the exporter takes a store too, and closes it at shutdown', async () => {
  dir = mkdtempSync(join(tmpdir(), 'rootspan-otel-sqlite-'));
  const path = join(dir, 'exporter.db');
  const exporter = new RootspanSpanExporter({ store: sqliteStore({ path }) });
  const results: number[] = [];
  exporter.export([readable(), readable()], (r) => results.push(r.code));
  await exporter.shutdown();
  expect(results).toEqual([0]);
  const reopened = sqliteStore({ path });
  expect(reopened.loadSnapshot()?.counters.ingested).toBe(2);
  await reopened.close();
});

it('rejects a store option that is not a store', () => {
  expect(() => rootspan({ store: { path: 'x.db' } as never })).toThrow(/option store must be a store/);
});

it("the store's writes run with tracing suppressed (an instrumented SQLite driver records none of them)", async () => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  try {
    dir = mkdtempSync(join(tmpdir(), 'rootspan-otel-sqlite-'));
    const inner = sqliteStore({ path: join(dir, 'suppressed.db') });
    const suppressed: boolean[] = [];
    const write = inner.write.bind(inner);
    inner.write = (batch) => {
      suppressed.push(isTracingSuppressed(context.active()));
      write(batch);
    };
    const { processor } = rootspan({ store: inner });
    processor.onEnd(readable());
    await processor.shutdown();
    expect(suppressed).toEqual([true]);
  } finally {
    context.disable();
    manager.disable();
  }
});
