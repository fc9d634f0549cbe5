/**
 * The OTLP/JSON line scanner (jsonl-scan.ts) against `JSON.parse` + `decodeRequestInto`: for any line it
 * either gives the same spans and problems, or gives up with nothing added; and it does read the usual
 * shape (the Collector's file exporter, compact JSON) itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_LINKS, type Span } from '@rootspan/engine';
import { decodeRequestInto, SpanList, type Sink } from '../src/convert.js';
import { JsonLineScanner } from '../src/jsonl-scan.js';
import { SpanColumnsBuilder, unpackSpans } from '../src/span-columns.js';

interface Decoded {
  spans: Span[];
  problems: Sink['problems'];
}

/** What the reader made of `line` before the scanner: its text through JSON.parse (invalid: one problem) and the decoder. */
function slow(line: string): Decoded {
  const out = new SpanList();
  const sink: Sink = { out, problems: [], line: 7 };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { spans: [], problems: [{ line: 7, message: 'invalid JSON' }] };
  }
  decodeRequestInto(value, sink);
  return { spans: out.take(), problems: sink.problems };
}

/** The scanner's reading of `line`, or null when it gave up (checked to have added nothing). */
function fast(line: string | Buffer, scanner = new JsonLineScanner()): Decoded | null {
  const out = new SpanList();
  const sink: Sink = { out, problems: [], line: 7 };
  const read = scanner.decode(Buffer.isBuffer(line) ? line : Buffer.from(line), sink, out);
  if (!read) {
    expect(out.length).toBe(0);
    expect(sink.problems).toEqual([]);
    return null;
  }
  return { spans: out.take(), problems: sink.problems };
}

/** The scanner reads `line` as the slow path does, or gives up; returns whether it read it. */
function expectSame(line: string, scanner?: JsonLineScanner): boolean {
  const got = fast(line, scanner);
  if (got === null) return false;
  expect(got).toEqual(slow(line));
  // toEqual does not tell an absent field from an undefined one: the spans' keys must be the same too.
  expect(got.spans.map((s) => Object.keys(s))).toEqual(slow(line).spans.map((s) => Object.keys(s)));
  return true;
}

const TRACE = '89cdc874f02fc5fc4bd52e10e1decd26';
const span = (fields: Record<string, unknown> = {}) => ({
  traceId: TRACE,
  spanId: 'c555f51e4a083af2',
  name: 'GET product',
  startTimeUnixNano: '1767225600039172000',
  endTimeUnixNano: '1767225600039723000',
  attributes: [
    { key: 'db.system', value: { stringValue: 'redis' } },
    { key: 'server.port', value: { intValue: '6379' } },
    { key: 'not.analysed', value: { stringValue: 'x' } },
  ],
  parentSpanId: '569b4f74c9156b27',
  kind: 3,
  status: { code: 0 },
  ...fields,
});
const request = (spans: unknown[], resource: unknown = { attributes: [{ key: 'service.name', value: { stringValue: 'inventory' } }] }) =>
  JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'rootspan' }, spans }] }] });

