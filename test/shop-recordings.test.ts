/**
 * The recorded example shop (packages/eval/recordings) replayed through the engine with the short windows
 * the central-server end-to-end test uses (1 s buckets, traces judged 200 ms after their last span,
 * incidents resolving after 4 s quiet). Each service's SDK exported its own spans, seconds apart, so many
 * traces are judged in halves and some land a window late: the engine must still tell one outage as one
 * incident attributed to the failing service (issue 13), never one per caller that gave up on it.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Incident } from '@rootspan/engine';
import { readOtlpFile } from '@rootspan/otlp';
import { RECORDINGS_DIR, readTruth } from '../packages/eval/src/recordings.js';

const CENTRAL = { bucketMs: 1000, latenessMs: 300, traceIdleMs: 200, anomalyEndMs: 3000, resolveAfterMs: 4000 };

async function replay(name: string): Promise<{ incidents: Incident[]; fault: { service: string; startMs: number; endMs: number } }> {
  const dir = join(RECORDINGS_DIR, name);
  const analyzer = createAnalyzer(CENTRAL);
  for await (const batch of readOtlpFile(join(dir, 'traces.jsonl.gz'))) analyzer.ingest(batch.spans);
  analyzer.flush();
  const [fault] = readTruth(dir).faults;
  return { incidents: analyzer.incidents().sort((a, b) => a.openedAt - b.openedAt), fault };
}

const story = (list: readonly Incident[]) => list.map((i) => `${i.id} ${i.title}: ${i.rootCause.explanation}`).join('\n');

describe('recorded shop under the central server\'s short windows', () => {
  it.each(['payment-cascading-failure', 'payment-deploy'])('%s: one incident names payment; no caller that gave up on it gets its own', async (name) => {
    const { incidents, fault } = await replay(name);
    const naming = incidents.filter((i) => i.rootCause.service === fault.service);
    expect(naming, story(incidents)).toHaveLength(1);
    expect(naming[0].openedAt).toBeGreaterThanOrEqual(fault.startMs);
    // Its callers' symptoms (errors, give-ups, calls they skipped) are in it, not in incidents of their own.
    expect(naming[0].affected.map((r) => r.service)).toEqual(expect.arrayContaining(['checkout', 'frontend']));
    expect(incidents.filter((i) => ['checkout', 'frontend'].includes(i.rootCause.service)).map((i) => i.title), story(incidents)).toEqual([]);
  }, 60_000);

  it('inventory-db: the write lock and the reads it blocks are one incident, rooted at the database', async () => {
    const { incidents, fault } = await replay('inventory-db');
    expect(incidents.map((i) => i.rootCause.service), story(incidents)).toEqual([fault.service]);
  }, 60_000);
});
