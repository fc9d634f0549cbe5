/**
 * `npm run demo:sim`: a checkout → payment cascade in a simulated shop, caught and explained.
 * First live (spans streamed through the analyzer, events printed as they happen in event time), then
 * offline, the way a user would run it on a Collector file: `rootspan analyze traces.jsonl`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAnalyzer } from '@rootspan/engine';
import { scenarioByName, simulateBatches } from '@rootspan/sim';
import { main } from 'rootspan';
import { writeScenarioFile } from './runner.js';

const SCENARIO = 'shop-payment-errors';

async function demo(): Promise<void> {
  const scenario = scenarioByName(SCENARIO);
  if (scenario === undefined) throw new Error(`scenario ${SCENARIO} is missing`);
  const fault = scenario.truth.faults[0];
  const start = fault.startMs - (fault.startMs - Date.UTC(2026, 0, 1));
  const clock = (t: number): string => {
    const s = Math.round((t - start) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);

  out('rootspan demo: a shop (frontend → checkout → inventory / payment / shipping, with postgresql and redis)');
  out(`${scenario.description}`);
  out(`Simulated ${Math.round(scenario.durationMs / 60000)} minutes of traffic at ${scenario.baseRps} req/s; the fault starts at ${clock(fault.startMs)} and ends at ${clock(fault.endMs)}.`);
  out();
  out('── Live: spans streamed into the analyzer (times are event time since the start) ──');
  const analyzer = createAnalyzer();
  analyzer.onAnomaly((a) => out(`  ${clock(a.at)}  anomaly   ${a.explanation}`));
  analyzer.onIncident(({ type, incident }) => {
    if (type === 'updated') return;
    const rc = incident.rootCause;
    const at = type === 'resolved' ? (incident.resolvedAt ?? incident.updatedAt) : type === 'reopened' ? incident.updatedAt : incident.openedAt;
    out(`  ${clock(at)}  incident  ${type.toUpperCase()} ${incident.id} [${incident.severity}] ${incident.title}`);
    if (type === 'opened') {
      out(`                   root cause: ${rc.service} ${rc.operation ?? ''} (${rc.kind}, confidence ${Math.round(rc.confidence * 100)}%)`);
      out(`                   detected ${Math.round((incident.openedAt - fault.startMs) / 1000)} s after the fault started`);
    }
  });
  for (const batch of simulateBatches(scenario)) analyzer.ingest(batch.spans);
  analyzer.flush();
  out();
  out('── Offline: the same traffic as a Collector file, through the CLI ──');
  const dir = await mkdtemp(join(tmpdir(), 'rootspan-demo-'));
  try {
    const file = join(dir, 'traces.jsonl');
    const spans = writeScenarioFile(scenario, file);
    out(`$ rootspan analyze traces.jsonl      (${spans} spans of OTLP/JSON)`);
    out();
    await main(['analyze', file, '--no-progress']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

demo().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
