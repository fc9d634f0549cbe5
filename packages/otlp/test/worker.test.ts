/**
 * `readOtlpFile(path, { worker: true })` decodes in a worker thread and must be indistinguishable from
 * reading in-thread: the same batches (spans, problems, bytes), the same errors, and memory still bounded
 * by the largest record. The worker runs from the built package (`npm test` builds first): these tests
 * import `dist/`, as the CLI does.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { ANALYZED_ATTRIBUTES, MAX_LINKS } from '@rootspan/engine';
import { encodeOtlpJson, type OtlpBatch, type OtlpJsonKeyValue, type ReadOtlpOptions } from '@rootspan/otlp';
import { SpanColumnsBuilder, packSpans, unpackSpans } from '../src/span-columns.js';
import { attribute, cat, linkBytes, request, resource, resourceWith, scope, spanBytes } from './helpers/protobuf-wire.js';
import { spans } from './helpers/spans.js';

const distUrl = new URL('../dist/index.js', import.meta.url);
const built = existsSync(fileURLToPath(distUrl));
type Otlp = typeof import('@rootspan/otlp');
const dist = async (): Promise<Otlp> => {
  expect(built, 'packages/otlp/dist is missing: run `npm run build` (the root `npm test` does)').toBe(true);
  return (await import(distUrl.href)) as Otlp;
};

const dir = mkdtempSync(join(tmpdir(), 'rootspan-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

async function readAll(read: Otlp['readOtlpFile'], path: string, options: ReadOtlpOptions): Promise<OtlpBatch[] | { error: unknown }> {
  const out: OtlpBatch[] = [];
  try {
    for await (const b of read(path, options)) out.push(b);
  } catch (error) {
    return { error };
  }
  return out;
}

describe('readOtlpFile with worker: true', () => {
  const lines = [
    JSON.stringify(encodeOtlpJson(spans(1500, 'a'))),
    'not json',
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"01"}]}]}]}',
    JSON.stringify(encodeOtlpJson(spans(700, 'b'))),
  ].join('\n');

  it.each([
    ['JSONL with malformed records', 'mixed.jsonl', lines, {}],
    ['gzip, small batches', 'mixed.jsonl.gz', gzipSync(lines), { batchSize: 100 }],
    ['a multi-line document', 'doc.json', JSON.stringify(encodeOtlpJson(spans(2500, 'c')), null, 1), {}],
  ])('gives the same batches as in-thread: %s', async (_, name, content, options) => {
    const { readOtlpFile } = await dist();
    const path = file(name, content);
    const inThread = await readAll(readOtlpFile, path, options);
    const inWorker = await readAll(readOtlpFile, path, { ...options, worker: true });
    expect(Array.isArray(inThread) && inThread.reduce((n, b) => n + b.spans.length, 0)).toBeGreaterThan(2000);
    expect(inWorker).toEqual(inThread);
  });

  it('carries each span\'s instance from its resource, as in-thread: JSON and protobuf', async () => {
    const { readOtlpFile } = await dist();
    const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
    /** A request of `service`'s spans, these attributes added to each of its resources. */
    const line = (service: string, attributes: OtlpJsonKeyValue[]) => {
      const req = encodeOtlpJson(spans(300, service));
      for (const r of req.resourceSpans) r.resource.attributes.push(...attributes);
      return JSON.stringify(req);
    };
    const jsonl = [
      line('a', [str('host.name', 'h'), { key: 'process.pid', value: { intValue: '4242' } }, str('service.instance.id', 'i-1')]),
      line('b', [str('host.name', 'h'), { key: 'process.pid', value: { intValue: '4242' } }]),
      line('c', []),
    ].join('\n');
    // Spans before their resource too: the resource read after them must reach the worker's columns.
    const pb = request(
      [scope(spanBytes(1)), resourceWith(attribute('service.name', 'a'), attribute('service.instance.id', 'i-1')), scope(spanBytes(2))],
      [resourceWith(attribute('service.name', 'b'), attribute('process.pid', 4242), attribute('host.name', 'h')), scope(spanBytes(3))],
      [resource('c'), scope(spanBytes(4))],
    );
    const instances = (batches: OtlpBatch[]) => [...new Set(batches.flatMap((b) => b.spans.map((s) => `${s.service} ${s.instance}`)))];
    for (const [name, content, expected] of [
      ['instances.jsonl', jsonl, ['a i-1', 'b h/4242', 'c undefined']],
      ['instances.pb', pb, ['unknown_service undefined', 'a i-1', 'b h/4242', 'c undefined']],
    ] as const) {
      const path = file(name, content);
      const inThread = (await readAll(readOtlpFile, path, {})) as OtlpBatch[];
      const inWorker = (await readAll(readOtlpFile, path, { worker: true })) as OtlpBatch[];
      expect(instances(inWorker), name).toEqual(expected);
      expect(inWorker).toEqual(inThread);
    }
  });

  it("carries consumer spans' links, as in-thread: JSONL (scanned, and through JSON.parse) and protobuf", async () => {
    const { readOtlpFile } = await dist();
    const T1 = '5b8efff798038103d269b633813fc60c';
    /** `spans(n)` with every third one a consumer linked to `links` spans of trace T1 (its own ids from `from` on). */
    const linked = (n: number, service: string, links: number) =>
      spans(n, service).map((s, i) => (i % 3 === 1 ? { ...s, kind: 'consumer' as const, links: Array.from({ length: links }, (_, k) => ({ traceId: T1, spanId: (1000 * i + k + 1).toString(16).padStart(16, '0') })) } : s));
    const upper = JSON.stringify(encodeOtlpJson(linked(30, 'b', 2))).replace(/"traceId":"5b8efff798038103d269b633813fc60c"/g, `"traceId":"${T1.toUpperCase()}"`);
    const jsonl = [JSON.stringify(encodeOtlpJson(linked(3000, 'a', 2))), upper, JSON.stringify(encodeOtlpJson(linked(300, 'c', 140)))].join('\n');
    const hex = (h: string) => Buffer.from(h, 'hex');
    const pb = request([resource('a'), scope(spanBytes(1, { kind: 5, extra: cat(linkBytes(hex(T1), hex('00000000000000aa')), linkBytes(hex(T1), hex('00000000000000bb'))) }), spanBytes(2, { kind: 4, extra: linkBytes(hex(T1), hex('00000000000000aa')) }), spanBytes(3))]);
    const expected = (list: Span[]) => new Map(list.map((s) => [`${s.service}/${s.spanId}`, s.links]));
    for (const [name, content, want] of [
      ['links.jsonl', jsonl, expected([...linked(3000, 'a', 2), ...linked(30, 'b', 2), ...linked(300, 'c', MAX_LINKS)])],
      ['links.pb', pb, new Map([['a/0000000000000001', [{ traceId: T1, spanId: '00000000000000aa' }, { traceId: T1, spanId: '00000000000000bb' }]], ['a/0000000000000002', undefined], ['a/0000000000000003', undefined]])],
    ] as const) {
      const path = file(name, content);
      const inThread = (await readAll(readOtlpFile, path, {})) as OtlpBatch[];
      const inWorker = (await readAll(readOtlpFile, path, { worker: true })) as OtlpBatch[];
      const got = inThread.flatMap((b) => b.spans);
      expect(got.length, name).toBe(want.size);
      expect(new Map(got.map((s) => [`${s.service}/${s.spanId}`, s.links])), name).toEqual(want);
      expect(inWorker).toEqual(inThread);
    }
  });

  it('throws the same errors: strict mode, a missing file, a directory', async () => {
    const { readOtlpFile, OtlpDecodeError } = await dist();
    const cases: Array<[string, ReadOtlpOptions]> = [
      [file('strict.jsonl', lines), { strict: true }],
      [join(dir, 'missing.jsonl'), {}],
      [dir, { format: 'jsonl' }],
    ];
    for (const [path, options] of cases) {
      const a = (await readAll(readOtlpFile, path, options)) as { error: Error & { code?: string; line?: number } };
      for (const worker of [true, 3]) {
        const b = (await readAll(readOtlpFile, path, { ...options, worker })) as { error: Error & { code?: string; line?: number } };
        expect(b.error).toBeInstanceOf(Error);
        expect(b.error.message).toBe(a.error.message);
        expect(b.error.code).toBe(a.error.code);
        expect(b.error instanceof OtlpDecodeError).toBe(a.error instanceof OtlpDecodeError);
        expect(b.error.line).toBe(a.error.line);
      }
    }
  });

  it('stops the worker when the caller stops early (else it would keep the process alive)', async () => {
    await dist();
    const path = file('many.jsonl', Array.from({ length: 50 }, () => JSON.stringify(encodeOtlpJson(spans(200, 'd')))).join('\n'));
    const script = `
      const { readOtlpFile } = await import(${JSON.stringify(distUrl.href)});
      let seen = 0;
      for await (const b of readOtlpFile(${JSON.stringify(path)}, { worker: true })) if ((seen += b.spans.length) >= 2000) break;
      console.log(seen);`;
    const { stdout } = await promisify(execFile)(process.execPath, [file('stop-early.mjs', script)], { timeout: 20_000 });
    expect(stdout.trim()).toBe('2000');
  });

  it('lets the process exit when the caller abandons the reader mid-file (no break, no return())', async () => {
    await dist();
    const path = file('abandoned.jsonl', Array.from({ length: 50 }, () => JSON.stringify(encodeOtlpJson(spans(200, 'a')))).join('\n'));
    const script = `
      const { readOtlpFile } = await import(${JSON.stringify(distUrl.href)});
      const it = readOtlpFile(${JSON.stringify(path)}, { worker: true })[Symbol.asyncIterator]();
      const first = await it.next();
      console.log(first.value.spans.length > 0);`;
    const { stdout } = await promisify(execFile)(process.execPath, [file('abandon.mjs', script)], { timeout: 20_000 });
    expect(stdout.trim()).toBe('true');
  });

  it('keeps memory bounded: gzip inflating to 200 MB of blank lines under a 64 MB heap', async () => {
    await dist();
    const child = fileURLToPath(new URL('./helpers/read-generated.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--max-old-space-size=64', child, 'newlines-gz', '200'], {
      timeout: 30_000,
      env: { ...process.env, ROOTSPAN_OTLP: distUrl.href, ROOTSPAN_READ_FILE: join(dir, 'newlines.gz') },
    });
    const r = JSON.parse(stdout) as { spans: number; problems: unknown[]; bytes: number };
    expect(r).toMatchObject({ spans: 0, problems: [] });
    expect(r.bytes).toBe(readFileSync(join(dir, 'newlines.gz')).length);
  });
});

