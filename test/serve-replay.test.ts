/**
 * Event time comes from the spans: a recorded file posted fast to the server, then `POST /aiops/analyze`,
 * gives the same incidents as `rootspan analyze --json` on the file (every field the two shapes share).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { writeScenarioFile } from '@rootspan/eval';
import { startServer } from '@rootspan/server';
import { scenarioByName } from '@rootspan/sim';
import { main, type JsonIncident, type JsonReport } from 'rootspan';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function analyzeWithCli(file: string): Promise<JsonReport> {
  let out = '';
  const sink = (write: (s: string) => void) => new Writable({ write: (c, _e, done) => (write(String(c)), done()) });
  const code = await main(['analyze', file, '--json'], { stdout: sink((s) => (out += s)), stderr: sink(() => {}), stdin: Readable.from([]) });
  expect(code).toBe(0);
  return JSON.parse(out) as JsonReport;
}

describe('replaying a recorded file through the server', () => {
  for (const name of ['shop-payment-errors', 'shop-payment-slow']) {
    it(`${name}: the same incidents as rootspan analyze`, async () => {
      const base = scenarioByName(name)!;
      const file = join(dir, `${name}.jsonl`);
      writeScenarioFile({ ...base, durationMs: 9 * 60_000 }, file);
      const report = await analyzeWithCli(file);
      expect(report.incidents.length).toBeGreaterThan(0);

      const server = await startServer({ port: 0, log: () => {} });
      try {
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          if (line === '') continue;
          const res = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: line });
          expect(res.status).toBe(200);
        }
        expect((await fetch(`${server.url}/aiops/analyze`, { method: 'POST' })).status).toBe(200);
        const res = await fetch(`${server.url}/aiops/incidents?limit=1000`);
        const { incidents } = (await res.json()) as { incidents: unknown[] };
        const api = (incidents as JsonIncident[]).sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt));
        // The API's incidents are a superset of the CLI's: every field of the CLI's must be equal.
        expect(api).toHaveLength(report.incidents.length);
        expect(api).toMatchObject(report.incidents);
        expect(server.status().ingest.spansAccepted).toBe(report.summary.spans - report.summary.dropped);
      } finally {
        await server.close();
      }
      // Thousands of sequential requests: seconds, more on a busy machine.
    }, 120_000);
  }
});
