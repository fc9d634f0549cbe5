import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MAX_LINKS, type Span } from '@rootspan/engine';
import { MAX_DESCRIBED_PROBLEMS, MAX_NAME_LENGTH, decodeOtlpJson, encodeOtlpJson, formatProblem, msToNanosString, nanosToMs } from '@rootspan/otlp';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Heap in use after a full collection. */
function liveHeap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** A one-span request; `span` fields override the defaults. */
function request(span: Record<string, unknown>, resource: unknown[] = [{ key: 'service.name', value: { stringValue: 'svc' } }]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: resource },
        scopeSpans: [
          {
            scope: { name: 'lib' },
            spans: [
              {
                traceId: '0af7651916cd43dd8448eb211c80319c',
                spanId: 'b7ad6b7169203331',
                name: 'op',
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000000250000000',
                ...span,
              },
            ],
          },
        ],
      },
    ],
  };
}

const one = (span: Record<string, unknown>, resource?: unknown[]) => {
  const r = decodeOtlpJson(request(span, resource));
  expect(r.problems).toEqual([]);
  expect(r.spans).toHaveLength(1);
  return r.spans[0];
};

describe('decodeOtlpJson', () => {
  it('parses the official opentelemetry-proto examples/trace.json', () => {
    const r = decodeOtlpJson(JSON.parse(readFileSync(fixture('trace.json'), 'utf8')));
    expect(r.problems).toEqual([]);
    expect(r.spans).toEqual([
      {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        parentSpanId: 'eee19b7ec3c1b173',
        service: 'my.service',
        name: "I'm a server span",
        kind: 'server',
        startTime: 1544712660000,
        endTime: 1544712661000,
        status: 'unset',
      },
    ]);
  });

  it('reads the proto field names (snake_case) as the Collector does, at every depth', () => {
    const snake = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(snake) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(x)])) : v;
    const camel = request({
      parentSpanId: 'b7ad6b7169203330',
      kind: 2,
      status: { code: 2, message: 'failed' },
      attributes: [
        { key: 'http.route', value: { stringValue: '/a' } },
        { key: 'http.response.status_code', value: { intValue: '503' } },
      ],
      events: [{ name: 'exception', timeUnixNano: '1544712660500000000', attributes: [{ key: 'exception.type', value: { stringValue: 'Boom' } }] }],
    });
    const text = JSON.stringify(snake(camel));
    expect(text).toContain('"resource_spans"');
    expect(text).toContain('"parent_span_id"');
    expect(text).toContain('"string_value"');
    expect(text).not.toMatch(/[a-z][A-Z]/);
    const fromSnake = decodeOtlpJson(JSON.parse(text));
    expect(fromSnake.problems).toEqual([]);
    expect(fromSnake.spans).toEqual(decodeOtlpJson(camel).spans);
    expect(fromSnake.spans[0]).toMatchObject({ parentSpanId: 'b7ad6b7169203330', kind: 'server', status: 'error', statusMessage: 'failed', attributes: { 'http.route': '/a', 'http.response.status_code': 503, 'exception.type': 'Boom' } });
  });

  it('reads a snake_case request whose attribute value nests 100,000 deep without exhausting the stack', () => {
    const n = 100_000;
    const text = `{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","name":"a","start_time_unix_nano":"1","end_time_unix_nano":"2","attributes":[{"key":"http.route","value":{"string_value":"/r"}},{"key":"k","value":{"array_value":{"values":${'['.repeat(n)}1${']'.repeat(n)}}}}]}]}]}]}`;
    const r = decodeOtlpJson(JSON.parse(text));
    expect(r.problems).toEqual([]);
    expect(r.spans.map((s) => s.attributes)).toEqual([{ 'http.route': '/r' }]);
  });

  it("reads Grafana Tempo's trace JSON (`batches`, or the request under `trace`) and Jaeger v2's (under `result`)", () => {
    const otlp = request({ kind: 2 });
    const expected = decodeOtlpJson(otlp).spans;
    expect(expected).toHaveLength(1);
    expect(decodeOtlpJson({ batches: otlp.resourceSpans })).toEqual({ spans: expected, problems: [] });
    expect(decodeOtlpJson({ trace: otlp })).toEqual({ spans: expected, problems: [] });
    // Jaeger v2's API v3 (`/api/v3/traces/{id}`): the request under `result`.
    expect(decodeOtlpJson({ result: otlp })).toEqual({ spans: expected, problems: [] });
    expect(decodeOtlpJson({ trace: { resourceSpans: [{ scopeSpans: [{ spans: [{ spanId: 'zz' }] }] }] } }).problems[0].message).toMatch(/^trace\.resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]/);
  });

  it('takes a request wrapped in trace/result more than 4 deep for a problem, not a stack overflow', () => {
    const otlp = request({ kind: 2 });
    let doc: unknown = otlp;
    for (let i = 0; i < 20_000; i++) doc = { trace: doc };
    const r = decodeOtlpJson(doc);
    expect(r.spans).toEqual([]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0].message).toMatch(/wrapped more than 4 deep/);
    // Up to 4 wrappers decode; the records around a bad one still do.
    expect(decodeOtlpJson({ result: { trace: { trace: { result: otlp } } } }).spans).toHaveLength(1);
    expect(decodeOtlpJson([otlp, doc, otlp]).spans).toHaveLength(2);
  });

  it('rejects an id written as a JSON array unless it holds bytes', () => {
    const ids = (spanId: unknown) => decodeOtlpJson(request({ spanId })).spans.map((s) => s.spanId);
    expect(ids([1, 2, 3, 4, 5, 6, 7, 255])).toEqual(['01020304050607ff']);
    expect(ids(['a', 'b', {}, 1, 2, 3, 4, 5])).toEqual([]);
    expect(ids([256, 512, 768, 1024, 1280, 1536, 1792, 2048])).toEqual([]);
    expect(ids([1.5, 0, 0, 0, 0, 0, 0, 1])).toEqual([]);
  });

  it('normalises upper-case hex ids and accepts base64 ids of the right length', () => {
    const s = one({ traceId: '0AF7651916CD43DD8448EB211C80319C', spanId: 'B7AD6B7169203331', parentSpanId: 'AbCdEf0123456789' });
    expect([s.traceId, s.spanId, s.parentSpanId]).toEqual(['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 'abcdef0123456789']);
    const b = one({
      traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64'),
      spanId: Buffer.from('b7ad6b7169203331', 'hex').toString('base64'),
      parentSpanId: Buffer.from('00f067aa0ba902b7', 'hex').toString('base64url'),
    });
    expect([b.traceId, b.spanId, b.parentSpanId]).toEqual(['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', '00f067aa0ba902b7']);
    // 64-bit trace ids from older systems are hex of another length: kept
    expect(one({ traceId: '8448EB211C80319C' }).traceId).toBe('8448eb211c80319c');
  });

  it('treats an empty or all-zero parentSpanId as a root', () => {
    expect(one({ parentSpanId: '' }).parentSpanId).toBeUndefined();
    expect(one({ parentSpanId: '0000000000000000' }).parentSpanId).toBeUndefined();
    expect(one({}).parentSpanId).toBeUndefined();
  });

  it('converts times from strings and numbers to epoch ms without losing precision', () => {
    const s = one({ startTimeUnixNano: '1700000000123456789', endTimeUnixNano: 1700000001000000000 });
    expect(s.startTime).toBe(1700000000123 + 0.456789);
    expect(Math.abs(s.startTime - 1700000000123.456789)).toBeLessThan(1e-6 * 300);
    expect(s.endTime).toBe(1700000001000);
    expect(nanosToMs('999')).toBe(0.000999);
    expect(nanosToMs({ low: 0, high: 1 })).toBe(4294.967296);
    expect(nanosToMs('12a')).toBeNaN();
    expect(nanosToMs(-1)).toBeNaN();
    for (const ms of [1700000000123.4568, 1544712660000, 0.5, 1700000000000.001]) expect(nanosToMs(msToNanosString(ms))).toBe(ms);
    expect(msToNanosString(1700000000123.456)).toBe('1700000000123456000');
    expect(msToNanosString(0.000999)).toBe('999');
    expect(msToNanosString(1e-7)).toBe('0');
    // random epoch times in µs-ish resolution round-trip bit-exactly
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20000; i++) {
      const ms = 1.5e12 + rnd() * 3e11 + (i % 3 === 0 ? Math.round(rnd() * 1e6) / 1e6 : rnd());
      expect(nanosToMs(msToNanosString(ms))).toBe(ms);
    }
  });

  it('reads kind and status as integers or enum names', () => {
    const kinds = [1, 2, 3, 4, 5, 0, undefined, 'SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER', 'SPAN_KIND_UNSPECIFIED', 9].map((kind) => one({ kind }).kind);
    expect(kinds).toEqual(['internal', 'server', 'client', 'producer', 'consumer', undefined, undefined, 'server', 'consumer', undefined, undefined]);
    const statuses = [{ code: 0 }, { code: 1 }, { code: 2 }, { code: 'STATUS_CODE_ERROR' }, { code: 'STATUS_CODE_OK' }, {}, undefined, { code: 7 }].map(
      (status) => one({ status }).status,
    );
    expect(statuses).toEqual(['unset', 'ok', 'error', 'error', 'ok', 'unset', 'unset', undefined]);
    const s = one({ status: { code: 2, message: 'Deadline exceeded' } });
    expect([s.status, s.statusMessage]).toEqual(['error', 'Deadline exceeded']);
    expect(one({ status: { code: 2, message: '' } }).statusMessage).toBeUndefined();
  });

  it('keeps only analysed scalar attributes; intValue as string or number', () => {
    const s = one({
      attributes: [
        { key: 'http.response.status_code', value: { intValue: '503' } },
        { key: 'server.port', value: { intValue: 8080 } },
        { key: 'http.route', value: { stringValue: '/users/:id' } },
        { key: 'db.system', value: { stringValue: 'redis' } },
        { key: 'net.peer.port', value: { doubleValue: 6379.5 } },
        { key: 'error.type', value: { boolValue: true } },
        { key: 'peer.service', value: { arrayValue: { values: [{ stringValue: 'x' }] } } },
        { key: 'db.name', value: { kvlistValue: { values: [] } } },
        { key: 'rpc.method', value: { bytesValue: 'AAE=' } },
        { key: 'rpc.service', value: {} },
        { key: 'http.method', value: { intValue: 'NaN' } },
        { key: 'user.id', value: { stringValue: 'not analysed' } },
        { key: 'url.query', value: { stringValue: 'token=x' } },
        { value: { stringValue: 'no key' } },
        null,
      ],
    });
    expect(s.attributes).toEqual({
      'http.response.status_code': 503,
      'server.port': 8080,
      'http.route': '/users/:id',
      'db.system': 'redis',
      'net.peer.port': 6379.5,
      'error.type': true,
    });
    expect(one({ attributes: [{ key: 'user.id', value: { stringValue: 'x' } }] }).attributes).toBeUndefined();
  });

  it('copies the first exception event into the attributes, without overriding the span own', () => {
    const exc = (type: string, message: string) => ({
      name: 'exception',
      timeUnixNano: '1700000000100000000',
      attributes: [
        { key: 'exception.type', value: { stringValue: type } },
        { key: 'exception.message', value: { stringValue: message } },
        { key: 'exception.stacktrace', value: { stringValue: 'at ...' } },
      ],
    });
    const s = one({ events: [{ name: 'log', attributes: [] }, exc('TimeoutError', 'took too long'), exc('Other', 'second')] });
    expect(s.attributes).toEqual({ 'exception.type': 'TimeoutError', 'exception.message': 'took too long' });
    const own = one({ attributes: [{ key: 'exception.type', value: { stringValue: 'Own' } }], events: [exc('Evt', 'msg')] });
    expect(own.attributes).toEqual({ 'exception.type': 'Own', 'exception.message': 'msg' });
  });

  it('reads service.name and service.version from the resource', () => {
    const s = one({}, [
      { key: 'service.name', value: { stringValue: 'checkout' } },
      { key: 'service.version', value: { stringValue: '1.4.2' } },
      { key: 'host.name', value: { stringValue: 'h' } },
    ]);
    expect([s.service, s.serviceVersion]).toEqual(['checkout', '1.4.2']);
    expect(one({}, []).service).toBe('unknown_service');
    expect(one({}, [{ key: 'service.name', value: { stringValue: '' } }]).service).toBe('unknown_service');
    const noResource = decodeOtlpJson({ resourceSpans: [{ scopeSpans: request({}).resourceSpans[0].scopeSpans }] });
    expect(noResource.spans[0].service).toBe('unknown_service');
  });

  it('reads the instance from the resource: service.instance.id, else host.name/process.pid', () => {
    const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const pid = (intValue: string | number) => ({ key: 'process.pid', value: { intValue } });
    const instance = (...attributes: unknown[]) => one({}, [str('service.name', 'checkout'), ...attributes]).instance;
    // The instance id wins wherever it stands.
    expect(instance(str('host.name', 'h'), pid('4242'), str('service.instance.id', 'i-1'))).toBe('i-1');
    expect(instance(str('service.instance.id', 'i-1'), str('host.name', 'h'), pid('4242'))).toBe('i-1');
    expect(instance(str('host.name', 'h'), pid('4242'))).toBe('h/4242');
    expect(instance(pid(4242), str('host.name', 'h'))).toBe('h/4242');
    expect(instance(str('service.instance.id', ''), str('host.name', 'h'), pid('4242'))).toBe('h/4242');
    expect(instance(str('host.name', 'h'))).toBe('h');
    expect(instance(pid('4242'))).toBe('4242');
    expect(instance(str('host.name', ''))).toBeUndefined();
    expect(instance()).toBeUndefined();
    expect(one({}).instance).toBeUndefined();
    expect(instance(str('service.instance.id', 'x'.repeat(MAX_NAME_LENGTH + 5)))).toBe('x'.repeat(MAX_NAME_LENGTH));
    // Each resource its own.
    const two = decodeOtlpJson({
      resourceSpans: [
        { ...request({}, [str('service.name', 'a'), str('service.instance.id', 'i-1')]).resourceSpans[0] },
        { ...request({}, [str('service.name', 'b'), str('host.name', 'h'), pid(7)]).resourceSpans[0] },
        { ...request({}, [str('service.name', 'c')]).resourceSpans[0] },
      ],
    });
    expect(two.spans.map((s) => [s.service, s.instance])).toEqual([['a', 'i-1'], ['b', 'h/7'], ['c', undefined]]);
  });

  it('reads the older instrumentationLibrarySpans', () => {
    const req = request({});
    const old = { resourceSpans: [{ resource: req.resourceSpans[0].resource, instrumentationLibrarySpans: [{ instrumentationLibrary: { name: 'lib' }, spans: req.resourceSpans[0].scopeSpans[0].spans }] }] };
    const r = decodeOtlpJson(old);
    expect(r.problems).toEqual([]);
    expect(r.spans).toEqual(decodeOtlpJson(req).spans);
  });

  it('ignores unknown fields and decodes arrays of requests', () => {
    const req = request({ droppedAttributesCount: 3, flags: 257, traceState: 'a=b', links: [{ traceId: 'x' }], somethingNew: { a: 1 } });
    const r = decodeOtlpJson([{ ...req, extra: true }, req]);
    expect(r.problems).toEqual([]);
    expect(r.spans).toHaveLength(2);
  });

  it('skips bad spans with a reason and decodes the rest', () => {
    const good = request({}).resourceSpans[0].scopeSpans[0].spans[0];
    const req = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [
            {
              spans: [
                { ...good, traceId: undefined },
                { ...good, spanId: 'zz' },
                good,
                { ...good, startTimeUnixNano: 'soon' },
                { ...good, endTimeUnixNano: '0' },
                { ...good, startTimeUnixNano: '1700000000300000000' },
                { ...good, traceId: '00000000000000000000000000000000' },
                { ...good, parentSpanId: 'xyz' },
                'not a span',
                { ...good, spanId: 'c7ad6b7169203331', name: undefined },
              ],
            },
          ],
        },
      ],
    };
    const r = decodeOtlpJson(req);
    expect(r.spans.map((s) => [s.spanId, s.name])).toEqual([
      ['b7ad6b7169203331', 'op'],
      ['c7ad6b7169203331', ''],
    ]);
    expect(r.problems.map((p) => p.message)).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[0] (spanId b7ad6b7169203331): missing traceId',
      'resourceSpans[0].scopeSpans[0].spans[1]: invalid spanId "zz"',
      'resourceSpans[0].scopeSpans[0].spans[3] (spanId b7ad6b7169203331): bad startTimeUnixNano "soon"',
      'resourceSpans[0].scopeSpans[0].spans[4] (spanId b7ad6b7169203331): missing endTimeUnixNano',
      'resourceSpans[0].scopeSpans[0].spans[5] (spanId b7ad6b7169203331): endTimeUnixNano is before startTimeUnixNano',
      'resourceSpans[0].scopeSpans[0].spans[6] (spanId b7ad6b7169203331): invalid traceId "00000000000000000000000000000000"',
      'resourceSpans[0].scopeSpans[0].spans[7] (spanId b7ad6b7169203331): invalid parentSpanId "xyz"',
      'resourceSpans[0].scopeSpans[0].spans[8]: expected a span object, got string "not a span"',
    ]);
    expect(r.problems.every((p) => p.line === undefined)).toBe(true);
  });

  it('skips spans with times after year 9999 (not showable as dates) with a problem', () => {
    const huge = '99999999999999999999999999';
    const check = (span: Record<string, unknown>) => decodeOtlpJson(request(span));
    expect(check({ endTimeUnixNano: huge }).problems.map((p) => p.message)).toEqual([
      'resourceSpans[0].scopeSpans[0].spans[0] (spanId b7ad6b7169203331): endTimeUnixNano "99999999999999999999999999" is after year 9999',
    ]);
    expect(check({ startTimeUnixNano: 1e30, endTimeUnixNano: 2e30 }).problems[0].message).toMatch(/: startTimeUnixNano 1e\+30 is after year 9999$/);
    // the last representable millisecond is fine
    const last = check({ startTimeUnixNano: '253402300799999000000', endTimeUnixNano: '253402300799999000000' });
    expect(last.problems).toEqual([]);
    expect(new Date(last.spans[0].endTime).toISOString()).toBe('9999-12-31T23:59:59.999Z');
    expect(check({ endTimeUnixNano: '253402300800000000000' }).spans).toEqual([]);
  });

  it('truncates long names and values to the documented limits, copying them out', () => {
    const s = one(
      {
        name: 'n'.repeat(5000),
        status: { code: 2, message: 'm'.repeat(10_000) },
        attributes: [{ key: 'http.route', value: { stringValue: `/${'r'.repeat(10_000)}` } }],
      },
      [{ key: 'service.name', value: { stringValue: 's'.repeat(3000) } }],
    );
    expect([s.name.length, s.service.length, s.statusMessage?.length, (s.attributes?.['http.route'] as string).length]).toEqual([
      MAX_NAME_LENGTH,
      MAX_NAME_LENGTH,
      MAX_NAME_LENGTH,
      MAX_NAME_LENGTH,
    ]);
    // never half a surrogate pair
    const emoji = one({ name: `${'n'.repeat(MAX_NAME_LENGTH - 1)}\u{1F600}` }).name;
    expect(emoji).toBe('n'.repeat(MAX_NAME_LENGTH - 1));
  });

  it('keeps no reference to the long strings it truncated', () => {
    // 100 distinct 1 MB names: a plain slice would keep all 100 MB alive
    const before = liveHeap();
    const kept = [];
    for (let i = 0; i < 100; i++) kept.push(one({ name: `${i}`.padEnd(1 << 20, 'x') }));
    const growth = liveHeap() - before;
    expect(kept.every((s) => s.name.length === MAX_NAME_LENGTH)).toBe(true);
    expect(growth).toBeLessThan(10 * 1024 * 1024);
  });

  it('rejects ids longer than their size', () => {
    const r = decodeOtlpJson(request({ traceId: 'ab'.repeat(17) }));
    expect(r.problems[0].message).toMatch(/: invalid traceId "ababab/);
    expect(decodeOtlpJson(request({ spanId: 'ab'.repeat(500_000) })).problems[0].message).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: invalid spanId "abab.{36}\.\.\."$/);
  });

  it('reports inputs that are not trace requests', () => {
    expect(decodeOtlpJson(42).problems[0].message).toBe('expected an ExportTraceServiceRequest object, got number 42');
    expect(decodeOtlpJson(null).problems[0].message).toBe('expected an ExportTraceServiceRequest object, got null');
    expect(decodeOtlpJson({ resourceLogs: [] }).problems[0].message).toMatch(/^no resourceSpans \(not OTLP trace data\? found "resourceLogs"\)/);
    expect(decodeOtlpJson({ resourceSpans: {} }).problems[0].message).toBe('resourceSpans: expected an array, got an object');
    expect(decodeOtlpJson([{}, 1]).problems.map((p) => p.message)).toEqual(['[1]: expected an ExportTraceServiceRequest object, got number 1']);
    // A Zipkin v2 file is an array of spans: each is named as the element it is.
    expect(decodeOtlpJson([{ traceId: '5af7183fb1d4cf5f', localEndpoint: {} }]).problems.map((p) => p.message)).toEqual(['[0]: no resourceSpans (not OTLP trace data? found "traceId")']);
    expect(decodeOtlpJson({})).toEqual({ spans: [], problems: [] });
    expect(decodeOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: 'x' }] }] }).problems[0].message).toBe(
      'resourceSpans[0].scopeSpans[0].spans: expected an array, got string "x"',
    );
    // An array where a ResourceSpans object belongs is junk, not an empty resource (nested 100,000 deep too).
    expect(decodeOtlpJson({ resourceSpans: [[]] }).problems.map((p) => p.message)).toEqual(['resourceSpans[0]: expected an object, got an array']);
    const deep = JSON.parse(`{"resourceSpans":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(decodeOtlpJson(deep).problems).toHaveLength(1);
  });

  it('formats problems for people', () => {
    expect(formatProblem({ line: 3, message: 'invalid JSON (x)' })).toBe('line 3: invalid JSON (x)');
    expect(formatProblem({ line: 3, message: 'm' }, 'a.jsonl')).toBe('a.jsonl:3: m');
    expect(formatProblem({ message: 'm' }, 'a.json')).toBe('a.json: m');
    expect(formatProblem({ message: 'm' })).toBe('m');
  });
});

describe('span links', () => {
  const T1 = '5b8efff798038103d269b633813fc60c';
  const T2 = '0af7651916cd43dd8448eb211c80319d';
  const link = (traceId: unknown, spanId: unknown, more: Record<string, unknown> = {}) => ({ traceId, spanId, traceState: 'a=b', attributes: [{ key: 'k', value: { stringValue: 'v' } }], droppedAttributesCount: 1, flags: 257, ...more });

  it("keeps a consumer span's links in order, ids decoded as the span's own; other kinds keep none", () => {
    const links = [link(T1, 'eee19b7ec3c1b174'), link(T2.toUpperCase(), Buffer.from('00f067aa0ba902b7', 'hex').toString('base64')), link('abcd', 'eee19b7ec3c1b175')];
    const want = [
      { traceId: T1, spanId: 'eee19b7ec3c1b174' },
      { traceId: T2, spanId: '00f067aa0ba902b7' },
      { traceId: 'abcd', spanId: 'eee19b7ec3c1b175' },
    ];
    expect(one({ kind: 5, links }).links).toEqual(want);
    expect(one({ kind: 'SPAN_KIND_CONSUMER', links }).links).toEqual(want);
    for (const kind of [undefined, 0, 1, 2, 3, 4, 'SPAN_KIND_PRODUCER']) expect(one({ kind, links }).links, String(kind)).toBeUndefined();
    // Without links: none made.
    expect(one({ kind: 5 }).links).toBeUndefined();
    expect(one({ kind: 5, links: [] }).links).toBeUndefined();
    expect(one({ kind: 5, links: null }).links).toBeUndefined();
  });

  it('skips a link without valid, non-zero ids, never the span, and reports nothing', () => {
    const good = link(T1, 'eee19b7ec3c1b174');
    const bad = [
      link(undefined, 'eee19b7ec3c1b174'),
      link(T1, undefined),
      link('', 'eee19b7ec3c1b174'),
      link('0'.repeat(32), 'eee19b7ec3c1b174'),
      link(T1, '0'.repeat(16)),
      link('nothex', 'eee19b7ec3c1b174'),
      link(`${T1}00`, 'eee19b7ec3c1b174'),
      link(T1, 5),
      link(T1, [1, 2, 300]),
      null,
      'a link',
      [T1, 'eee19b7ec3c1b174'],
    ];
    const s = one({ kind: 5, links: [...bad, good, ...bad] });
    expect(s.links).toEqual([{ traceId: T1, spanId: 'eee19b7ec3c1b174' }]);
    expect(s.spanId).toBe('b7ad6b7169203331');
    expect(one({ kind: 5, links: bad }).links).toBeUndefined();
  });

  it('keeps the first MAX_LINKS (128) links', () => {
    const links = Array.from({ length: 130 }, (_, i) => link(T1, (i + 1).toString(16).padStart(16, '0')));
    const s = one({ kind: 5, links: [link('0'.repeat(32), '1'.repeat(16)), ...links] });
    expect(s.links).toHaveLength(MAX_LINKS);
    expect(s.links?.map((l) => l.spanId)).toEqual(links.slice(0, 128).map((l) => l.spanId));
  });

  it('reads snake_case links (trace_id, span_id) as the Collector does', () => {
    const req = request({ kind: 5, links: [link(T1, 'eee19b7ec3c1b174')] });
    const snake = JSON.parse(
      JSON.stringify(req)
        .replace('"resourceSpans"', '"resource_spans"')
        .replace('"scopeSpans"', '"scope_spans"')
        .replaceAll('"traceId"', '"trace_id"')
        .replaceAll('"spanId"', '"span_id"'),
    ) as unknown;
    const r = decodeOtlpJson(snake);
    expect(r.problems).toEqual([]);
    expect(r.spans[0].links).toEqual([{ traceId: T1, spanId: 'eee19b7ec3c1b174' }]);
  });

  it('encodeOtlpJson writes the links, and they decode back to the same spans', () => {
    const base = { traceId: T2, name: 'op', startTime: 1700000000000, endTime: 1700000000010, status: 'unset' as const, service: 'a' };
    const spans: Span[] = [
      { ...base, spanId: '0000000000000001', kind: 'consumer', links: [{ traceId: T1, spanId: 'eee19b7ec3c1b174' }, { traceId: T2, spanId: '0000000000000002' }] },
      { ...base, spanId: '0000000000000002', kind: 'producer' },
      { ...base, spanId: '0000000000000003', kind: 'consumer' },
    ];
    const req = encodeOtlpJson(spans);
    expect(req.resourceSpans[0].scopeSpans[0].spans.map((s) => s.links)).toEqual([spans[0].links, undefined, undefined]);
    const back = decodeOtlpJson(JSON.parse(JSON.stringify(req)));
    expect(back.problems).toEqual([]);
    expect(back.spans).toEqual(spans);
    expect(back.spans.map((s) => s.links)).toEqual([spans[0].links, undefined, undefined]);
  });
});

describe('a request of many bad spans', () => {
  it('counts every skipped span, describing only the first MAX_DESCRIBED_PROBLEMS (a 3 KB gzip of a million empty spans held the receiver 1.5 s)', () => {
    const n = 20_000;
    const { spans, problems } = decodeOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: Array.from({ length: n }, () => ({})) }] }] });
    expect(spans).toEqual([]);
    expect(problems).toHaveLength(n);
    expect(problems[0].message).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: /);
    expect(problems[MAX_DESCRIBED_PROBLEMS - 1].message).toContain(`.spans[${MAX_DESCRIBED_PROBLEMS - 1}]`);
    // The rest are one shared object, still a span's problem by its path.
    const rest = new Set(problems.slice(MAX_DESCRIBED_PROBLEMS));
    expect(rest.size).toBe(1);
    expect([...rest][0].message).toContain('.spans[');
  });
});

describe('encodeOtlpJson', () => {
  it('groups by instance too, writes it as service.instance.id, and reads it back', () => {
    const base = { traceId: '0af7651916cd43dd8448eb211c80319c', name: 'op', startTime: 1700000000000, endTime: 1700000000010, status: 'unset' as const };
    const spans = [
      { ...base, spanId: '0000000000000001', service: 'a', serviceVersion: '1', instance: 'i-1' },
      { ...base, spanId: '0000000000000002', service: 'a', serviceVersion: '1', instance: 'h/4242' },
      { ...base, spanId: '0000000000000003', service: 'a', serviceVersion: '1' },
      { ...base, spanId: '0000000000000004', service: 'a', serviceVersion: '1', instance: 'i-1' },
      { ...base, spanId: '0000000000000005', service: 'a', instance: 'i-1' },
    ];
    const req = encodeOtlpJson(spans);
    const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
    expect(req.resourceSpans.map((r) => r.resource.attributes)).toEqual([
      [str('service.name', 'a'), str('service.version', '1'), str('service.instance.id', 'i-1')],
      [str('service.name', 'a'), str('service.version', '1'), str('service.instance.id', 'h/4242')],
      [str('service.name', 'a'), str('service.version', '1')],
      [str('service.name', 'a'), str('service.instance.id', 'i-1')],
    ]);
    expect(req.resourceSpans.map((r) => r.scopeSpans[0].spans.map((s) => s.spanId.slice(-1)))).toEqual([['1', '4'], ['2'], ['3'], ['5']]);
    const back = decodeOtlpJson(JSON.parse(JSON.stringify(req)));
    expect(back.problems).toEqual([]);
    expect(back.spans.map((s) => [s.spanId.slice(-1), s.instance])).toEqual([['1', 'i-1'], ['4', 'i-1'], ['2', 'h/4242'], ['3', undefined], ['5', 'i-1']]);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    for (const s of back.spans) expect(s).toEqual(byId.get(s.spanId));
  });

  it('groups by service and version, one rootspan scope, canonical OTLP/JSON values', () => {
    const base = { traceId: '0af7651916cd43dd8448eb211c80319c', name: 'op', startTime: 1700000000000.5, endTime: 1700000000010 };
    const req = encodeOtlpJson([
      { ...base, spanId: '0000000000000001', service: 'a', serviceVersion: '1', kind: 'server', status: 'error', statusMessage: 'boom', attributes: { 'http.response.status_code': 500, 'x.ratio': 0.5, 'x.flag': false, 'http.route': '/' } },
      { ...base, spanId: '0000000000000002', service: 'b', parentSpanId: '0000000000000001' },
      { ...base, spanId: '0000000000000003', service: 'a', serviceVersion: '2' },
      { ...base, spanId: '0000000000000004', service: 'a', serviceVersion: '1', kind: 'client', status: 'ok' },
    ]);
    expect(req.resourceSpans).toHaveLength(3);
    expect(req.resourceSpans.map((r) => r.scopeSpans[0].spans.map((s) => s.spanId))).toEqual([['0000000000000001', '0000000000000004'], ['0000000000000002'], ['0000000000000003']]);
    expect(req.resourceSpans[0].scopeSpans[0].spans[0]).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: '0000000000000001',
      name: 'op',
      kind: 2,
      startTimeUnixNano: '1700000000000500000',
      endTimeUnixNano: '1700000000010000000',
      attributes: [
        { key: 'http.response.status_code', value: { intValue: '500' } },
        { key: 'x.ratio', value: { doubleValue: 0.5 } },
        { key: 'x.flag', value: { boolValue: false } },
        { key: 'http.route', value: { stringValue: '/' } },
      ],
      status: { code: 2, message: 'boom' },
    });
    expect(req.resourceSpans[1].scopeSpans[0].spans[0]).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: '0000000000000002',
      parentSpanId: '0000000000000001',
      name: 'op',
      startTimeUnixNano: '1700000000000500000',
      endTimeUnixNano: '1700000000010000000',
      attributes: [],
    });
    expect(req.resourceSpans[1].resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'b' } }]);
  });
});
