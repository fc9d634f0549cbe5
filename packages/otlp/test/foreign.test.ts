/** Jaeger and Zipkin JSON documents, read where OTLP/JSON is (foreign.ts); whole runs: test/foreign-formats.test.ts. */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_LINKS, calledPath, clientOperation, serverOperation, type Span } from '@rootspan/engine';
import { MAX_TIME_MS, decodeZipkinJson, decodeZipkinProtobuf, readOtlpFile, readOtlpStream, type DecodeProblem, type OtlpBatch, type ReadOtlpOptions } from '@rootspan/otlp';
import { MAX_JOINED_TRACES, TraceIdJoin } from '../src/zipkin-state.js';
import { zipkinProto } from './helpers/zipkin-proto.js';

async function read(doc: unknown): Promise<{ spans: Span[]; problems: DecodeProblem[] }> {
  const out = { spans: [] as Span[], problems: [] as DecodeProblem[] };
  for await (const b of readOtlpStream(Readable.from([Buffer.from(JSON.stringify(doc, null, 2))]))) {
    out.spans.push(...b.spans);
    out.problems.push(...b.problems);
  }
  return out;
}

describe('Jaeger JSON', () => {
  it('maps kind, status, parent, analysed tags, exception logs and the process (inline too), ids normalised', async () => {
    const trace = {
      traceID: 'ABC123',
      spans: [
        { spanID: 'F00D', operationName: 'GET /a', startTime: 1_700_000_000_000_000, duration: 5_000, processID: 'p1', references: [], tags: [{ key: 'span.kind', value: 'server' }, { key: 'http.route', value: '/a' }, { key: 'internal.noise', value: 'x' }] },
        {
          spanID: 'beef',
          operationName: 'charge',
          startTime: '1700000000001000',
          duration: 2_000,
          process: { serviceName: 'payment', tags: [] },
          // No traceID in the reference: the span's own trace.
          references: [{ refType: 'FOLLOWS_FROM', spanID: 'dead' }, { refType: 'CHILD_OF', spanID: 'f00d' }],
          tags: [{ key: 'span.kind', type: 'string', value: 'CLIENT' }, { key: 'otel.status_code', value: 'ERROR' }, { key: 'otel.status_description', value: 'card declined' }, { key: 'peer.service', value: 'bank' }],
          logs: [{ timestamp: 1_700_000_000_002_000, fields: [{ key: 'event', value: 'exception' }, { key: 'exception.type', value: 'Declined' }, { key: 'exception.message', value: 'no funds' }] }],
        },
      ],
      processes: { p1: { serviceName: 'shop', tags: [{ key: 'service.version', value: '2.0' }] } },
    };
    const r = await read(trace);
    expect(r.problems).toEqual([]);
    expect(r.spans).toEqual([
      { traceId: '0000000000abc123', spanId: '000000000000f00d', parentSpanId: undefined, service: 'shop', serviceVersion: '2.0', name: 'GET /a', kind: 'server', startTime: 1_700_000_000_000, endTime: 1_700_000_000_005, status: 'unset', statusMessage: undefined, attributes: { 'http.route': '/a' } },
      {
        traceId: '0000000000abc123',
        spanId: '000000000000beef',
        parentSpanId: '000000000000f00d',
        service: 'payment',
        serviceVersion: undefined,
        name: 'charge',
        kind: 'client',
        startTime: 1_700_000_000_001,
        endTime: 1_700_000_000_003,
        status: 'error',
        statusMessage: 'card declined',
        attributes: { 'peer.service': 'bank', 'exception.type': 'Declined', 'exception.message': 'no funds' },
      },
    ]);
    // The same trace inside a query answer.
    expect((await read({ data: [trace], total: 0, errors: null })).spans).toEqual(r.spans);
  });

  it('reads the instance from the process tags: service.instance.id, else hostname (or host.name) and pid (or process.pid)', async () => {
    const span = (id: string, process: string | Record<string, unknown>) => ({ spanID: id, operationName: 'op', startTime: 1_700_000_000_000_000, duration: 1_000, ...(typeof process === 'string' ? { processID: process } : { process }) });
    const r = await read({
      traceID: 'a1',
      spans: [span('b1', 'p1'), span('b2', 'p2'), span('b3', 'p3'), span('b4', 'p4'), span('b5', 'p5'), span('b6', { serviceName: 's', tags: [{ key: 'hostname', value: 'h' }, { key: 'pid', value: 9 }] })],
      processes: {
        p1: { serviceName: 's', tags: [{ key: 'hostname', value: 'h' }, { key: 'pid', value: 4242 }, { key: 'service.instance.id', value: 'i-1' }] },
        p2: { serviceName: 's', tags: [{ key: 'hostname', type: 'string', value: 'h' }, { key: 'ip', value: '10.0.0.1' }, { key: 'pid', type: 'int64', value: 4242 }] },
        p3: { serviceName: 's', tags: [{ key: 'process.pid', value: 7 }, { key: 'host.name', value: 'h2' }, { key: 'service.instance.id', value: '' }] },
        p4: { serviceName: 's', tags: [{ key: 'ip', value: '10.0.0.1' }, { key: 'jaeger.version', value: 'Node-3.19.0' }] },
        p5: { serviceName: 's', tags: [{ key: 'hostname', value: 'h' }] },
      },
    });
    expect(r.problems).toEqual([]);
    expect(r.spans.map((s) => s.instance)).toEqual(['i-1', 'h/4242', 'h2/7', undefined, 'h', 'h/9']);
  });

  it('skips spans without ids or times with a problem, keeping the rest', async () => {
    const r = await read({ data: [{ traceID: 'a1', processes: { p: { serviceName: 's' } }, spans: [{ spanID: 'b1', startTime: 'soon', duration: 1, processID: 'p' }, { operationName: 'x', startTime: 1_700_000_000_000_000, processID: 'p' }, { spanID: 'b2', startTime: 1_700_000_000_000_000, duration: 10, processID: 'p' }] }] });
    expect(r.spans.map((s) => s.spanId)).toEqual(['00000000000000b2']);
    expect(r.problems.map((p) => p.message)).toEqual(['data[0].spans[0] (spanID 00000000000000b1): missing or bad start time', 'data[0].spans[1]: missing or bad spanID']);
  });
});

