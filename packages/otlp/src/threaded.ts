/**
 * `readOtlpFile(path, { worker })`: reading, inflating and decoding run in worker threads while the
 * caller's thread analyses the batches, so the halves of an offline run use several cores. An uncompressed
 * JSONL file is split into line ranges ({@link RANGE_BYTES}), dealt out to the workers in turn (with one
 * worker, a share of them to the caller's thread: {@link THIS_THREAD_EVERY}) and handed out in file
 * order, line numbers counted on from range to range, so
 * the spans, problems and bytes are the file's, in its order, however many threads decode it (only where
 * batches begin and end differs). Batches cross as {@link SpanColumns}, several to a message; each worker
 * runs at most {@link MESSAGES_IN_FLIGHT} messages ahead, so memory stays bounded by the largest record
 * and a few batches per worker, never by the file.
 */
import { existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SpanList } from './convert.js';
import { lineRangesOf, RANGE_BYTES, readLineRange } from './line-ranges.js';
import { OtlpDecodeError, type DecodeProblem } from './problems.js';
import { readBatches, type OtlpBatch, type ReadOtlpOptions } from './reader.js';
import { unpackSpans, type SpanColumns } from './span-columns.js';

/** Messages a worker may post before the reader has taken them: slack, so neither thread waits on the other. */
export const MESSAGES_IN_FLIGHT = 4;

/** Spans and problems a worker gathers (from whole batches) into one message: posting a message costs far more than its bytes. */
export const MESSAGE_SPANS = 4000;

/** One of the reader's batches, packed. */
export interface BatchMessage {
  columns: SpanColumns;
  problems: DecodeProblem[];
  bytes: number;
}

/** What a worker is started with: the file, the options, and the line ranges that are its share (else all of it). */
export interface WorkerData {
  path: string;
  options: ReadOtlpOptions;
  ranges?: Array<[number, number]>;
}

/** What a worker posts. */
export type WorkerMessage =
  | { type: 'batches'; batches: BatchMessage[] }
  | { type: 'range'; lines: number }
  | { type: 'end' }
  | { type: 'error'; message: string; code?: string; problem?: DecodeProblem; file?: string };

let script: URL | null | undefined;

/** The built worker entry beside this module; null when running from TypeScript sources (tests). */
export function workerScript(): URL | null {
  if (script === undefined) {
    const url = new URL('./read-worker.js', import.meta.url);
    script = existsSync(fileURLToPath(url)) ? url : null;
  }
  return script;
}

/** A worker and the messages it posted that the reader has not taken yet. */
class Channel {
  private readonly queue: WorkerMessage[] = [];
  private failure: Error | undefined;
  private exited = false;
  private wake: (() => void) | undefined;

  constructor(readonly worker: Worker) {
    // Only a reader waiting on the worker keeps the process alive: one abandoned mid-file (its iterator
    // dropped without return()) must not keep it running forever.
    worker.unref();
    worker.on('message', (m: WorkerMessage) => {
      this.queue.push(m);
      this.notify();
    });
    worker.on('error', (err) => {
      this.failure = err;
      this.notify();
    });
    worker.on('exit', () => {
      this.exited = true;
      this.notify();
    });
  }

  private notify(): void {
    this.wake?.();
    this.wake = undefined;
  }

  /** The next message; a `batches` one is acknowledged (the worker may post one more). */
  async next(): Promise<WorkerMessage> {
    while (this.queue.length === 0) {
      if (this.failure !== undefined) throw this.failure;
      if (this.exited) throw new Error('the decoding worker stopped unexpectedly');
      this.worker.ref();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.worker.unref();
    }
    const m = this.queue.shift() as WorkerMessage;
    if (m.type === 'batches') this.worker.postMessage(1);
    return m;
  }
}

/**
 * With one worker, this thread decodes every this-many-th line range itself: alone, the worker set the
 * pace while this thread, analysing, waited a third of the time. A quarter of the decoding evened the two
 * out (258 MB, 2 cores: each thread ~1.1 s CPU, from 0.9 s here and 1.5 s in the worker).
 */
export const THIS_THREAD_EVERY = 4;

/** Who decodes range `i` of `ranges` with `workers` workers: a worker's index, or -1 for this thread. */
function ownerOf(i: number, workers: number): number {
  if (workers > 1) return i % workers;
  // The first range too: this thread decodes it while the worker starts (~50 ms, loading its modules).
  return i % THIS_THREAD_EVERY === 0 ? -1 : 0;
}

/**
 * Reads the file at `path` in `workers` workers started from `entry`; see {@link readOtlpFile}. An
 * uncompressed JSONL file of more than one range is split into ranges (with one worker, this thread
 * decodes a share of them: {@link THIS_THREAD_EVERY}); anything else is read whole by one worker.
 */
export async function* readInWorker(entry: URL, path: string, options: ReadOtlpOptions, workers = 1): AsyncGenerator<OtlpBatch, void, undefined> {
  const ranges = options.format === 'jsonl' ? await lineRangesOf(path) : [];
  const n = ranges.length > 1 ? Math.min(workers, ranges.length) : 1;
  const owners = ranges.map((_, i) => ownerOf(i, n));
  const channels: Channel[] = [];
  let here: FileHandle | undefined;
  try {
    for (let w = 0; w < n; w++) {
      const data: WorkerData = { path, options, ...(ranges.length > 1 ? { ranges: ranges.filter((_, i) => owners[i] === w) } : {}) };
      channels.push(new Channel(new Worker(entry, { workerData: data })));
    }
    if (owners.includes(-1)) here = await open(path, 'r');
    // Lines before the range being handed out, for the problems' line numbers.
    let lines = 0;
    for (let r = 0; ; r++) {
      if (here !== undefined && owners[r] === -1) {
        lines += yield* readHere(here, ranges[r], options, lines);
        if (r + 1 === ranges.length) return;
        continue;
      }
      const channel = channels[owners.length > 0 ? owners[r] : 0];
      let m = await channel.next();
      for (; m.type === 'batches'; m = await channel.next()) {
        for (const b of m.batches) yield { spans: unpackSpans(b.columns), problems: lines === 0 ? b.problems : b.problems.map((p) => onLine(p, lines)), bytes: b.bytes };
      }
      if (m.type === 'error') {
        if (m.problem !== undefined) throw new OtlpDecodeError(onLine(m.problem, lines), m.file);
        throw Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code });
      }
      if (m.type === 'end') {
        if (ranges.length > 1) throw new Error('the decoding worker stopped unexpectedly');
        return;
      }
      lines += m.lines;
      if (r + 1 === ranges.length) return;
    }
  } finally {
    await Promise.all(channels.map((c) => c.worker.terminate()));
    await here?.close();
  }
}

/**
 * Decodes the line range `[start, end)` of `file` in this thread, as a worker would, its problems' lines
 * counted on from `before`; returns how many lines it held.
 */
async function* readHere(file: FileHandle, [start, end]: [number, number], options: ReadOtlpOptions, before: number): AsyncGenerator<OtlpBatch, number, undefined> {
  let lines = 0;
  const range = { first: start === 0, lines: (k: number) => (lines = k) };
  try {
    for await (const b of readBatches(readLineRange(file, start, end), options, new SpanList(), range)) {
      yield before === 0 ? b : { ...b, problems: b.problems.map((p) => onLine(p, before)) };
    }
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new OtlpDecodeError(onLine(err.problem, before), err.file);
    throw err;
  }
  return lines;
}

/** `p` with its range-relative line counted on from `before` lines. */
function onLine(p: DecodeProblem, before: number): DecodeProblem {
  return p.line === undefined ? p : { ...p, line: p.line + before };
}
