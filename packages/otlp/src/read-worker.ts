/**
 * Entry of a decoding worker of `readOtlpFile(path, { worker })` (see threaded.ts): reads and decodes the
 * file, or its share of the file's line ranges (each followed by a `range` message with its line count),
 * in this thread and posts its batches as span columns, several to a message, at most
 * {@link MESSAGES_IN_FLIGHT} messages ahead of the reader, which acknowledges each message it takes.
 */
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { readLineRange } from './line-ranges.js';
import { OtlpDecodeError } from './problems.js';
import { openFile, readBatches, type Batch, type ReadOtlpOptions } from './reader.js';
import { SpanColumnsBuilder, type SpanColumns } from './span-columns.js';
import { MESSAGES_IN_FLIGHT, MESSAGE_SPANS, type BatchMessage, type WorkerData, type WorkerMessage } from './threaded.js';

const port = parentPort;
if (port === null) throw new Error('read-worker.js runs as a worker thread');
const { path, options, ranges } = workerData as WorkerData;

let credit = MESSAGES_IN_FLIGHT;
let wake: (() => void) | undefined;
port.on('message', () => {
  credit++;
  wake?.();
  wake = undefined;
});
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

/** Batches packed but not yet posted, and their buffers to transfer. */
let pending: BatchMessage[] = [];
let transfer: ArrayBuffer[] = [];
let pendingItems = 0;
/** The first batch goes alone: the reader's thread is idle until it arrives. */
let first = true;

/** Posts the pending batches as one message (a message costs far more than its bytes). */
async function flush(): Promise<void> {
  if (pending.length === 0) return;
  while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
  credit--;
  post({ type: 'batches', batches: pending }, transfer);
  pending = [];
  transfer = [];
  pendingItems = 0;
}

/** Queues one batch, posting the pending ones once they are enough for a message. */
async function add(batch: Batch<SpanColumns>): Promise<void> {
  const columns = batch.spans;
  pending.push({ columns, problems: batch.problems, bytes: batch.bytes, document: batch.document });
  transfer.push(columns.times.buffer as ArrayBuffer, columns.refs.buffer as ArrayBuffer, columns.attrs.buffer as ArrayBuffer, columns.ids.buffer as ArrayBuffer, columns.links.buffer as ArrayBuffer);
  const spans = columns.times.length / 2;
  // Problems count too: a file of short bad lines makes batches of problems and few spans.
  pendingItems += spans + batch.problems.length;
  if (pendingItems >= MESSAGE_SPANS || spans === 0 || first) await flush();
  first = false;
}

/** Not top-level await: the package is also built as CommonJS. */
async function run(): Promise<void> {
  // Decoded straight into columns: the spans are built once, by the reading thread.
  if (ranges === undefined) {
    for await (const batch of readBatches(openFile(path), options, new SpanColumnsBuilder(), undefined, path)) await add(batch);
  } else {
    const file = await open(path, 'r');
    try {
      for (const [start, end] of ranges) {
        let lines = 0;
        const range = { first: start === 0, lines: (n: number) => (lines = n) };
        for await (const batch of readBatches(readLineRange(file, start, end), options, new SpanColumnsBuilder(), range)) await add(batch);
        await flush();
        post({ type: 'range', lines });
      }
    } finally {
      await file.close();
    }
  }
  await flush();
  post({ type: 'end' });
}

run().catch(async (err: unknown) => {
  await flush(); // the batches before the error, as the in-thread reader yields them
  if (err instanceof OtlpDecodeError) post({ type: 'error', message: err.message, problem: err.problem, file: err.file });
  else post({ type: 'error', message: err instanceof Error ? err.message : String(err), code: (err as NodeJS.ErrnoException).code });
});
