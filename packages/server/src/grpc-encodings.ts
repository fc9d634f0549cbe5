/**
 * grpc-js decompresses only `gzip` and `deflate` messages and answers any other `grpc-encoding` with
 * UNIMPLEMENTED, while the Collector's `otlp` exporter also offers `zstd` and `snappy`. grpc-js has no
 * way to register a decompressor, so this adds them where it decompresses a server's incoming messages
 * (`BaseServerInterceptingCall.prototype.decompressMessage` of the pinned grpc-js 1.14), with its size
 * limit and failure statuses; every other encoding goes to grpc-js as before. If that method is not
 * there (another grpc-js), nothing is changed and those encodings stay UNIMPLEMENTED.
 */
import { createRequire } from 'node:module';
import { status } from '@grpc/grpc-js';
import { OverLimit } from './codecs/output.js';
import { snappy } from './codecs/snappy.js';
import { hasZstd, zstdDecompress } from './codecs/zstd.js';

/** What grpc-js's message decompression is called with and rejects with. */
interface ServerCall {
  maxReceiveMessageSize: number;
}
type Decompress = (this: ServerCall, message: Buffer, encoding: string) => Buffer | Promise<Buffer>;

/** The added decoders, by `grpc-encoding`: `limit` bounds the decompressed size. */
const DECODERS: Readonly<Record<string, (data: Buffer, limit: number) => Promise<Buffer>>> = {
  snappy: async (data, limit) => snappy(data, limit),
  ...(hasZstd ? { zstd: zstdDecompress } : {}),
};

let added = false;

/** Adds `zstd` (where Node.js has it) and `snappy` to the gRPC message encodings grpc-js servers accept; idempotent. */
export function acceptCollectorEncodings(): void {
  if (added) return;
  added = true;
  let proto: { decompressMessage?: Decompress } | undefined;
  try {
    proto = (createRequire(import.meta.url)('@grpc/grpc-js/build/src/server-interceptors.js') as { BaseServerInterceptingCall?: { prototype: { decompressMessage?: Decompress } } }).BaseServerInterceptingCall?.prototype;
  } catch {
    return;
  }
  const original = proto?.decompressMessage;
  if (proto === undefined || typeof original !== 'function') return;
  proto.decompressMessage = function (this: ServerCall, message: Buffer, encoding: string) {
    const decode = Object.hasOwn(DECODERS, encoding) ? DECODERS[encoding] : undefined;
    if (decode === undefined) return original.call(this, message, encoding);
    const limit = this.maxReceiveMessageSize === -1 ? Number.MAX_SAFE_INTEGER : this.maxReceiveMessageSize;
    // A message is its 5-byte prefix (compressed flag, length), then the compressed bytes.
    return decode(message.subarray(5), limit).catch((err: unknown) => {
      const tooLarge = err instanceof OverLimit || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      return Promise.reject(
        tooLarge
          ? { code: status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${limit}` }
          : { code: status.INTERNAL, details: `Failed to decompress ${encoding} message: ${(err as Error).message}` },
      );
    });
  };
}
