// Child process of bounded.test.ts: generates a large input on the fly (never on disk), reads it with
// readOtlpStream under the heap cap the parent set, and prints one JSON line with what it read.
// Usage: node --max-old-space-size=N [--expose-gc] read-generated.mjs <kind> <megabytes> [maxRecordBytes]
// With --expose-gc it also reports liveHeapMB: the most heap still in use after a full collection, taken
// every 8th batch (what the reader holds, not when V8 chose to collect: heapUsed between collections is noise).
// With ROOTSPAN_READ_FILE=<path> the input is first written to that file (compressed kinds only), then
// read with readOtlpFile(path, { worker: true }): the worker thread runs under the same heap cap.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';

const { readOtlpFile, readOtlpStream } = await import(process.env.ROOTSPAN_OTLP ?? '@rootspan/otlp');
const [kind, megabytes, maxRecord] = process.argv.slice(2);
const MB = 1024 * 1024;
const total = Number(megabytes) * MB;

/** `block` repeated until `total` bytes of content (`size`: the content of one block, inflated), after `head`. */
function* repeat(block, size = block.length, head = undefined) {
  if (head !== undefined) yield head;
  for (let n = 0; n < total; n += size) yield block;
}
/** A gzip member of `content`: concatenated members are one valid gzip stream. */
const gz = (content) => [gzipSync(content, { level: 1 }), content.length];

// --- a minimal protobuf writer, independent of the decoder under test ---
const varint = (n) => {
  const out = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
};
const field = (no, bytes) => Buffer.concat([varint(no * 8 + 2), varint(bytes.length), bytes]);
const fixed64 = (no, ns) => {
  const b = Buffer.alloc(9);
  b[0] = no * 8 + 1;
  b.writeBigUInt64LE(ns, 1);
  return b;
};
/** One ResourceSpans of service `svc` holding 1000 spans (ids vary within it; repeats are duplicates). */
function resourceSpans() {
  const spans = [];
  for (let i = 1; i <= 1000; i++) {
    const start = 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n;
    spans.push(
      field(
        2,
        Buffer.concat([
          field(1, Buffer.from(i.toString(16).padStart(32, '0'), 'hex')),
          field(2, Buffer.from(i.toString(16).padStart(16, '0'), 'hex')),
          field(5, Buffer.from(`GET /items/${i % 10}`)),
          Buffer.from([6 * 8, 2]),
          fixed64(7, start),
          fixed64(8, start + 5_000_000n),
        ]),
      ),
    );
  }
  const serviceName = field(1, Buffer.concat([field(1, Buffer.from('service.name')), field(2, field(1, Buffer.from('svc')))]));
  return field(1, Buffer.concat([field(1, serviceName), field(2, Buffer.concat(spans))]));
}

/** A one-line Jaeger answer (`{"data":[trace,…]}`) of ~`total` bytes: traces of 10 spans, 1000 traces a block. */
function* jaegerAnswer() {
  const trace = (t) => {
    const traceID = t.toString(16).padStart(16, '0');
    const spans = [];
    for (let i = 1; i <= 10; i++) {
      const references = i === 1 ? [] : [{ refType: 'CHILD_OF', traceID, spanID: (t * 16 + 1).toString(16).padStart(16, '0') }];
      spans.push({ traceID, spanID: (t * 16 + i).toString(16).padStart(16, '0'), operationName: `GET /items/${i}`, references, startTime: 1_700_000_000_000_000 + t * 1000 + i, duration: 500, tags: [{ key: 'span.kind', type: 'string', value: i === 1 ? 'server' : 'client' }], logs: [], processID: 'p1' });
    }
    return JSON.stringify({ traceID, spans, processes: { p1: { serviceName: 'svc', tags: [] } } });
  };
  yield Buffer.from('{"data":[');
  let t = 1;
  for (let n = 0; n < total; ) {
    const block = [];
    for (let i = 0; i < 1000; i++) block.push(trace(t++));
    const bytes = Buffer.from(`${n === 0 ? '' : ','}${block.join(',')}`);
    n += bytes.length;
    yield bytes;
  }
  yield Buffer.from('],"total":0,"limit":0,"offset":0,"errors":null}');
}

let source;
if (kind === 'newlines') source = repeat(Buffer.alloc(MB, 10));
else if (kind === 'newlines-gz') source = repeat(...gz(Buffer.alloc(16 * MB, 10)));
else if (kind === 'open-document') source = repeat(Buffer.alloc(MB, 10), MB, Buffer.from('{\n'));
else if (kind === 'protobuf-gz') source = repeat(...gz(resourceSpans()));
else if (kind === 'jaeger') source = jaegerAnswer();
else throw new Error(`unknown kind ${kind}`);

const options = maxRecord === undefined ? {} : { maxRecordBytes: Number(maxRecord) };
let spans = 0;
const problems = [];
let bytes = 0;
let live = 0;
let batchCount = 0;
const path = process.env.ROOTSPAN_READ_FILE;
if (path !== undefined) await pipeline(Readable.from(source, { objectMode: false }), createWriteStream(path));
const batches = path === undefined ? readOtlpStream(Readable.from(source, { objectMode: false }), options) : readOtlpFile(path, { ...options, worker: true });
for await (const batch of batches) {
  spans += batch.spans.length;
  bytes += batch.bytes;
  for (const p of batch.problems) if (problems.length < 5) problems.push(p);
  if (globalThis.gc !== undefined && ++batchCount % 8 === 0) {
    globalThis.gc();
    live = Math.max(live, process.memoryUsage().heapUsed);
  }
}
process.stdout.write(`${JSON.stringify({ spans, problems, bytes, liveHeapMB: Math.round(live / MB) })}\n`);
