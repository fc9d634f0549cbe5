/**
 * `rootspan analyze --baseline NORMAL FILE`: learn from a fault-free recording, then judge a recording
 * whose fault starts seconds in (as RCA benchmarks hand out a normal and an abnormal period).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioByName, type Scenario } from '@rootspan/sim';
import type { JsonReport } from 'rootspan';
import { tempDir } from './helpers/data.js';
import { parseJson, run } from './helpers/run.js';

const S = 1000;
const tmp = tempDir();
let normal: string;
let abnormal: string;

beforeAll(() => {
  const healthy = scenarioByName('foreign-ticket-healthy') as Scenario;
  normal = tmp.scenario('normal.jsonl', healthy);
  // Another seed, no warm-up, and station 12x slower from the 5th second: too little of its own history to judge by.
  abnormal = tmp.scenario('abnormal.jsonl', {
    ...healthy,
    name: 'ticket-station-slow-at-once',
    seed: 4242,
    durationMs: 100 * S,
    faults: [{ type: 'latency', service: 'station', operation: 'GET /stations/:id', multiplier: 12, fromMs: 5 * S, toMs: 100 * S }],
  });
});
afterAll(() => tmp.cleanup());

describe('--baseline', () => {
  it('judges the file against what the normal recording taught, reporting only on the file', async () => {
    const r = await run(['analyze', '--baseline', normal, abnormal, '--json', '--no-progress']);
    expect(r.stderr).toBe('');
    const report = parseJson(r) as JsonReport;
    expect(report.incidents.map((i) => `${i.rootCause.service} ${i.rootCause.operation}`)).toEqual(['station GET /stations/:id']);
    const alone = parseJson(await run(['analyze', abnormal, '--json', '--no-progress'])) as JsonReport;
    // The summary covers the judged file only.
    expect(report.summary.spans).toBe(alone.summary.spans);
    expect(report.summary.from).toBe(alone.summary.from);
  });

  it('needs a file name, and not stdin', async () => {
    expect((await run(['analyze', abnormal, '--baseline'])).code).toBe(2);
    expect((await run(['analyze', '--baseline', '-', abnormal])).stderr).toMatch(/--baseline needs a file name/);
  });
});
