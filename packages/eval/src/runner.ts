/**
 * Runs one scenario the way a user would: simulated spans → an OTLP/JSON lines file (the Collector's
 * file-exporter format) → `rootspan analyze --json` in-process → the JSON report → a score. Going
 * through the file and the CLI, not the engine API, means the suite also covers the OTLP encoding and
 * decoding and the CLI's defaults.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { encodeOtlpJson } from '@rootspan/otlp';
import { scenarioByName, simulateBatches, type Scenario } from '@rootspan/sim';
import { main, type JsonReport } from 'rootspan';
import { scoreScenario } from './score.js';
import type { ScenarioResult } from './types.js';

/** Lines are gathered to about this many characters per write: one syscall per batch would dominate. */
const WRITE_CHUNK_CHARS = 4 << 20;

/**
 * Writes the scenario's spans to `file` as OTLP/JSON lines, one ExportTraceServiceRequest per
 * simulated batch-processor export, in export order. Streams, so memory stays bounded on long runs.
 * Returns the number of spans written.
 */
export function writeScenarioFile(scenario: Scenario, file: string): number {
  const fd = openSync(file, 'w');
  let spans = 0;
  let pending: string[] = [];
  let pendingChars = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    writeSync(fd, pending.join(''));
    pending = [];
    pendingChars = 0;
  };
  try {
    for (const batch of simulateBatches(scenario)) {
      if (batch.spans.length === 0) continue;
      spans += batch.spans.length;
      const line = `${JSON.stringify(encodeOtlpJson(batch.spans))}\n`;
      pending.push(line);
      pendingChars += line.length;
      if (pendingChars >= WRITE_CHUNK_CHARS) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return spans;
}

/** A writable that keeps everything written to it, standing in for stdout/stderr. */
class Capture extends Writable {
  private readonly chunks: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    done();
  }
  text(): string {
    return this.chunks.join('');
  }
}

/** Runs `rootspan analyze <file> --json --no-progress` in-process and parses its report. */
export async function analyzeFile(file: string): Promise<JsonReport> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['analyze', file, '--json', '--no-progress'], { stdout, stderr, stdin: Readable.from([]) });
  const err = stderr.text().trim();
  if (code !== 0) throw new Error(`rootspan analyze exited with ${code}${err ? `: ${err}` : ''}`);
  try {
    return JSON.parse(stdout.text()) as JsonReport;
  } catch (e) {
    throw new Error(`rootspan analyze printed no JSON report (${(e as Error).message})${err ? `: ${err}` : ''}`);
  }
}

export const EMPTY_REPORT: JsonReport = {
  summary: { spans: 0, traces: 0, services: [], from: null, to: null, dropped: 0, droppedBy: {}, malformed: 0 },
  incidents: [],
};

/**
 * Simulates, analyses through the CLI and scores one scenario (by object or catalogue name). The temp
 * file is always removed. A CLI failure does not reject: it is recorded in `error` and scored as an
 * empty report, so one broken scenario does not hide the rest of the suite.
 */
export async function runScenario(scenario: Scenario | string): Promise<ScenarioResult> {
  const sc = typeof scenario === 'string' ? scenarioByName(scenario) : scenario;
  if (!sc) throw new Error(`unknown scenario '${String(scenario)}'`);
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'rootspan-eval-'));
  let spans = 0;
  let report = EMPTY_REPORT;
  let error: string | undefined;
  try {
    const file = join(dir, `${sc.name}.jsonl`);
    spans = writeScenarioFile(sc, file);
    report = await analyzeFile(file);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    name: sc.name,
    family: sc.family ?? 'catalogue',
    description: sc.description,
    baseRps: sc.baseRps,
    durationMs: sc.durationMs,
    spans,
    wallMs: Math.round(performance.now() - started),
    score: scoreScenario(sc.truth, report),
    incidents: report.incidents,
    ...(error !== undefined ? { error } : {}),
  };
}
