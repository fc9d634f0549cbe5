/** attachStore: batching on an unref'd timer (fake timers: no wall-clock sleeps), retry after a failed write. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createAnalyzer, type AnalyzerStore, type StoreBatch } from '@rootspan/engine';
import { attachStore, sqliteStore } from '@rootspan/sqlite';
import { SHOP_START, batches, shopTraffic } from '../../engine/test/helpers/shop.js';

const MIN = 60_000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rootspan-attach-'));
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

const traffic = () => shopTraffic({ seed: 41, durationMs: 14 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 14 * MIN, errorRate: 1 }] });

it('ingest never writes; the timer writes everything pending in one batch per flushMs', async () => {
  const store = sqliteStore({ path: join(dir, 'a.db') });
  const written: StoreBatch[] = [];
  const write = store.write.bind(store);
  store.write = (b) => {
    written.push(b);
    write(b);
  };
  const analyzer = createAnalyzer();
  const att = store.attach(analyzer, { flushMs: 1000 });
  for (const b of batches(traffic(), 100)) analyzer.ingest(b);
  expect(written).toEqual([]);
  expect(att.stats().pendingRollups).toBeGreaterThan(0);
  expect(att.stats().pendingIncidentChanges).toBeGreaterThan(0);
  vi.advanceTimersByTime(999);
  expect(written).toEqual([]);
  vi.advanceTimersByTime(1);
  expect(written).toHaveLength(1);
  // An incident opened: the analyzer's state goes with it, in the same transaction.
  expect(written[0].snapshot).toBeDefined();
  expect(written[0].incidents.some((c) => c.type === 'opened')).toBe(true);
  expect(att.stats()).toMatchObject({ writes: 1, pendingRollups: 0, pendingIncidentChanges: 0 });
  // Nothing new: the next ticks write nothing.
  vi.advanceTimersByTime(5000);
  expect(written).toHaveLength(1);
  expect(store.rollups({ from: SHOP_START, to: SHOP_START + 14 * MIN, service: 'payment' })[0].points.length).toBeGreaterThanOrEqual(13);
  await store.close();
});

it('a failed write is reported, counted, kept and written on the next tick', async () => {
  const inner = sqliteStore({ path: join(dir, 'b.db') });
  let failures = 1;
  const flaky: AnalyzerStore = {
    location: inner.location,
    loadSnapshot: () => inner.loadSnapshot(),
    write: (b) => {
      if (failures-- > 0) throw new Error('disk I/O error');
      inner.write(b);
    },
    incidents: (q) => inner.incidents(q),
    incident: (id) => inner.incident(id),
    rollups: (q) => inner.rollups(q),
    close: () => inner.close(),
  };
  const errors: Error[] = [];
  const analyzer = createAnalyzer();
  const att = attachStore(analyzer, flaky, { onError: (e) => errors.push(e) });
  for (const b of batches(traffic(), 100)) analyzer.ingest(b);
  const opened = analyzer.incidents().map((i) => i.id);
  expect(opened.length).toBeGreaterThan(0);
  vi.advanceTimersByTime(1000);
  expect(errors.map((e) => e.message)).toEqual(['disk I/O error']);
  expect(att.stats()).toMatchObject({ writes: 0, writeErrors: 1, lastError: 'disk I/O error', dropped: 0 });
  expect(inner.incidents().total).toBe(0);
  vi.advanceTimersByTime(1000);
  expect(att.stats()).toMatchObject({ writes: 1, pendingRollups: 0, pendingIncidentChanges: 0 });
  expect(inner.incidents().incidents.map((i) => i.id).sort()).toEqual([...opened].sort());
  await att.close();
});

it('bounds what it holds while writes keep failing, dropping rollups before incident history', () => {
  const analyzer = createAnalyzer();
  const failing: AnalyzerStore = {
    location: 'nowhere',
    loadSnapshot: () => undefined,
    write: () => {
      throw new Error('read-only');
    },
    incidents: () => ({ incidents: [], total: 0, limit: 0, offset: 0 }),
    incident: () => undefined,
    rollups: () => [],
    close: () => undefined,
  };
  const att = attachStore(analyzer, failing, { maxPending: 50, onError: () => undefined });
  for (const b of batches(traffic(), 100)) analyzer.ingest(b);
  vi.advanceTimersByTime(3000);
  const st = att.stats();
  expect(st.pendingRollups + st.pendingIncidentChanges).toBe(50);
  expect(st.dropped).toBeGreaterThan(0);
  // Incident history outlives rollups.
  expect(st.pendingIncidentChanges).toBeGreaterThan(0);
  expect(st.writeErrors).toBe(3);
  void att.close();
});
