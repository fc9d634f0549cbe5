import { readFile, stat } from 'node:fs/promises';
import { createAnalyzer, type AnalyzerOptions, type Span } from '@rootspan/engine';
import { OtlpDecodeError, readOtlpFile } from '@rootspan/otlp';
import { USAGE, UsageError, parseArgs, type AnalyzeArgs } from './args.js';
import { humanReport, toJsonReport, type Summary } from './report.js';

/** Where the CLI writes; injectable so tests can run it in-process. */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
}

declare const ROOTSPAN_VERSION: string;
const VERSION = typeof ROOTSPAN_VERSION === 'string' ? ROOTSPAN_VERSION : '0.0.0-dev';

/** Runs the CLI; resolves to the process exit code (never rejects for bad input). */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`rootspan: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (args.command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.command === 'version') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  try {
    return await analyze(args, io);
  } catch (err) {
    if (err instanceof InputError || err instanceof OtlpDecodeError) {
      io.stderr.write(`rootspan: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** A problem with what the user gave us (file, config): reported as one line, exit code 2. */
class InputError extends Error {}

async function loadConfig(path: string | undefined): Promise<AnalyzerOptions> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
    return parsed as AnalyzerOptions;
  } catch (err) {
    throw new InputError(`config ${path}: ${(err as Error).message}`);
  }
}

/** Trace ids are hex: their last 13 digits (52 bits) identify a trace without keeping the strings. */
function traceKey(id: string): number {
  const n = parseInt(id.slice(-13), 16);
  return Number.isNaN(n) ? hashString(id) : n;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) + 2 ** 52;
}

async function analyze(args: AnalyzeArgs, io: Io): Promise<number> {
  const options = await loadConfig(args.config);
  let analyzer;
  try {
    analyzer = createAnalyzer(options);
  } catch (err) {
    throw new InputError(`config ${args.config}: ${(err as Error).message.replace(/^rootspan: /, '')}`);
  }
  const summary: Summary = { spans: 0, traces: 0, services: [], from: null, to: null, dropped: 0, problems: 0 };
  const traces = new Set<number>();
  const services = new Set<string>();
  const showProgress = args.progress ?? Boolean(io.stderr.isTTY);
  for (const file of args.files) {
    const total = file === '-' ? 0 : await fileSize(file);
    let bytes = 0;
    let lastShown = 0;
    const batches = readOtlpFile(file === '-' ? io.stdin : file, { strict: args.strict, name: file });
    try {
      for await (const batch of batches) {
        for (const p of batch.problems) {
          summary.problems++;
          if (!args.json || args.strict) io.stderr.write(`rootspan: ${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}\n`);
        }
        countSpans(batch.spans, summary, traces, services);
        analyzer.ingest(batch.spans);
        bytes += batch.bytes;
        if (showProgress && bytes - lastShown > 4 << 20) {
          lastShown = bytes;
          io.stderr.write(`\r${file}: ${mb(bytes)}${total > 0 ? ` / ${mb(total)} (${Math.round((bytes / total) * 100)}%)` : ''}, ${summary.spans} spans `);
        }
      }
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw err;
      throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
    }
    if (showProgress) io.stderr.write(`\r${file}: ${mb(bytes)}, ${summary.spans} spans, done\n`);
  }
  analyzer.flush();
  const stats = analyzer.stats();
  summary.traces = traces.size;
  summary.services = [...services].sort();
  summary.dropped = stats.dropped;
  const incidents = analyzer.incidents();
  if (args.json) {
    io.stdout.write(`${JSON.stringify(toJsonReport(summary, incidents, { ...stats.droppedBy }), null, 2)}\n`);
  } else {
    io.stdout.write(`${humanReport(summary, incidents)}\n`);
  }
  return args.failOnIncident && incidents.length > 0 ? 1 : 0;
}

function countSpans(spans: readonly Span[], summary: Summary, traces: Set<number>, services: Set<string>): void {
  for (const s of spans) {
    summary.spans++;
    traces.add(traceKey(s.traceId));
    services.add(s.service);
    if (summary.from === null || s.startTime < summary.from) summary.from = s.startTime;
    if (summary.to === null || s.endTime > summary.to) summary.to = s.endTime;
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