describe('readOtlpFile with several workers (a JSONL file in line ranges)', () => {
  // ~11 MB: three 4 MiB ranges, with a byte-order mark, CRLF lines, runs of blank lines, malformed records
  // and a line over the record limit straddling the first range boundary.
  const good = (i: number) => JSON.stringify(encodeOtlpJson(spans(1500, `s${i}`)));
  const records = [
    `\ufeff${good(0)}`,
    `${good(1)}\r`,
    'not json',
    good(2),
    '',
    '',
    good(3),
    'x'.repeat(1_500_000),
    good(4),
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"01"}]}]}]}',
    ...Array.from({ length: 10 }, (_, i) => good(5 + i)),
    '{"resourceSpans": [ cut',
    good(15),
  ];
  const content = records.join('\n');
  const options = { maxRecordBytes: 1_000_000 };
  const spanIds = (batches: OtlpBatch[]) => batches.flatMap((b) => b.spans.map((s) => `${s.traceId}/${s.spanId}/${s.service}`));

  it.each([2, 3])('gives the spans, problems and bytes of an in-thread read, in file order: %i workers', async (workers) => {
    const { readOtlpFile } = await dist();
    const path = file('ranges.jsonl', content);
    expect(content.length).toBeGreaterThan(8 * 1024 * 1024 + 1);
    const inThread = (await readAll(readOtlpFile, path, options)) as OtlpBatch[];
    const inWorkers = (await readAll(readOtlpFile, path, { ...options, worker: workers })) as OtlpBatch[];
    expect(spanIds(inThread)).toHaveLength(16 * 1500);
    expect(spanIds(inWorkers)).toEqual(spanIds(inThread));
    expect(inWorkers.flatMap((b) => b.spans)).toEqual(inThread.flatMap((b) => b.spans));
    const problems = inThread.flatMap((b) => b.problems);
    expect(problems.map((p) => p.line)).toEqual([3, 8, 10, 21]);
    expect(inWorkers.flatMap((b) => b.problems)).toEqual(problems);
    const bytes = (bs: OtlpBatch[]) => bs.reduce((n, b) => n + b.bytes, 0);
    expect(bytes(inWorkers)).toBe(Buffer.byteLength(content));
    expect(bytes(inThread)).toBe(Buffer.byteLength(content));
  });

  it('reads a named pipe whole with one worker (it is not opened twice, nor split)', async () => {
    const { readOtlpFile } = await dist();
    const pipe = join(dir, 'pipe.jsonl');
    await promisify(execFile)('mkfifo', [pipe]);
    const source = file('pipe-source.jsonl', `${records.slice(0, 3).join('\n')}\n`);
    const writer = promisify(execFile)('sh', ['-c', `cat '${source}' > '${pipe}'`], { timeout: 20_000 });
    const read = (await readAll(readOtlpFile, pipe, { ...options, worker: 3 })) as OtlpBatch[];
    await writer; // exits 0: its reader stayed until the end
    expect(spanIds(read)).toHaveLength(2 * 1500);
    expect(read.reduce((n, b) => n + b.bytes, 0)).toBe(readFileSync(source).length);
  });

  it('stops at the first problem in file order with strict, on its line', async () => {
    const { readOtlpFile } = await dist();
    const path = file('ranges-strict.jsonl', records.filter((r) => r !== 'not json' && !r.startsWith('x') && !r.includes('"zz"')).join('\n'));
    const a = (await readAll(readOtlpFile, path, { ...options, strict: true })) as { error: Error & { line?: number } };
    const b = (await readAll(readOtlpFile, path, { ...options, strict: true, worker: 3 })) as { error: Error & { line?: number } };
    expect(a.error.line).toBe(18);
    expect(b.error.message).toBe(a.error.message);
    expect(b.error.line).toBe(18);
  });
});

