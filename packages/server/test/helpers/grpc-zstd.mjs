// Run by Node.js 24 (grpc.test.ts), which has zstd: grpc-js's message decompression once rootspan added its
// encodings, on zstd messages. Prints what each gave, as JSON.
import './ts-sources.mjs';
import { createRequire } from 'node:module';
import { zstdCompressSync } from 'node:zlib';

const { acceptCollectorEncodings } = await import('../../src/grpc-encodings.ts');
acceptCollectorEncodings();
const { BaseServerInterceptingCall } = createRequire(import.meta.url)('@grpc/grpc-js/build/src/server-interceptors.js');
const call = { maxReceiveMessageSize: 1 << 16 };
/** A gRPC message: compressed flag, length, bytes. */
const message = (bytes) => Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), bytes]);
const run = async (bytes) => {
  try {
    return { text: (await BaseServerInterceptingCall.prototype.decompressMessage.call(call, message(bytes), 'zstd')).toString() };
  } catch (err) {
    return err;
  }
};
const text = `{"resourceSpans":[]}${' '.repeat(500)}`;
console.log(JSON.stringify({ text, ok: await run(zstdCompressSync(Buffer.from(text))), bomb: await run(zstdCompressSync(Buffer.alloc(1 << 20, 32))), corrupt: await run(Buffer.from('not zstd')) }));