describe('Jaeger references as span links', () => {
  const span = (id: string, kind: string | undefined, references: unknown[]) => ({
    spanID: id,
    operationName: `op ${id}`,
    startTime: 1_700_000_000_000_000,
    duration: 1_000,
    processID: 'p',
    references,
    tags: kind === undefined ? [] : [{ key: 'span.kind', value: kind }],
  });
  const T = '463ac35c9f6413ad48485a3953bb6124';
  const OTHER = 'aaaac35c9f6413ad48485a3953bb6124';
  const ref = (refType: string, spanID: string, traceID: string | undefined = T) => ({ refType, traceID, spanID });
  const refs = [
    ref('FOLLOWS_FROM', 'c1'),
    ref('CHILD_OF', 'a1'),
    ref('FOLLOWS_FROM', 'D2', OTHER),
    ref('CHILD_OF', 'e3', OTHER),
    ref('FOLLOWS_FROM', '0'),
    ref('FOLLOWS_FROM', ''),
    ref('FOLLOWS_FROM', 'f4', '0'.repeat(32)),
    { refType: 'FOLLOWS_FROM', spanID: 'b5' },
  ];

  it("keeps a consumer span's references but its parent as links, in order; other kinds keep none", async () => {
    const r = await read({
      traceID: T,
      processes: { p: { serviceName: 'worker' } },
      spans: [
        span('01', 'consumer', refs),
        span('02', 'producer', refs),
        span('03', 'server', refs),
        span('04', undefined, refs),
        span('05', 'consumer', [ref('CHILD_OF', 'a1')]),
        // No CHILD_OF: the first reference in the trace is the parent, the rest are links.
        span('06', 'CONSUMER', [ref('FOLLOWS_FROM', 'd2', OTHER), ref('FOLLOWS_FROM', 'c1'), ref('FOLLOWS_FROM', 'c2')]),
        span('07', 'consumer', []),
      ],
    });
    expect(r.problems).toEqual([]);
    const id = (s: string) => s.padStart(16, '0');
    expect(r.spans.map((s) => [s.spanId, s.parentSpanId, s.links])).toEqual([
      [
        id('01'),
        id('a1'),
        [
          { traceId: T, spanId: id('c1') },
          { traceId: OTHER, spanId: id('d2') },
          { traceId: OTHER, spanId: id('e3') },
          { traceId: T, spanId: id('b5') },
        ],
      ],
      [id('02'), id('a1'), undefined],
      [id('03'), id('a1'), undefined],
      [id('04'), id('a1'), undefined],
      [id('05'), id('a1'), undefined],
      [
        id('06'),
        id('c1'),
        [
          { traceId: OTHER, spanId: id('d2') },
          { traceId: T, spanId: id('c2') },
        ],
      ],
      [id('07'), undefined, undefined],
    ]);
  });

  it('keeps the first MAX_LINKS (128) links', async () => {
    const many = Array.from({ length: 140 }, (_, i) => ref('FOLLOWS_FROM', (i + 1).toString(16), OTHER));
    const r = await read({ traceID: T, processes: { p: { serviceName: 'worker' } }, spans: [span('01', 'consumer', [ref('CHILD_OF', 'a1'), ref('FOLLOWS_FROM', 'zz'.repeat(40)), ...many])] });
    expect(r.spans[0].links).toHaveLength(MAX_LINKS);
    expect(r.spans[0].links?.map((l) => l.spanId)).toEqual(many.slice(0, MAX_LINKS).map((l) => l.spanID.padStart(16, '0')));
  });
});

