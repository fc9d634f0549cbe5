import { diag, DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ANALYZED_ATTRIBUTES, calledPath, clientOperation, peerName, serverOperation } from '@rootspan/engine';
import { describe, expect, it } from 'vitest';
import { toEngineSpan } from '../src/map.js';
import { peerNames } from '../src/peers.js';
import { readable } from './helpers/fakes.js';

describe('toEngineSpan', () => {
  it('converts HrTime to epoch milliseconds, keeping the fraction', () => {
    expect(toEngineSpan(readable({ start: [1_700_000_000, 123_456_789] }))!.startTime).toBeCloseTo(1_700_000_000_123.456789, 6);
    const s = toEngineSpan(readable({ start: [1_700_000_000, 500_000_000], end: [1_700_000_001, 250_000] }))!;
    expect(s.startTime).toBe(1_700_000_000_500);
    expect(s.endTime).toBeCloseTo(1_700_000_001_000.25, 6);
  });

  it('takes ids, the parent from parentSpanContext, the kind and the name', () => {
    const root = toEngineSpan(readable({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'POST /checkout' }))!;
    expect(root).toMatchObject({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'POST /checkout', kind: 'server' });
    expect(root.parentSpanId).toBeUndefined();
    const child = toEngineSpan(readable({ parentSpanId: 'c'.repeat(16), kind: SpanKind.CLIENT }))!;
    expect(child.parentSpanId).toBe('c'.repeat(16));
    expect(child.kind).toBe('client');
    const kinds = [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER].map(
      (kind) => toEngineSpan(readable({ kind }))!.kind,
    );
    expect(kinds).toEqual(['internal', 'server', 'client', 'producer', 'consumer']);
  });

  it('maps status codes and keeps the message', () => {
    expect(toEngineSpan(readable({ status: { code: SpanStatusCode.UNSET } }))!.status).toBe('unset');
    expect(toEngineSpan(readable({ status: { code: SpanStatusCode.OK } }))!.status).toBe('ok');
    const err = toEngineSpan(readable({ status: { code: SpanStatusCode.ERROR, message: 'ECONNREFUSED' } }))!;
    expect(err.status).toBe('error');
    expect(err.statusMessage).toBe('ECONNREFUSED');
    expect(toEngineSpan(readable({ status: { code: SpanStatusCode.ERROR, message: '' } }))!.statusMessage).toBeUndefined();
  });

  it('takes service.name and service.version from the resource', () => {
    const s = toEngineSpan(readable({ resource: resourceFromAttributes({ 'service.name': 'payment', 'service.version': '2.0.1' }) }))!;
    expect(s.service).toBe('payment');
    expect(s.serviceVersion).toBe('2.0.1');
    const bare = toEngineSpan(readable({ resource: resourceFromAttributes({}) }))!;
    expect(bare.service).toBe('unknown_service');
    expect(bare.serviceVersion).toBeUndefined();
  });

  it('reads a resource whose async detectors are pending like the SDK does, asks it to settle, and logs nothing', async () => {
    const errors: unknown[] = [];
    diag.setLogger({ error: (m: unknown) => void errors.push(m), warn() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.ALL);
    // NodeSDK's shape: default resource, merged with detected (async host.id), merged with serviceName.
    let settle!: (v: string) => void;
    const resource = resourceFromAttributes({ 'service.name': 'unknown_service:node' })
      .merge(resourceFromAttributes({ 'host.id': new Promise<string>((r) => (settle = r)) }))
      .merge(resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '3' }));
    expect(resource.asyncAttributesPending).toBe(true);
    expect(toEngineSpan(readable({ resource }))).toMatchObject({ service: 'checkout', serviceVersion: '3' });
    settle('h1');
    await new Promise((r) => setTimeout(r, 0));
    expect(resource.asyncAttributesPending).toBe(false); // rootspan asked it to settle
    expect(toEngineSpan(readable({ resource }))).toMatchObject({ service: 'checkout', serviceVersion: '3' });
    expect(errors).toEqual([]);
    diag.disable();
  });

  it("reads SDK 1.x spans: the parent from parentSpanId, the service from a pending resource's sync attributes", () => {
    // @opentelemetry/sdk-trace-base 1.x: `parentSpanId` and no `parentSpanContext`; its Resource has no
    // getRawAttributes, and `attributes` logs an error while async detectors are pending.
    const { parentSpanContext: _, ...rest } = readable({ kind: SpanKind.CLIENT });
    const pending = {
      asyncAttributesPending: true,
      waitForAsyncAttributes: () => Promise.resolve(),
      _syncAttributes: { 'service.name': 'checkout-v1', 'service.version': '1.4' },
      get attributes(): never {
        throw new Error('read while pending');
      },
    };
    const span = { ...rest, parentSpanId: 'd'.repeat(16), resource: pending } as unknown as ReadableSpan;
    expect(toEngineSpan(span)).toMatchObject({ parentSpanId: 'd'.repeat(16), service: 'checkout-v1', serviceVersion: '1.4', kind: 'client' });
  });

  it('keeps only analyzed scalar attributes, under their own keys', () => {
    const s = toEngineSpan(
      readable({
        attributes: {
          'http.request.method': 'POST',
          'http.route': '/checkout',
          'http.response.status_code': 200,
          'url.query': 'card=4111',
          'user_agent.original': 'curl/8',
          'db.system': ['not', 'scalar'],
          'peer.service': 'payment',
        },
      }),
    )!;
    expect(s.attributes).toEqual({
      'http.request.method': 'POST',
      'http.route': '/checkout',
      'http.response.status_code': 200,
      'peer.service': 'payment',
    });
    for (const key of Object.keys(s.attributes!)) expect(ANALYZED_ATTRIBUTES).toContain(key);
  });

  it('maps stable and legacy HTTP semantic conventions to the same operation and peer', () => {
    const stable = toEngineSpan(
      readable({
        attributes: { 'http.request.method': 'POST', 'http.route': '/pay', 'http.response.status_code': 502, 'server.address': 'payment.internal', 'server.port': 8080 },
      }),
    )!;
    const legacy = toEngineSpan(
      readable({
        attributes: { 'http.method': 'POST', 'http.route': '/pay', 'http.status_code': 502, 'net.peer.name': 'payment.internal', 'net.peer.port': 8080 },
      }),
    )!;
    expect(stable.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 502, 'server.address': 'payment.internal' });
    expect(legacy.attributes).toMatchObject({ 'http.method': 'POST', 'http.status_code': 502, 'net.peer.name': 'payment.internal' });
    // The engine normalises the two generations; the converter only has to keep both.
    expect(serverOperation(legacy)).toBe(serverOperation(stable));
    expect(serverOperation(stable)).toBe('POST /pay');
    expect(clientOperation(legacy)).toBe(clientOperation(stable));
    expect(peerName(legacy)).toBe(peerName(stable));
    expect(peerName(stable)).toBe('payment.internal');
  });

  it('turns the last exception event into exception.type / exception.message', () => {
    const s = toEngineSpan(
      readable({
        events: [
          { name: 'exception', time: [1, 0], attributes: { 'exception.type': 'Error', 'exception.message': 'first' } },
          { name: 'log', time: [1, 1], attributes: { 'exception.type': 'ignored' } },
          { name: 'exception', time: [1, 2], attributes: { 'exception.type': 'TimeoutError', 'exception.message': 'timed out after 2000 ms', 'exception.stacktrace': 'at ...' } },
        ],
      }),
    )!;
    expect(s.attributes).toEqual({ 'exception.type': 'TimeoutError', 'exception.message': 'timed out after 2000 ms' });
    const own = toEngineSpan(
      readable({
        attributes: { 'exception.type': 'OwnError' },
        events: [{ name: 'exception', time: [1, 0], attributes: { 'exception.type': 'EventError' } }],
      }),
    )!;
    expect(own.attributes!['exception.type']).toBe('OwnError');
  });

  it('maps spans as SDK 3 records them (sdk-trace 3.1, instrumentation-http 0.301: attributes as recorded)', () => {
    // The same ReadableSpan fields as SDK 2; a server span's parent is the caller's remote context.
    const server = toEngineSpan(
      readable({
        kind: SpanKind.SERVER,
        name: 'GET',
        traceId: '50e5dc8bfa516e208acb10407518080b',
        parentSpanId: 'afd4f832baac5fcf',
        attributes: {
          'http.request.method': 'GET', 'url.scheme': 'http', 'server.address': '127.0.0.1', 'network.peer.address': '127.0.0.1',
          'network.peer.port': 44990, 'network.protocol.version': '1.1', 'url.path': '/a', 'url.query': 'b=1',
          'client.address': '127.0.0.1', 'server.port': 33649, 'http.response.status_code': 200,
        },
      }),
    )!;
    expect(server).toMatchObject({ kind: 'server', parentSpanId: 'afd4f832baac5fcf', status: 'unset' });
    expect(server.attributes).toEqual({ 'http.request.method': 'GET', 'server.address': '127.0.0.1', 'url.path': '/a', 'server.port': 33649, 'http.response.status_code': 200 });
    // No route (a bare `http` server): the path names the operation.
    expect(serverOperation(server)).toBe('GET /a');
    const client = toEngineSpan(
      readable({
        kind: SpanKind.CLIENT,
        name: 'GET',
        attributes: {
          'http.request.method': 'GET', 'server.address': '127.0.0.1', 'server.port': 33649, 'url.full': 'http://127.0.0.1:33649/a?b=1',
          'http.response.status_code': 200, 'network.peer.address': '127.0.0.1', 'network.peer.port': 33649, 'network.protocol.version': '1.1',
        },
      }),
    )!;
    expect(client.attributes).toMatchObject({ 'url.full': 'http://127.0.0.1:33649/a?b=1' });
    expect(clientOperation(client)).toBe('GET');
    // The called path (its query never) tells the callee's operations apart.
    expect(calledPath(client)).toBe('GET /a');
    expect(peerName(client)).toBe('127.0.0.1:33649');
  });

  it('returns undefined for a span without a valid context', () => {
    expect(toEngineSpan(readable({ traceId: '0'.repeat(32) }))).toBeUndefined();
    expect(toEngineSpan(readable({ spanId: '0'.repeat(16) }))).toBeUndefined();
  });

  it('maps a span recorded by the real SDK', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '9' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('t');
    const parent = tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER, startTime: [1_700_000_000, 0] });
    const child = tracer.startSpan(
      'POST',
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'server.port': 4000 }, startTime: [1_700_000_000, 1_000_000] },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    child.recordException(new RangeError('bad amount'));
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'bad amount' });
    child.end([1_700_000_000, 9_000_000]);
    parent.end([1_700_000_000, 10_000_000]);
    const [c, p] = exporter.getFinishedSpans().map((s) => toEngineSpan(s)!);
    expect(p).toMatchObject({ service: 'checkout', serviceVersion: '9', kind: 'server', startTime: 1_700_000_000_000, endTime: 1_700_000_000_010 });
    expect(c).toMatchObject({
      traceId: p.traceId,
      parentSpanId: p.spanId,
      kind: 'client',
      status: 'error',
      statusMessage: 'bad amount',
      startTime: 1_700_000_000_001,
      endTime: 1_700_000_000_009,
      attributes: { 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'server.port': 4000, 'exception.type': 'RangeError', 'exception.message': 'bad amount' },
    });
    expect(peerName(c)).toBe('127.0.0.1:4000');
    await provider.shutdown();
  });

  it("keeps a consumer span's links (the producer span that sent its message), valid ones only; no other span's", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'worker' }), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('t');
    const publish = tracer.startSpan('orders publish', { kind: SpanKind.PRODUCER });
    publish.end();
    const invalid = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 };
    const links = [{ context: invalid }, { context: publish.spanContext() }];
    // A trace of its own, linked: as OTel's messaging conventions, or kafkajs's per-message spans of a batch.
    tracer.startSpan('orders process', { kind: SpanKind.CONSUMER, links }, ROOT_CONTEXT).end();
    tracer.startSpan('GET', { kind: SpanKind.CLIENT, links }, ROOT_CONTEXT).end();
    tracer.startSpan('orders receive', { kind: SpanKind.CONSUMER }, ROOT_CONTEXT).end();
    const [p, consumer, client, unlinked] = exporter.getFinishedSpans().map((s) => toEngineSpan(s)!);
    expect(consumer.links).toEqual([{ traceId: p.traceId, spanId: p.spanId }]);
    expect(consumer.traceId).not.toBe(p.traceId);
    expect(client.links).toBeUndefined();
    expect(unlinked.links).toBeUndefined();
    const many = readable({ kind: SpanKind.CONSUMER }) as ReadableSpan;
    const linked = Array.from({ length: 300 }, (_, i) => ({ context: { traceId: 'a'.repeat(32), spanId: i.toString(16).padStart(16, '1'), traceFlags: 1 } }));
    expect(toEngineSpan({ ...many, spanContext: many.spanContext, links: linked })!.links).toHaveLength(128);
    await provider.shutdown();
  });
});

