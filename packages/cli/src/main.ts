import { readFile, stat } from 'node:fs/promises';
import { createAnalyzer, type Analyzer, type AnalyzerOptions, type Span } from '@rootspan/engine';
import { operationCounts } from '@rootspan/server/shapes';
import { EXPORT_HOLD_MS, EndTimeWindow, OtlpDecodeError, formatFromPath, formatProblem, readOtlpFile, type DecodeProblem } from '@rootspan/otlp';
import { USAGE, UsageError, parseArgs, type AnalyzeArgs } from './args.js';
import { AcceptedRange } from './accepted-range.js';
import { InputError, engineInputError, internalErrorLine } from './errors.js';
import { learnedFrom } from './baseline.js';
import { expandInputs } from './inputs.js';
import { printable } from './printable.js';
import { Progress } from './progress.js';
import { IdleCores, readInput } from './reading.js';
import { TraceCount } from './trace-count.js';
import { humanReport, reportedIncidents, toJsonReport, type Summary } from './report.js';

/** Where the CLI writes; injectable so tests can run it in-process. */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
}

declare const ROOTSPAN_VERSION: string;
const VERSION = typeof ROOTSPAN_VERSION === 'string' ? ROOTSPAN_VERSION : '0.0.0-dev';

/** Runs the CLI; resolves to the process exit code. Never rejects: an error is one line on stderr, exit 2. */
export async function main(argv: readonly string[], io: Io = process): Promise<number> {
  // Loaded only for `serve`: the server, its dashboard and the PostgreSQL driver cost ~100 ms to import.
  if (argv[0] === 'serve') return (await import('./serve.js')).serve(argv.slice(1), io);
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`rootspan: ${printable(err.message)}\n\n${USAGE}\n`);
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
    // Whatever went wrong, one line and exit 2: never a stack trace, in --json mode neither.
    if (err instanceof InputError) {
      // Its own line breaks are kept: a store's error ends with the commands that fix it, one a line.
      io.stderr.write(`rootspan: ${err.message.split('\n').map(printable).join('\n')}\n`);
    } else {
      complain(io, err instanceof OtlpDecodeError ? err.message : internalErrorLine(err));
    }
    return 2;
  }
}

/** Opens `--db`: the analyzer continues from the file's state and its findings are written there. */
async function openDb(path: string, analyzer: ReturnType<typeof createAnalyzer>) {
  // Loaded only for --db: the SQLite driver is not needed otherwise.
  const { sqliteStore } = await import('@rootspan/sqlite');
  try {
    const attachment = sqliteStore({ path }).attach(analyzer);
    return { attachment, resumedAt: attachment.stats().restored ? analyzer.now() : null };
  } catch (err) {
    // The store's errors name the file already.
    throw engineInputError('', err);
  }
}

async function loadConfig(path: string | undefined): Promise<AnalyzerOptions> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read config ${path}`, (err as Error).message, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InputError(`config ${path}`, `invalid JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InputError(`config ${path}`, 'expected a JSON object');
  // The engine validates every field (unknown names, non-positive numbers) when the analyzer is created.
  return parsed as AnalyzerOptions;
}

/** Spans of a document held to be analysed in end-time order (~125 MB at most). */
const SORT_WINDOW = 250_000;

/** Malformed records printed per input; the rest are counted (a broken 1 GB file must not flood the terminal). */
const MAX_PROBLEMS_SHOWN = 20;

