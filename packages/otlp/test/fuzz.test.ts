/**
 * Property and fuzz tests of the OTLP/JSON and OTLP/protobuf decoders (issue 19): random and mutated
 * payloads never throw or hang, every span in is either decoded or explained by exactly one problem,
 * valid spans in the same batch are kept, and what is decoded stays within the documented limits.
 *
 * A failure prints fast-check's seed and path; run again with them to reproduce it:
 *   FC_SEED=<seed> FC_PATH=<path> npx vitest run packages/otlp/test/fuzz.test.ts
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { MAX_NAME_LENGTH, MAX_TIME_MS, decodeOtlpJson, decodeOtlpProtobuf, readOtlpStream, type DecodeResult } from '@rootspan/otlp';
import { cat, request, resource, scope, spanBytes, tag, type WireSpan } from './helpers/protobuf-wire.js';

/** fast-check settings: a bounded number of runs, or the failing run named by FC_SEED/FC_PATH. */
function params(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED;
  return seed === undefined ? { numRuns } : { seed: Number(seed), path: process.env.FC_PATH, endOnFailure: true };
}

const MB_STRING = 'x'.repeat(1 << 20);
/** Mostly short strings, now and then 1 MB (rare enough to keep a run fast). */
const text = (maxLength: number) => fc.oneof({ arbitrary: fc.string({ maxLength }), weight: 30 }, { arbitrary: fc.constant(MB_STRING), weight: 1 });
const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
const nonZeroHex = (bytes: number) => hex(bytes).filter((h) => !/^0+$/.test(h));
const nanos = fc.bigInt({ min: 1n, max: 253_402_300_799_000_000_000n });

/** Anything a broken exporter (or an attacker) might put in a field. */
const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 1e30, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', '0', 'zz', 'soon', '99999999999999999999999999', '-5', '0'.repeat(32)),
  text(1),
  fc.boolean(),
  fc.integer(),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.record({ low: fc.integer(), high: fc.integer() }),
);

/** An `AnyValue`, scalars and nested lists/kvlists (depth-limited by fast-check's `letrec`). */
const { anyValue } = fc.letrec((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small' },
    fc.record({ stringValue: text(20) }),
    fc.record({ intValue: fc.oneof(fc.integer(), fc.string({ maxLength: 22 })) }),
    fc.record({ doubleValue: fc.oneof(fc.double(), fc.string({ maxLength: 10 })) }),
    fc.record({ boolValue: junk }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('anyValue'), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: tie('anyValue') }), { maxLength: 3 }) }) }),
    junk,
  ),
}));
const keys = fc.constantFrom('http.route', 'http.response.status_code', 'db.system', 'peer.service', 'error.type', 'exception.message', 'other', '');
const attributes = fc.oneof(fc.array(fc.oneof(fc.record({ key: keys, value: anyValue }), junk), { maxLength: 6 }), junk);

/** A span every decoder must keep; its name marks it (`valid:<n>`) so it can be found in the output. */
const validSpan = fc.record({
  traceId: nonZeroHex(16),
  spanId: nonZeroHex(8),
  parentSpanId: fc.option(nonZeroHex(8), { nil: undefined }),
  kind: fc.integer({ min: 0, max: 5 }),
  start: nanos,
  duration: fc.bigInt({ min: 0n, max: 10_000_000_000n }),
  attributes: fc.array(fc.record({ key: keys, value: anyValue }), { maxLength: 4 }),
  status: fc.option(fc.record({ code: fc.integer({ min: 0, max: 2 }), message: fc.string({ maxLength: 10 }) }), { nil: undefined }),
});
type ValidSpan = typeof validSpan extends fc.Arbitrary<infer T> ? T : never;

function validJson(s: ValidSpan, n: number) {
  const end = s.start + s.duration > 253_402_300_799_000_000_000n ? s.start : s.start + s.duration;
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: `valid:${n}`,
    kind: s.kind,
    startTimeUnixNano: s.start.toString(),
    endTimeUnixNano: end.toString(),
    attributes: s.attributes,
    status: s.status,
  };
}

/** A span with some fields replaced by junk (it may still happen to be valid: its name is never `valid:`). */
const mutatedSpan = fc
  .tuple(validSpan, fc.record({ traceId: junk, spanId: junk, parentSpanId: junk, startTimeUnixNano: junk, endTimeUnixNano: junk, name: junk, kind: junk, status: junk, attributes, events: junk }, { requiredKeys: [] }))
  .map(([s, junkFields]) => ({ ...validJson(s, 0), name: 'mutated', ...junkFields }))
  .filter((s) => !(typeof s.name === 'string' && s.name.startsWith('valid:')));

