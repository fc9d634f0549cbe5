/**
 * `readOtlpFile(path, { worker: true })`: reading, inflating and decoding run in a worker thread while
 * the caller's thread analyses the batches, so the two halves of an offline run use two cores. Batches
 * cross as {@link SpanColumns}, several to a message; the worker runs at most {@link MESSAGES_IN_FLIGHT}
 * messages ahead, so memory stays bounded by the largest record and a few batches, never by the file.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { OtlpDecodeError, type DecodeProblem } from './problems.js';
import type { OtlpBatch, ReadOtlpOptions } from './reader.js';
import { unpackSpans, type SpanColumns } from './span-columns.js';

/** Messages the worker may post before the reader has taken them: slack, so neither thread waits on the other. */
export const MESSAGES_IN_FLIGHT = 4;

/** Spans the worker gathers (from whole batches) into one message: posting a message costs far more than its bytes. */
export const MESSAGE_SPANS = 4000;

/** One of the reader's batches, packed. */
export interface BatchMessage {
  columns: SpanColumns;
  problems: DecodeProblem[];
  bytes: number;
}

/** What the worker posts. */
export type WorkerMessage =
  | { type: 'batches'; batches: BatchMessage[] }
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

/** Reads the file at `path` in a worker started from `entry`; see {@link readOtlpFile}. */
export async function* readInWorker(entry: URL, path: string, options: ReadOtlpOptions): AsyncGenerator<OtlpBatch, void, undefined> {
  const worker = new Worker(entry, { workerData: { path, options } });
  const queue: WorkerMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: WorkerMessage) => {
    queue.push(m);
    notify();
  });
  worker.on('error', (err) => {
    failure = err;
    notify();
  });
  worker.on('exit', () => {
    exited = true;
    notify();
  });
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure !== undefined) throw failure;
        if (exited) throw new Error('the decoding worker stopped unexpectedly');
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const m = queue.shift() as WorkerMessage;
      if (m.type === 'end') return;
      if (m.type === 'error') {
        if (m.problem !== undefined) throw new OtlpDecodeError(m.problem, m.file);
        throw Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code });
      }
      worker.postMessage(1); // taken: the worker may post one more
      for (const b of m.batches) yield { spans: unpackSpans(b.columns), problems: b.problems, bytes: b.bytes };
    }
  } finally {
    await worker.terminate();
  }
}