describe('span columns', () => {
  const id = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
  const text = fc.string({ maxLength: 20 });
  const value = fc.oneof(text, fc.double({ noNaN: true }), fc.integer(), fc.boolean());
  const key = fc.oneof(fc.constantFrom(...ANALYZED_ATTRIBUTES), text);
  const span = fc.record(
    {
      traceId: fc.oneof(id(16), fc.constant('0af7651916cd43dd8448eb211c80319c')),
      spanId: id(8),
      parentSpanId: fc.option(id(8), { nil: undefined }),
      service: fc.constantFrom('a', 'b', 'checkout'),
      serviceVersion: fc.option(text, { nil: undefined }),
      instance: fc.option(fc.constantFrom('i-1', 'h/4242', ''), { nil: undefined }),
      name: text,
      kind: fc.constantFrom(undefined, 'internal', 'server', 'client', 'producer', 'consumer'),
      startTime: fc.double({ min: 1, max: 2e12, noNaN: true }),
      endTime: fc.double({ min: 1, max: 2e12, noNaN: true }),
      status: fc.constantFrom(undefined, 'unset', 'ok', 'error'),
      statusMessage: fc.option(text, { nil: undefined }),
      attributes: fc.option(fc.dictionary(key, value, { maxKeys: 6 }), { nil: undefined }),
      links: fc.option(fc.array(fc.record({ traceId: fc.oneof(id(16), id(8), fc.constant('0af7651916cd43dd8448eb211c80319c')), spanId: id(8) }), { minLength: 1, maxLength: 4 }), { nil: undefined }),
    },
  );

  it('keep an attribute named __proto__ as an own key (it does not set the prototype)', () => {
    const attributes = JSON.parse('{"__proto__":"x","http.route":"/a"}') as Record<string, string>;
    const spanIn = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', service: 'a', name: 'GET', startTime: 1, endTime: 2, attributes } as unknown as Span;
    const [out] = unpackSpans(structuredClone(packSpans([spanIn])));
    expect(Object.keys(out.attributes ?? {})).toEqual(['__proto__', 'http.route']);
    expect(Object.getPrototypeOf(out.attributes)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out.attributes, '__proto__')?.value).toBe('x');
  });

  it('rebuild every span field for field (absent fields as undefined)', () => {
    fc.assert(
      fc.property(fc.array(span, { maxLength: 40 }), (input) => {
        const spansIn = input as unknown as Span[];
        const out = unpackSpans(structuredClone(packSpans(spansIn)));
        const keys: Array<keyof Span> = ['traceId', 'spanId', 'parentSpanId', 'service', 'serviceVersion', 'instance', 'name', 'kind', 'startTime', 'endTime', 'status', 'statusMessage', 'attributes', 'links'];
        // Links are kept on consumer spans only.
        expect(out).toEqual(spansIn.map((s) => Object.fromEntries(keys.map((k) => [k, k === 'links' && s.kind !== 'consumer' ? undefined : s[k]]))));
        out.forEach((s, i) => expect(Object.keys(s.attributes ?? {})).toEqual(Object.keys(spansIn[i].attributes ?? {})));
      }),
    );
  });

  it("carry consumer spans' links (at most MAX_LINKS), none for other spans, through take, takeSlices, mark and rollback", () => {
    const T1 = '5b8efff798038103d269b633813fc60c';
    const link = (k: number) => ({ traceId: T1, spanId: (k + 1).toString(16).padStart(16, '0') });
    const res = { service: 'worker', serviceVersion: undefined, instance: undefined };
    const add = (out: SpanColumnsBuilder, i: number, kind: Span['kind'], links: number) => {
      out.add('0af7651916cd43dd8448eb211c80319c', (i + 1).toString(16).padStart(16, '0'), undefined, res, `op${i}`, kind, 1, 2, 'unset', undefined);
      for (let k = 0; k < links; k++) {
        if (k % 2 === 0) out.link(link(k).traceId, link(k).spanId);
        else out.linkHex(Buffer.from(`${T1}${link(k).spanId}`), 0, 32);
      }
    };
    const linksOf = (spansOut: Span[]) => spansOut.map((s) => s.links?.map((l) => Number.parseInt(l.spanId, 16) - 1));
    const range = (n: number) => Array.from({ length: n }, (_, k) => k);

    const out = new SpanColumnsBuilder();
    add(out, 0, 'consumer', 3);
    add(out, 1, 'producer', 3);
    add(out, 2, undefined, 0);
    add(out, 3, 'consumer', 200);
    out.mark();
    add(out, 4, 'consumer', 2);
    add(out, 5, 'consumer', 1);
    out.rollback();
    add(out, 6, 'consumer', 1);
    add(out, 7, 'consumer', 0);
    const expected = [range(3), undefined, undefined, range(MAX_LINKS), range(1), undefined];
    const taken = out.take();
    const crossed = structuredClone(taken, { transfer: [taken.times.buffer, taken.refs.buffer, taken.attrs.buffer, taken.ids.buffer, taken.links.buffer] as ArrayBuffer[] });
    const back = unpackSpans(crossed);
    expect(back.map((s) => s.name)).toEqual(['op0', 'op1', 'op2', 'op3', 'op6', 'op7']);
    expect(linksOf(back)).toEqual(expected);
    expect(linksOf(unpackSpans(packSpans(back)))).toEqual(expected);
    // The builder starts over after take.
    add(out, 8, 'consumer', 2);
    add(out, 9, 'client', 0);
    expect(linksOf(unpackSpans(out.take()))).toEqual([range(2), undefined]);
    // In slices, each with its spans' links.
    for (let i = 0; i < 7; i++) add(out, i, i % 2 === 0 ? 'consumer' : 'server', i % 3);
    const slices = out.takeSlices(3);
    expect(slices.map((c) => linksOf(unpackSpans(c)))).toEqual([[undefined, undefined, range(2)], [undefined, range(1), undefined], [undefined]]);
  });
});