/** Limits and shape every decoded span keeps, whatever came in. */
function expectSane(spans: readonly Span[]): void {
  for (const s of spans) {
    expect(s.traceId).toMatch(/^[0-9a-f]{2,32}$/);
    expect(s.spanId).toMatch(/^[0-9a-f]{2,16}$/);
    if (s.parentSpanId !== undefined) expect(s.parentSpanId).toMatch(/^[0-9a-f]{2,16}$/);
    expect(s.startTime).toBeGreaterThan(0);
    expect(s.endTime).toBeGreaterThanOrEqual(s.startTime);
    expect(s.endTime).toBeLessThanOrEqual(MAX_TIME_MS);
    expect(s.name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(s.service.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect((s.statusMessage ?? '').length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    for (const v of Object.values(s.attributes ?? {})) {
      expect(['string', 'number', 'boolean']).toContain(typeof v);
      if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    }
  }
}

/** Every span in is decoded or explained once, and every valid one (`valid:<n>`) is among those decoded. */
function expectAccounted(r: DecodeResult, total: number, valid: number[]): void {
  expect(r.spans.length + r.problems.length).toBe(total);
  expect(r.spans.map((s) => s.name).filter((n) => n.startsWith('valid:'))).toEqual(valid.map((n) => `valid:${n}`));
}

/** `bytes` through the streaming reader in chunks of `chunk` bytes (of 4096 times that for a large input). */
async function readStream(bytes: Uint8Array, chunk: number): Promise<DecodeResult> {
  if (bytes.length > 65536) chunk *= 4096;
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) parts.push(Buffer.from(bytes.subarray(i, i + chunk)));
  const out: DecodeResult = { spans: [], problems: [] };
  for await (const b of readOtlpStream(Readable.from(parts, { objectMode: false }), { format: 'protobuf', batchSize: 50 })) {
    out.spans.push(...b.spans);
    out.problems.push(...b.problems);
  }
  return out;
}

describe('OTLP/JSON decoder properties', () => {
  it('valid and mutated spans in one request: no throw, each span decoded or explained, valid ones kept', () => {
    const entry = fc.oneof(validSpan.map((s) => ({ valid: s })), mutatedSpan.map((m) => ({ mutated: m })));
    const shape = fc.array(fc.array(entry, { maxLength: 8 }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(shape, fc.oneof(fc.string({ maxLength: 10 }), junk), (scopes, serviceName) => {
        let n = 0;
        const valid: number[] = [];
        const req = {
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
              scopeSpans: scopes.map((entries) => ({
                spans: entries.map((e) => {
                  const i = n++;
                  if ('mutated' in e) return e.mutated;
                  valid.push(i);
                  return validJson(e.valid, i);
                }),
              })),
            },
          ],
        };
        const r = decodeOtlpJson(req);
        expectAccounted(r, n, valid);
        expectSane(r.spans);
        // and the same through JSON text, as a file or request body holds it
        const text = decodeOtlpJson(JSON.parse(JSON.stringify(req)) as unknown);
        expectSane(text.spans);
      }),
      params(150),
    );
  });

  it('any JSON value at all: no throw, sane spans, short problem messages', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.record({ resourceSpans: fc.jsonValue({ maxDepth: 6 }) })), (value) => {
        const r = decodeOtlpJson(value);
        expectSane(r.spans);
        for (const p of r.problems) expect(p.message.length).toBeLessThan(400);
      }),
      params(300),
    );
  });
});

