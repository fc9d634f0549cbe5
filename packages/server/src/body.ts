import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { lz4 } from './codecs/lz4.js';
import { OverLimit } from './codecs/output.js';
import { snappy, snappyFramed } from './codecs/snappy.js';
import { hasZstd, zstdStream } from './codecs/zstd.js';

/**
 * Encodings decoded from the whole body once it is read (JavaScript decoders: Node.js has none), by the
 * names the Collector's `otlphttp` exporter sends them under.
 */
const WHOLE_BODY_DECODERS: Readonly<Record<string, (body: Buffer, limit: number) => Buffer>> = {
  snappy,
  'x-snappy-framed': snappyFramed,
  lz4,
};

/**
 * Why a body could not be read; `status` is the HTTP answer (413 too large, 400 corrupt, 415 unknown
 * encoding, 503 no room now: see {@link BodyBudget}).
 */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 503,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Bytes held by the bodies being read, across requests. `maxBodyBytes` bounds one request; this bounds
 * them together: a probe's 100 parallel 10 MB requests took the server to 845 MB and its API answered in
 * seconds. A body that would take it past `max` is refused with 503 (its client retries after a second).
 */
export class BodyBudget {
  /** Bytes counted now (a gRPC message being received counts too: see `callLimits`). */
  held = 0;
  constructor(readonly max: number) {}
}

/**
 * Reads the rest of a refused body and throws it away, up to `max` more bytes; true once it ended. A
 * client still writing when its connection closes sees a reset (EPIPE, ECONNRESET) rather than the answer,
 * which an exporter takes for a network error and retries. A body declared longer than `max` is not read.
 */
export function discardRest(req: Readable & { headers: IncomingHttpHeaders }, max: number): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  if (Number(req.headers['content-length']) > max) return Promise.resolve(false);
  return new Promise((resolve) => {
    let left = max;
    const finish = (whole: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(whole);
    };
    const onData = (chunk: Buffer) => {
      left -= chunk.length;
      if (left < 0) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(false);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.resume();
  });
}

/** The encodings a client may apply without saying so, by their magic bytes: a body starting so is neither JSON nor protobuf. */
const MAGIC: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** The encoding whose magic bytes `body` starts with, if any. */
function compressedAs(body: Buffer): string | undefined {
  for (const [name, magic] of MAGIC) if (body.length >= magic.length && magic.every((b, i) => body[i] === b)) return name;
  return undefined;
}

/** Why a body or message was refused for want of {@link BodyBudget}. */
export const BUDGET_EXCEEDED = 'too much request data being read at once: retry shortly';

/**
 * Reads a request body, decompressing `gzip`, `deflate`/`zlib`, `snappy` (framed or a bare block),
 * `x-snappy-framed`, `lz4` (frames) and `zstd` where Node.js has it: every encoding the Collector's
 * `otlphttp` exporter offers. Refuses more than `limit` bytes on the wire or after decompression (a small
 * bomb must not expand into memory). A declared `Content-Length` over the limit is refused before anything
 * is read. `req` is a request, or any stream with the headers that describe it (a gRPC message).
 */
export async function readBody(req: Readable & { headers: IncomingHttpHeaders }, limit: number, budget?: BodyBudget): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let inflater: Transform | undefined;
  const whole = Object.hasOwn(WHOLE_BODY_DECODERS, encoding) ? WHOLE_BODY_DECODERS[encoding] : undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = zlib.createGunzip();
  else if (encoding === 'deflate' || encoding === 'zlib') inflater = zlib.createInflate();
  else if (encoding === 'zstd') {
    if (!hasZstd) throw new BodyError(415, `Content-Encoding 'zstd' needs Node.js 22.15 or later (this server runs ${process.version}): use gzip`);
    inflater = zstdStream();
  } else if (whole === undefined && encoding !== 'identity' && encoding !== '') {
    throw new BodyError(415, `unsupported Content-Encoding '${encoding}' (use gzip, deflate, zlib, snappy, x-snappy-framed, lz4${hasZstd ? ', zstd' : ''} or none)`);
  }

  const chunks: Buffer[] = [];
  let size = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let wire = 0;
      let failed = false;
      const fail = (err: Error) => {
        if (failed) return;
        failed = true;
        req.unpipe();
        inflater?.destroy();
        reject(err);
      };
      const collect = (chunk: Buffer) => {
        if (failed) return;
        if (size + chunk.length > limit) return fail(tooLarge(limit));
        if (budget !== undefined && budget.held + chunk.length > budget.max) {
          return fail(new BodyError(503, BUDGET_EXCEEDED));
        }
        size += chunk.length;
        if (budget !== undefined) budget.held += chunk.length;
        chunks.push(chunk);
      };
      req.on('data', (chunk: Buffer) => {
        wire += chunk.length;
        if (wire > limit) fail(tooLarge(limit));
      });
      req.on('error', fail);
      req.on('aborted', () => fail(new BodyError(400, 'request aborted')));
      if (inflater === undefined) {
        req.on('data', collect);
        req.on('end', resolve);
      } else {
        inflater.on('data', collect);
        inflater.on('end', resolve);
        inflater.on('error', (err) => fail(new BodyError(400, `cannot decompress ${encoding} body: ${err.message}`)));
        req.pipe(inflater);
      }
    });
  } finally {
    // The body is parsed right after, synchronously: its bytes are let go of here.
    if (budget !== undefined) budget.held -= size;
  }
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
  if (whole === undefined) {
    const applied = inflater === undefined ? compressedAs(body) : undefined;
    if (applied !== undefined) {
      throw new BodyError(400, `the body is ${applied}-compressed but ${encoding === 'identity' || encoding === '' ? 'has no Content-Encoding' : `its Content-Encoding is '${encoding}'`}: send Content-Encoding: ${applied}`);
    }
    return body;
  }
  try {
    return whole(body, limit);
  } catch (err) {
    if (err instanceof OverLimit) throw tooLarge(limit);
    throw new BodyError(400, `cannot decompress ${encoding} body: ${(err as Error).message}`);
  }
}

/** 413 for a body over `limit` bytes. */
export function tooLarge(limit: number): BodyError {
  return new BodyError(413, `request body over the limit of ${limit} bytes`);
}
