// Run by Node.js 24 (grpc.test.ts), which has zstd: a receiver started from the sources, sent the OTLP
// protobuf request on stdin zstd-compressed, a zstd bomb and corrupt bytes. Prints each answer, as JSON.
import './ts-sources.mjs';
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { zstdCompressSync } from 'node:zlib';

const { startServer } = await import('../../src/index.ts');
const server = await startServer({ port: 0, log: () => {}, maxBodyBytes: 1 << 16 });

/** One Export call, its message sent under `grpc-encoding: zstd`: the status code and message answered. */
function send(compressed) {
  const session = connect(`http://${server.grpcAddress}`);
  const req = session.request({ ':method': 'POST', ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export', 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': 'zstd' });
  const prefix = Buffer.from([1, 0, 0, 0, 0]);
  prefix.writeUInt32BE(compressed.length, 1);
  req.end(Buffer.concat([prefix, compressed]));
  return new Promise((resolve, reject) => {
    const answer = (h) => {
      if (h['grpc-status'] === undefined) return;
      resolve({ code: Number(h['grpc-status']), details: decodeURIComponent(String(h['grpc-message'] ?? '')) });
      session.close();
    };
    req.on('response', answer);
    req.on('trailers', answer);
    req.on('error', reject);
    req.resume();
  });
}

const body = Buffer.from(readFileSync(0, 'utf8'), 'base64');
const ok = await send(zstdCompressSync(body));
const bomb = await send(zstdCompressSync(Buffer.alloc(1 << 20, 32)));
const corrupt = await send(Buffer.from('not zstd'));
console.log(JSON.stringify({ ok, bomb, corrupt, spansReceived: server.status().ingest.spansReceived, grpcRequests: server.status().ingest.grpcRequests }));
await server.close();
