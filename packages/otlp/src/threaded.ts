/**
 * `readOtlpFile(path, { worker })`: reading, inflating and decoding run in worker threads while the
 * caller's thread analyses the batches, so the halves of an offline run use several cores. One worker
 * reads the whole file; with more, a JSONL file is split into line ranges ({@link RANGE_BYTES}), dealt out
 * to the workers in turn and handed out in file order, line numbers counted on from range to range, so
 * the spans, problems and bytes are the file's, in its order, however many threads decode it (only where
 * batches begin and end differs). Batches cross as {@link SpanColumns}, several to a message; each worker
 * runs at most {@link MESSAGES_IN_FLIGHT} messages ahead, so memory stays bounded by the largest record
 * and a few batches per worker, never by the file.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { lineRangesOf, RANGE_BYTES } from './line-ranges.js';
import { OtlpDecodeError, type DecodeProblem } from './problems.js';
import type { OtlpBatch, ReadOtlpOptions } from './reader.js';
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
  document: boolean;
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
 * Reads the file at `path` in `workers` workers started from `entry`; see {@link readOtlpFile}. Several
 * workers only for an uncompressed JSONL file of more than one range; else one.
 */
export async function* readInWorker(entry: URL, path: string, options: ReadOtlpOptions, workers = 1): AsyncGenerator<OtlpBatch, void, undefined> {
  const ranges = workers > 1 && options.format === 'jsonl' ? await lineRangesOf(path) : [];
  const n = ranges.length > 1 ? Math.min(workers, ranges.length) : 1;
  const channels: Channel[] = [];
  try {
    for (let w = 0; w < n; w++) {
      const data: WorkerData = { path, options, ...(n > 1 ? { ranges: ranges.filter((_, i) => i % n === w) } : {}) };
      channels.push(new Channel(new Worker(entry, { workerData: data })));
    }
    // Lines before the range being handed out, for the problems' line numbers.
    let lines = 0;
    for (let r = 0; ; r++) {
      const channel = channels[r % n];
      let m = await channel.next();
      for (; m.type === 'batches'; m = await channel.next()) {
        for (const b of m.batches) yield { spans: unpackSpans(b.columns), problems: lines === 0 ? b.problems : b.problems.map((p) => onLine(p, lines)), bytes: b.bytes, document: b.document };
      }
      if (m.type === 'error') {
        if (m.problem !== undefined) throw new OtlpDecodeError(onLine(m.problem, lines), m.file);
        throw Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code });
      }
      if (m.type === 'end') {
        if (n > 1) throw new Error('the decoding worker stopped unexpectedly');
        return;
      }
      lines += m.lines;
      if (r + 1 === ranges.length) return;
    }
  } finally {
    await Promise.all(channels.map((c) => c.worker.terminate()));
  }
}

/** `p` with its range-relative line counted on from `before` lines. */
function onLine(p: DecodeProblem, before: number): DecodeProblem {
  return p.line === undefined ? p : { ...p, line: p.line + before };
}
