import { describe, expect, it } from 'vitest';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ANALYZED_ATTRIBUTE_KEYS, type Span } from '@rootspan/engine';
import { decodeOtlpJson, decodeOtlpProtobuf, encodeOtlpJson, type DecodeResult } from '@rootspan/otlp';
import { SpanKind, SpanStatusCode, hrTimeToMsExact, sdkService } from './helpers/sdk.js';

/** A realistic mix: two services (one versioned), all kinds, statuses, exceptions, attribute types. */
function sdkSpans(): ReadableSpan[] {
  const api = sdkService({ 'service.name': 'api', 'service.version': '2.4.1', 'host.name': 'h1', 'process.pid': 4242 });
  const db = sdkService({ 'service.name': 'db-svc', 'host.name': 'h2', 'service.instance.id': 'db-1' });
  const root = api.span('POST /orders', {
    kind: SpanKind.SERVER,
    start: [1_700_000_000, 123_456_789],
    end: [1_700_000_001, 5],
    attributes: {
      'http.request.method': 'POST',
      'http.route': '/orders',
      'http.response.status_code': 500,
      'server.port': 8080,
      'user.id': 'dropped',
      'http.request.header.x': ['a', 'b'],
    },
    status: { code: SpanStatusCode.ERROR, message: 'upstream failed' },
  });
  const client = api.span('GET', {
    kind: SpanKind.CLIENT,
    start: 1_700_000_000_200.5,
    end: 1_700_000_000_300.25,
    attributes: { 'server.address': 'db-svc', 'server.port': 5432, 'peer.service': 'db-svc', 'http.status_code': 503 },
    exception: new TypeError('socket hang up'),
    status: { code: SpanStatusCode.ERROR },
    parent: root,
  });
  db.span('SELECT orders', {
    kind: SpanKind.SERVER,
    start: [1_700_000_000, 210_000_001],
    end: [1_700_000_000, 290_999_999],
    attributes: { 'db.system': 'postgresql', 'db.operation': 'SELECT', 'db.name': 'shop', 'error.type': 'timeout' },
    exception: new RangeError('deadline'),
    parent: client,
  });
  api.span('internal work', { kind: SpanKind.INTERNAL, start: 1_700_000_000_150, end: 1_700_000_000_160, parent: root, status: { code: SpanStatusCode.OK } });
  api.span('publish', { kind: SpanKind.PRODUCER, start: 1_700_000_000_400, end: 1_700_000_000_401, parent: root, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } });
  db.span('consume', { kind: SpanKind.CONSUMER, start: 1_700_000_000_500, end: 1_700_000_000_600, attributes: { 'messaging.system': 'kafka', 'rpc.system': 'grpc', 'rpc.service': 'x', 'rpc.method': 'y', 'db.system.name': 'pg', 'db.namespace': 'n', 'db.operation.name': 'op', 'http.method': 'GET', 'net.peer.name': 'p', 'net.peer.port': 1 } });
  return [...api.finished(), ...db.finished()];
}

const KIND: Record<number, Span['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};
const STATUS: Record<number, Span['status']> = { [SpanStatusCode.UNSET]: 'unset', [SpanStatusCode.OK]: 'ok', [SpanStatusCode.ERROR]: 'error' };

/** Checks every decoded field against the SDK span it came from. */
function expectMatches(decoded: DecodeResult, sdk: ReadableSpan[]): void {
  expect(decoded.problems).toEqual([]);
  expect(decoded.spans).toHaveLength(sdk.length);
  const byId = new Map(decoded.spans.map((s) => [s.spanId, s]));
  for (const r of sdk) {
    const s = byId.get(r.spanContext().spanId);
    expect(s, r.name).toBeDefined();
    if (!s) continue;
    expect(s.traceId).toBe(r.spanContext().traceId);
    expect(s.parentSpanId).toBe(r.parentSpanContext?.spanId);
    expect(s.service).toBe(r.resource.attributes['service.name']);
    expect(s.serviceVersion).toBe(r.resource.attributes['service.version']);
    expect(s.instance).toBe(s.service === 'api' ? 'h1/4242' : 'db-1');
    expect(s.name).toBe(r.name);
    expect(s.kind).toBe(KIND[r.kind]);
    expect(s.status).toBe(STATUS[r.status.code]);
    expect(s.statusMessage).toBe(r.status.message || undefined);
    for (const [t, ms] of [
      [r.startTime, s.startTime],
      [r.endTime, s.endTime],
    ] as const) {
      const exact = hrTimeToMsExact(t);
      // Lossless up to the double's own resolution (~0.24 µs at today's epoch ms).
      expect(Math.abs(ms - exact.whole - exact.frac)).toBeLessThan(3e-4);
    }
    const expected: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r.attributes)) if (ANALYZED_ATTRIBUTE_KEYS.has(k) && !Array.isArray(v)) expected[k] = v;
    const exception = r.events.find((e) => e.name === 'exception');
    if (exception) {
      expected['exception.type'] ??= exception.attributes?.['exception.type'];
      expected['exception.message'] ??= exception.attributes?.['exception.message'];
    }
    expect(s.attributes ?? {}).toEqual(expected);
  }
}

