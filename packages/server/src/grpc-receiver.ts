/**
 * OTLP/gRPC: the `opentelemetry.proto.collector.trace.v1.TraceService/Export` unary method, the default
 * transport of the Go, Java, Python and .NET SDKs and of the Collector's `otlp` exporter (port 4317). The
 * request is decoded by the same protobuf decoder as OTLP/HTTP and feeds the same intake (limits, drop
 * counters, partial success); failures carry the status codes the OTLP spec makes exporters retry or not.
 */
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { decodeOtlpProtobuf } from '@rootspan/otlp';
import type { BearerAuth } from './auth.js';
import { callLimits } from './grpc-limits.js';
import { grpcCode, grpcRetryStatus, protobufResponse } from './otlp-response.js';
import { acceptDecoded, type ReceiverContext } from './receiver.js';

/** Messages stay raw bytes: the project's decoder reads them, so no generated code or proto loading. */
const raw = (b: Buffer): Buffer => b;

const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  },
};

/** `host:port`, an IPv6 host in brackets. */
const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** Calls in flight on one connection at most (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; unlimited by default). */
const MAX_STREAMS_PER_CONNECTION = 100;

/** How long UNAVAILABLE during shutdown asks exporters to wait. */
const SHUTDOWN_RETRY_S = 5;

/** Answers by gRPC status name, for `/aiops/status` and `/metrics`. */
export type GrpcCounters = Map<string, number>;

/** The OTLP/gRPC listener of the central server. */
export class GrpcReceiver {
  private readonly server: Server;
  /** `host:port` once listening. */
  address = '';
  port = 0;

  /**
   * `requestTimeoutMs`: how long a call's message may take to arrive (OTLP/HTTP's request timeout); the
   * message's bytes come out of `ctx.bodies` while it does. `answers` counts every call's status.
   */
  constructor(
    private readonly ctx: ReceiverContext,
    private readonly auth: BearerAuth,
    readonly answers: GrpcCounters,
    requestTimeoutMs: number,
  ) {
    this.server = new Server({
      // Same size limit as an OTLP/HTTP body: grpc-js applies it on the wire, callLimits once decompressed.
      'grpc.max_receive_message_length': ctx.maxBodyBytes,
      // A connection with no call in flight for the request timeout is closed (GOAWAY: an exporter reconnects
      // for its next export), as the HTTP port closes one that sends no request: sockets that never send the
      // HTTP/2 preface, or sessions that never call, held open for ever used up the file descriptors.
      'grpc.max_connection_idle_ms': requestTimeoutMs,
      // An exporter has one export in flight per connection, a few at most.
      'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
      interceptors: [callLimits({ bodies: ctx.bodies, maxMessageBytes: ctx.maxBodyBytes, timeoutMs: requestTimeoutMs, count: (code) => this.count(status[code]) })],
    });
    this.server.addService(TRACE_SERVICE, { Export: (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) => this.export(call, done) });
  }

  /** Binds `host:port` (0 = a free port); rejects with a clear message when it cannot. */
  async listen(host: string, port: number): Promise<void> {
    const target = hostPort(host, port);
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(target, ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(new Error(`cannot listen for OTLP/gRPC on ${target}: ${err.message}`));
        else resolve(bound);
      });
    });
    this.address = hostPort(host, this.port);
  }

  private export(call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>): void {
    // Answers are counted where every call's status goes, grpc-js's own refusals too (see callLimits).
    const fail = (code: status, message: string, retryAfterSeconds?: number) => {
      const metadata = new Metadata();
      if (retryAfterSeconds !== undefined) metadata.set('grpc-status-details-bin', grpcRetryStatus(code, message, retryAfterSeconds));
      done({ code, details: message, metadata });
    };
    const authorization = call.metadata.get('authorization')[0];
    if (!this.auth.allows({ authorization: typeof authorization === 'string' ? authorization : undefined })) {
      return fail(status.UNAUTHENTICATED, 'missing or wrong bearer token (metadata authorization: Bearer <token>)');
    }
    if (this.ctx.closing()) return fail(status.UNAVAILABLE, 'shutting down', SHUTDOWN_RETRY_S);
    const body = call.request;
    this.ctx.counters.bytes += body.length;
    const outcome = acceptDecoded(decodeOtlpProtobuf(body), this.ctx);
    if (!outcome.ok) return fail(grpcCode(outcome.status), outcome.message, outcome.retryAfterSeconds);
    done(null, protobufResponse(outcome.partial));
  }

  private count(name: string): void {
    this.answers.set(name, (this.answers.get(name) ?? 0) + 1);
  }

  /** Stops accepting; calls in flight finish, or are cut after `deadlineMs`. */
  async close(deadlineMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, deadlineMs);
      this.server.tryShutdown(() => {
        clearTimeout(deadline);
        resolve();
      });
    });
  }
}
