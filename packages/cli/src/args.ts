/** Command-line parsing for `rootspan`: small on purpose (no dependency), strict about unknown flags. */

export class UsageError extends Error {}

export interface AnalyzeArgs {
  command: 'analyze';
  files: string[];
  json: boolean;
  config: string | undefined;
  /** A fault-free recording learned before the files are judged. */
  baseline: string | undefined;
  strict: boolean;
  failOnIncident: boolean;
  progress: boolean | undefined;
  db: string | undefined;
  /** 1: read, decode and analyse in one thread; 2: decode files in a worker thread; undefined: automatic. */
  /** Threads for each file: 1 in this one; N: N − 1 decoding workers while this one analyses; undefined: automatic. */
  threads: number | undefined;
}

export type Args = AnalyzeArgs | { command: 'help' } | { command: 'version' };

export const USAGE = `Usage: rootspan analyze <file...|dir|-> [options]
       rootspan serve [--port 4318] [--grpc-port 4317] [--data DIR] [--token T] [--config FILE]   (rootspan serve --help)

Analyse OpenTelemetry traces offline: what broke, when, and where it started.

Input: OTLP/JSON (.json: one ExportTraceServiceRequest or an array of them; .jsonl: one per line,
as the Collector's file exporter writes), OTLP/protobuf (.pb), Jaeger JSON (its UI's download or
query API answer) and Zipkin JSON (v2 or v1), gzip or zstd of any (.gz, .zst; zstd needs Node.js 22.15 or
later), or - for stdin. A directory stands for the trace files in it, in time order (by each file's
first spans: per-trace downloads as the traces happened, the file exporter's rotated files before the
one it is writing). Several inputs are one analysis, in the order given.

Options:
  --json                 machine-readable report on stdout
  --config <file>        JSON file of analyzer options (thresholds, windows, limits)
  --baseline <file>      learn normal behaviour from this fault-free recording first, then judge the
                         files against it (nothing is reported about the recording itself)
  --strict               stop at the first malformed record instead of skipping and counting it
  --fail-on-incident     exit 1 when any incident is found (for CI pipelines)
  --db <file>            keep what the replay found in a SQLite file (baselines, per-minute rollups,
                         incidents with their history); a later run with the same file continues from it
  --threads <n>          n of 2 to 8: read and decode each file in n - 1 worker threads while this one
                         analyses (a .jsonl file is split between them); 1: all in one thread (default
                         for a file of 32 MB or more: 2 when two cores are idle, 3 when three are; the
                         report is the same either way)
  --progress / --no-progress
                         progress on stderr (default: when stderr is a terminal)
  -h, --help             this help
  -v, --version          the version

Exit codes: 0 done, 1 incidents found with --fail-on-incident, 2 usage error or unreadable input.`;

/** Parses the arguments after `rootspan`; throws a {@link UsageError} with a one-line reason on bad usage. */
export function parseArgs(argv: readonly string[]): Args {
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help' || argv[0] === 'help') return { command: 'help' };
  if (argv[0] === '-v' || argv[0] === '--version') return { command: 'version' };
  if (argv[0] !== 'analyze') throw new UsageError(`unknown command '${argv[0]}' (try: rootspan analyze <file>)`);
  const out: AnalyzeArgs = {
    command: 'analyze',
    files: [],
    json: false,
    config: undefined,
    baseline: undefined,
    strict: false,
    failOnIncident: false,
    progress: undefined,
    db: undefined,
    threads: undefined,
  };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--json':
        out.json = true;
        break;
      case '--strict':
        out.strict = true;
        break;
      case '--fail-on-incident':
        out.failOnIncident = true;
        break;
      case '--progress':
        out.progress = true;
        break;
      case '--no-progress':
        out.progress = false;
        break;
      case '--config':
      case '--db': {
        const v = argv[++i];
        if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a file name`);
        if (a === '--db') out.db = v;
        else out.config = v;
        break;
      }
      case '--threads':
        out.threads = threads(argv[++i]);
        break;
      case '--baseline': {
        const v = argv[++i];
        if (v === undefined || v.startsWith('-')) throw new UsageError('--baseline needs a file name (not stdin)');
        out.baseline = v;
        break;
      }
      case '-h':
      case '--help':
        return { command: 'help' };
      default:
        if (a.startsWith('--config=')) {
          out.config = a.slice('--config='.length);
          if (out.config === '') throw new UsageError('--config needs a file name');
        } else if (a.startsWith('--db=')) {
          out.db = a.slice('--db='.length);
          if (out.db === '') throw new UsageError('--db needs a file name');
        } else if (a.startsWith('--threads=')) {
          out.threads = threads(a.slice('--threads='.length));
        } else if (a.startsWith('-') && a !== '-') {
          throw new UsageError(`unknown option '${a}'`);
        } else {
          out.files.push(a);
        }
    }
  }
  if (out.files.length === 0) throw new UsageError('analyze needs at least one file (or - for stdin)');
  if (out.files.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be read only once');
  return out;
}

/** Most threads `--threads` takes: the analysis is one thread, and past a few decoders it is the one waited on. */
export const MAX_THREADS = 8;

function threads(v: string | undefined): number {
  const n = v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_THREADS)) throw new UsageError(`--threads needs a whole number from 1 to ${MAX_THREADS}`);
  return n;
}
