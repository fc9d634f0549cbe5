import { describe, expect, it } from 'vitest';
import type { Incident, Span } from '../src/index.js';
import { openedBy } from './helpers/events.js';
import { TraceBuilder } from './helpers/spans.js';
import { SHOP_START } from './helpers/shop.js';

const LOCK_AT = SHOP_START + 3 * 60_000;
const LOCK_MS = 30_000;

/** A job: the worker's request and its UPDATE, `db` ms long from `at` (its own time 2 ms around it). */
function job(at: number, db: number): Span[] {
  const b = new TraceBuilder();
  const req = b.server('worker', '/jobs', at, at + db + 4);
  b.db(req, 'postgresql', 'UPDATE', at + 2, at + 2 + db);
  return b.spans;
}

/**
 * A worker taking 20 jobs a second, each one UPDATE of 1–3 ms, for five minutes; at LOCK_AT, `held` jobs'
 * UPDATEs start `apartMs` apart and each waits `LOCK_MS` (a row lock, then released, or each on its own):
 * the incidents opened. While they wait no other job runs if `blocking` (its four workers all held).
 */
function run(held: number, apartMs: number, blocking: boolean): Incident[] {
  const spans: Span[] = [];
  for (let t = 0; t < 5 * 60_000; t += 50) {
    const at = SHOP_START + t;
    if (blocking && at >= LOCK_AT && at < LOCK_AT + LOCK_MS) continue;
    spans.push(...job(at, 1 + ((t / 50) % 3)));
  }
  for (let i = 0; i < held; i++) spans.push(...job(LOCK_AT + i * apartMs + 7, LOCK_MS));
  spans.sort((a, b) => a.endTime - b.endTime);
  return openedBy(spans, 50);
}

describe('requests held together (a lock, then released)', () => {
  it('are a critical incident of the statement they waited on, though too few to move its p95', () => {
    // Before: none; 4 of about 100 UPDATEs in the bucket of the release, under the tail's 5 %.
    const opened = run(4, 0, true);
    expect(opened.map((i) => [i.title, i.severity])).toEqual([['Latency in postgresql UPDATE orders', 'critical']]);
    const [incident] = opened;
    // Its own words lead: the p95 of the window (4 of ~1000 calls) says nothing of them.
    expect(incident.rootCause.explanation).toMatch(/^postgresql UPDATE orders held 4 of \d+ calls at once for up to 30\.0 s vs baseline p95/);
    expect(incident.anomalies.map((a) => [a.signal, a.held])).toEqual([['latency.tail', 4]]);
    expect(incident.openedAt).toBeLessThanOrEqual(LOCK_AT + LOCK_MS + 15_000);
  });

  it('the same long requests one after another, none in flight with another, are no lock', () => {
    expect(run(4, 31_000, false)).toEqual([]);
  });

  it("of a route whose own slowdown told them are that slowdown's, not an incident of their own once it ends (probe 7)", () => {
    // A lock on articles holds a pool's ten connections for a minute: every api request waits for one (no
    // span), its client gives up at 10 s, and its query runs after the release. Before: the routes' held
    // requests fired once their latency episodes had ended, and opened "Latency in api GET /profiles/:username"
    // 35 s after the release, beside the lock's incident.
    const lockAt = SHOP_START + 180_000;
    const release = lockAt + 60_000;
    const routes = [['/articles/:slug', 'articles'], ['/articles', 'articles'], ['/profiles/:username', 'users']];
    const select = (table: string) => ({ name: `SELECT ${table}`, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': table } });
    const spans: Span[] = [];
    for (let t = 0, k = 0; t < 420_000; t += 33, k++) {
      const [route, table] = routes[k % 3];
      const at = SHOP_START + t;
      const waits = at >= lockAt && at < release;
      const q0 = waits ? release + ((k * 7919) % 3000) : at + 0.5;
      const b = new TraceBuilder();
      const req = b.server('api', route, at, waits ? Math.min(at + 10_000, q0 + 3) : q0 + 3);
      b.db(req, 'postgresql', 'SELECT', q0, q0 + 1 + (k % 3), select(table));
      spans.push(...b.spans);
    }
    // The statements that held the connections: from the lock to the release.
    for (let c = 0; c < 10; c++) {
      const b = new TraceBuilder();
      const at = lockAt - 200 + 20 * c;
      b.db(b.server('api', '/articles/:slug', at, at + 10_000), 'postgresql', 'SELECT', at + 0.5, release, select('articles'));
      spans.push(...b.spans);
    }
    spans.sort((a, b) => a.endTime - b.endTime);
    const opened = openedBy(spans, 100);
    expect(opened.map((i) => i.title)).toEqual(['Latency in postgresql SELECT articles, affecting api']);
  });
});