describe('Zipkin v2 JSON', () => {
  it('maps kind, the error tag, remoteEndpoint as peer.service, and gives a shared server span an id of its own', async () => {
    const t = '463ac35c9f6413ad48485a3953bb6124';
    const r = await read([
      { traceId: t, id: 'a1', kind: 'SERVER', name: 'get /a', timestamp: 1_700_000_000_000_000, duration: 9_000, localEndpoint: { serviceName: 'web' }, tags: { 'http.route': '/a', 'http.status_code': '200' } },
      { traceId: t, parentId: 'a1', id: 'b2', kind: 'CLIENT', name: 'post', timestamp: 1_700_000_000_001_000, duration: 6_000, localEndpoint: { serviceName: 'web' }, remoteEndpoint: { serviceName: 'api' }, tags: { error: 'timeout' } },
      { traceId: t, id: 'b2', shared: true, kind: 'SERVER', name: 'post /b', timestamp: 1_700_000_000_001_500, duration: 5_000, localEndpoint: { serviceName: 'api' } },
      // The server side's own work names the shared id as its parent.
      { traceId: t, parentId: 'b2', id: 'c3', name: 'compute', timestamp: 1_700_000_000_002_000, duration: 1_000, localEndpoint: { serviceName: 'api' } },
    ]);
    expect(r.problems).toEqual([]);
    expect(r.spans.map((s) => [s.spanId, s.parentSpanId, s.service, s.kind, s.status, s.statusMessage])).toEqual([
      ['00000000000000a1', undefined, 'web', 'server', 'unset', undefined],
      ['00000000000000b2', '00000000000000a1', 'web', 'client', 'error', 'timeout'],
      ['00000000000000b25e', '00000000000000b2', 'api', 'server', 'unset', undefined],
      ['00000000000000c3', '00000000000000b25e', 'api', undefined, 'unset', undefined],
    ]);
    expect(r.spans[0].attributes).toEqual({ 'http.route': '/a', 'http.status_code': 200 });
    expect(r.spans[1].attributes).toEqual({ 'peer.service': 'api' });
  });

  it("names Brave's and zipkin-js's route-less HTTP spans (`get`, `post`) by their `http.path`", async () => {
    const t = '463ac35c9f6413ad48485a3953bb6125';
    const r = await read([
      { traceId: t, id: 'a1', kind: 'SERVER', name: 'get', timestamp: 1_700_000_000_000_000, duration: 9_000, localEndpoint: { serviceName: 'web' }, tags: { 'http.method': 'GET', 'http.path': '/users/42' } },
      { traceId: t, parentId: 'a1', id: 'b2', kind: 'CLIENT', name: 'post', timestamp: 1_700_000_000_001_000, duration: 6_000, localEndpoint: { serviceName: 'web' }, remoteEndpoint: { serviceName: 'billing' }, tags: { 'http.method': 'POST', 'http.path': '/invoices/2026-0042' } },
    ]);
    expect(r.spans[0].attributes).toEqual({ 'http.method': 'GET', 'url.path': '/users/42' });
    expect(serverOperation(r.spans[0])).toBe('GET /users/:id');
    expect(calledPath(r.spans[1])).toBe('POST /invoices/:id');
  });

  it("keeps Brave's `sql.query` (JDBC, p6spy): its database call is named by the statement", async () => {
    const r = await read([
      { traceId: '463ac35c9f6413ad', id: 'c3', kind: 'CLIENT', name: 'select', timestamp: 1_700_000_000_000_000, duration: 4_000, localEndpoint: { serviceName: 'web' }, remoteEndpoint: { serviceName: 'shop', ipv4: '10.0.0.9', port: 5432 }, tags: { 'sql.query': 'select * from orders where id = ?' } },
    ]);
    expect(r.spans[0].attributes).toEqual({ 'sql.query': 'select * from orders where id = ?', 'peer.service': 'shop' });
    expect(clientOperation(r.spans[0])).toBe('SELECT orders');
  });

  it('skips a broken span among good ones with a problem (the report stays Zipkin)', async () => {
    const r = await read([
      { traceId: 'a1', id: 'b1', kind: 'SERVER', name: 'get', timestamp: 1_700_000_000_000_000, duration: 10, localEndpoint: { serviceName: 'web' } },
      { traceId: 'a1', name: 'no id', timestamp: 1_700_000_000_000_000, duration: 10, localEndpoint: { serviceName: 'web' } },
      'not a span',
      null,
      { traceId: 'a1', id: 'b3', timestamp: 9e18, duration: 10, localEndpoint: { serviceName: 'web' } },
    ]);
    expect(r.spans.map((s) => s.spanId)).toEqual(['00000000000000b1']);
    expect(r.problems.map((p) => p.message)).toEqual(['[1]: missing or bad id', '[2]: missing or bad traceId', '[3]: missing or bad traceId', '[4] (id 00000000000000b3): time after year 9999']);
  });

  it("joins a trace's 128-bit and 64-bit ids (services mid-migration, as Zipkin's strictTraceId=false): the first form seen is the trace's", async () => {
    const low = '48485a3953bb6124';
    const high = `463ac35c9f6413ad${low}`;
    const span = (traceId: string, id: string, service: string, extra: object = {}) => ({ traceId, id, timestamp: 1_700_000_000_000_000, duration: 1_000, localEndpoint: { serviceName: service }, ...extra });
    const r = await read([
      span(high, 'a1', 'gateway', { kind: 'CLIENT' }),
      // The callee propagated only the low 64 bits; a B3 shared server span and its child still find each other.
      span(low, 'a1', 'orders', { kind: 'SERVER', shared: true }),
      span(low.toUpperCase(), 'b2', 'orders', { parentId: 'a1' }),
      // A 128-bit id with a zero upper half is the 64-bit id.
      span(`0000000000000000${low}`, 'c3', 'payments', { parentId: 'b2' }),
      // Another trace seen first in its 64-bit form keeps that form.
      span('00000000000000f1', 'd4', 'orders'),
      span('aaaaaaaaaaaaaaaa00000000000000f1', 'e5', 'payments', { parentId: 'd4' }),
    ]);
    expect(r.problems).toEqual([]);
    expect(r.spans.map((s) => [s.traceId, s.spanId, s.parentSpanId])).toEqual([
      [high, '00000000000000a1', undefined],
      [high, '00000000000000a15e', '00000000000000a1'],
      [high, '00000000000000b2', '00000000000000a15e'],
      [high, '00000000000000c3', '00000000000000b2'],
      ['00000000000000f1', '00000000000000d4', undefined],
      ['00000000000000f1', '00000000000000e5', '00000000000000d4'],
    ]);
  });

  it('joins the forms of a trace id across the records of one input (JSONL of span arrays); a request body is one input', async () => {
    const low = '48485a3953bb6124';
    const high = `463ac35c9f6413ad${low}`;
    const span = (traceId: string, id: string) => ({ traceId, id, timestamp: 1_700_000_000_000_000, duration: 1_000, localEndpoint: { serviceName: 'web' } });
    const lines = [JSON.stringify([span(low, 'a1')]), JSON.stringify([span(high, 'b2')])].join('\n');
    const spans: Span[] = [];
    for await (const b of readOtlpStream(Readable.from([Buffer.from(lines)]), { format: 'jsonl' })) spans.push(...b.spans);
    expect(spans.map((s) => s.traceId)).toEqual([low, low]);
    // One request body is one input.
    expect(decodeZipkinJson([span(high, 'a1'), span(low, 'b2')])?.spans.map((s) => s.traceId)).toEqual([high, high]);
  });

  it('remembers the id forms of the last MAX_JOINED_TRACES traces only, counting those forgotten', () => {
    const join = new TraceIdJoin(2);
    const long = (low: string) => `463ac35c9f6413ad${low}`;
    expect(join.join(long('0000000000000001'))).toBe(long('0000000000000001'));
    expect(join.join(long('0000000000000002'))).toBe(long('0000000000000002'));
    expect(join.join('0000000000000002')).toBe(long('0000000000000002'));
    expect(join.forgotten).toBe(0);
    // A third trace: the first one seen is forgotten, and its 64-bit form no longer joins it.
    expect(join.join('0000000000000003')).toBe('0000000000000003');
    expect(join.forgotten).toBe(1);
    expect(join.join('0000000000000001')).toBe('0000000000000001');
    expect(MAX_JOINED_TRACES).toBeGreaterThanOrEqual(65_536);
  });

  it('reads Zipkin v1 JSON: a span recorded on both sides becomes its client and (shared) server spans', async () => {
    const ep = (serviceName: string) => ({ serviceName, ipv4: '10.0.0.1' });
    const t = '5af7183fb1d4cf5f';
    const r = await read([
      { traceId: t, id: 'a1', name: 'get /', timestamp: 1_700_000_000_000_000, duration: 9_000, annotations: [{ timestamp: 1_700_000_000_000_000, value: 'sr', endpoint: ep('web') }, { timestamp: 1_700_000_000_009_000, value: 'ss', endpoint: ep('web') }], binaryAnnotations: [{ key: 'http.route', value: '/', endpoint: ep('web') }] },
      {
        traceId: t,
        id: 'b2',
        parentId: 'a1',
        name: 'post /charge',
        timestamp: 1_700_000_000_001_000,
        duration: 6_000,
        annotations: [
          { timestamp: 1_700_000_000_001_000, value: 'cs', endpoint: ep('web') },
          { timestamp: 1_700_000_000_001_500, value: 'sr', endpoint: ep('payment') },
          { timestamp: 1_700_000_000_006_500, value: 'ss', endpoint: ep('payment') },
          { timestamp: 1_700_000_000_007_000, value: 'cr', endpoint: ep('web') },
        ],
        binaryAnnotations: [{ key: 'error', value: 'card declined', endpoint: ep('payment') }, { key: '__proto__', value: 'x', endpoint: ep('payment') }],
      },
      { traceId: t, id: 'c3', parentId: 'b2', name: 'query', annotations: [{ timestamp: 1_700_000_000_002_000, value: 'cs', endpoint: ep('payment') }, { timestamp: 1_700_000_000_005_000, value: 'cr', endpoint: ep('payment') }], binaryAnnotations: [{ key: 'sa', value: true, endpoint: ep('mysql') }] },
      { traceId: t, id: 'd4', parentId: 'b2', name: 'score', timestamp: 1_700_000_000_005_000, duration: 1_000, binaryAnnotations: [{ key: 'lc', value: '', endpoint: ep('payment') }] },
    ]);
    expect(r.problems).toEqual([]);
    expect(r.spans.map((s) => [s.spanId, s.parentSpanId, s.service, s.kind, s.status, s.endTime - s.startTime])).toEqual([
      ['00000000000000a1', undefined, 'web', 'server', 'unset', 9],
      ['00000000000000b2', '00000000000000a1', 'web', 'client', 'error', 6],
      ['00000000000000b25e', '00000000000000b2', 'payment', 'server', 'error', 5],
      ['00000000000000c3', '00000000000000b25e', 'payment', 'client', 'unset', 3],
      ['00000000000000d4', '00000000000000b25e', 'payment', undefined, 'unset', 1],
    ]);
    expect(r.spans[1].statusMessage).toBe('card declined');
    expect(r.spans[3].attributes).toEqual({ 'peer.service': 'mysql' });
  });

  it('leaves OTLP arrays and other JSON to the OTLP decoder', async () => {
    expect((await read([{ resourceSpans: [] }])).problems).toEqual([]);
    expect((await read([{ traceId: 'a', id: 'b' }])).problems[0].message).toMatch(/no resourceSpans/);
  });
});

