/**
 * The round trip with the real OpenTelemetry SDK: spans made by `@opentelemetry/sdk-trace-base`
 * (two services, checkout calling payment, SERVER/CLIENT kinds, stable HTTP semantic conventions),
 * serialised by `@opentelemetry/otlp-transformer` exactly as the OTLP exporters send them, written to
 * files, and analysed by `rootspan analyze`: the payment outage must come out as an incident rooted in
 * payment. Nothing here goes through rootspan's own encoder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type IdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Rng } from '@rootspan/sim';
import type { JsonReport } from 'rootspan';
import { tempDir } from './helpers/data.js';
import { parseJson, run } from './helpers/run.js';
import { validateReport } from './helpers/validate.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
const MIN = 60_000;
/** Requests per second into checkout; payment fails every request from FAULT_FROM to the end. */
const RPS = 5;
const DURATION = 9 * MIN;
const FAULT_FROM = 6 * MIN;
/**
 * Export interval (the BatchSpanProcessor's `scheduledDelayMillis`), as `@rootspan/sim` exports. Note: at
 * the SDK's default 5000 ms, with checkout's batch ahead of payment's, the engine (traceIdleMs 1000)
 * processes traces before payment's half arrives and names the outage "Timeouts in payment".
 */
const EXPORT_MS = 1000;

/** Sequential ids instead of the SDK's random ones: the files are identical on every run. */
function idGenerator(): IdGenerator {
  let n = 0;
  const hex = (digits: number) => (++n).toString(16).padStart(digits, '0');
  return { generateTraceId: () => `5eed${hex(28)}`, generateSpanId: () => `a0${hex(14)}` };
}

/** One SDK tracer provider per service, as in two processes, each with its `service.name` resource. */
function service(name: string, version: string, ids: IdGenerator) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': name, 'service.version': version, 'telemetry.sdk.language': 'nodejs' }),
    idGenerator: ids,
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  return { tracer: provider.getTracer(`@acme/${name}`, '1.0.0'), exporter };
}

/**
 * Every request: checkout SERVER `POST /checkout` → checkout CLIENT `POST` to payment → payment SERVER
 * `POST /payment`. Payment answers 500 from FAULT_FROM on, and checkout fails with it (502).
 */
function simulate(): { checkout: ReadableSpan[]; payment: ReadableSpan[] } {
  const ids = idGenerator();
  const checkout = service('checkout', '3.1.0', ids);
  const payment = service('payment', '1.4.2', ids);
  // Seeded: the data and the analysis are the same on every run.
  const rng = new Rng(42);
  const random = () => rng.next();
  const requests = (DURATION / 1000) * RPS;
  for (let i = 0; i < requests; i++) {
    const start = T0 + (i * 1000) / RPS + random() * 50;
    const failing = start - T0 >= FAULT_FROM;
    const payMs = 20 + random() * 15;
    const callStart = start + 2 + random() * 3;
    const callEnd = callStart + payMs + 1 + random();
    const end = callEnd + 3 + random() * 4;
    const http = (method: string, status: number, extra: Attributes): Attributes => ({
      'http.request.method': method,
      'http.response.status_code': status,
      'url.scheme': 'http',
      'network.protocol.version': '1.1',
      ...extra,
    });

    const server = checkout.tracer.startSpan(
      'POST /checkout',
      { kind: SpanKind.SERVER, startTime: start, attributes: http('POST', failing ? 502 : 200, { 'http.route': '/checkout', 'url.path': '/checkout', 'server.address': 'checkout', 'server.port': 8080 }) },
      ROOT_CONTEXT,
    );
    const client = checkout.tracer.startSpan(
      'POST',
      { kind: SpanKind.CLIENT, startTime: callStart, attributes: http('POST', failing ? 500 : 200, { 'server.address': 'payment', 'server.port': 8081, 'url.full': 'http://payment:8081/payment' }) },
      trace.setSpan(ROOT_CONTEXT, server),
    );
    // The payment process continues the trace from the propagated context (traceparent), not the span object.
    const paid = payment.tracer.startSpan(
      'POST /payment',
      { kind: SpanKind.SERVER, startTime: callStart + 0.5, attributes: http('POST', failing ? 500 : 200, { 'http.route': '/payment', 'url.path': '/payment', 'server.address': 'payment', 'server.port': 8081 }) },
      trace.setSpanContext(ROOT_CONTEXT, client.spanContext()),
    );
    if (failing) {
      paid.recordException(new Error('card processor unavailable'), callStart + payMs);
      paid.setAttribute('error.type', 'Error');
      paid.setStatus({ code: SpanStatusCode.ERROR, message: 'card processor unavailable' });
      client.setAttribute('error.type', '500');
      client.setStatus({ code: SpanStatusCode.ERROR });
      server.setAttribute('error.type', '502');
      server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });
    }
    paid.end(callStart + 0.5 + payMs);
    client.end(callEnd);
    server.end(end);
  }
  return { checkout: checkout.exporter.getFinishedSpans(), payment: payment.exporter.getFinishedSpans() };
}

const msOf = (s: ReadableSpan): number => s.endTime[0] * 1000 + s.endTime[1] / 1e6;

