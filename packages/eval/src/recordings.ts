/**
 * Real traces: recordings of the example shop (`npm run shop:record`), each a directory with the OTLP/JSON
 * lines every service's SDK exported (`traces.jsonl.gz`) and the ground truth (`truth.json`). They run
 * through `rootspan analyze` exactly as the simulated scenarios do and are scored the same way, in a
 * table of their own.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GroundTruth } from '@rootspan/sim';
import { EMPTY_REPORT, analyzeFile } from './runner.js';
import { scoreScenario } from './score.js';
import { judgeGoals, summarize } from './goals.js';
import type { RecordingResults, ScenarioResult } from './types.js';

/** packages/eval/recordings, from src/ (tests) and dist/ alike. */
export const RECORDINGS_DIR = fileURLToPath(new URL('../recordings/', import.meta.url));

const TRACES = 'traces.jsonl.gz';
const TRUTH = 'truth.json';

/** `truth.json` as the recorder writes it: the eval's ground truth plus what the run was. */
export interface RecordingTruth extends GroundTruth {
  name: string;
  description: string;
  /** Shoppers' request rate. */
  rps: number;
  /** The recording's wall-clock (and event-time) span, epoch ms. */
  startMs: number;
  endMs: number;
  /** Spans the recorder received from the services' exporters. */
  spans: number;
}

/** The recording directories under `dir` (those with both files), sorted by name. */
export function listRecordings(dir: string = RECORDINGS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, TRACES)) && existsSync(join(dir, d.name, TRUTH)))
    .map((d) => join(dir, d.name))
    .sort();
}

/** Reads a recording's ground truth, checking the fields the scoring needs. */
export function readTruth(recording: string): RecordingTruth {
  const truth = JSON.parse(readFileSync(join(recording, TRUTH), 'utf8')) as RecordingTruth;
  if (!Array.isArray(truth.faults) || typeof truth.name !== 'string' || !Number.isFinite(truth.startMs) || !Number.isFinite(truth.endMs)) {
    throw new Error(`${join(recording, TRUTH)}: not a recording's ground truth (needs name, startMs, endMs, faults)`);
  }
  return truth;
}

/** Analyses one recording through the CLI and scores it. A CLI failure is recorded in `error`, as for scenarios. */
export async function runRecording(recording: string, foreign = false): Promise<ScenarioResult> {
  const started = performance.now();
  const truth = readTruth(recording);
  const base = {
    family: 'recorded' as const,
    name: truth.name,
    description: truth.description,
    baseRps: truth.rps,
    durationMs: truth.endMs - truth.startMs,
  };
  const tmp = foreign ? mkdtempSync(join(tmpdir(), 'rootspan-foreign-')) : null;
  try {
    let file = join(recording, TRACES);
    if (tmp !== null) {
      const out = join(tmp, TRACES);
      writeFileSync(out, gzipSync(stripOtlpLines(gunzipSync(readFileSync(file)).toString('utf8'))));
      file = out;
    }
    const report = await analyzeFile(file);
    return { ...base, spans: report.summary.spans, wallMs: Math.round(performance.now() - started), score: scoreScenario(truth, report), incidents: report.incidents };
  } catch (e) {
    return { ...base, spans: 0, wallMs: Math.round(performance.now() - started), score: scoreScenario(truth, EMPTY_REPORT), incidents: [], error: (e as Error).message };
  } finally {
    if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
  }
}

interface OtlpAttr { key: string }
interface OtlpLine { resourceSpans?: { resource?: { attributes?: OtlpAttr[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] }

/**
 * Strips OTLP/JSON lines to what another tracer shows: no status, no span kind, no attributes, events or
 * links; the resource keeps only `service.name`. Trace/span ids, parents, names and times stay.
 */
export function stripOtlpLines(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const doc = JSON.parse(line) as OtlpLine;
    for (const rs of doc.resourceSpans ?? []) {
      if (rs.resource) rs.resource.attributes = (rs.resource.attributes ?? []).filter((a) => a.key === 'service.name');
      for (const ss of rs.scopeSpans ?? []) {
        for (const sp of ss.spans ?? []) {
          for (const k of ['status', 'kind', 'attributes', 'events', 'links', 'droppedAttributesCount']) delete sp[k];
        }
      }
    }
    out.push(JSON.stringify(doc));
  }
  return out.join('\n') + '\n';
}

/** The recordings whose directory or name contains `filter` (all when null). */
export function selectRecordings(filter: string | null, dir: string = RECORDINGS_DIR): string[] {
  return listRecordings(dir).filter((d) => filter === null || basename(d).includes(filter) || readTruth(d).name.includes(filter));
}

/** Runs and scores recordings one after another (each is small), with totals and goals of their own. */
export async function runRecordings(dirs: readonly string[], onResult?: (r: ScenarioResult, index: number) => void, foreign = false): Promise<RecordingResults> {
  const scenarios: ScenarioResult[] = [];
  for (const dir of dirs) {
    const r = await runRecording(dir, foreign);
    scenarios.push(r);
    onResult?.(r, scenarios.length);
  }
  const totals = summarize(scenarios);
  return { totals, goals: judgeGoals(totals), scenarios };
}
