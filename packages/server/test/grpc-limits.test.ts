/**
 * OTLP/gRPC calls under OTLP/HTTP's limits: the shared body budget, the request timeout, and every
 * refusal counted, grpc-js's own too. Raw HTTP/2 streams, to stall a message half-way.
 */
import type { IncomingMessage } from 'node:http';
import { connect as http2Connect, type ClientHttp2Stream } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { createAnalyzer } from '@rootspan/engine';
import { ZipkinState } from '@rootspan/otlp';
import { BearerAuth } from '../src/auth.js';
import { BodyBudget, readBody } from '../src/body.js';
import { GrpcReceiver } from '../src/grpc-receiver.js';
import { Intake } from '../src/intake.js';
import type { ReceiverContext } from '../src/receiver.js';
import { call, testServer } from './helpers/server.js';

const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

interface Outcome {
  /** The grpc-status answered (undefined when none came before the stream closed). */
  code: number | undefined;
  message: string;
  details: Buffer | undefined;
}

/** An Export stream over raw HTTP/2: `write` sends bytes; `outcome` settles when the stream closes. */
function openExport(address: string, headers: Record<string, string> = {}): { stream: ClientHttp2Stream; outcome: Promise<Outcome>; close: () => void } {
  const session = http2Connect(`http://${address}`);
  session.on('error', () => {});
  const stream = session.request({ ':method': 'POST', ':path': EXPORT, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  const seen: Record<string, unknown> = {};
  stream.on('response', (h) => Object.assign(seen, h));
  stream.on('trailers', (h) => Object.assign(seen, h));
  stream.on('error', () => {});
  stream.resume();
  const outcome = new Promise<Outcome>((resolve) => {
    stream.on('close', () => {
      session.close();
      const details = seen['grpc-status-details-bin'];
      resolve({
        code: seen['grpc-status'] === undefined ? undefined : Number(seen['grpc-status']),
        message: decodeURIComponent(String(seen['grpc-message'] ?? '')),
        details: typeof details === 'string' ? Buffer.from(details, 'base64') : undefined,
      });
    });
  });
  return { stream, outcome, close: () => session.destroy() };
}

/** A gRPC message prefix: compressed flag, then the declared length. */
function prefix(length: number, compressed = false): Buffer {
  const b = Buffer.alloc(5);
  b[0] = compressed ? 1 : 0;
  b.writeUInt32BE(length, 1);
  return b;
}

const written = (stream: ClientHttp2Stream, data: Buffer) => new Promise<void>((resolve) => stream.write(data, () => resolve()));
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A receiver on its own, with a budget small enough to fill in a test. */
async function receiverWith(bodies: BodyBudget, requestTimeoutMs = 30_000): Promise<{ grpc: GrpcReceiver; answers: Map<string, number> }> {
  const analyzer = createAnalyzer();
  const ctx: ReceiverContext = {
    intake: new Intake(analyzer, { maxQueuedSpans: 1000, traceWaitMs: 0 }, Date.now),
    analyzer,
    maxBodyBytes: 1 << 20,
    bodies,
    redact: undefined,
    counters: { requests: new Map(), malformedSpans: 0, refusedOnArrival: { late: 0, future: 0 }, bytes: 0 },
    zipkin: new ZipkinState(),
    closing: () => false,
  };
  const answers = new Map<string, number>();
  const grpc = new GrpcReceiver(ctx, new BearerAuth([]), answers, requestTimeoutMs);
  await grpc.listen('127.0.0.1', 0);
  return { grpc, answers };
}

describe('OTLP/gRPC limits', () => {
  it('connections with no call in flight for the request timeout are closed: a socket that never sends the HTTP/2 preface, a session that never calls', async () => {
    const { grpc } = await receiverWith(new BodyBudget(100_000), 300);
    try {
      const closed = (target: { on(event: 'close', listener: () => void): unknown }) => new Promise<number>((resolve) => target.on('close', () => resolve(Date.now())));
      const started = Date.now();
      const raw = tcpConnect(grpc.port, '127.0.0.1');
      raw.on('error', () => {});
      // Read, or the socket would never see the server's end.
      raw.resume();
      const session = http2Connect(`http://${grpc.address}`);
      session.on('error', () => {});
      const [rawAt, sessionAt] = await Promise.all([closed(raw), closed(session)]);
      expect(rawAt - started).toBeGreaterThanOrEqual(250);
      expect(sessionAt - started).toBeGreaterThanOrEqual(250);
    } finally {
      await grpc.close(1000);
    }
  });

  it('a message being received takes from the body budget OTLP/HTTP bodies share: RESOURCE_EXHAUSTED with RetryInfo past it, counted; its bytes are let go when the call ends', async () => {
    const bodies = new BodyBudget(100_000);
    const { grpc, answers } = await receiverWith(bodies);
    try {
      // An HTTP body being read holds 40 KB of the budget.
      const httpBody = Object.assign(new PassThrough(), { headers: {} }) as unknown as PassThrough & IncomingMessage;
      const reading = readBody(httpBody, 1 << 20, bodies);
      httpBody.write(Buffer.alloc(40_000));
      // A stalled gRPC message holds 40 KB more.
      const stalled = openExport(grpc.address);
      await written(stalled.stream, Buffer.concat([prefix(500_000), Buffer.alloc(40_000)]));
      await tick(100);
      expect(bodies.held).toBeGreaterThanOrEqual(80_000);
      // A second one would take it past 100 KB.
      const refused = openExport(grpc.address);
      refused.stream.write(Buffer.concat([prefix(500_000), Buffer.alloc(40_000)]));
      const answer = await refused.outcome;
      expect(answer.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(answer.message).toMatch(/too much request data being read at once/);
      expect(answer.details?.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
      expect(answers.get('RESOURCE_EXHAUSTED')).toBe(1);
      // The stalled call gone, and the HTTP body read, nothing is held.
      stalled.close();
      await stalled.outcome;
      httpBody.end();
      await reading;
      await tick(100);
      expect(bodies.held).toBe(0);
    } finally {
      await grpc.close(1000);
    }
  });

  it('a compressed message takes its decompressed size from the budget until the call is over', async () => {
    const bodies = new BodyBudget(100_000);
    const { grpc, answers } = await receiverWith(bodies);
    try {
      // 60 KB of zeros in ~100 bytes of gzip, the stream left open after it.
      const gz = zlib.gzipSync(Buffer.alloc(60_000));
      const message = Buffer.concat([prefix(gz.length, true), gz]);
      const held = openExport(grpc.address, { 'grpc-encoding': 'gzip' });
      await written(held.stream, message);
      await tick(100);
      expect(bodies.held).toBe(60_000);
      const refused = openExport(grpc.address, { 'grpc-encoding': 'gzip' });
      refused.stream.write(message);
      expect((await refused.outcome).code).toBe(status.RESOURCE_EXHAUSTED);
      expect(answers.get('RESOURCE_EXHAUSTED')).toBe(1);
      // Half-closed, the first is answered and lets its bytes go.
      held.stream.end();
      expect((await held.outcome).code).toBeDefined();
      expect(bodies.held).toBe(0);
    } finally {
      await grpc.close(1000);
    }
  });

  it('a message prefix marked compressed with no grpc-encoding, or with a flag other than 0 and 1, is INTERNAL (the spec), counted', async () => {
    const { grpc, answers } = await receiverWith(new BodyBudget(100_000));
    try {
      const gz = zlib.gzipSync(Buffer.alloc(100));
      const unnamed = openExport(grpc.address);
      unnamed.stream.end(Buffer.concat([prefix(gz.length, true), gz]));
      expect(await unnamed.outcome).toMatchObject({ code: status.INTERNAL, message: 'message marked compressed, but no grpc-encoding was sent' });
      const flag = prefix(0);
      flag[0] = 2;
      const odd = openExport(grpc.address, { 'grpc-encoding': 'gzip' });
      odd.stream.end(flag);
      expect(await odd.outcome).toMatchObject({ code: status.INTERNAL, message: 'invalid Compressed-Flag 2 in a message prefix (0 or 1)' });
      expect(answers.get('INTERNAL')).toBe(2);
      // A plain message, and a gzip one named as such, still pass.
      const plain = openExport(grpc.address);
      plain.stream.end(prefix(0));
      expect((await plain.outcome).code).toBe(status.OK);
      const named = openExport(grpc.address, { 'grpc-encoding': 'gzip' });
      const empty = zlib.gzipSync(Buffer.alloc(0));
      named.stream.end(Buffer.concat([prefix(empty.length, true), empty]));
      expect((await named.outcome).code).toBe(status.OK);
    } finally {
      await grpc.close(1000);
    }
  });

  it('cuts a message that does not arrive within the request timeout (DEADLINE_EXCEEDED, counted) and keeps serving', async () => {
    const server = await testServer({ requestTimeoutMs: 300 });
    const stalled = openExport(server.grpcAddress!);
    stalled.stream.write(Buffer.concat([prefix(1000), Buffer.alloc(10)]));
    const started = Date.now();
    const answer = await stalled.outcome;
    expect(answer.code).toBe(status.DEADLINE_EXCEEDED);
    // The test would time out long before "never".
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.status().ingest.grpcRequests).toEqual({ DEADLINE_EXCEEDED: 1 });
    // An empty message is an empty export: OK.
    const good = openExport(server.grpcAddress!);
    good.stream.end(prefix(0));
    expect((await good.outcome).code).toBe(status.OK);
  });

  it("counts grpc-js's own refusals: a message over the limit, corrupt gzip, an unknown encoding, a cut-off message", async () => {
    const server = await testServer({ maxBodyBytes: 1000 });
    const send = async (body: Buffer, headers: Record<string, string> = {}) => {
      const e = openExport(server.grpcAddress!, headers);
      e.stream.end(body);
      return (await e.outcome).code;
    };
    expect(await send(Buffer.concat([prefix(2000), Buffer.alloc(2000)]))).toBe(status.RESOURCE_EXHAUSTED);
    const bomb = zlib.gzipSync(Buffer.alloc(100_000));
    expect(await send(Buffer.concat([prefix(bomb.length, true), bomb]), { 'grpc-encoding': 'gzip' })).toBe(status.RESOURCE_EXHAUSTED);
    expect(await send(Buffer.concat([prefix(10, true), Buffer.alloc(10, 7)]), { 'grpc-encoding': 'gzip' })).toBe(status.INTERNAL);
    expect(await send(Buffer.concat([prefix(10, true), Buffer.alloc(10, 7)]), { 'grpc-encoding': 'br' })).toBe(status.UNIMPLEMENTED);
    expect(await send(Buffer.concat([prefix(100), Buffer.alloc(10)]))).toBe(status.UNIMPLEMENTED);
    expect(server.status().ingest.grpcRequests).toEqual({ INTERNAL: 1, RESOURCE_EXHAUSTED: 2, UNIMPLEMENTED: 2 });
    const prom = await call(server, '/metrics');
    expect(prom.text).toContain('rootspan_otlp_grpc_requests_total{code="RESOURCE_EXHAUSTED"} 2');
  });
});
