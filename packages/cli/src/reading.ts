import { readOtlpFile, type OtlpBatch, type ReadOtlpOptions } from '@rootspan/otlp';
import { decodersFor, idleCores } from './cores.js';

/**
 * Files smaller than this are decoded in-thread: asking whether cores are idle (60 ms) and starting the
 * worker (~50 ms) would not pay back (32 MB of OTLP/JSON take ~0.5 s in one thread).
 */
const WORKER_MIN_BYTES = 32 * 1024 * 1024;

/** The idle cores, asked once per run (the first large input asks). */
export class IdleCores {
  private asked: Promise<number> | undefined;
  /** The answer, once there is one. */
  known: number | undefined;

  ask(): Promise<number> {
    return (this.asked ??= idleCores().then((n) => (this.known = n)));
  }
}

/**
 * The batches of the file at `path`, read and decoded in as many worker threads as {@link decodingWorkers}
 * says (0: this thread). While that waits on the idle-core test, a worker is started on the file
 * meanwhile, as it takes as long to reach its first batch (~50 ms) as the test: kept when one worker is the
 * answer, else stopped before anything it decoded is used. The spans are the same either way.
 */
export async function readInput(path: string, options: ReadOtlpOptions, threads: number | undefined, size: number, idle: IdleCores): Promise<AsyncIterable<OtlpBatch>> {
  const auto = threads === undefined && size >= WORKER_MIN_BYTES && idle.known === undefined;
  if (!auto) return readOtlpFile(path, { ...options, worker: await decodingWorkers(threads, size, idle) });
  const early = readOtlpFile(path, { ...options, worker: 1 });
  const first = early.next();
  const workers = decodersFor(await idle.ask());
  if (workers === 1) return resumed(early, first);
  // Stopped once its first batch is in (not waited for); its error, if any, is the other reader's to report.
  first.catch(() => undefined);
  early.return(undefined).catch(() => undefined);
  return readOtlpFile(path, { ...options, worker: workers });
}

/**
 * How many worker threads read and decode a file (0: this thread does), so that decoding (about half of
 * a run) overlaps analysis on other cores; the spans, and so the report, are the same either way.
 * Automatic (`threads` undefined): for a file of {@link WORKER_MIN_BYTES} or more, as many as
 * {@link decodersFor} the idle cores.
 */
async function decodingWorkers(threads: number | undefined, size: number, idle: IdleCores): Promise<number> {
  if (threads !== undefined) return threads - 1;
  return size >= WORKER_MIN_BYTES ? decodersFor(await idle.ask()) : 0;
}

/** `reader`'s batches, the first of them being `first` (already asked for). */
async function* resumed(reader: AsyncGenerator<OtlpBatch, void, undefined>, first: Promise<IteratorResult<OtlpBatch, void>>): AsyncGenerator<OtlpBatch, void, undefined> {
  try {
    for (let r = await first; r.done !== true; r = await reader.next()) yield r.value;
  } finally {
    await reader.return(undefined);
  }
}