describe('OTLP/protobuf decoder properties', () => {
  const wireSpan = fc.record(
    {
      traceId: fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 20 })),
      spanId: fc.oneof(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 10 })),
      parentSpanId: fc.uint8Array({ maxLength: 9 }),
      name: text(12),
      kind: fc.integer({ min: -1, max: 9 }),
      start: fc.double({ min: 0, max: 1.8e13, noNaN: true }),
      end: fc.double({ min: 0, max: 1.8e13, noNaN: true }),
    },
    { requiredKeys: [] },
  );

  it('generated requests: the streaming and the whole-message decoders agree, every span accounted for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(wireSpan, { maxLength: 6 }), { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 300 }), async (scopes, chunk) => {
        let n = 0;
        const bytes = request([resource('svc'), ...scopes.map((spans) => scope(...spans.map((s: WireSpan) => spanBytes(n++, s))))]);
        const whole = decodeOtlpProtobuf(bytes);
        expect(whole.spans.length + whole.problems.length).toBe(n);
        expectSane(whole.spans);
        expect(await readStream(bytes, chunk)).toEqual(whole);
      }),
      params(150),
    );
  });

  it('damaged bytes (flipped, cut, inserted): no throw, sane spans, and where neither decoder saw a problem they agree', async () => {
    const base = request(
      [resource('svc'), scope(spanBytes(1), spanBytes(2, { parentSpanId: Buffer.alloc(8, 1) }), spanBytes(3))],
      [resource('other'), scope(spanBytes(4), spanBytes(5))],
    );
    const edit = fc.oneof(
      fc.record({ flip: fc.nat(base.length - 1), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ cut: fc.nat(base.length) }),
      fc.record({ insert: fc.nat(base.length), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 64 }), async (edits, chunk) => {
        let bytes = Buffer.from(base);
        for (const e of edits) {
          if ('flip' in e) bytes[Math.min(e.flip, bytes.length - 1)] = e.value;
          else if ('cut' in e) bytes = bytes.subarray(0, e.cut);
          else bytes = cat(bytes.subarray(0, e.insert), e.bytes, bytes.subarray(e.insert));
        }
        const whole = decodeOtlpProtobuf(bytes);
        const streamed = await readStream(bytes, chunk);
        expectSane(whole.spans);
        expectSane(streamed.spans);
        if (whole.problems.length === 0 && streamed.problems.length === 0) expect(streamed.spans).toEqual(whole.spans);
      }),
      params(300),
    );
  });

  it('random bytes: no throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        expectSane(decodeOtlpProtobuf(bytes).spans);
        expectSane((await readStream(bytes, 17)).spans);
      }),
      params(300),
    );
  });
});

describe('large and deep payloads', () => {
  const TRACE = 'ab'.repeat(16);
  const jsonSpan = (i: number) => ({
    traceId: TRACE,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: i === 0 ? undefined : i.toString(16).padStart(16, '0'),
    name: 'step',
    startTimeUnixNano: `${1_700_000_000_000_000_000 + i * 1000}`,
    endTimeUnixNano: `${1_700_000_000_000_000_000 + i * 1000 + 500}`,
  });

  it('one trace of 100k spans (a 100k-deep parent chain), in JSON and protobuf, all decoded', async () => {
    const spans = Array.from({ length: 100_000 }, (_, i) => jsonSpan(i));
    const r = decodeOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    expect(r.problems).toEqual([]);
    expect(r.spans).toHaveLength(100_000);
    const scopes = [];
    for (let i = 0; i < spans.length; i += 10_000) {
      scopes.push(scope(...spans.slice(i, i + 10_000).map((_, j) => spanBytes(i + j + 1, { traceId: Buffer.from(TRACE, 'hex') }))));
    }
    const bytes = request([resource('svc'), ...scopes]);
    const streamed = await readStream(bytes, 1 << 16);
    expect(streamed.problems).toEqual([]);
    expect(streamed.spans).toHaveLength(100_000);
    expect(new Set(streamed.spans.map((s) => s.traceId))).toEqual(new Set([TRACE]));
  });

  it('duplicate span ids are all decoded (deduplication is the analyzer\'s business)', () => {
    const r = decodeOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: [jsonSpan(0), jsonSpan(0), jsonSpan(0)] }] }] });
    expect(r.spans.map((s) => s.spanId)).toEqual(Array(3).fill('0000000000000001'));
  });

  it('1 MB attribute values and names are truncated; 50k-deep nested values are skipped without recursion', async () => {
    let deep: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 50_000; i++) deep = { kvlistValue: { values: [{ key: 'k', value: deep }] } };
    const span = {
      ...jsonSpan(0),
      name: MB_STRING,
      attributes: [
        { key: 'http.route', value: { stringValue: MB_STRING } },
        { key: 'db.system', value: deep },
      ],
    };
    const r = decodeOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
    expect(r.problems).toEqual([]);
    expect(r.spans[0].name).toHaveLength(MAX_NAME_LENGTH);
    expect(r.spans[0].attributes).toEqual({ 'http.route': 'x'.repeat(MAX_NAME_LENGTH) });
    // protobuf: 50k nested groups inside one span fail that span alone, in both decoders
    const groups = cat(Buffer.alloc(50_000, tag(20, 3)), Buffer.alloc(50_000, tag(20, 4)));
    const bytes = request([resource('svc'), scope(spanBytes(1), spanBytes(2, { extra: groups }), spanBytes(3))]);
    for (const r of [decodeOtlpProtobuf(bytes), await readStream(bytes, 1000)]) {
      expect(r.spans.map((s) => s.name)).toEqual(['op1', 'op3']);
      expect(r.problems).toEqual([{ message: expect.stringMatching(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: invalid protobuf \(/) }]);
    }
  });
});
