/**
 * zstd where this Node.js has it (22.15 and later; undefined before): what the Collector's exporters send
 * with `compression: zstd`. A frame may ask the decoder for a window of up to 2 GB: past 8 MiB (the
 * Collector's own encoder stays within it) it is refused at its header.
 */
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

type ZstdOptions = { params: Record<number, number>; maxOutputLength?: number };
const api = zlib as unknown as {
  createZstdDecompress?: (options: ZstdOptions) => Transform;
  zstdDecompress?: (buf: Uint8Array, options: ZstdOptions, callback: (err: Error | null, out: Buffer) => void) => void;
};

/** `ZSTD_d_windowLogMax`: 8 MiB. */
const WINDOW_LOG_MAX = 23;
const params = (): Record<number, number> => ({ [(zlib.constants as unknown as Record<string, number>).ZSTD_d_windowLogMax]: WINDOW_LOG_MAX });

/** Whether this Node.js decompresses zstd. */
export const hasZstd = api.createZstdDecompress !== undefined && api.zstdDecompress !== undefined;

/** A streaming zstd decompressor (check {@link hasZstd} first). */
export function zstdStream(): Transform {
  return (api.createZstdDecompress as NonNullable<typeof api.createZstdDecompress>)({ params: params() });
}

/** `buf` decompressed, at most `limit` bytes of it (more fails with `ERR_BUFFER_TOO_LARGE`); check {@link hasZstd} first. */
export function zstdDecompress(buf: Uint8Array, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    (api.zstdDecompress as NonNullable<typeof api.zstdDecompress>)(buf, { params: params(), maxOutputLength: limit }, (err, out) => (err ? reject(err) : resolve(out)));
  });
}
