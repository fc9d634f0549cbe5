/**
 * One OTLP/JSON request over the record limit (one resource, one scope, thousands of spans: what an
 * exporter dumping a whole run writes) is decoded span by span, giving what the request decoded whole
 * gives. A small limit keeps the files small.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { encodeOtlpJson, readOtlpFile, readOtlpStream, type DecodeProblem, type OtlpBatch, type ReadOtlpOptions } from '@rootspan/otlp';
import { spans } from './helpers/spans.js';

const LIMIT = 64 * 1024;
const SMALL = { maxRecordBytes: LIMIT };

const dir = mkdtempSync(join(tmpdir(), 'rootspan-big-request-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** A request of one resource (one version, one process) and one scope holding `n` spans. */
const request = (n: number, service = 'checkout') => encodeOtlpJson(spans(n, service).map((s) => ({ ...s, serviceVersion: '2.0.1', instance: 'pod-7' })));

async function collect(batches: AsyncIterable<OtlpBatch>): Promise<{ spans: Span[]; problems: DecodeProblem[]; bytes: number }> {
  const out = { spans: [] as Span[], problems: [] as DecodeProblem[], bytes: 0 };
  for await (const b of batches) {
    out.spans.push(...b.spans);
    out.problems.push(...b.problems);
    out.bytes += b.bytes;
  }
  return out;
}

/** `text` read as a stream in chunks of `chunk` bytes. */
function readText(text: string | Buffer, options: ReadOtlpOptions = {}, chunk = 4096) {
  const data = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  return collect(readOtlpStream(Readable.from(parts, { objectMode: false }), options));
}

/** The 1-based line `needle` is on in `text`. */
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

/** `value` with every object key in snake_case (`traceId` → `trace_id`), as the proto field names are. */
function snakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCase);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCase(v)]));
}

