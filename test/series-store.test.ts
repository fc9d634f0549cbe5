/**
 * `GET /aiops/series` reads older rollups from a store that keeps them (SQLite here, written by an earlier
 * run), and the analyzer's own for what it saw since.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { OperationRollup } from '@rootspan/engine';
import { startServer, type ApiSeries } from '@rootspan/server';
import { sqliteStore } from '@rootspan/sqlite';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-series-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 1);
const rollup = (minute: number, requests: number, errors: number): OperationRollup => ({
  service: 'payment',
  operation: 'POST /payment',
  nodeType: 'service',
  start: T0 + minute * 60_000,
  durationMs: 60_000,
  requests,
  errors,
  latency: { p50: 30, p95: 45, p99: 60 },
  selfTimeP95: 40,
});

it('answers rollups kept in the store', async () => {
  const path = join(dir, 'rootspan.db');
  const earlier = sqliteStore({ path });
  await earlier.write({ rollups: [rollup(0, 60, 0), rollup(1, 120, 6), rollup(2, 90, 90)], incidents: [] });
  await earlier.close();

  const server = await startServer({ port: 0, log: () => {}, store: sqliteStore({ path }) });
  try {
    const res = await fetch(`${server.url}/aiops/series?service=payment&from=${T0 + 60_000}&to=${T0 + 10 * 60_000}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ApiSeries;
    expect(body.series).toHaveLength(1);
    expect(body.series[0]).toMatchObject({ service: 'payment', operation: 'POST /payment', nodeType: 'service', baseline: null });
    expect(body.series[0].points).toEqual([
      { start: new Date(T0 + 60_000).toISOString(), durationMs: 60_000, requests: 120, errors: 6, rate: 2, errorRate: 0.05, latency: { p50: 30, p95: 45, p99: 60 }, baseline: null },
      { start: new Date(T0 + 120_000).toISOString(), durationMs: 60_000, requests: 90, errors: 90, rate: 1.5, errorRate: 1, latency: { p50: 30, p95: 45, p99: 60 }, baseline: null },
    ]);
  } finally {
    await server.close();
  }
});
