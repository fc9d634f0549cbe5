/**
 * `rootspan serve` with its OTLP/gRPC listener as a real process: the address in `/aiops/status`, spans
 * exported over gRPC with the token analysed, `--grpc-port off`, usage errors, a gRPC port in use, and
 * nothing listening after SIGTERM.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { exited, killServes, runCli, serveBuilt as built, startServe as serve } from './serve-process.js';

afterEach(killServes);

const auth = { authorization: 'Bearer t0ken' };

/** Two finished spans of a real tracer, as an ExportTraceServiceRequest. */
function request(): Buffer {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('serve-grpc');
  tracer.startSpan('GET /a').end();
  tracer.startSpan('GET /b').end();
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!);
}

function exportRaw(address: string, body: Buffer, token: string | undefined): Promise<ServiceError | null> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    const raw = (b: Buffer) => b;
    client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', raw, raw, body, metadata, { deadline: Date.now() + 10_000 }, (err) => {
      client.close();
      resolve(err ?? null);
    });
  });
}

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });

describe.skipIf(!built)(built ? 'rootspan serve: OTLP/gRPC' : 'rootspan serve: OTLP/gRPC SKIPPED, packages/cli/dist is missing (run `npm run build`)', () => {
  it('listens for OTLP/gRPC beside OTLP/HTTP, takes the token, and closes both on SIGTERM', async () => {
    const server = await serve(['--grpc-port', '0'], { ROOTSPAN_TOKEN: 't0ken' });
    const status0 = (await (await fetch(`${server.url}/aiops/status`, { headers: auth })).json()) as any;
    const address: string = status0.listeners.otlpGrpc;
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await exportRaw(address, request(), 'wrong'))?.code).toBe(status.UNAUTHENTICATED);
    expect(await exportRaw(address, request(), 't0ken')).toBeNull();
    const after = (await (await fetch(`${server.url}/aiops/status`, { headers: auth })).json()) as any;
    expect(after.ingest.spansReceived).toBe(2);
    expect(after.ingest.grpcRequests).toEqual({ OK: 1, UNAUTHENTICATED: 1 });
    server.child.kill('SIGTERM');
    expect(await exited(server.child)).toBe(0);
    expect(await refused(Number(address.split(':')[1]))).toBe('ECONNREFUSED');
  });

  it('--grpc-port off (or "grpcPort": false in --config): no gRPC listener; a bad value or a gRPC port in use exit 2 with one line', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'rootspan-grpc-')), 'serve.json');
    writeFileSync(config, JSON.stringify({ grpcPort: false }));
    for (const args of [['--grpc-port', 'off'], ['--config', config]]) {
      const httpOnly = await serve(args);
      const st = (await (await fetch(`${httpOnly.url}/aiops/status`)).json()) as any;
      expect(st.listeners.otlpGrpc).toBeNull();
      httpOnly.child.kill('SIGTERM');
      expect(await exited(httpOnly.child)).toBe(0);
    }
    rmSync(dirname(config), { recursive: true, force: true });

    const bad = runCli(['serve', '--port', '0', '--grpc-port', 'abc']);
    let err = '';
    bad.stderr!.on('data', (d) => (err += d));
    expect(await exited(bad)).toBe(2);
    expect(err).toMatch(/--grpc-port must be a number from 0 to 65535 or 'off'/);

    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as { port: number }).port;
      const clash = runCli(['serve', '--port', '0', '--grpc-port', String(port)]);
      let clashErr = '';
      clash.stderr!.on('data', (d) => (clashErr += d));
      expect(await exited(clash)).toBe(2);
      expect(clashErr).toMatch(/cannot serve: cannot listen for OTLP\/gRPC on 127\.0\.0\.1:\d+/);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