describe('Zipkin v2 protobuf', () => {
  const spans = [
    { traceId: '463ac35c9f6413ad48485a3953bb6124', id: 'a2fb4a1d1a96d312', kind: 'SERVER', name: 'get /cart', timestamp: 1_767_225_600_000_000, duration: 40_000, localEndpoint: { serviceName: 'frontend' }, tags: { 'http.method': 'GET', 'http.route': '/cart' } },
    { traceId: '463ac35c9f6413ad48485a3953bb6124', parentId: 'a2fb4a1d1a96d312', id: '0020000000000001', kind: 'CLIENT', name: 'post', timestamp: 1_767_225_600_001_000, duration: 30_000, localEndpoint: { serviceName: 'frontend' }, remoteEndpoint: { serviceName: 'payment' }, tags: { error: '502' } },
    { traceId: '463ac35c9f6413ad48485a3953bb6124', id: '0020000000000001', shared: true, kind: 'SERVER', name: 'post /charge', timestamp: 1_767_225_600_002_000, duration: 25_000, localEndpoint: { serviceName: 'payment' }, tags: { 'http.method': 'POST', 'http.route': '/charge', 'http.status_code': '502' } },
    { traceId: '48485a3953bb6124', id: '0030000000000001', kind: 'PRODUCER', name: 'send', timestamp: 1_767_225_600_003_000, duration: 1_000, localEndpoint: { serviceName: 'orders' }, remoteEndpoint: { serviceName: 'kafka' } },
    { traceId: '48485a3953bb6124', id: '0030000000000002', name: 'no time', localEndpoint: { serviceName: 'orders' } },
  ];

  it('decodes a ListOfSpans exactly as the same spans in JSON: kinds, error tag, remote endpoint, B3 shared, 64-bit ids', () => {
    const fromProto = decodeZipkinProtobuf(zipkinProto(spans));
    const fromJson = decodeZipkinJson(spans);
    expect(fromProto).toEqual(fromJson);
    expect(fromProto?.spans.map((s) => [s.service, s.kind, s.status])).toEqual([
      ['frontend', 'server', 'unset'],
      ['frontend', 'client', 'error'],
      ['payment', 'server', 'unset'],
      ['orders', 'producer', 'unset'],
    ]);
    expect(fromProto?.spans[1].attributes?.['peer.service']).toBe('payment');
    expect(fromProto?.spans[2]).toMatchObject({ parentSpanId: '0020000000000001', spanId: '00200000000000015e', startTime: 1_767_225_600_002 });
    expect(fromProto?.problems).toEqual([{ message: '[4] (id 0030000000000002): missing or bad start time' }]);
  });

  it('answers undefined for a body that is not a protobuf message, and an empty report for an empty one', () => {
    expect(decodeZipkinProtobuf(Buffer.from('[{"traceId":"1"}]'))).toBeUndefined();
    expect(decodeZipkinProtobuf(zipkinProto(spans).subarray(0, 40))).toBeUndefined();
    expect(decodeZipkinProtobuf(Buffer.alloc(0))).toEqual({ spans: [], problems: [] });
  });

  it('refuses a list of more than a million spans before decoding any (a small gzip of empty spans)', () => {
    expect(decodeZipkinProtobuf(Buffer.alloc(2_000_004, Buffer.from([0x0a, 0x00])))).toEqual({ spans: [], problems: [{ message: 'more than 1000000 spans in one request' }] });
  });

  it('never throws on random or damaged bytes', () => {
    const good = zipkinProto(spans);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(good.length), (noise, at) => {
        for (const body of [Buffer.from(noise), Buffer.concat([good.subarray(0, at), Buffer.from(noise), good.subarray(at)])]) {
          const out = decodeZipkinProtobuf(body);
          for (const sp of out?.spans ?? []) expect(sp.endTime).toBeGreaterThanOrEqual(sp.startTime);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Jaeger and Zipkin (v1, v2) JSON from broken exporters', () => {
  // `{ toString: 1 }`: an object that cannot be made a string.
  const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant({ toString: 1 }), fc.constantFrom(Number.NaN, -1, 0, 1e30, '', 'zz', '__proto__', '0000'), fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }));
  const id = fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 1, maxLength: 40 }), junk);
  const time = fc.oneof(fc.integer({ min: 1, max: 2e15 }), junk);
  const names = fc.constantFrom('server', 'CLIENT', 'constructor', 'toString', '__proto__', 'hasOwnProperty');
  const tags = fc.oneof(fc.array(fc.oneof(fc.record({ key: fc.constantFrom('span.kind', 'error', 'otel.status_code', 'http.route', 'http.status_code', '__proto__', 'x'), value: fc.oneof(fc.string({ maxLength: 10 }), names, junk) }), junk), { maxLength: 4 }), junk);
  const jaegerSpan = fc.record({ traceID: id, spanID: id, operationName: junk, startTime: time, duration: time, processID: fc.oneof(fc.constantFrom('p1', 'p2', '__proto__'), junk), references: fc.oneof(fc.array(fc.oneof(fc.record({ refType: fc.constantFrom('CHILD_OF', 'FOLLOWS_FROM', 'x'), spanID: id, traceID: id }), junk), { maxLength: 3 }), junk), tags, logs: fc.oneof(fc.array(fc.record({ fields: tags }), { maxLength: 2 }), junk) }, { requiredKeys: [] });
  const jaeger = fc.record({ data: fc.array(fc.record({ traceID: id, spans: fc.array(fc.oneof(jaegerSpan, junk), { maxLength: 6 }), processes: fc.dictionary(fc.constantFrom('p1', 'p2', '__proto__'), fc.oneof(fc.record({ serviceName: junk, tags }), junk), { maxKeys: 3 }) }), { minLength: 1, maxLength: 3 }) });
  const zipkinSpan = fc.record({ traceId: id, id, parentId: id, shared: fc.oneof(fc.boolean(), junk), kind: fc.oneof(fc.constantFrom('SERVER', 'CLIENT', 'PRODUCER'), names, junk), name: junk, timestamp: time, duration: time, localEndpoint: fc.oneof(fc.record({ serviceName: junk }), junk), remoteEndpoint: fc.oneof(fc.record({ serviceName: junk }), junk), tags: fc.oneof(fc.dictionary(fc.constantFrom('error', 'http.status_code', 'peer.service', '__proto__'), junk), junk) });
  const zipkin = fc.array(fc.oneof({ arbitrary: zipkinSpan, weight: 5 }, { arbitrary: junk, weight: 1 }), { minLength: 1, maxLength: 8 }).map((spans) => [{ traceId: 'a1', id: 'b1', timestamp: 1_700_000_000_000_000, duration: 5, localEndpoint: { serviceName: 's' } }, ...spans]);

  const endpoint = fc.oneof(fc.record({ serviceName: fc.oneof(fc.constantFrom('a', 'b', '__proto__'), junk) }), junk);
  const zipkinV1Span = fc.record({
    traceId: id,
    id,
    parentId: id,
    name: junk,
    timestamp: time,
    duration: time,
    annotations: fc.oneof(fc.array(fc.oneof(fc.record({ timestamp: time, value: fc.constantFrom('cs', 'cr', 'sr', 'ss', 'ms', 'mr', 'x'), endpoint }), junk), { maxLength: 4 }), junk),
    binaryAnnotations: fc.oneof(fc.array(fc.oneof(fc.record({ key: fc.constantFrom('sa', 'ca', 'lc', 'error', 'http.route', '__proto__'), value: junk, endpoint }), junk), { maxLength: 3 }), junk),
  });
  const zipkinV1 = fc.array(fc.oneof({ arbitrary: zipkinV1Span, weight: 5 }, { arbitrary: junk, weight: 1 }), { minLength: 1, maxLength: 6 }).map((spans) => [
    { traceId: 'a1', id: 'b1', annotations: [{ timestamp: 1_700_000_000_000_000, value: 'sr', endpoint: { serviceName: 's' } }, { timestamp: 1_700_000_000_000_005, value: 'ss', endpoint: { serviceName: 's' } }] },
    ...spans,
  ]);

  it('never throw: every span comes out with valid fields or is explained by a problem', async () => {
    let decoded = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(jaeger, zipkin, zipkinV1), async (doc) => {
        const r = await read(doc);
        decoded += r.spans.length;
        for (const s of r.spans) {
          expect(typeof s.traceId === 'string' && s.traceId.length > 0 && s.traceId.length <= 64).toBe(true);
          expect(typeof s.spanId === 'string' && s.spanId.length > 0 && s.spanId.length <= 66).toBe(true);
          expect(typeof s.service === 'string' && s.service.length > 0).toBe(true);
          expect(Number.isFinite(s.startTime) && s.endTime <= MAX_TIME_MS && s.endTime >= s.startTime && s.startTime > 0).toBe(true);
          expect(Object.getPrototypeOf(s.attributes ?? {})).toBe(Object.prototype);
          expect([undefined, 'server', 'client', 'producer', 'consumer', 'internal']).toContain(s.kind);
          expect(['unset', 'ok', 'error']).toContain(s.status);
        }
      }),
      { numRuns: 300 },
    );
    // The generators make decodable spans too, not only problems.
    expect(decoded).toBeGreaterThan(100);
  });
});

