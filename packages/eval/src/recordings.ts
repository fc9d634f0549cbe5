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
import type { GroundTruth, TruthFault } from '@rootspan/sim';
import { foldPath } from '@rootspan/engine';
import { EMPTY_REPORT, analyzeFile } from './runner.js';
import { scoreScenario, type ScoredFault } from './score.js';
import { judgeForeignGoals, judgeGoals, summarize } from './goals.js';
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
    let scored: GroundTruth & { faults: ScoredFault[] } = truth;
    if (tmp !== null) {
      const text = gunzipSync(readFileSync(file)).toString('utf8');
      const out = join(tmp, TRACES);
      writeFileSync(out, gzipSync(stripOtlpLines(text)));
      file = out;
      scored = { ...truth, faults: peerCalls(text, truth.faults) };
    }
    const report = await analyzeFile(file);
    return { ...base, spans: report.summary.spans, wallMs: Math.round(performance.now() - started), score: scoreScenario(scored, report), incidents: report.incidents };
  } catch (e) {
    return { ...base, spans: 0, wallMs: Math.round(performance.now() - started), score: scoreScenario(truth, EMPTY_REPORT), incidents: [], error: (e as Error).message };
  } finally {
    if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
  }
}

interface OtlpAttr { key: string; value?: { stringValue?: string } }
interface OtlpLine { resourceSpans?: { resource?: { attributes?: OtlpAttr[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] }

/** Attributes by which a client span names the node it calls (those the engine reads to name a peer). */
const PEER_ATTRIBUTES = new Set(['peer.service', 'db.system.name', 'db.system', 'messaging.system', 'messaging.destination.name', 'server.address', 'net.peer.name', 'rpc.service']);

/**
 * The faults, each on a node that records no spans of its own (an uninstrumented service, a database)
 * with the calls that reach it, read from the recording with its attributes: the calling service and the
 * call's span name, which is all a copy without attributes shows of that node (see {@link ScoredFault}).
 * Faults on instrumented services are returned as they are: their own spans name them.
 */
export function peerCalls(text: string, faults: readonly TruthFault[]): ScoredFault[] {
  const services = new Set<string>();
  const calls = new Map<string, Map<string, { service: string; operation: string }>>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    for (const rs of (JSON.parse(line) as OtlpLine).resourceSpans ?? []) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? 'unknown_service';
      services.add(service);
      for (const ss of rs.scopeSpans ?? []) {
        for (const sp of ss.spans ?? []) {
          for (const a of (sp.attributes as OtlpAttr[] | undefined) ?? []) {
            const peer = a.value?.stringValue;
            if (peer === undefined || !PEER_ATTRIBUTES.has(a.key)) continue;
            const operation = foldPath(String(sp.name));
            let mine = calls.get(peer);
            if (mine === undefined) calls.set(peer, (mine = new Map()));
            mine.set(`${service} ${operation}`, { service, operation });
          }
        }
      }
    }
  }
  return faults.map((f) => (services.has(f.service) ? f : { ...f, via: [...(calls.get(f.service)?.values() ?? [])] }));
}

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

/**
 * Runs and scores recordings one after another (each is small), with totals and goals of their own: the
 * catalogue's goals for the recordings as they are, the foreign-tracer family's for the stripped copy.
 */
export async function runRecordings(dirs: readonly string[], onResult?: (r: ScenarioResult, index: number) => void, foreign = false): Promise<RecordingResults> {
  const scenarios: ScenarioResult[] = [];
  for (const dir of dirs) {
    const r = await runRecording(dir, foreign);
    scenarios.push(r);
    onResult?.(r, scenarios.length);
  }
  const totals = summarize(scenarios);
  return { totals, goals: foreign ? judgeForeignGoals(totals) : judgeGoals(totals), scenarios };
}