describe('round trip through the real OTLP serializers', () => {
  it('decodes JsonTraceSerializer output field by field', () => {
    const sdk = sdkSpans();
    const body = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(sdk)));
    const decoded = decodeOtlpJson(body);
    expectMatches(decoded, sdk);
    // spot checks of what the mapping must produce
    const root = decoded.spans.find((s) => s.name === 'POST /orders')!;
    expect(root.attributes).toEqual({ 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 500, 'server.port': 8080 });
    expect(root.startTime).toBe(1_700_000_000_123.456789);
    const client = decoded.spans.find((s) => s.name === 'GET')!;
    expect(client.attributes?.['exception.type']).toBe('TypeError');
    expect(client.attributes?.['exception.message']).toBe('socket hang up');
    expect(client.startTime).toBe(1_700_000_000_200.5);
  });

  it('decodes ProtobufTraceSerializer output field by field', () => {
    const sdk = sdkSpans();
    const bytes = ProtobufTraceSerializer.serializeRequest(sdk);
    expect(bytes).toBeInstanceOf(Uint8Array);
    const decoded = decodeOtlpProtobuf(bytes!);
    expectMatches(decoded, sdk);
    const fromJson = decodeOtlpJson(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(sdk))));
    expect(decoded.spans).toEqual(fromJson.spans);
  });

  it('reports undecodable protobuf bytes as a problem', () => {
    const r = decodeOtlpProtobuf(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(r.spans).toEqual([]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0].message).toMatch(/^invalid protobuf/);
  });

  it('names an all-zero protobuf span id as such (its length is right)', () => {
    const sdk = sdkSpans();
    const ctx = sdk[0].spanContext();
    const zeroed = Object.assign(Object.create(sdk[0]) as ReadableSpan, { spanContext: () => ({ ...ctx, spanId: '0'.repeat(16) }) });
    const decoded = decodeOtlpProtobuf(ProtobufTraceSerializer.serializeRequest([zeroed])!);
    expect(decoded.spans).toEqual([]);
    expect(decoded.problems.map((p) => p.message)).toEqual(['resourceSpans[0].scopeSpans[0].spans[0]: invalid spanId 8 bytes, all zero']);
  });

  it('decodes an empty protobuf request to nothing', () => {
    expect(decodeOtlpProtobuf(new Uint8Array(0))).toEqual({ spans: [], problems: [] });
  });

  it("carries a consumer span's links (the producer it names) through both serializers, and through encodeOtlpJson", () => {
    const api = sdkService({ 'service.name': 'api' });
    const worker = sdkService({ 'service.name': 'worker' });
    const publish = api.span('orders publish', { kind: SpanKind.PRODUCER, start: 1_700_000_000_000, end: 1_700_000_000_001 });
    const other = api.span('audit publish', { kind: SpanKind.PRODUCER, start: 1_700_000_000_002, end: 1_700_000_000_003 });
    const links = [{ context: publish.spanContext() }, { context: other.spanContext(), attributes: { 'messaging.operation': 'publish' } }];
    // The consumer's span in a trace of its own, linked to the producers; a producer's link is not kept.
    worker.span('orders process', { kind: SpanKind.CONSUMER, start: 1_700_000_000_500, end: 1_700_000_000_600, links });
    worker.span('orders send', { kind: SpanKind.PRODUCER, start: 1_700_000_000_700, end: 1_700_000_000_800, links });
    const sdk = [...api.finished(), ...worker.finished()];
    const fromJson = decodeOtlpJson(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(sdk))));
    const fromProtobuf = decodeOtlpProtobuf(ProtobufTraceSerializer.serializeRequest(sdk)!);
    expect(fromJson.problems).toEqual([]);
    expect(fromProtobuf).toEqual(fromJson);
    const want = [publish, other].map((s) => ({ traceId: s.spanContext().traceId, spanId: s.spanContext().spanId }));
    expect(fromJson.spans.map((s) => [s.name, s.links])).toEqual([
      ['orders publish', undefined],
      ['audit publish', undefined],
      ['orders process', want],
      ['orders send', undefined],
    ]);
    expect(decodeOtlpJson(JSON.parse(JSON.stringify(encodeOtlpJson(fromJson.spans)))).spans).toEqual(fromJson.spans);
  });

  it('encodeOtlpJson output decodes back to the same spans', () => {
    const spans = decodeOtlpJson(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(sdkSpans())))).spans;
    const encoded = encodeOtlpJson(spans);
    expect(encoded.resourceSpans.map((r) => r.resource.attributes.map((a) => a.value.stringValue))).toEqual([['api', '2.4.1', 'h1/4242'], ['db-svc', 'db-1']]);
    expect(encoded.resourceSpans[0].scopeSpans[0].scope.name).toBe('rootspan');
    const back = decodeOtlpJson(JSON.parse(JSON.stringify(encoded)));
    expect(back.problems).toEqual([]);
    expect(back.spans).toEqual(spans);
    for (let i = 0; i < spans.length; i++) {
      expect(back.spans[i].startTime).toBe(spans[i].startTime); // bit-exact times
      expect(back.spans[i].endTime).toBe(spans[i].endTime);
    }
  });
});