/**
 * What a BatchSpanProcessor per service would export: every EXPORT_MS of end time, each service's ended
 * spans as one ExportTraceServiceRequest, in export order: a Collector file-exporter JSONL file.
 */
function exports(spans: { checkout: ReadableSpan[]; payment: ReadableSpan[] }): ReadableSpan[][] {
  const out: Array<{ at: number; spans: ReadableSpan[] }> = [];
  for (const list of [spans.checkout, spans.payment]) {
    const batches = new Map<number, ReadableSpan[]>();
    for (const s of list) {
      const at = Math.floor(msOf(s) / EXPORT_MS) * EXPORT_MS + EXPORT_MS;
      let b = batches.get(at);
      if (b === undefined) batches.set(at, (b = []));
      b.push(s);
    }
    for (const [at, b] of batches) out.push({ at, spans: b });
  }
  return out.sort((a, b) => a.at - b.at).map((e) => e.spans);
}

const decoder = new TextDecoder();
const tmp = tempDir('rootspan-sdk-');
let spans: { checkout: ReadableSpan[]; payment: ReadableSpan[] };
let batches: ReadableSpan[][];

beforeAll(() => {
  spans = simulate();
  batches = exports(spans);
});
afterAll(() => tmp.cleanup());

/** Runs `rootspan analyze <file> --json` and checks the report against the spec and the simulated outage. */
async function expectPaymentIncident(file: string): Promise<JsonReport> {
  const r = await run(['analyze', file, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const report = parseJson(r) as JsonReport;
  expect(validateReport(report)).toEqual([]);
  const total = spans.checkout.length + spans.payment.length;
  expect(report.summary).toMatchObject({ spans: total, traces: total / 3, services: ['checkout', 'payment'], dropped: 0, malformed: 0 });
  return report;
}

describe('round trip: OpenTelemetry SDK spans → OTLP serialisers → file → rootspan analyze', () => {
  it('OTLP/JSON lines (JsonTraceSerializer, one export per line): an incident rooted in payment', async () => {
    const lines = batches.map((b) => decoder.decode(JsonTraceSerializer.serializeRequest(b)));
    // It is the real OTLP/JSON mapping: hex ids, decimal-string nanosecond times, numeric enums.
    const first = JSON.parse(lines[0]) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
    const span = first.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span.traceId).toMatch(/^5eed[0-9a-f]{28}$/);
    expect(span.startTimeUnixNano).toMatch(/^\d{19}$/);
    expect(typeof span.kind).toBe('number');
    const file = tmp.file('sdk.jsonl', `${lines.join('\n')}\n`);
    const report = await expectPaymentIncident(file);
    expectOutage(report);
  });

  it('one pretty-printed OTLP/JSON request (.json) and one OTLP/protobuf request (.pb) give the same analysis', async () => {
    const all = [...spans.checkout, ...spans.payment].sort((a, b) => msOf(a) - msOf(b));
    const json = JSON.stringify(JSON.parse(decoder.decode(JsonTraceSerializer.serializeRequest(all))), null, 2);
    const fromJson = await expectPaymentIncident(tmp.file('sdk-request.json', json));
    expectOutage(fromJson);
    const pb = ProtobufTraceSerializer.serializeRequest(all);
    expect(pb).toBeInstanceOf(Uint8Array);
    const fromPb = await expectPaymentIncident(tmp.file('sdk-request.pb', Buffer.from(pb!)));
    expect(fromPb).toEqual(fromJson);
    // Piped on stdin, each is the document its file is (sorted, not held as JSON lines): the same report.
    for (const [kind, content] of [['protobuf', Buffer.from(pb!)], ['json', json]] as const) {
      expect(parseJson(await run(['analyze', '-', '--json'], { stdin: content })), kind).toEqual(fromJson);
    }
  });
});

/** The one incident: payment POST /payment errors, opened soon after the fault started, checkout affected. */
function expectOutage(report: JsonReport): void {
  expect(Date.parse(report.summary.from!)).toBeGreaterThanOrEqual(T0);
  expect(Date.parse(report.summary.to!)).toBeLessThan(T0 + DURATION + 1000);
  const titles = report.incidents.map((i) => `${i.title} (${i.rootCause.service} ${i.rootCause.kind})`);
  expect(report.incidents, titles.join('; ')).toHaveLength(1);
  const inc = report.incidents[0];
  expect(inc.rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment', kind: 'errors' });
  expect(inc.rootCause.confidence).toBeGreaterThan(0.5);
  expect(inc.candidates[0]).toMatchObject({ service: 'payment', operation: 'POST /payment' });
  expect(inc.affected).toContainEqual({ service: 'payment', operation: 'POST /payment' });
  expect(inc.affected.map((a) => a.service)).toContain('checkout');
  const opened = Date.parse(inc.openedAt);
  expect(opened).toBeGreaterThanOrEqual(T0 + FAULT_FROM);
  expect(opened).toBeLessThan(T0 + FAULT_FROM + MIN);
  // example traces are the outage's own (the test traces' ids start 5eed): at least one, all of them ours
  expect(inc.traceIds.length).toBeGreaterThan(0);
  for (const id of inc.traceIds) expect(id).toMatch(/^5eed/);
}