describe('an OTLP/JSON request over the record limit', () => {
  it('is read span by span, one line or pretty-printed: the spans of the request read whole', async () => {
    const doc = request(4000);
    for (const text of [JSON.stringify(doc), JSON.stringify(doc, null, 2)]) {
      const whole = await readText(text);
      expect(whole.problems).toEqual([]);
      expect(whole.spans).toHaveLength(4000);
      expect(text.length).toBeGreaterThan(20 * LIMIT);
      for (const chunk of [333, 1 << 16]) {
        const r = await readText(text, SMALL, chunk);
        expect(r.problems).toEqual([]);
        expect(r.spans).toEqual(whole.spans);
        expect(r.bytes).toBe(text.length);
      }
    }
  });

  it('is read so from a file, gzip too, and from an array of requests holding it', async () => {
    const doc = request(3000);
    const text = JSON.stringify(doc, null, 1);
    const whole = await readText(text);
    for (const path of [file('big.json', text), file('big.json.gz', gzipSync(text))]) {
      const r = await collect(readOtlpFile(path, SMALL));
      expect(r.problems).toEqual([]);
      expect(r.spans).toEqual(whole.spans);
    }
    // Requests around it are read whole as ever, it span by span.
    const array = JSON.stringify([request(5, 'web'), doc, request(5, 'db')]);
    const wholeArray = await readText(array);
    expect(wholeArray.spans).toHaveLength(3010);
    const r = await readText(array, SMALL);
    expect(r.problems).toEqual([]);
    expect(r.spans).toEqual(wholeArray.spans);
  });

  it('reads spans written before their resource and scope, holding them until it comes', async () => {
    const doc = request(3000);
    // Two resources: the first with its spans first, the second with its spans last.
    const [rs] = doc.resourceSpans;
    const first = { scopeSpans: [{ spans: rs.scopeSpans[0].spans.slice(0, 50), scope: rs.scopeSpans[0].scope }], resource: rs.resource };
    const second = { resource: { attributes: [{ key: 'service.name', value: { stringValue: 'payments' } }] }, scopeSpans: [{ spans: rs.scopeSpans[0].spans.slice(50) }] };
    const text = JSON.stringify({ resourceSpans: [first, second] }, null, 1);
    const whole = await readText(text);
    expect(new Set(whole.spans.map((s) => s.service))).toEqual(new Set(['checkout', 'payments']));
    const r = await readText(text, SMALL);
    expect(r.problems).toEqual([]);
    expect(r.spans).toEqual(whole.spans);
  });

  it('reports spans before their resource past the limit, naming the element, and reads the rest', async () => {
    const doc = request(3000);
    const [rs] = doc.resourceSpans;
    const late = { scopeSpans: rs.scopeSpans, resource: rs.resource };
    const after = request(10, 'payments').resourceSpans[0];
    const text = JSON.stringify({ resourceSpans: [late, after] }, null, 1);
    const whole = await readText(text);
    const r = await readText(text, SMALL);
    expect(r.problems).toEqual([
      {
        line: expect.any(Number),
        message: expect.stringMatching(/^resourceSpans\[0\]: \d+ spans before its resource \(from resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[\d+\] on\) held past the 65536-byte record limit, skipped$/),
      },
    ]);
    const dropped = Number(/: (\d+) spans/.exec(r.problems[0].message)?.[1]);
    const held = 3000 - dropped;
    expect(held).toBeGreaterThan(50);
    expect(r.problems[0].line).toBe(lineOf(text, `"spanId": "${(held + 1).toString(16).padStart(16, '0')}"`) - 2);
    // The spans held, then the next resource's: with their own resources.
    expect(r.spans).toEqual([...whole.spans.slice(0, held), ...whole.spans.slice(3000)]);
  });

  it('reads the snake_case (proto field name) form, the legacy instrumentationLibrarySpans, and Tempo and API wrappers', async () => {
    const doc = request(2500);
    const whole = await readText(JSON.stringify(doc));
    const legacy = { resourceSpans: doc.resourceSpans.map((rs) => ({ resource: rs.resource, instrumentationLibrarySpans: rs.scopeSpans })) };
    for (const form of [snakeCase(doc), legacy, snakeCase(legacy), { batches: doc.resourceSpans }, { trace: doc }, { result: snakeCase(doc) }]) {
      const text = JSON.stringify(form);
      expect(text).not.toBe(JSON.stringify(doc));
      const r = await readText(text, SMALL);
      expect(r.problems).toEqual([]);
      expect(r.spans).toEqual(whole.spans);
    }
  });

  it('reports a broken span with its place and line, and one over the limit; reads the rest', async () => {
    const doc = request(2000);
    const list = doc.resourceSpans[0].scopeSpans[0].spans;
    list[700].traceId = '';
    list[1500].name = 'x'.repeat(LIMIT);
    const text = JSON.stringify(doc, null, 1).replace(`"spanId": "${list[1200].spanId}"`, `"spanId": "${list[1200].spanId}",,`);
    const lineOfSpan = (i: number) => lineOf(text, `"spanId": "${list[i].spanId}"`) - 2;
    const r = await readText(text, SMALL);
    expect(r.problems).toEqual([
      { line: lineOfSpan(700), message: `resourceSpans[0].scopeSpans[0].spans[700] (spanId ${list[700].spanId}): missing traceId` },
      { line: lineOfSpan(1200), message: expect.stringMatching(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1200\]: invalid JSON \(/) },
      { line: lineOfSpan(1500), message: expect.stringMatching(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1500\]: \d+ bytes, over the 65536-byte record limit, skipped$/) },
    ]);
    const whole = (await readText(JSON.stringify(request(2000)))).spans;
    expect(r.spans).toEqual(whole.filter((_, i) => i !== 700 && i !== 1200 && i !== 1500));
  });

  it('reads a cut-off request up to the cut, and stops at its first problem with strict', async () => {
    const doc = request(3000);
    const list = doc.resourceSpans[0].scopeSpans[0].spans;
    const text = JSON.stringify(doc, null, 1);
    const cut = text.slice(0, text.indexOf(`"spanId": "${list[2000].spanId}"`));
    const r = await readText(cut, SMALL);
    const whole = (await readText(text)).spans;
    expect(r.spans).toEqual(whole.slice(0, 2000));
    expect(r.problems).toEqual([{ line: lineOf(text, `"spanId": "${list[2000].spanId}"`) - 2, message: 'resourceSpans[0].scopeSpans[0].spans[2000]: cut off (the input ends inside it)' }]);
    list[1000].traceId = 'zz';
    const broken = JSON.stringify(doc, null, 1);
    await expect(readText(broken, { ...SMALL, strict: true, name: 'big.json' })).rejects.toThrow(
      `big.json:${lineOf(broken, `"spanId": "${list[1000].spanId}"`) - 2}: resourceSpans[0].scopeSpans[0].spans[1000] (spanId ${list[1000].spanId}): invalid traceId "zz"`,
    );
  });

  const distUrl = new URL('../dist/index.js', import.meta.url);
  it('is read so in a worker thread too, as in-thread', async () => {
    expect(existsSync(fileURLToPath(distUrl)), 'packages/otlp/dist is missing: run `npm run build`').toBe(true);
    const dist = (await import(distUrl.href)) as { readOtlpFile: typeof readOtlpFile };
    const doc = request(3000);
    doc.resourceSpans[0].scopeSpans[0].spans[10].traceId = '';
    const text = JSON.stringify(doc, null, 1);
    for (const path of [file('worker.json', text), file('worker.json.gz', gzipSync(text))]) {
      const inThread = await collect(dist.readOtlpFile(path, SMALL));
      const inWorker = await collect(dist.readOtlpFile(path, { ...SMALL, worker: true }));
      expect(inThread.spans).toHaveLength(2999);
      expect(inThread.problems).toEqual([{ line: expect.any(Number), message: expect.stringMatching(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[10\] .*missing traceId$/) }]);
      expect(inWorker).toEqual(inThread);
    }
  });
});