/** `rootspan analyze`: every input through one analyzer, in the order given, then one report. */
async function analyze(args: AnalyzeArgs, io: Io): Promise<number> {
  // A directory stands for the trace files in it.
  const skipped = (path: string, why: string) => complain(io, `${path}: skipped, ${why}`);
  const baseline = args.baseline === undefined ? [] : await expandInputs([args.baseline], skipped);
  const inputs = [...baseline, ...(await expandInputs(args.files, skipped))];
  const options = await loadConfig(args.config);
  let analyzer: Analyzer;
  try {
    analyzer = createAnalyzer(options);
  } catch (err) {
    throw engineInputError(`config ${args.config}`, err);
  }
  const persisted = args.db === undefined ? undefined : await openDb(args.db, analyzer);
  const lateBefore = analyzer.stats().droppedBy.late;
  const summary: Summary = { spans: 0, traces: 0, services: [], from: null, to: null, dropped: 0, problems: 0 };
  const traces = new TraceCount();
  const services = new Set<string>();
  let range = new AcceptedRange();
  const progress = new Progress(io.stderr, args.progress ?? Boolean(io.stderr.isTTY));
  // With --baseline, the recording goes first through the same reading path; what was learned from it
  // then carries over into a fresh analyzer, with its own time and nothing reported about the recording.
  const idle = new IdleCores();
  const ingest = (spans: Span[]) => range.ingest(analyzer, spans);
  // One window for all inputs: a directory of per-export files (a receiver's or recorder's, one request per
  // file) is one stream, and a trace's halves in two services' files must reach the analyzer together, as
  // in the same exports' JSONL (flushed per file, they were analysed apart: callers' calls without their
  // answers, read as timeouts). It changes only with the kind of input (see below).
  let window: EndTimeWindow | undefined;
  let holds = false;
  for (let i = 0; i < inputs.length; i++) {
    const file = inputs[i];
    if (baseline.length > 0 && i === baseline.length) {
      window?.flush();
      window = undefined;
      analyzer = learnedFrom(analyzer, options);
      Object.assign(summary, { spans: 0, problems: 0 });
      range = new AcceptedRange();
      traces.clear();
      services.clear();
    }
    // Messages name the input as the user would look for it: `-` means nothing in `-:3: invalid JSON`.
    const name = file === '-' ? 'stdin' : file;
    const total = file === '-' ? 0 : await fileSize(file);
    const before = { spans: summary.spans, problems: summary.problems };
    const format = file === '-' ? 'auto' : formatFromPath(file);
    // A `.json`/`.pb` file is one document (a request or an array of them). OTLP groups a request's spans
    // by resource, so a request covering minutes lists all of one service's spans, then all of the next
    // one's: fed in that order, the second service's spans arrive minutes "late" and are dropped.
    // Documents are therefore analysed in end-time order, within a bounded window. JSONL streams
    // exporters' batches as they arrived: held for an export period and merged in end-time order, as the
    // server's intake merges live traffic, so a trace's halves from two services are analysed together.
    // Which stdin (or a file of another name) is, the reader tells with the first spans.
    let bytes = 0;
    let damaged: DecodeProblem | undefined;
    const reading = { strict: args.strict, name };
    const batches = file === '-' ? readOtlpFile(io.stdin, reading) : await readInput(file, reading, args.threads, total, idle);
    try {
      for await (const batch of batches) {
        for (const p of batch.problems) {
          if (p.kind === 'decompression') {
            damaged ??= p;
            continue;
          }
          // Printed in --json mode too: stderr is not part of the machine output, and the user must learn
          // which lines were skipped (the report only counts them).
          if (summary.problems - before.problems < MAX_PROBLEMS_SHOWN) {
            progress.interrupt();
            complain(io, formatProblem(p, name));
          }
          summary.problems++;
        }
        countSpans(batch.spans, summary, traces, services);
        if (batch.spans.length > 0) {
          const hold = !(format === 'json' || format === 'protobuf' || batch.document);
          if (window === undefined || hold !== holds) {
            window?.flush();
            window = hold ? new EndTimeWindow(SORT_WINDOW, ingest, EXPORT_HOLD_MS) : new EndTimeWindow(SORT_WINDOW, ingest);
            holds = hold;
          }
          window.push(batch.spans);
        }
        bytes += batch.bytes;
        progress.update(name, bytes, total, summary.spans - before.spans);
      }
    } catch (err) {
      progress.interrupt();
      if (err instanceof OtlpDecodeError) throw err;
      throw new InputError(`cannot read ${name}`, (err as Error).message, { cause: err });
    }
    progress.done(name, bytes, summary.spans - before.spans);
    const problems = summary.problems - before.problems;
    if (problems > MAX_PROBLEMS_SHOWN) complain(io, `${name}: ${problems - MAX_PROBLEMS_SHOWN} more malformed records not shown`);
    // Compressed data that does not inflate whole lost an unknown part of the input: no report on the rest.
    if (damaged !== undefined) throw new InputError(`cannot read ${name}`, damaged.message);
    // An input without a single span (empty, not OTLP, the wrong format, every span malformed): "0 spans,
    // no incidents" and exit 0 would let a CI gate pass on a broken pipeline.
    if (summary.spans === before.spans) throw new InputError(`cannot read ${name}`, nothingDecoded(problems, bytes));
  }
  window?.flush();
  analyzer.flush();
  const stats = analyzer.stats();
  const late = stats.droppedBy.late - lateBefore;
  if (persisted !== undefined) {
    await persisted.attachment.close();
    const failed = persisted.attachment.stats();
    if (failed.writeErrors > 0) throw new InputError(`could not save to ${args.db}`, String(failed.lastError));
    if (persisted.resumedAt !== null && late > 0) {
      complain(io, `${args.db} held analysis up to ${new Date(persisted.resumedAt).toISOString()}; ${late} spans of this input were older and were counted late (use a new --db file for unrelated data)`);
    }
  }
  // Spans that come minutes after later ones (files given out of time order, files that each span the whole
  // period) are dropped as late: a report on what is left must say so, and a gate must not pass.
  const outOfOrder = (persisted === undefined || persisted.resumedAt === null) && late * LATE_WARN_SHARE >= summary.spans && late > 0;
  if (outOfOrder) {
    complain(
      io,
      `${late} of ${summary.spans} spans (${Math.round((100 * late) / summary.spans)}%) were dropped as late: the input goes back in time by minutes (inputs are read in the order given, a directory's files by the time of their first spans); give the files in time order, or merge them into one`,
    );
  }
  summary.traces = traces.size;
  summary.services = [...services].sort();
  Object.assign(summary, range.bounds());
  summary.dropped = stats.dropped;
  summary.operations = operationCounts(stats);
  const incidents = reportedIncidents(analyzer.incidents());
  if (args.json) {
    io.stdout.write(`${JSON.stringify(toJsonReport(summary, incidents, { ...stats.droppedBy }), null, 2)}\n`);
  } else {
    io.stdout.write(`${humanReport(summary, incidents)}\n`);
  }
  // Most of the input unanalysed is an unreadable input (exit 2), not a clean bill of health.
  if (outOfOrder && late * 2 > summary.spans) return 2;
  return args.failOnIncident && incidents.length > 0 ? 1 : 0;
}

/** One line on stderr under the CLI's name; it may quote the input, so its control characters are escaped. */
function complain(io: Io, line: string): void {
  io.stderr.write(`rootspan: ${printable(line)}\n`);
}

/** Late spans from this share of the input up (1 / n) are warned about; from half up, the exit code is 2. */
const LATE_WARN_SHARE = 10;

/** Why an input gave no spans. */
function nothingDecoded(problems: number, bytes: number): string {
  if (problems > 0) return `no OTLP trace data in it (${problems} malformed record${problems === 1 ? '' : 's'}, none decoded)`;
  return bytes === 0 ? 'it is empty' : 'no spans in it';
}

function countSpans(spans: readonly Span[], summary: Summary, traces: TraceCount, services: Set<string>): void {
  // A request lists a trace's spans together and a resource's spans under one service: look up on change only.
  let trace: string | undefined;
  let service: string | undefined;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.traceId !== trace) traces.add((trace = s.traceId));
    if (s.service !== service) services.add((service = s.service));
  }
  summary.spans += spans.length;
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    throw new InputError(`cannot read ${file}`, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message, { cause: err });
  }
}
