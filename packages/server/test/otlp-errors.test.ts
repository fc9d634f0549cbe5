/**
 * Failure answers of `POST /v1/traces` as the OTLP/HTTP spec has them: a `google.rpc.Status` in the
 * request's encoding (protobuf for protobuf, JSON for JSON), so exporters that decode it (the Collector's
 * otlphttp exporter) can log why their data was refused. Checked with raw requests and a real exporter.
 */
import { describe, expect, it } from 'vitest';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { call, testServer } from './helpers/server.js';
import { shopSpans } from './helpers/shop.js';

/** Decodes a protobuf `Status` { 1: int32 code, 2: string message } (no other fields expected). */
function decodeStatus(bytes: Buffer): { code: number; message: string } {
  const out = { code: 0, message: '' };
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return v;
    }
  };
  while (i < bytes.length) {
    const tag = varint();
    if (tag === 0x08) out.code = varint();
    else if (tag === 0x12) {
      const n = varint();
      out.message = bytes.subarray(i, i + n).toString('utf8');
      i += n;
    } else throw new Error(`unexpected tag ${tag} at byte ${i}`);
  }
  return out;
}

async function raw(url: string, body: Buffer | string, contentType: string) {
  const res = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('OTLP/HTTP failure answers', () => {
  it('a protobuf request that fails gets a protobuf Status naming the problem', async () => {
    const server = await testServer();
    const res = await raw(server.url, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1]), 'application/x-protobuf');
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/x-protobuf');
    expect(decodeStatus(res.bytes)).toEqual({ code: 3, message: expect.stringMatching(/protobuf/) });
  });

  it('a JSON request that fails gets a JSON Status (code, message), with the message as error too', async () => {
    const server = await testServer();
    const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"hello": 1}' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 3, message: expect.stringMatching(/resourceSpans/), error: expect.stringMatching(/resourceSpans/) });
    const wrongMethod = await call(server, '/v1/traces', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.message).toMatch(/POST/);
  });

  it('a protobuf request without the ingest token gets 401 with a protobuf Status (UNAUTHENTICATED), counted', async () => {
    const server = await testServer({ ingestToken: 'secret' });
    const res = await raw(server.url, Buffer.alloc(0), 'application/x-protobuf');
    expect(res.status).toBe(401);
    expect(res.type).toBe('application/x-protobuf');
    expect(decodeStatus(res.bytes)).toEqual({ code: 16, message: expect.stringMatching(/bearer token/) });
    const json = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(401);
    expect(json.body).toEqual({ code: 16, message: expect.stringMatching(/bearer token/), error: expect.stringMatching(/bearer token/) });
    const status = await call(server, '/aiops/status', { token: 'secret' });
    expect(status.body.ingest.requests['401']).toBe(2);
  });

  it('a real protobuf exporter refused for size (413) reports the server\'s reason', async () => {
    const server = await testServer({ maxBodyBytes: 200 });
    const { checkout } = shopSpans({ t0: Date.UTC(2026, 2, 1), durationMs: 2000 });
    const exporter = new ProtoExporter({ url: `${server.url}/v1/traces` });
    const result = await new Promise<ExportResult>((resolve) => exporter.export(checkout, resolve));
    await exporter.shutdown();
    expect(result.error).toBeDefined();
    const error = result.error as Error & { code?: number; data?: string };
    expect(error.code).toBe(413);
    expect(error.data).toMatch(/request body over the limit of 200 bytes/);
    expect(error.data).not.toMatch(/^\{/); // the Status in protobuf, as the request was
  });
});
