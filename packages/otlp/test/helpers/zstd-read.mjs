// Run by Node.js 24 (zstd.test.ts), which has zstd: builds zstd inputs from the plain requests the parent
// wrote to <dir>/requests.json, reads each with the built package's readOtlpFile, and prints, as JSON, the
// span ids and problems each read gave (or its error).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';

const { readOtlpFile } = await import('@rootspan/otlp');
const dir = process.argv[2];
const { lines, protos } = JSON.parse(readFileSync(join(dir, 'requests.json'), 'utf8'));
const requests = protos.map((b) => Buffer.from(b, 'base64'));
const z = (content) => zstdCompressSync(Buffer.from(content));
/** A record after its length as a 4-byte big-endian integer (the file exporter's framing). */
const framed = (bytes) => {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([prefix, bytes]);
};
const stream = z(`${lines.join('\n')}\n`);
const inputs = {
  // `zstd traces.jsonl`, or the file exporter's native compression of `format: json`.
  'stream.jsonl.zst': stream,
  // Found by its magic bytes, whatever the name.
  'stream.data': stream,
  // Frames one after another (`cat a.zst b.zst`).
  'frames.jsonl.zst': Buffer.concat(lines.map((l) => z(`${l}\n`))),
  // The file exporter's legacy `compression: zstd`: each request compressed on its own, after its length.
  'legacy-json.json': Buffer.concat(lines.map((l) => framed(z(l)))),
  'legacy-proto.pb': Buffer.concat(requests.map((b) => framed(z(b)))),
  // Native compression of `format: proto`: the length-prefixed requests in one zstd stream.
  'native-proto.pb': z(Buffer.concat(requests.map(framed))),
  // A record that does not decompress is skipped; the ones after it are read.
  'legacy-damaged.json': Buffer.concat([framed(z(lines[0])), framed(Buffer.from('not zstd at all')), framed(z(lines[2]))]),
  // Cut off: what was read before is kept, and the cut reported.
  'truncated.jsonl.zst': stream.subarray(0, stream.length - 12),
  'legacy-truncated.json': Buffer.concat([framed(z(lines[0])), framed(z(lines[1])).subarray(0, 20)]),
};
const results = {};
for (const [name, bytes] of Object.entries(inputs)) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const spans = [];
  const problems = [];
  try {
    for await (const batch of readOtlpFile(path, { worker: name === 'stream.data' })) {
      spans.push(...batch.spans.map((s) => s.spanId));
      problems.push(...batch.problems);
    }
    results[name] = { spans, problems };
  } catch (err) {
    results[name] = { spans, problems, error: err.message };
  }
}
console.log(JSON.stringify(results));
