/**
 * The limits and encodings OTLP/HTTP bodies have, for OTLP/gRPC calls. A message being received takes its
 * bytes from the same {@link BodyBudget}, and what it decompresses to as it does (by {@link readBody}, as
 * OTLP/HTTP bodies are: snappy and zstd too), until the call's handler takes it: RESOURCE_EXHAUSTED with a
 * RetryInfo past it, where HTTP answers 503. It must arrive within the request timeout: DEADLINE_EXCEEDED
 * after it, where HTTP answers 408. Without them 48 stalled streams each holding 15 MB of a message took a
 * probe's server to 800 MB, for ever.
 *
 * grpc-js buffers and decompresses a message in the call it creates under the interceptors, so the
 * interceptor here reads that call's stream and replaces its `decompressMessage` (fields of grpc-js 1.14's
 * `BaseServerInterceptingCall`; without them only the timeout applies, and grpc-js's own gzip and deflate),
 * and wraps its `sendStatus`: grpc-js sends its own refusals (a message over the size limit, a bad
 * compression, a bad `grpc-timeout`) through it, so every call's status is counted.
 */
import { constants as h2, type ServerHttp2Stream } from 'node:http2';
import { PassThrough } from 'node:stream';
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { BUDGET_EXCEEDED, BodyError, readBody, type BodyBudget } from './body.js';
import { hasZstd } from './codecs/zstd.js';
import { grpcRetryStatus } from './otlp-response.js';

/** What {@link callLimits} bounds calls by, and where it reports how each call ended. */
export interface CallLimits {
  /** Bytes of the messages being received, shared with the HTTP receivers. */
  bodies: BodyBudget;
  /** Largest message, compressed and decompressed (grpc-js's `grpc.max_receive_message_length`). */
  maxMessageBytes: number;
  /** A call's message must arrive whole within this, from its headers on. */
  timeoutMs: number;
  /** Called once per call answered, with its status, whoever answers (the handler or grpc-js). */
  count: (code: status) => void;
}

interface CallStatus {
  code: status;
  details: string;
  metadata?: Metadata | null;
}

/** The grpc-js call under the interceptors, as far as read here. */
interface BaseCall {
  stream?: ServerHttp2Stream;
  sendStatus(s: CallStatus): void;
  /** Decompresses a whole message (its 5-byte prefix first); rejects with the status to answer. */
  decompressMessage?(message: Buffer, encoding: string): Buffer | Promise<Buffer>;
}

/**
 * A message prefix's Compressed-Flag the gRPC spec refuses with INTERNAL: a value other than 0 or 1, or 1
 * with no `grpc-encoding` (identity). grpc-js reads any flag but 1 as uncompressed, and a 1 with identity as
 * plain bytes: the compressed bytes then failed as "invalid protobuf", an INVALID_ARGUMENT that blamed the data.
 */
function framingRefusal(flag: number | undefined, encoding: string): CallStatus | undefined {
  if (flag === 0 || (flag === 1 && encoding !== 'identity')) return undefined;
  const details = flag === 1 ? 'message marked compressed, but no grpc-encoding was sent' : `invalid Compressed-Flag ${String(flag)} in a message prefix (0 or 1)`;
  return { code: status.INTERNAL, details };
}

/** How long a call refused for want of budget is asked to wait. */
const BUDGET_RETRY_S = 1;

/** RESOURCE_EXHAUSTED for want of budget, with a RetryInfo: the OTLP exporters retry it then. */
function budgetStatus(): CallStatus {
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', grpcRetryStatus(status.RESOURCE_EXHAUSTED, BUDGET_EXCEEDED, BUDGET_RETRY_S));
  return { code: status.RESOURCE_EXHAUSTED, details: BUDGET_EXCEEDED, metadata };
}

/**
 * The `grpc-encoding`s decompressed by {@link readBody}, as OTLP/HTTP bodies are: grpc-js's gzip and
 * deflate, and the Collector's `otlp` exporter's snappy and zstd (where Node.js has it), which grpc-js
 * answers UNIMPLEMENTED; others are left to grpc-js.
 */