describe('Jaeger and Zipkin JSON documents over the record limit', () => {
  /** Reads `text` in chunks of `chunk` bytes. */
  function readText(text: string, options: ReadOtlpOptions = {}, chunk = 1000): Promise<{ spans: Span[]; problems: DecodeProblem[]; bytes: number }> {
    const data = Buffer.from(text);
    const parts: Buffer[] = [];
    for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
    return collect(readOtlpStream(Readable.from(parts, { objectMode: false }), options));
  }

  /** The spans, problems and bytes of all the batches. */
  async function collect(batches: AsyncIterable<OtlpBatch>): Promise<{ spans: Span[]; problems: DecodeProblem[]; bytes: number }> {
    const out = { spans: [] as Span[], problems: [] as DecodeProblem[], bytes: 0 };
    for await (const b of batches) {
      out.spans.push(...b.spans);
      out.problems.push(...b.problems);
      out.bytes += b.bytes;
    }
    return out;
  }
  const LIMIT = { maxRecordBytes: 2048 };

  /** Zipkin spans of `n` traces in the order a tracer writes them (as they end): a B3 shared server span after its child. */
  function zipkinTraces(n: number): object[] {
    const spans: object[] = [];
    for (let t = 1; t <= n; t++) {
      const low = t.toString(16).padStart(16, '0');
      const at = 1_700_000_000_000_000 + t * 10_000;
      const span = (traceId: string, id: string, service: string, extra: object) => ({ traceId, id, timestamp: at, duration: 1_000, localEndpoint: { serviceName: service }, ...extra });
      // The gateway writes 128-bit trace ids, orders only their low 64 bits.
      spans.push(
        span(low, `c${t}`, 'orders', { parentId: `b${t}`, name: 'select' }),
        span(low, `b${t}`, 'orders', { kind: 'SERVER', shared: true, name: 'get /orders' }),
        span(`463ac35c9f6413ad${low}`, `b${t}`, 'gateway', { parentId: `a${t}`, kind: 'CLIENT', name: 'get' }),
        span(`463ac35c9f6413ad${low}`, `a${t}`, 'gateway', { kind: 'SERVER', name: 'get /api', tags: t % 7 === 0 ? { error: 'boom' } : {} }),
      );
    }
    return spans;
  }

  function jaegerTraces(n: number): object {
    const data = [];
    for (let t = 1; t <= n; t++) {
      const traceID = t.toString(16);
      const start = 1_700_000_000_000_000 + t * 10_000;
      data.push({
        traceID,
        spans: [
          { traceID, spanID: 'a1', operationName: 'GET /a', references: [], startTime: start, duration: 900, processID: 'p1', tags: [{ key: 'span.kind', value: 'server' }] },
          { traceID, spanID: 'b2', operationName: 'charge', references: [{ refType: 'CHILD_OF', traceID, spanID: 'a1' }], startTime: start + 100, duration: 500, processID: 'p2', tags: [{ key: 'error', value: t % 5 === 0 }] },
        ],
        processes: { p1: { serviceName: 'shop', tags: [] }, p2: { serviceName: 'payment', tags: [] } },
      });
    }
    return { data, total: 0, limit: 0, offset: 0, errors: null };
  }

  it('reads them element by element, one line or pretty-printed: the spans of the document held whole', async () => {
    for (const doc of [zipkinTraces(60), jaegerTraces(40)]) {
      const whole = await readText(JSON.stringify(doc));
      expect(whole.problems).toEqual([]);
      expect(whole.spans.length).toBeGreaterThanOrEqual(80);
      for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2), `\ufeff${JSON.stringify(doc, null, 2).replace(/\n/g, '\r\n')}`]) {
        expect(text.length).toBeGreaterThan(10 * LIMIT.maxRecordBytes);
        for (const chunk of [100, 4096]) {
          const r = await readText(text, LIMIT, chunk);
          expect(r.problems).toEqual([]);
          expect(r.spans).toEqual(whole.spans);
          expect(r.bytes).toBe(Buffer.byteLength(text));
        }
      }
    }
    // Shared server spans found across the slices, trace ids joined: each trace one tree.
    const zipkin = (await readText(JSON.stringify(zipkinTraces(60)), LIMIT)).spans;
    expect(new Set(zipkin.map((s) => s.traceId)).size).toBe(60);
    expect(zipkin.filter((s) => s.name === 'select').every((s) => s.parentSpanId?.endsWith('5e'))).toBe(true);
  });

  it('reports a broken element, a span over the limit and a cut-off end with their lines, and reads the rest', async () => {
    const doc = jaegerTraces(12) as { data: Array<{ spans: Array<{ operationName: string }> }> };
    doc.data[9].spans[0].operationName = 'x'.repeat(3000);
    const text = JSON.stringify(doc, null, 2).replace('"traceID": "3"', '"traceID": "3",,');
    const lineOf = (needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;
    const cut = text.slice(0, text.indexOf('"traceID": "c"') + 30);
    const r = await readText(cut, LIMIT);
    // Traces 1, 2 and 4-11 (0x1-0xb but the broken 3rd); the 12th is cut off.
    expect(new Set(r.spans.map((s) => s.traceId))).toEqual(new Set([1, 2, 4, 5, 6, 7, 8, 9, 10, 11].map((t) => t.toString(16).padStart(16, '0'))));
    // The 10th is over the limit, read span by span: all but its long span (its `{` three lines above its name).
    expect(r.spans.filter((s) => s.traceId === '000000000000000a').map((s) => s.name)).toEqual(['charge']);
    expect(r.problems).toEqual([
      { line: lineOf('"traceID": "3"') - 1, message: expect.stringMatching(/^data\[2\]: invalid JSON \(/) },
      { line: lineOf('"operationName": "xxx') - 3, message: expect.stringMatching(/^data\[9\]\.spans\[0\]: \d+ bytes, over the 2048-byte record limit, skipped$/) },
      { line: lineOf('"traceID": "c"') - 1, message: 'data[11]: cut off (the input ends inside it)' },
    ]);
    // Strict: the first one ends the read, named by input and line.
    await expect(readText(cut, { ...LIMIT, strict: true, name: 'traces.json' })).rejects.toThrow(new RegExp(`^traces\\.json:${lineOf('"traceID": "3"') - 1}: data\\[2\\]: invalid JSON`));
  });

  /** One trace of `n` spans of two processes, its `processes` after its `spans` (as Jaeger writes them) or before. */
  const bigTrace = (n: number, traceID: string, processesFirst = false) => {
    const spans = Array.from({ length: n }, (_, i) => ({
      traceID,
      spanID: (i + 1).toString(16),
      operationName: `op${i % 3}`,
      references: i === 0 ? [] : [{ refType: 'CHILD_OF', traceID, spanID: '1' }],
      startTime: 1_700_000_000_000_000 + i * 1000,
      duration: 500,
      processID: i % 2 === 0 ? 'p1' : 'p2',
      tags: [{ key: 'error', value: i % 7 === 0 }],
    }));
    const host = (i: number) => [{ key: 'hostname', value: `h${i}` }, { key: 'pid', value: i }, { key: 'build', value: `${i}`.repeat(350) }];
    const processes = { p1: { serviceName: 'shop', tags: host(1) }, p2: { serviceName: 'payment', tags: host(2) }, p3: { serviceName: 'batch', tags: host(3) } };
    return { spans: JSON.stringify(spans).length, trace: processesFirst ? { traceID, processes, spans } : { traceID, spans, processes } };
  };

  it('reads a trace over the limit span by span: spans held until the processes after them come, those past the limit reported (a stream)', async () => {
    const small = (jaegerTraces(2) as { data: object[] }).data;
    const held = bigTrace(4, 'b1');
    const first = bigTrace(100, 'b2', true);
    // Spans under the limit (indented too), the trace with its processes over it; spans over it, processes first.
    expect(held.spans * 2).toBeLessThan(LIMIT.maxRecordBytes);
    expect(JSON.stringify(held.trace).length).toBeGreaterThan(LIMIT.maxRecordBytes);
    expect(first.spans).toBeGreaterThan(10 * LIMIT.maxRecordBytes);
    const doc = { data: [small[0], held.trace, first.trace, small[1]] };
    const whole = await readText(JSON.stringify(doc));
    expect(whole.problems).toEqual([]);
    expect(whole.spans.map((s) => s.service)).toContain('payment');
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 1)]) {
      const r = await readText(text, LIMIT);
      expect(r.problems).toEqual([]);
      expect(r.spans).toEqual(whole.spans);
    }

    // 100 spans before the processes: those within the limit are read, the rest reported once, with the first one's line.
    const late = bigTrace(100, 'b3');
    const text = JSON.stringify({ data: [small[0], late.trace, small[1]] }, null, 1);
    /** The line of span `i` of the trace (its `{`, the line before its `traceID`'s). */
    const spanLine = (i: number) => text.slice(0, text.indexOf(`\n     "spanID": "${(i + 1).toString(16)}",`)).split('\n').length - 1;
    const all = await readText(text);
    const r = await readText(text, LIMIT);
    const b3 = (spans: Span[]) => spans.filter((s) => s.traceId === '00000000000000b3');
    const kept = b3(r.spans).length;
    // As many as the limit holds (~400 bytes each, indented).
    expect(kept).toBeGreaterThan(2);
    expect(b3(r.spans)).toEqual(b3(all.spans).slice(0, kept));
    expect(r.spans.length).toBe(all.spans.length - (100 - kept));
    expect(r.problems).toEqual([
      { line: spanLine(kept), message: `data[1]: ${100 - kept} spans before its processes (from data[1].spans[${kept}] on) held past the 2048-byte record limit, skipped` },
    ]);

    // Cut off inside its 21st span: the 20 before it are reported, not guessed at.
    const cut = await readText(text.slice(0, text.indexOf('"spanID": "15"')), LIMIT);
    expect(b3(cut.spans)).toEqual([]);
    expect(cut.problems).toEqual([
      { line: spanLine(0), message: 'data[1]: 20 spans before its processes, skipped (the input ends first)' },
      { line: text.slice(0, text.indexOf('"traceID": "b3"')).split('\n').length - 1, message: 'data[1]: cut off (the input ends inside it)' },
    ]);
  });

  it('reads the spans past the limit again from a file (gzip too, in a worker too): each read once, each problem once', async () => {
    const small = (jaegerTraces(2) as { data: object[] }).data;
    const trace = bigTrace(100, 'b3').trace;
    const doc = { data: [small[0], trace, small[1]] };
    const clean = JSON.stringify(doc, null, 1);
    // Past the spans held: a bad time, a span over the limit, a broken one.
    trace.spans[60].startTime = -1;
    trace.spans[70].operationName = 'x'.repeat(3000);
    const text = JSON.stringify(doc, null, 1).replace('"spanID": "51",', '"spanID": "51",,');
    const spanLine = (i: number) => text.slice(0, text.indexOf(`\n     "spanID": "${(i + 1).toString(16)}",`)).split('\n').length - 1;
    const bad = new Set(['3d', '47', '51'].map((id) => id.padStart(16, '0')));
    const expected = (await readText(clean)).spans.filter((s) => s.traceId !== '00000000000000b3' || !bad.has(s.spanId));
    const problems = [
      { line: spanLine(60), message: 'data[1].spans[60] (spanID 000000000000003d): missing or bad start time' },
      { line: spanLine(70), message: expect.stringMatching(/^data\[1\]\.spans\[70\]: \d+ bytes, over the 2048-byte record limit, skipped$/) },
      { line: spanLine(80), message: expect.stringMatching(/^data\[1\]\.spans\[80\]: invalid JSON \(/) },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'rootspan-jaeger-'));
    try {
      const plain = join(dir, 'trace.json');
      const gz = join(dir, 'trace.json.gz');
      writeFileSync(plain, text);
      writeFileSync(gz, gzipSync(text));
      for (const path of [plain, gz]) {
        const r = await collect(readOtlpFile(path, LIMIT));
        expect(r.problems, path).toEqual(problems);
        expect(r.spans, path).toEqual(expected);
        expect(r.bytes, path).toBe(statSync(path).size);
      }
      // The decoding worker reads it again too (the built package).
      const dist = (await import(new URL('../dist/index.js', import.meta.url).href)) as { readOtlpFile: typeof readOtlpFile };
      const inWorker = await collect(dist.readOtlpFile(plain, { ...LIMIT, worker: true }));
      expect(inWorker).toEqual(await collect(readOtlpFile(plain, LIMIT)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the whole elements of a cut-off document under the limit too (a download cut short)', async () => {
    for (const doc of [jaegerTraces(6), zipkinTraces(3)]) {
      const text = JSON.stringify(doc, null, 2);
      const whole = await readText(text);
      // Cut inside a line that does not parse alone (else the text is taken for JSONL with a broken first line).
      const cut = text.slice(0, text.indexOf('"duration"', Math.floor(text.length * 0.7)) + 13);
      const r = await readText(cut);
      expect(r.spans.length).toBeGreaterThan(whole.spans.length / 2);
      // (The same spans: a Zipkin span's shared server parent may be past the cut.)
      const ids = (spans: Span[]) => spans.map((s) => `${s.traceId} ${s.spanId}`);
      expect(ids(r.spans)).toEqual(ids(whole.spans).slice(0, r.spans.length));
      expect(r.problems).toEqual([{ line: expect.any(Number), message: expect.stringMatching(/^(data)?\[\d+\]: cut off \(the input ends inside it\)$/) }]);
    }
  });

  it('skips a large one-line document that is neither an array, a Jaeger answer nor an OTLP request as a document, with one problem', async () => {
    const r = await readText(`{"items": [${'{"resource": {}},'.repeat(300)}{}]}`, LIMIT);
    expect(r.spans).toEqual([]);
    expect(r.problems).toEqual([{ line: 1, message: 'JSON document larger than 2048 bytes (the record limit), skipped' }]);
  });
});
