/**
 * `node packages/eval/dist/run.js [--filter substring] [--json out.json] [--jobs n] [--check]`
 * (`npm run eval`): runs the fault-scenario catalogue through the CLI, prints the scored table and the
 * goals, and writes the full results as JSON. Exit code 0 even when goals fail (it is a report), unless
 * `--check`. This same module is the worker script of the thread pool.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { SCENARIOS } from '@rootspan/sim';
import { judgeForeignGoals, judgeGoals, summarize } from './goals.js';
import { WORKER_DATA, runPool, serveWorker } from './pool.js';
import { runRecordings, selectRecordings } from './recordings.js';
import { formatMarkdown, formatTable } from './table.js';
import type { SuiteResults } from './types.js';

const FAMILIES = [
  ['catalogue', judgeGoals, 'Scenario catalogue (OpenTelemetry spans, long healthy history)'],
  ['foreign', judgeForeignGoals, 'Foreign tracers (no status/kind/attributes, short history, uninstrumented callees)'],
] as const;

const USAGE = `Usage: node packages/eval/dist/run.js [options]

  --filter <substring>   only scenarios whose name contains it
  --json <file>          where to write the results JSON (default: eval/results/latest.json)
  --jobs <n>             worker threads (default: available cores)
  --check                exit 1 when any goal fails (default: always 0; the table is a report)
  --markdown             print the report as a Markdown table (as in the README)
  -h, --help             this help`;

/** dist/run.js → the repository root, so the default output lands in eval/results/ wherever we are run from. */
const DEFAULT_OUT = fileURLToPath(new URL('../../../eval/results/latest.json', import.meta.url));

interface Options {
  filter: string | null;
  out: string;
  jobs: number;
  check: boolean;
  markdown: boolean;
}

function parse(argv: readonly string[]): Options | 'help' {
  const o: Options = { filter: null, out: DEFAULT_OUT, jobs: availableParallelism(), check: false, markdown: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '-h' || a === '--help') return 'help';
    else if (a === '--filter') o.filter = value();
    else if (a === '--json') o.out = resolve(value());
    else if (a === '--check') o.check = true;
    else if (a === '--markdown') o.markdown = true;
    else if (a === '--jobs') {
      o.jobs = Number(value());
      if (!Number.isInteger(o.jobs) || o.jobs < 1) throw new Error('--jobs needs a positive integer');
    } else throw new Error(`unknown option '${a}'`);
  }
  return o;
}

async function cli(argv: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parse(argv);
  } catch (err) {
    process.stderr.write(`eval: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const filter = opts.filter;
  const names = SCENARIOS.map((s) => s.name).filter((n) => filter === null || n.includes(filter));
  const recordings = selectRecordings(filter);
  if (names.length === 0 && recordings.length === 0) {
    process.stderr.write(`eval: no scenario or recording name contains '${filter}'\n`);
    return 2;
  }
  const started = performance.now();
  let done = 0;
  const results = names.length === 0 ? [] : await runPool(names, opts.jobs, new URL(import.meta.url), (r) => {
    done++;
    // Progress on stderr so stdout stays just the report.
    process.stderr.write(`[${done}/${names.length}] ${r.name}: ${r.spans} spans, ${(r.wallMs / 1000).toFixed(1)} s${r.error ? ` ERROR ${r.error}` : ''}\n`);
  });
  const format = opts.markdown ? formatMarkdown : formatTable;
  // Each family is its own table with its own goals: the catalogue, then the foreign-tracer family.
  const families: SuiteResults['families'] = {};
  for (const [family, judge, title] of FAMILIES) {
    const mine = results.filter((r) => r.family === family);
    if (mine.length === 0) continue;
    const totals = summarize(mine);
    const goals = judge(totals);
    families[family] = { goals, totals };
    process.stdout.write(`\n${opts.markdown ? `#### ${title}\n\n` : `${title}\n\n`}${format(mine, totals, goals)}\n`);
  }
  const catalogue = families.catalogue ?? { totals: summarize([]), goals: judgeGoals(summarize([])) };
  const real = recordings.length === 0 ? null : await runRecordings(recordings, (r, i) => {
    process.stderr.write(`[recording ${i}/${recordings.length}] ${r.name}: ${r.spans} spans, ${(r.wallMs / 1000).toFixed(1)} s${r.error ? ` ERROR ${r.error}` : ''}\n`);
  });
  if (real) process.stdout.write(`\nReal traces: the example shop recorded with \`npm run shop:record\` (packages/eval/recordings)\n\n${format(real.scenarios, real.totals, real.goals)}\n`);
  const realForeign = recordings.length === 0 ? null : await runRecordings(recordings, undefined, true);
  if (realForeign) process.stdout.write(`\nReal traces, foreign copy: the same recordings stripped of status, span kind and attributes\n\n${format(realForeign.scenarios, realForeign.totals, realForeign.goals)}\n`);
  const suite: SuiteResults = {
    generatedAt: new Date().toISOString(),
    wallMs: Math.round(performance.now() - started),
    filter,
    goals: catalogue.goals,
    totals: catalogue.totals,
    families,
    scenarios: results,
    ...(real ? { recordings: real } : {}),
    ...(realForeign ? { recordingsForeign: realForeign } : {}),
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(suite, null, 2)}\n`);
  process.stdout.write(`Finished in ${(suite.wallMs / 1000).toFixed(1)} s on ${Math.min(opts.jobs, names.length)} worker(s); results in ${opts.out}\n`);
  const allGoals = [...Object.values(families).flatMap((f) => f.goals), ...(real?.goals ?? []), ...(realForeign?.goals ?? [])];
  return opts.check && allGoals.some((g) => !g.pass) ? 1 : 0;
}

if (!isMainThread && (workerData as typeof WORKER_DATA | undefined)?.role === WORKER_DATA.role) {
  serveWorker();
} else {
  process.exitCode = await cli(process.argv.slice(2));
}
