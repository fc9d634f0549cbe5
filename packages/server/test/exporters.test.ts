/**
 * The real OTLP exporters as clients: checkout exports with `@opentelemetry/exporter-trace-otlp-http`
 * (JSON), payment with `-proto` (protobuf, gzip), both with a bearer token; the payment outage must come
 * out of the API as one incident rooted in payment, and reach a webhook with a valid signature.
 */
import { describe, expect, it } from 'vitest';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { call, testServer } from './helpers/server.js';
import { sink, verify } from './helpers/sink.js';
import { MIN, exportBatches, shopSpans } from './helpers/shop.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

const exportWith = (exporter: SpanExporter, spans: ReadableSpan[]) =>
  new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

describe('OTLP exporters → server → API', () => {
  it('receives JSON and protobuf exports, shows the payment outage as one incident, and a signed webhook fires', async () => {
    const hook = await sink();
    const server = await testServer({ token: 'api-secret', ingestToken: 'ingest-secret', notifications: [{ type: 'webhook', url: hook.url, secret: 's3cret' }] });
    const headers = { Authorization: 'Bearer ingest-secret' };
    const json = new JsonExporter({ url: `${server.url}/v1/traces`, headers });
    const proto = new ProtoExporter({ url: `${server.url}/v1/traces`, headers, compression: 'gzip' as never });
    const spans = shopSpans({ t0: T0, durationMs: 9 * MIN, faultFromMs: 6 * MIN });
    let sent = 0;
    for (const batch of exportBatches([spans.checkout, spans.payment], 1000)) {
      const viaProto = batch[0].resource.attributes['service.name'] === 'payment';
      const result = await exportWith(viaProto ? proto : json, batch);
      expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);
      sent += batch.length;
    }
    await Promise.all([json.shutdown(), proto.shutdown()]);

    const analyzed = await call(server, '/aiops/analyze', { method: 'POST', token: 'api-secret' });
    expect(analyzed.status).toBe(200);
    const ingest = await call(server, '/aiops/status', { token: 'api-secret' });
    expect(ingest.body.ingest.spansReceived).toBe(sent);
    expect(ingest.body.ingest.spansAccepted).toBe(sent);
    expect(ingest.body.ingest.requests['200']).toBeGreaterThan(100);

    const list = await call(server, '/aiops/incidents', { token: 'api-secret' });
    expect(list.status).toBe(200);
    const incidents = list.body.incidents;
    expect(incidents.map((i: any) => i.title)).toHaveLength(1);
    const inc = incidents[0];
    expect(inc.rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment', kind: 'errors' });
    expect(Date.parse(inc.openedAt)).toBeGreaterThanOrEqual(T0 + 6 * MIN);
    expect(Date.parse(inc.openedAt)).toBeLessThan(T0 + 7 * MIN);

    const detail = await call(server, `/aiops/incidents/${inc.id}`, { token: 'api-secret' });
    expect(detail.status).toBe(200);
    expect(detail.body.candidates[0]).toMatchObject({ service: 'payment' });
    expect(detail.body.traceIds.length).toBeGreaterThan(0);
    expect(detail.body.anomalies.some((a: any) => a.service === 'payment' && a.kind === 'errors')).toBe(true);
    expect(detail.body.timeline[0]).toMatchObject({ event: 'opened', at: inc.openedAt });

    const got = await hook.next();
    expect(verify('s3cret', got)).toBe(true);
    expect(verify('other', got)).toBe(false);
    const body = JSON.parse(got.body);
    expect(body).toMatchObject({ type: 'incident.opened', url: `${server.url}/#/incidents/${inc.id}`, apiUrl: `${server.url}/aiops/incidents/${inc.id}` });
    expect(body.incident).toMatchObject({ id: inc.id, rootCause: { service: 'payment' } });
    const status = await call(server, '/aiops/status', { token: 'api-secret' });
    expect(status.body.notifications.targets[0]).toMatchObject({ type: 'webhook', failed: 0, healthy: true, endpoint: new URL(hook.url).origin });
    expect(status.body.notifications.targets[0].delivered).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('an exporter without the token is refused with 401 and nothing is ingested', async () => {
    const server = await testServer({ token: 'api-secret' });
    const exporter = new JsonExporter({ url: `${server.url}/v1/traces`, headers: { Authorization: 'Bearer wrong' } });
    const spans = shopSpans({ t0: T0, durationMs: 2000 });
    const result = await exportWith(exporter, spans.checkout);
    expect(result.code).toBe(ExportResultCode.FAILED);
    await exporter.shutdown();
    const status = await call(server, '/aiops/status', { token: 'api-secret' });
    expect(status.body.ingest.requests['401']).toBe(1);
    expect(status.body.ingest.spansReceived).toBe(0);
  });
});
