/**
 * OTLP/gRPC (`TraceService/Export` on the gRPC port): the real `@opentelemetry/exporter-trace-otlp-grpc`
 * as a client end to end, and a raw grpc-js client for the status codes the OTLP spec gives each failure.
 */
import { execFileSync } from 'node:child_process';
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { compress as snappyCompress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startServer } from '@rootspan/server';
import { nodeBinary } from '../../otel/test/helpers/node-runtime.js';
import { call, testServer } from './helpers/server.js';
import { snappyFramed } from './helpers/snappy-framed.js';
import { MIN, exportBatches, shopSpans } from './helpers/shop.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const raw = (b: Buffer) => b;

interface RawAnswer {
  err: ServiceError | null;
  response: Buffer | undefined;
}

/** One Export call with a raw grpc-js client: the body as given, optionally gzip-compressed and with a token. */
function exportRaw(address: string, body: Buffer, o: { token?: string; gzip?: boolean } = {}): Promise<RawAnswer> {
  // 2 = gzip in grpc-js's compression algorithm enum.
  const client = new Client(address, credentials.createInsecure(), o.gzip ? { 'grpc.default_compression_algorithm': 2 } : {});
  const metadata = new Metadata();
  if (o.token !== undefined) metadata.set('authorization', `Bearer ${o.token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT, raw, raw, body, metadata, { deadline: Date.now() + 10_000 }, (err, response) => {
      client.close();
      resolve({ err: err ?? null, response });
    });
  });
}

/**
 * One Export call over raw HTTP/2, its message compressed by the caller and sent under `grpc-encoding`
 * (grpc-js clients compress with gzip and deflate only; the Collector's also with zstd and snappy).
 */
function exportEncoded(address: string, compressed: Buffer, encoding: string): Promise<{ code: number; message: string }> {
  const session = http2Connect(`http://${address}`);
  const req = session.request({ ':method': 'POST', ':path': EXPORT, 'content-type': 'application/grpc', te: 'trailers', 'grpc-encoding': encoding });
  const prefix = Buffer.from([1, 0, 0, 0, 0]);
  prefix.writeUInt32BE(compressed.length, 1);
  req.end(Buffer.concat([prefix, compressed]));
  return new Promise((resolve, reject) => {
    // The status comes in the trailers, or in the headers of a trailers-only answer.
    const answer = (h: Record<string, unknown>) => {
      if (h['grpc-status'] === undefined) return;
      resolve({ code: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
      session.close();
    };
    req.on('response', answer);
    req.on('trailers', answer);
    req.on('error', reject);
    req.resume();
  });
}

const request = (spans: ReadableSpan[]) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);

describe('OTLP/gRPC receiver', () => {
  it('the OTLP/gRPC exporter (gzip, bearer token) delivers a payment outage that comes out of the API as one incident', async () => {
    const server = await testServer({ token: 'api-secret', ingestToken: 'ingest-secret' });
    expect(server.grpcPort).toBeGreaterThan(0);
    expect(server.grpcPort).not.toBe(server.port);
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer ingest-secret');
    const exporter = new OTLPTraceExporter({ url: `http://${server.grpcAddress}`, metadata, compression: 'gzip' as never });
    const spans = shopSpans({ t0: T0, durationMs: 9 * MIN, faultFromMs: 6 * MIN });
    let sent = 0;
    for (const batch of exportBatches([spans.checkout, spans.payment], 5000)) {
      const result = await new Promise<ExportResult>((resolve) => exporter.export(batch, resolve));
      expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);
      sent += batch.length;
    }
    await exporter.shutdown();

    expect((await call(server, '/aiops/analyze', { method: 'POST', token: 'api-secret' })).status).toBe(200);
    const st = (await call(server, '/aiops/status', { token: 'api-secret' })).body;
    expect(st.listeners).toEqual({ otlpHttp: server.url, otlpGrpc: server.grpcAddress });
    expect(st.ingest.spansReceived).toBe(sent);
    expect(st.ingest.spansAccepted).toBe(sent);
    expect(st.ingest.grpcRequests.OK).toBeGreaterThan(10);
    expect(st.ingest.requests).toEqual({});

    const incidents = (await call(server, '/aiops/incidents', { token: 'api-secret' })).body.incidents;
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment', kind: 'errors' });
    const metrics = (await call(server, '/aiops/metrics', { token: 'api-secret' })).body;
    expect(JSON.stringify(metrics)).toContain('POST /payment');
    const prom = await call(server, '/metrics', { token: 'api-secret' });
    expect(prom.text).toMatch(/rootspan_otlp_grpc_requests_total\{code="OK"\} \d+/);
  });

  it('INVALID_ARGUMENT naming the problem for bytes that are not OTLP; the server keeps serving', async () => {
    const server = await testServer();
    const bad = await exportRaw(server.grpcAddress!, Buffer.from('not a protobuf at all'));
    expect(bad.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.err?.details).toMatch(/invalid protobuf at byte/);
    const { checkout } = shopSpans({ t0: T0, durationMs: 1000 });
    const good = await exportRaw(server.grpcAddress!, request(checkout));
    expect(good.err).toBeNull();
    expect(good.response).toEqual(Buffer.alloc(0)); // full success: an empty ExportTraceServiceResponse
    expect(server.status().ingest.spansReceived).toBe(checkout.length);
    expect(server.status().ingest.grpcRequests).toEqual({ INVALID_ARGUMENT: 1, OK: 1 });
  });

  it('partial success: rejected_spans and the reason, the good spans kept', async () => {
    const server = await testServer();
    const { checkout } = shopSpans({ t0: T0, durationMs: 1000 });
    // One more span whose end is before its start: decodable, but rejected.
    const backwards = Object.create(checkout[0], { startTime: { value: [2_000_000_000, 0] }, endTime: { value: [1_000_000_000, 0] } });
    const answer = await exportRaw(server.grpcAddress!, Buffer.concat([request(checkout), request([backwards])]));
    expect(answer.err).toBeNull();
    const bytes = answer.response!;
    expect(bytes[0]).toBe(0x0a); // partial_success
    expect(bytes[2]).toBe(0x08); // rejected_spans
    expect(bytes[3]).toBe(1);
    expect(bytes.subarray(6).toString('utf8')).toMatch(/spans\[0\]/);
    expect(server.status().ingest.spansReceived).toBe(checkout.length + 1);
    expect(server.status().drops.malformed).toBe(1);
  });

  it('UNAUTHENTICATED without the token or with a wrong one; the ingest token and gzip are accepted', async () => {
    const server = await testServer({ token: 'api-secret', ingestToken: 'ingest-secret' });
    const { checkout } = shopSpans({ t0: T0, durationMs: 1000 });
    const body = request(checkout);
    expect((await exportRaw(server.grpcAddress!, body)).err?.code).toBe(status.UNAUTHENTICATED);
    const wrong = await exportRaw(server.grpcAddress!, body, { token: 'guess' });
    expect(wrong.err?.code).toBe(status.UNAUTHENTICATED);
    expect(wrong.err?.details).toMatch(/bearer token/);
    expect(server.status().ingest.spansReceived).toBe(0);
    expect((await exportRaw(server.grpcAddress!, body, { token: 'ingest-secret', gzip: true })).err).toBeNull();
    expect((await exportRaw(server.grpcAddress!, body, { token: 'api-secret' })).err).toBeNull();
    expect(server.status().ingest.spansReceived).toBe(2 * checkout.length);
  });

  it('RESOURCE_EXHAUSTED with RetryInfo when the intake queue is full; nothing of the refused request kept', async () => {
    // Spans ending now are held for the trace wait: they fill the queue.
    const { checkout } = shopSpans({ t0: Date.now() - 1000, durationMs: 1000 });
    const server = await testServer({ maxQueuedSpans: checkout.length, traceWaitMs: 60_000 });
    // More than the queue holds even when empty is no reason to retry.
    const big = await exportRaw(server.grpcAddress!, request([...checkout, checkout[0]]));
    expect(big.err?.code).toBe(status.INVALID_ARGUMENT);
    expect(big.err?.details).toMatch(/more than the intake queue holds/);
    expect((await exportRaw(server.grpcAddress!, request(checkout.slice(0, 1)))).err).toBeNull();
    const full = await exportRaw(server.grpcAddress!, request(checkout));
    expect(full.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(full.err?.details).toMatch(/intake queue full/);
    const details = full.err!.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
    expect(server.status().drops.queueFull).toBe(checkout.length);
    expect(server.status().queue.spans).toBe(1);
  });

  it('refuses a message above the body limit, compressed or not', async () => {
    const server = await testServer({ maxBodyBytes: 2000 });
    const { checkout } = shopSpans({ t0: T0, durationMs: 60_000 });
    const body = request(checkout);
    expect(body.length).toBeGreaterThan(2000);
    expect((await exportRaw(server.grpcAddress!, body)).err?.code).toBe(status.RESOURCE_EXHAUSTED);
    // Compressed it fits the wire limit; decompressed it does not.
    expect((await exportRaw(server.grpcAddress!, body, { gzip: true })).err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(server.status().ingest.spansReceived).toBe(0);
  });

  it("takes the Collector's snappy messages (framed, or a bare block) and zstd where Node.js has it; a snappy bomb is RESOURCE_EXHAUSTED", async () => {
    const server = await testServer({ maxBodyBytes: 1 << 20 });
    const { checkout } = shopSpans({ t0: T0, durationMs: 60_000 });
    const body = request(checkout);
    expect(await exportEncoded(server.grpcAddress!, snappyFramed(body), 'snappy')).toMatchObject({ code: status.OK });
    expect(await exportEncoded(server.grpcAddress!, Buffer.from(snappyCompress(body)), 'snappy')).toMatchObject({ code: status.OK });
    expect(server.status().ingest.spansReceived).toBe(2 * checkout.length);
    const zstd = (zlib as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
    const answer = await exportEncoded(server.grpcAddress!, zstd === undefined ? body : zstd(body), 'zstd');
    // Node.js 20 has no zstd: grpc-js's own answer. Node.js 24's decoding is checked below.
    expect(answer.code).toBe(zstd === undefined ? status.UNIMPLEMENTED : status.OK);
    const bomb = await exportEncoded(server.grpcAddress!, Buffer.from(snappyCompress(Buffer.alloc(4 << 20, 32))), 'snappy');
    expect(bomb.code).toBe(status.RESOURCE_EXHAUSTED);
    const corrupt = await exportEncoded(server.grpcAddress!, Buffer.from('not snappy at all'), 'snappy');
    expect(corrupt.code).toBe(status.INTERNAL);
    expect(corrupt.message).toMatch(/^Failed to decompress snappy message/);
    expect(server.status().ingest.spansReceived).toBe((zstd === undefined ? 2 : 3) * checkout.length);
  });

  it('zstd messages on Node.js 24: decoded, a zstd bomb RESOURCE_EXHAUSTED, corrupt INTERNAL', { timeout: 120_000 }, () => {
    const { checkout } = shopSpans({ t0: T0, durationMs: 1000 });
    const child = fileURLToPath(new URL('./helpers/grpc-zstd.mjs', import.meta.url));
    const out = execFileSync(nodeBinary(24), ['--experimental-transform-types', '--no-warnings', child], { encoding: 'utf8', timeout: 60_000, input: request(checkout).toString('base64') });
    type Reply = { code: number; details: string };
    const r = JSON.parse(out) as { ok: Reply; bomb: Reply; corrupt: Reply; spansReceived: number; grpcRequests: Record<string, number> };
    expect(r.ok.code).toBe(status.OK);
    expect(r.spansReceived).toBe(checkout.length);
    expect(r.bomb.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(r.corrupt.code).toBe(status.INTERNAL);
    expect(r.corrupt.details).toMatch(/^Failed to decompress zstd message/);
    expect(r.grpcRequests).toEqual({ INTERNAL: 1, OK: 1, RESOURCE_EXHAUSTED: 1 });
  });

  it('UNAVAILABLE (retried by exporters) for an export that arrives while the server stops', async () => {
    const server = await startServer({ port: 0, log: () => {} });
    const { checkout } = shopSpans({ t0: T0, durationMs: 1000 });
    const client = new Client(server.grpcAddress!, credentials.createInsecure());
    const send = () =>
      new Promise<ServiceError | null>((resolve) => {
        client.makeUnaryRequest(EXPORT, raw, raw, request(checkout), new Metadata(), { deadline: Date.now() + 10_000 }, (err) => resolve(err ?? null));
      });
    try {
      expect(await send()).toBeNull();
      // Once close() starts, a new call gets UNAVAILABLE (from the receiver, or from grpc-js once it has stopped accepting).
      const closed = server.close();
      expect((await send())?.code).toBe(status.UNAVAILABLE);
      await closed;
    } finally {
      client.close();
    }
    expect(server.status().ingest.spansReceived).toBe(checkout.length);
  });

  it('nothing listens on the gRPC port after close; grpcPort false starts no gRPC listener', async () => {
    const server = await startServer({ port: 0, log: () => {} });
    const port = server.grpcPort!;
    await server.close();
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    const httpOnly = await testServer({ grpcPort: false });
    expect(httpOnly.grpcPort).toBeUndefined();
    expect(httpOnly.status().listeners.otlpGrpc).toBeNull();
  });
});
