/** `rootspan analyze --db FILE`: what a replay found is kept in SQLite, and a later run continues from it. */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonReport } from 'rootspan';
import { sqliteStore } from '@rootspan/sqlite';
import { paymentErrors, tempDir } from './helpers/data.js';
import { parseJson, run } from './helpers/run.js';

const tmp = tempDir('rootspan-cli-db-');
afterAll(() => tmp.cleanup());

describe('analyze --db', () => {
  it('writes the incidents, their history, rollups and baselines the replay found', async () => {
    const input = tmp.scenario('payment.jsonl', paymentErrors());
    const db = join(tmp.dir, 'replay.db');
    const r = await run(['analyze', input, '--json', '--db', db]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = parseJson(r) as JsonReport;
    expect(report.incidents.length).toBeGreaterThan(0);

    const store = sqliteStore({ path: db });
    try {
      const stored = store.incidents({ limit: 500 });
      expect(stored.incidents.map((i) => i.id).sort()).toEqual(report.incidents.map((i) => i.id).sort());
      const pay = report.incidents.find((i) => i.rootCause.service === 'payment')!;
      expect(store.incident(pay.id)?.history[0].type).toBe('opened');
      const from = Date.parse(report.summary.from!);
      const to = Date.parse(report.summary.to!) + 60_000;
      const series = store.rollups({ from: from - 60_000, to, service: 'payment' });
      expect(series.length).toBeGreaterThan(0);
      const requests = series.reduce((n, s) => n + s.points.reduce((m, p) => m + p.requests, 0), 0);
      expect(requests).toBeGreaterThan(100);
      expect(store.loadSnapshot()?.operations.length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }

    // The same input again into the same file: its spans predate the stored state, and the user is told.
    const again = await run(['analyze', input, '--db', db]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`${db} held analysis up to .*spans of this input were older`));
  });

  it('a file that is not a database: one line naming it, exit 2', async () => {
    const input = tmp.scenario('p2.jsonl', paymentErrors());
    const notDb = tmp.file('notes.db', 'not a database at all, just some notes\n'.repeat(10));
    const r = await run(['analyze', input, '--db', notDb]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`rootspan: ${notDb} is not a SQLite database (it does not start with the SQLite header); refusing to use it\n`);
  });

  it('--db needs a file name', async () => {
    const r = await run(['analyze', 'x.jsonl', '--db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--db needs a file name/);
  });
});
