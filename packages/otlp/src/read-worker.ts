/**
 * Entry of the decoding worker of `readOtlpFile(path, { worker: true })` (see threaded.ts): reads and
 * decodes the file in this thread and posts each batch as {@link SpanColumns}, at most
 * {@link BATCHES_IN_FLIGHT} ahead of the reader, which acknowledges each batch it takes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OtlpDecodeError } from './problems.js';
import { readOtlpFile, type ReadOtlpOptions } from './reader.js';
import { packSpans } from './span-columns.js';
import { BATCHES_IN_FLIGHT, type WorkerMessage } from './threaded.js';

const port = parentPort;
if (port === null) throw new Error('read-worker.js runs as a worker thread');
const { path, options } = workerData as { path: string; options: ReadOtlpOptions };

let credit = BATCHES_IN_FLIGHT;
let wake: (() => void) | undefined;
port.on('message', () => {
  credit++;
  wake?.();
  wake = undefined;
});
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

/** Not top-level await: the package is also built as CommonJS. */
async function run(): Promise<void> {
  for await (const batch of readOtlpFile(path, { ...options, worker: false })) {
    while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
    credit--;
    const columns = packSpans(batch.spans);
    post({ type: 'batch', columns, problems: batch.problems, bytes: batch.bytes }, [
      columns.times.buffer as ArrayBuffer,
      columns.refs.buffer as ArrayBuffer,
      columns.attrs.buffer as ArrayBuffer,
    ]);
  }
  post({ type: 'end' });
}

run().catch((err: unknown) => {
  if (err instanceof OtlpDecodeError) post({ type: 'error', message: err.message, problem: err.problem, file: err.file });
  else post({ type: 'error', message: err instanceof Error ? err.message : String(err), code: (err as NodeJS.ErrnoException).code });
});