describe('JsonLineScanner', () => {
  it('reads the file exporter shape itself, as the slow path does', () => {
    const scanner = new JsonLineScanner();
    expect(expectSame(request([span(), span({ spanId: 'e9f5b2cc82b2f812', kind: 2, status: { code: 2, message: 'card declined' } })]), scanner)).toBe(true);
    // Twice: the second time through the names and keys it kept.
    expect(expectSame(request([span(), span({ parentSpanId: undefined })]), scanner)).toBe(true);
    expect(expectSame(JSON.stringify({ resourceSpans: [] }), scanner)).toBe(true);
    expect(expectSame(JSON.stringify({ resourceSpans: [{}] }), scanner)).toBe(true);
    expect(expectSame(request([span()], undefined), scanner)).toBe(true);
  });

  it('reads spans of other shapes through JSON.parse, with the slow path problems and paths', () => {
    const odd = [
      span({ traceId: TRACE.toUpperCase() }),
      span({ parentSpanId: '0000000000000000' }),
      span({ parentSpanId: '' }),
      span({ spanId: '0000000000000000' }),
      span({ traceId: '0'.repeat(32) }),
      span({ traceId: TRACE.slice(0, 16) }),
      span({ spanId: 'AAECAwQFBgc=' }),
      span({ name: 'quote " and \\ backslash' }),
      span({ name: 'ünïcödé ✓' }),
      span({ name: 'x'.repeat(2000) }),
      span({ events: [{ name: 'exception', attributes: [{ key: 'exception.type', value: { stringValue: 'Boom' } }] }] }),
      span({ events: [] }),
      span({ kind: 'SPAN_KIND_SERVER' }),
      span({ kind: 7 }),
      span({ kind: 2.5 }),
      span({ status: { code: 'STATUS_CODE_ERROR' } }),
      span({ status: { code: 9, message: '' } }),
      span({ status: null }),
      span({ startTimeUnixNano: 1767225600039172000 }),
      span({ startTimeUnixNano: '' }),
      span({ startTimeUnixNano: '0' }),
      span({ endTimeUnixNano: '1767225600000000000' }),
      span({ endTimeUnixNano: '99999999999999999999999' }),
      span({ startTimeUnixNano: '12345' }),
      span({ attributes: [{ key: 'http.response.status_code', value: { intValue: 200 } }] }),
      span({ attributes: [{ key: 'http.response.status_code', value: { intValue: '-5' } }] }),
      span({ attributes: [{ key: 'http.response.status_code', value: { intValue: '1234567890123456789' } }] }),
      span({ attributes: [{ key: 'http.response.status_code', value: { doubleValue: 1.5 } }] }),
      span({ attributes: [{ key: 'error.type', value: { boolValue: true } }] }),
      span({ attributes: [{ key: 'db.system', value: { stringValue: '' } }] }),
      span({ attributes: [{ key: 'db.system', value: { stringValue: 'a', intValue: '1' } }] }),
      span({ attributes: [{ value: { stringValue: 'redis' }, key: 'db.system' }] }),
      span({ attributes: [{ key: 'db.system', value: { arrayValue: { values: [] } } }] }),
      span({ attributes: [null, 5, { key: 5 }] }),
      span({ attributes: [{ key: 'db.system', value: { stringValue: 'a' } }, { key: 'db.system', value: { stringValue: 'b' } }] }),
      span({ attributes: null }),
      span({ flags: 256, traceState: 'a=b', links: [{ traceId: TRACE }], ['__proto__']: { x: 1 } }),
      span({ name: undefined }),
      span({ name: 5 }),
      null,
      'a string',
      [],
      {},
    ];
    for (const s of odd) expectSame(request([span(), s, span({ spanId: 'e9f5b2cc82b2f812' })]));
    // A span with a bad field is still read by the scanner, through the slow path for that span alone.
    expect(expectSame(request([span({ spanId: 'nothex' })]))).toBe(true);
  });

  it('gives up on a line of another shape, or invalid JSON, adding nothing', () => {
    const lines = [
      '',
      ' ',
      '\ufeff' + request([span()]),
      request([span()]).replace('{"traceId"', '{ "traceId"'),
      request([span()]) + 'x',
      request([span()]).slice(0, -1),
      request([span({ name: 'tab\there' })]).replace('\\t', '\t'),
      request([span({ flags: 1 })]).replace('"flags":1', '"flags":01'),
      request([span({ flags: 1 })]).replace('"flags":1', '"flags":1.'),
      request([span({ flags: [1, 2] })]).replace('[1,2]', '[1,2,]'),
      request([span({ flags: 'x' })]).replace('"x"', '"\\x"'),
      request([span({ flags: 'x' })]).replace('"x"', '"\\u12"'),
      request([span({ flags: true })]).replace('true', 'tru'),
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span()] }], resource: {} }] }),
      JSON.stringify({ resourceSpans: [{ instrumentationLibrarySpans: [{ spans: [span()] }] }] }),
      JSON.stringify({ resource_spans: [] }),
      JSON.stringify({ resourceSpans: [], data: [] }),
      JSON.stringify([{ resourceSpans: [] }]),
      JSON.stringify({ resourceSpans: null }),
      JSON.stringify({ resourceSpans: [5] }),
      JSON.stringify({ resourceSpans: [{ scopeSpans: [5] }] }),
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: null }] }] }),
      `{"resourceSpans":[{"scopeSpans":[{"spans":[${JSON.stringify(span())}],"spans":[]}]}]}`,
      `{"resourceSpans":[{"scopeSpans":[{"spans":[${'['.repeat(100)}${']'.repeat(100)}]}]}]}`,
    ];
    for (const line of lines) expect(fast(line), line.slice(0, 80)).toBeNull();
  });

  it('reads a field given twice as JSON.parse does (the last one)', () => {
    const twice = request([span()]).replace('"name":"GET product"', '"name":"first","name":"second"');
    expect(expectSame(twice)).toBe(true);
    expect(fast(twice)?.spans[0].name).toBe('second');
  });

  it('keeps trace ids apart when one follows a broken one', () => {
    const other = 'f'.repeat(32);
    const scanner = new JsonLineScanner();
    // The broken id shares its first digits with the next: nothing of it may pass for a trace id read before.
    expectSame(request([span(), span({ traceId: `${other.slice(0, 20)}zz${other.slice(22)}` }), span({ traceId: other }), span()]), scanner);
    expect(fast(request([span({ traceId: other }), span()]), scanner)?.spans.map((s) => s.traceId)).toEqual([other, TRACE]);
  });

  it('reads a value it guesses right after its table of names started over (thousands of distinct values)', () => {
    const db = (system: string) => span({ attributes: [{ key: 'db.system', value: { stringValue: system } }] });
    const routes = Array.from({ length: 4096 }, (_, i) => span({ attributes: [{ key: 'http.route', value: { stringValue: `/r/${i}` } }] }));
    // The table holds 4096 names, a few of them the keys: however many routes fill it, the guess kept for
    // db.system from before must still read right after it starts over.
    for (let n = 4060; n <= 4096; n += 2) {
      const scanner = new JsonLineScanner();
      expect(expectSame(request([db('postgresql')]), scanner)).toBe(true);
      expect(fast(request(routes.slice(0, n)), scanner)).not.toBeNull();
      expect(expectSame(request([db('postgresql'), db('redis'), db('postgresql')]), scanner)).toBe(true);
    }
  });

  it('matches the slow path on random requests, and on random bytes changed in a valid line', () => {
    const hexId = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
    const value = fc.oneof(
      fc.record({ stringValue: fc.string({ maxLength: 70 }) }),
      fc.record({ intValue: fc.oneof(fc.integer(), fc.stringMatching(/^-?[0-9]{0,20}$/)) }),
      fc.record({ boolValue: fc.boolean() }),
      fc.record({ doubleValue: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
      fc.constant(null),
    );
    const key = fc.constantFrom('http.route', 'http.request.method', 'http.response.status_code', 'db.system', 'peer.service', 'error.type', 'exception.message', 'other', '');
    const anySpan = fc.record(
      {
        traceId: fc.oneof(hexId(16), fc.constantFrom('', '0'.repeat(32), TRACE.toUpperCase())),
        spanId: fc.oneof(hexId(8), fc.constantFrom('', '0'.repeat(16), 'abc')),
        parentSpanId: fc.oneof(hexId(8), fc.constantFrom('', '0'.repeat(16))),
        name: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('GET /a', 'GET /b', 'POST /a')),
        kind: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant('SPAN_KIND_CLIENT')),
        startTimeUnixNano: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 21n }).map(String), fc.constant('1767225600039172000')),
        endTimeUnixNano: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 21n }).map(String), fc.constant('1767225600039723000')),
        attributes: fc.array(fc.record({ key, value }, { requiredKeys: ['key'] }), { maxLength: 5 }),
        status: fc.record({ code: fc.integer({ min: 0, max: 4 }), message: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }),
        flags: fc.integer(),
        links: fc.oneof(
          fc.array(
            fc.record(
              { traceId: fc.oneof(hexId(16), fc.constantFrom('', '0'.repeat(32), TRACE.toUpperCase(), 'ab')), spanId: fc.oneof(hexId(8), fc.constantFrom('', '0'.repeat(16), 'abc')), flags: fc.integer() },
              { requiredKeys: [] },
            ),
            { maxLength: 4 },
          ),
          fc.constant(null),
        ),
      },
      { requiredKeys: [] },
    );
    const resource = fc.record({ attributes: fc.array(fc.record({ key: fc.constantFrom('service.name', 'host.name', 'process.pid'), value }), { maxLength: 3 }) });
    const scanner = new JsonLineScanner();
    fc.assert(
      fc.property(fc.array(fc.array(anySpan, { maxLength: 6 }), { minLength: 1, maxLength: 3 }), resource, (groups, res) => {
        const line = JSON.stringify({ resourceSpans: groups.map((spans) => ({ resource: res, scopeSpans: [{ scope: {}, spans }] })) });
        expectSame(line, scanner);
      }),
      { numRuns: 300 },
    );
    const valid = Buffer.from(request([span(), span({ spanId: 'e9f5b2cc82b2f812', status: { code: 2, message: 'm' } }), span({ kind: 5, links: [{ traceId: TRACE, spanId: '569b4f74c9156b27' }] })]));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (changes) => {
        const line = Buffer.from(valid);
        for (const [at, byte] of changes) line[at] = byte;
        const got = fast(line, scanner);
        if (got !== null) expect(got).toEqual(slow(line.toString('utf8')));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('JsonLineScanner: span links', () => {
  const T1 = '5b8efff798038103d269b633813fc60c';
  const link = (traceId: unknown, spanId: unknown) => ({ traceId, spanId, traceState: 'a=b', attributes: [{ key: 'k', value: { stringValue: 'v' } }], droppedAttributesCount: 0, flags: 1 });
  const links = [link(T1, 'eee19b7ec3c1b174'), link(TRACE, '569b4f74c9156b27')];
  const want = [
    { traceId: T1, spanId: 'eee19b7ec3c1b174' },
    { traceId: TRACE, spanId: '569b4f74c9156b27' },
  ];
  /** How many links the scanner read itself (their ids as bytes) in `line`. */
  const readItself = (line: string): number => {
    let n = 0;
    const out = new (class extends SpanList {
      override linkHex(b: Uint8Array, trace: number, at: number): void {
        n++;
        super.linkHex(b, trace, at);
      }
    })();
    expect(new JsonLineScanner().decode(Buffer.from(line), { out, problems: [], line: 1 }, out)).toBe(true);
    return n;
  };
  /** A span with `links` before or after its `kind` (`kind` is last in `span()`). */
  const withLinks = (kind: number, list: unknown, kindFirst: boolean) => {
    const { kind: _, ...rest } = span({ spanId: kindFirst ? 'e9f5b2cc82b2f812' : 'c555f51e4a083af2' });
    return kindFirst ? { kind, ...rest, links: list } : { ...rest, links: list, kind };
  };

  it("reads a consumer span's links itself, whether its kind comes before or after them; other kinds keep none", () => {
    for (const kindFirst of [true, false]) {
      const line = request([withLinks(5, links, kindFirst), withLinks(4, links, kindFirst), withLinks(2, links, kindFirst), span()]);
      expect(line.indexOf('"links"') < line.indexOf('"kind":5')).toBe(!kindFirst);
      expect(expectSame(line), line.slice(0, 80)).toBe(true);
      const got = fast(line);
      expect(got?.spans.map((s) => s.links)).toEqual([want, undefined, undefined, undefined]);
      expect(readItself(line)).toBe(2);
    }
  });

  it('skips links without valid, non-zero ids as the slow path does (an id of another shape through it), keeping the span', () => {
    const bad = [link('', 'eee19b7ec3c1b174'), link(T1, '0'.repeat(16)), link('0'.repeat(32), 'eee19b7ec3c1b174'), { traceId: T1 }, { spanId: 'eee19b7ec3c1b174' }, {}];
    for (const kindFirst of [true, false]) {
      // Read by the scanner itself.
      const line = request([withLinks(5, [...bad, links[0], ...bad, links[1]], kindFirst)]);
      expect(expectSame(line)).toBe(true);
      expect(fast(line)?.spans[0].links).toEqual(want);
      expect(readItself(line)).toBe(2);
      // Through the slow path for that span alone, as the scanner leaves it: the same links.
      for (const odd of [link(T1.toUpperCase(), 'eee19b7ec3c1b174'), link(T1, 'nothex'), link(5, 'eee19b7ec3c1b174'), null, 'x', link(T1, 'EEE19B7EC3C1B174')]) {
        const other = request([withLinks(5, [odd, ...links], kindFirst), span()]);
        expect(expectSame(other)).toBe(true);
        const got = fast(other)?.spans[0].links;
        expect(got?.slice(-2)).toEqual(want);
        expect(got?.length).toBe(odd === null || odd === 'x' || (odd as { traceId: unknown }).traceId === 5 || (odd as { spanId: unknown }).spanId === 'nothex' ? 2 : 3);
        expect(readItself(other)).toBe(0);
      }
      // None valid: none kept.
      expect(fast(request([withLinks(5, bad, kindFirst)]))?.spans[0].links).toBeUndefined();
    }
  });

  it('keeps the first MAX_LINKS (128) links', () => {
    const many = Array.from({ length: 140 }, (_, i) => link(T1, (i + 1).toString(16).padStart(16, '0')));
    for (const kindFirst of [true, false]) {
      const line = request([withLinks(5, [link('0'.repeat(32), '1'.repeat(16)), ...many], kindFirst)]);
      expect(expectSame(line)).toBe(true);
      const got = fast(line)?.spans[0].links;
      expect(got).toHaveLength(MAX_LINKS);
      expect(got?.map((l) => l.spanId)).toEqual(many.slice(0, 128).map((l) => l.spanId));
      expect(readItself(line)).toBe(MAX_LINKS);
    }
  });

  it('carries links in span columns, and takes them back with a rollback', () => {
    const first = request([withLinks(5, links, false), span()]);
    const second = request([withLinks(5, [links[1]], true), withLinks(5, [links[0]], false)]);
    const columns = new SpanColumnsBuilder();
    const sink: Sink = { out: columns, problems: [], line: 1 };
    const scanner = new JsonLineScanner();
    expect(scanner.decode(Buffer.from(first), sink, columns)).toBe(true);
    columns.mark();
    expect(scanner.decode(Buffer.from(second), sink, columns)).toBe(true);
    columns.rollback();
    expect(scanner.decode(Buffer.from(second), sink, columns)).toBe(true);
    const taken = columns.take();
    const crossed = structuredClone(taken, { transfer: [taken.times.buffer, taken.refs.buffer, taken.attrs.buffer, taken.ids.buffer, taken.links.buffer] as ArrayBuffer[] });
    const spans = unpackSpans(crossed);
    expect(spans).toEqual([...slow(first).spans, ...slow(second).spans]);
    expect(spans.map((s) => s.links)).toEqual([want, undefined, [want[1]], [want[0]]]);
  });
});

describe('span columns of scanned lines', () => {
  it('carry the ids as bytes across a structured clone (as to the analysing thread) and unpack to the slow path spans', () => {
    const lines = [
      request([span(), span({ spanId: 'e9f5b2cc82b2f812' }), span({ traceId: 'f'.repeat(32), parentSpanId: '' })]),
      // A span of another shape in between: its ids cross as strings, the next span's trace as bytes again.
      request([span({ traceId: TRACE.toUpperCase() }), span(), span({ spanId: 'nothex' })]),
    ];
    const columns = new SpanColumnsBuilder();
    const sink: Sink = { out: columns, problems: [], line: 1 };
    const scanner = new JsonLineScanner();
    for (const line of lines) expect(scanner.decode(Buffer.from(line), sink, columns)).toBe(true);
    const taken = columns.take();
    expect(taken.ids.length).toBeGreaterThan(0);
    const crossed = structuredClone(taken, { transfer: [taken.times.buffer, taken.refs.buffer, taken.attrs.buffer, taken.ids.buffer] as ArrayBuffer[] });
    expect(unpackSpans(crossed)).toEqual(lines.flatMap((l) => slow(l).spans));
  });
});

describe('BatchOut.rollback', () => {
  it('takes back the spans, attributes and strings added since the mark, in columns as in span objects', () => {
    const line = request([span(), span({ spanId: 'e9f5b2cc82b2f812', name: 'only in the rolled back line' })]);
    const columns = new SpanColumnsBuilder();
    const list = new SpanList();
    const scanner = new JsonLineScanner();
    for (const out of [columns, list]) {
      const sink: Sink = { out, problems: [], line: 1 };
      expect(scanner.decode(Buffer.from(request([span()])), sink, out)).toBe(true);
      out.mark();
      expect(scanner.decode(Buffer.from(line), sink, out)).toBe(true);
      out.rollback();
      // Strings and trace taken back are not referred to by what is added next.
      expect(scanner.decode(Buffer.from(request([span({ name: 'after' })])), sink, out)).toBe(true);
    }
    const expected = [...slow(request([span()])).spans, ...slow(request([span({ name: 'after' })])).spans];
    expect(unpackSpans(columns.take())).toEqual(expected);
    expect(list.take()).toEqual(expected);
  });
});
