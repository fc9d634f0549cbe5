/** The store seam: learned state restored at start, incident changes written as they happen, a failing store reported and survived. */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAnalyzer, type AnalyzerSnapshot } from '@rootspan/engine';
import { encodeOtlpJson } from '@rootspan/otlp';
import { ensureDir, FileStore, startServer, type ServerStore, type StoreWrite } from '@rootspan/server';
import { scenarioByName, simulate } from '@rootspan/sim';
import { call, testServer } from './helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function postOutage(server: Awaited<ReturnType<typeof testServer>>) {
  const { batches } = simulate({ ...scenarioByName('shop-payment-errors')!, durationMs: 8 * 60_000 });
  for (let i = 0; i < batches.length; i += 20) {
    const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(batches.slice(i, i + 20).flat())) });
    expect(res.status).toBe(200);
  }
  await call(server, '/aiops/analyze', { method: 'POST' });
}

describe('stores', () => {
  it('incident changes reach the store as they happen; the snapshot on close', async () => {
    const writes: StoreWrite[] = [];
    const store: ServerStore = { location: 'memory-test', loadSnapshot: () => undefined, write: (b) => void writes.push(b), close: () => {} };
    const server = await testServer({ store });
    await postOutage(server);
    // `analyze` writes pending incident changes before it answers.
    const opened = writes.flatMap((w) => w.incidents).filter((c) => c.type === 'opened');
    expect(opened.map((c) => c.incident.rootCause.service)).toContain('payment');
    expect(opened[0].at).toBe(opened[0].incident.openedAt);
    await server.close();
    const last = writes[writes.length - 1];
    expect(last.snapshot?.operations.length).toBeGreaterThan(5);
  }, 120_000);

  it('an incident opened is written with the analyzer\'s state: a crash before the next snapshot loses neither it nor its id', async () => {
    const writes: StoreWrite[] = [];
    const store: ServerStore = { location: 'memory-test', loadSnapshot: () => undefined, write: (b) => void writes.push(b), close: () => {} };
    const server = await testServer({ store, saveIntervalMs: 3_600_000 });
    await postOutage(server);
    const withOpening = writes.find((w) => w.incidents.some((c) => c.type === 'opened'));
    const opened = withOpening!.incidents.find((c) => c.type === 'opened')!.incident;
    // Restored from that write alone (the process killed before the next snapshot), the incident is there,
    // and the next one gets a new id.
    const restored = createAnalyzer();
    restored.restore(withOpening!.snapshot!);
    expect(restored.incidents().map((i) => i.id)).toContain(opened.id);
    expect(withOpening!.snapshot!.incidents.nextId).toBeGreaterThan(Number(opened.id.slice('inc-'.length)));
    await server.close();
  }, 120_000);

  it('a start that restored state says so in status and in one log line; a new store says nothing', async () => {
    const writes: StoreWrite[] = [];
    const first = await testServer({ store: { location: 'memory-test', loadSnapshot: () => undefined, write: (b) => void writes.push(b), close: () => {} } });
    await postOutage(first);
    expect((await call(first, '/aiops/status')).body.store.restored).toBeNull();
    await first.close();
    const saved = writes[writes.length - 1].snapshot!;
    const lines: string[] = [];
    const second = await testServer({ store: { location: 'memory-test', loadSnapshot: () => saved, write: () => {}, close: () => {} }, log: (l) => lines.push(l) });
    const restored = (await call(second, '/aiops/status')).body.store.restored;
    const open = second.analyzer.incidents({ status: ['active', 'acknowledged'] }).length;
    expect(restored).toEqual({ eventTime: new Date(saved.clock!).toISOString(), operations: saved.operations.length, openIncidents: open });
    expect(lines).toContain(`restored from memory-test: ${saved.operations.length} baselines, ${open} open incidents, analysed up to ${restored.eventTime}`);
    await second.close();
  }, 120_000);

  it('a store that fails to write is shown in status and counted; the server keeps working', async () => {
    const lines: string[] = [];
    const store: ServerStore = {
      location: 'broken-disk',
      loadSnapshot: () => undefined,
      write: () => Promise.reject(new Error('ENOSPC: no space left on device')),
      close: () => {},
    };
    const server = await testServer({ store, log: (l) => lines.push(l) });
    await postOutage(server);
    const status = (await call(server, '/aiops/status')).body;
    expect(status.store).toMatchObject({ kind: 'store', location: 'broken-disk', healthy: false, lastError: 'ENOSPC: no space left on device' });
    expect(status.store.failures).toBeGreaterThanOrEqual(1);
    expect((await call(server, '/metrics')).text).toMatch(/^rootspan_store_write_failures_total [1-9]\d*$/m);
    expect((await call(server, '/aiops/incidents')).body.incidents.length).toBeGreaterThan(0);
    // Logged once, not per write.
    expect(lines.filter((l) => l.includes('broken-disk'))).toHaveLength(1);
  }, 120_000);

  it("a failed write's incident changes and rollups are kept and written with the next one that succeeds", async () => {
    const written: StoreWrite[] = [];
    let full = true;
    const store: ServerStore = {
      location: 'full-disk',
      loadSnapshot: () => undefined,
      write: (b) => (full ? Promise.reject(new Error('SQLITE_FULL: database or disk is full')) : void written.push(b)),
      close: () => {},
    };
    const server = await testServer({ store, log: () => {} });
    await postOutage(server);
    const opened = server.analyzer.incidents().map((i) => i.id);
    expect(opened.length).toBeGreaterThan(0);
    expect(written).toEqual([]);
    // Space is freed: the next write carries what the failed ones held, in order, once.
    full = false;
    await call(server, '/aiops/analyze', { method: 'POST' });
    const changes = written.flatMap((w) => w.incidents);
    expect(changes.filter((c) => c.type === 'opened').map((c) => c.incident.id).sort()).toEqual([...opened].sort());
    expect(written.flatMap((w) => w.rollups).length).toBeGreaterThan(0);
    expect((await call(server, '/aiops/status')).body.store).toMatchObject({ healthy: true, rollupsDropped: 0, changesDropped: 0 });
    await server.close();
  }, 120_000);

  it('FileStore: a file that is not rootspan state stops the start with a clear error', async () => {
    const bad = join(dir, 'bad');
    const store = new FileStore(bad);
    await store.loadSnapshot(); // creates the directory
    writeFileSync(join(bad, 'rootspan-state.json'), '{"not": "json');
    await expect(startServer({ port: 0, store: new FileStore(bad), log: () => {} })).rejects.toThrow(/rootspan-state\.json is not a rootspan state file/);
    writeFileSync(join(bad, 'rootspan-state.json'), JSON.stringify({ format: 'something-else', version: 99 } as unknown as AnalyzerSnapshot));
    await expect(startServer({ port: 0, store: new FileStore(bad), log: () => {} })).rejects.toThrow();
  });
});

describe('ensureDir', () => {
  it('creates missing levels, accepts an existing directory, and fails (not hangs) where a directory cannot be made', () => {
    const root = mkdtempSync(join(tmpdir(), 'rootspan-ensure-'));
    try {
      ensureDir(join(root, 'a', 'b', 'c'));
      expect(statSync(join(root, 'a', 'b', 'c')).isDirectory()).toBe(true);
      ensureDir(join(root, 'a', 'b'));
      writeFileSync(join(root, 'file'), '');
      expect(() => ensureDir(join(root, 'file', 'x'))).toThrow(/ENOTDIR|EEXIST/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  // Node's recursive mkdir never returns here: this test timed out before ensureDir.
  it.skipIf(!existsSync('/proc/self'))('fails at once under /proc', () => {
    expect(() => ensureDir('/proc/rootspan-no-such/data')).toThrow(/ENOENT|EACCES|EPERM/);
  });
});