const METERED = new Set(['gzip', 'deflate', 'snappy', ...(hasZstd ? ['zstd'] : [])]);

/**
 * A compressed message's bytes decompressed by {@link readBody}: its output is taken from the budget as it
 * grows (grpc-js's own gzip held up to the size limit per call, unmetered). Rejects with the status to answer.
 */
async function inflate(data: Buffer, encoding: string, limits: CallLimits): Promise<Buffer> {
  const body = Object.assign(new PassThrough(), { headers: { 'content-encoding': encoding } });
  body.end(data);
  try {
    return await readBody(body, limits.maxMessageBytes, limits.bodies);
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    if (err.status === 503) throw budgetStatus();
    // grpc-js's own words for a message over the limit.
    if (err.status === 413) throw { code: status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${limits.maxMessageBytes}` };
    if (err.status === 415) throw { code: status.UNIMPLEMENTED, details: err.message };
    throw { code: status.INTERNAL, details: `Failed to decompress ${encoding} message (${err.message})` };
  }
}

/** A server interceptor applying `limits` to each call (pass it in the grpc-js `Server`'s `interceptors`). */
export function callLimits(limits: CallLimits): ServerInterceptor {
  return (_method, next) => {
    const base = next as unknown as BaseCall;
    const stream = base.stream;
    let held = 0;
    let released = false;
    let answered = false;
    /** Takes `bytes` more from the budget, or refuses the call (false) when they do not fit. */
    const take = (bytes: number): boolean => {
      if (limits.bodies.held + bytes > limits.bodies.max) {
        base.sendStatus(budgetStatus());
        return false;
      }
      held += bytes;
      limits.bodies.held += bytes;
      return true;
    };
    const onData = (chunk: Buffer) => {
      // A chunk grpc-js refused (too large) reaches this listener after the call was answered.
      if (!released) take(chunk.length);
    };
    const timer = setTimeout(() => base.sendStatus({ code: status.DEADLINE_EXCEEDED, details: `request message not received within ${limits.timeoutMs} ms` }), limits.timeoutMs);
    timer.unref();
    /** The message is in (its bytes go to the handler, which decodes them at once) or the call is over. */
    const release = () => {
      released = true;
      clearTimeout(timer);
      stream?.off('data', onData);
      limits.bodies.held -= held;
      held = 0;
    };
    const sendStatus = base.sendStatus.bind(base);
    base.sendStatus = (s) => {
      const gone = stream !== undefined && (stream.destroyed || stream.closed);
      // A status for a stream the client has closed reaches no one (grpc-js drops it): not an answer.
      if (!answered && !gone) limits.count(s.code);
      answered = true;
      release();
      sendStatus(s);
      // Refused before the request's end: after a complete answer HTTP/2 lets a server stop the rest with
      // NO_ERROR. The client stops sending (else its stream stays open), grpc-js's partial message goes.
      // On the next turn: closed at once, a stream whose client is still writing never sent its answer.
      if (stream !== undefined && !gone && !stream.readableEnded) {
        setImmediate(() => {
          if (!stream.closed) stream.close(h2.NGHTTP2_NO_ERROR);
        });
      }
    };
    stream?.on('data', onData);
    const decompress = base.decompressMessage?.bind(base);
    if (decompress !== undefined) {
      base.decompressMessage = (message, encoding) => {
        const refused = framingRefusal(message[0], encoding);
        if (refused !== undefined) return Promise.reject(refused);
        return METERED.has(encoding) ? inflate(message.subarray(5), encoding, limits) : decompress(message, encoding);
      };
    }
    return new ServerInterceptingCall(next, {
      start: (go) =>
        go({
          // Decompressed, a message can be a thousand times the bytes that came (a gzip of zeros), and it is
          // held until the client half-closes: from here its size is what the call holds.
          onReceiveMessage: (message: unknown, pass) => {
            limits.bodies.held -= held;
            held = 0;
            if (take(Buffer.isBuffer(message) ? message.length : 0)) pass(message);
          },
          onReceiveHalfClose: (halfClose) => {
            release();
            halfClose();
          },
          onCancel: release,
        }),
    });
  };
}
