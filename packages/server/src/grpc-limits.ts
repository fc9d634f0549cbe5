/**
 * The limits OTLP/HTTP bodies have, for OTLP/gRPC calls: a message being received takes its bytes from the
 * same {@link BodyBudget} (RESOURCE_EXHAUSTED with a RetryInfo past it, where HTTP answers 503), and must
 * arrive within the request timeout (DEADLINE_EXCEEDED after it, where HTTP answers 408). Without them 48
 * stalled streams each holding 15 MB of a message took a probe's server to 800 MB, for ever.
 *
 * grpc-js buffers a message in the call it creates under the interceptors, so the interceptor here reads
 * that call's stream (the `stream` field of grpc-js 1.14's `BaseServerInterceptingCall`; without one only
 * the timeout applies), and wraps that call's `sendStatus`: grpc-js sends its own refusals (a message over
 * the size limit, a bad compression, a bad `grpc-timeout`) through it, so every call's status is counted.
 */
import { constants as h2, type ServerHttp2Stream } from 'node:http2';
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { BUDGET_EXCEEDED, type BodyBudget } from './body.js';
import { grpcRetryStatus } from './otlp-response.js';

/** What {@link callLimits} bounds calls by, and where it reports how each call ended. */
export interface CallLimits {
  /** Bytes of the messages being received, shared with the HTTP receivers. */
  bodies: BodyBudget;
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
}

/** How long a call refused for want of budget is asked to wait. */
const BUDGET_RETRY_S = 1;

/** A server interceptor applying `limits` to each call (pass it in the grpc-js `Server`'s `interceptors`). */
export function callLimits(limits: CallLimits): ServerInterceptor {
  return (_method, next) => {
    const base = next as unknown as BaseCall;
    const stream = base.stream;
    let held = 0;
    let released = false;
    let answered = false;
    const onData = (chunk: Buffer) => {
      // A chunk grpc-js refused (too large) reaches this listener after the call was answered.
      if (released) return;
      if (limits.bodies.held + chunk.length > limits.bodies.max) {
        const metadata = new Metadata();
        metadata.set('grpc-status-details-bin', grpcRetryStatus(status.RESOURCE_EXHAUSTED, BUDGET_EXCEEDED, BUDGET_RETRY_S));
        return refuse({ code: status.RESOURCE_EXHAUSTED, details: BUDGET_EXCEEDED, metadata });
      }
      held += chunk.length;
      limits.bodies.held += chunk.length;
    };
    const timer = setTimeout(() => refuse({ code: status.DEADLINE_EXCEEDED, details: `request message not received within ${limits.timeoutMs} ms` }), limits.timeoutMs);
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
      // A status for a stream the client has closed reaches no one (grpc-js drops it): not an answer.
      if (!answered && !(stream !== undefined && (stream.destroyed || stream.closed))) limits.count(s.code);
      answered = true;
      release();
      sendStatus(s);
    };
    // After a complete answer HTTP/2 lets a server stop the rest of the request with NO_ERROR: the client
    // stops sending, and grpc-js's partial message goes with the stream.
    const refuse = (s: CallStatus) => {
      base.sendStatus(s);
      if (stream !== undefined && !stream.closed) stream.close(h2.NGHTTP2_NO_ERROR);
    };
    stream?.on('data', onData);
    return new ServerInterceptingCall(next, {
      start: (go) =>
        go({
          onReceiveHalfClose: (halfClose) => {
            release();
            halfClose();
          },
          onCancel: release,
        }),
    });
  };
}