describe('peers: callees reached by address get service names', () => {
  const client = (attributes: Record<string, string | number>, kind = SpanKind.CLIENT) =>
    toEngineSpan(readable({ kind, attributes }), peerNames({ '127.0.0.1:4001': 'billing', '10.0.3.7': 'orders', '[::1]:4002': 'ledger' }));

  it('names a client span by address:port first, then by bare address, in stable and legacy conventions', () => {
    const byPort = client({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'server.port': 4001 })!;
    expect(byPort.attributes!['peer.service']).toBe('billing');
    expect(peerName(byPort)).toBe('billing');
    expect(peerName(client({ 'server.address': '10.0.3.7', 'server.port': 8080 })!)).toBe('orders');
    expect(peerName(client({ 'net.peer.name': '10.0.3.7', 'net.peer.port': 9 })!)).toBe('orders');
    expect(peerName(client({ 'server.address': '::1', 'server.port': 4002 })!)).toBe('ledger');
  });

  it('leaves unlisted addresses, spans that name their peer, and server spans alone', () => {
    const other = client({ 'server.address': '127.0.0.1', 'server.port': 5000 })!;
    expect(other.attributes!['peer.service']).toBeUndefined();
    expect(peerName(other)).toBe('127.0.0.1:5000');
    expect(peerName(client({ 'server.address': '127.0.0.1', 'server.port': 4001, 'peer.service': 'named-by-app' })!)).toBe('named-by-app');
    const server = client({ 'server.address': '127.0.0.1', 'server.port': 4001 }, SpanKind.SERVER)!;
    expect(server.attributes!['peer.service']).toBeUndefined();
    expect(toEngineSpan(readable({ kind: SpanKind.CLIENT, attributes: { 'server.address': '127.0.0.1', 'server.port': 4001 } }))!.attributes).not.toHaveProperty('peer.service');
  });

  it('validates the option once, naming the bad entry; a Map works too', () => {
    expect(peerNames(new Map([['billing.internal', 'billing']]))!.get('billing.internal')).toBe('billing');
    expect(peerNames({})).toBeUndefined();
    expect(() => peerNames('billing' as never)).toThrow(/peers must be an object or a Map/);
    expect(() => peerNames({ '': 'x' })).toThrow(/bad address ""/);
    expect(() => peerNames({ '10.0.0.1 ': 'x' })).toThrow(/bad address/);
    expect(() => peerNames({ '10.0.0.1': '' })).toThrow(/peers\["10.0.0.1"\] must be a non-empty service name/);
  });
});
