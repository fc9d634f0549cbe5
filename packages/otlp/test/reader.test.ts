import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Span } from '@rootspan/engine';
import { OtlpDecodeError, encodeOtlpJson, formatFromPath, readOtlpFile, readOtlpStream, type DecodeProblem, type OtlpBatch, type ReadOtlpOptions } from '@rootspan/otlp';
import { SpanKind, sdkService } from './helpers/sdk.js';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-otlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** `n` spans of service `svc`, distinct ids, 1 ms apart. */
function spans(n: number, service = 'svc'): Span[] {
  return Array.from({ length: n }, () => {
    counter++;
    return {
      traceId: counter.toString(16).padStart(32, '0'),
      spanId: counter.toString(16).padStart(16, '0'),
      service,
      name: 'GET /x',
      kind: 'server' as const,
      startTime: 1_700_000_000_000 + counter,
      endTime: 1_700_000_000_010 + counter,
      status: 'unset' as const,
      attributes: { 'http.route': '/x', 'http.response.status_code': 200 },
    };
  });
}

/** What a spec-following decoder gives back for a span (fields as the decoder lays them out). */
const decoded = (s: Span): Span => ({ parentSpanId: undefined, serviceVersion: undefined, statusMessage: undefined, ...s });

const line = (s: Span[]) => JSON.stringify(encodeOtlpJson(s));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function collect(it: AsyncIterable<OtlpBatch>) {
  const out = { spans: [] as Span[], problems: [] as DecodeProblem[], bytes: 0, batches: 0 };
  for await (const b of it) {
    out.spans.push(...b.spans);
    out.problems.push(...b.problems);
    out.bytes += b.bytes;
    out.batches++;
  }
  return out;
}

/** A byte stream delivering `data` in chunks of `size` bytes (splitting lines and UTF-8 characters). */
function chunked(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

const a = spans(3);
const b = spans(2, 'other');
const c = spans(4);

describe('readOtlpFile', () => {
  it('reads JSONL line by line, reporting bad lines with their number', async () => {
    const path = file('mixed.jsonl', [line(a), '', 'not json {', line(b), '   ', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"01"}]}]}]}', line(c), ''].join('\n'));
    const r = await collect(readOtlpFile(path));
    expect(r.spans).toEqual([...a, ...b, ...c].map(decoded));
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0].line).toBe(3);
    expect(r.problems[0].message).toMatch(/^invalid JSON \(/);
    expect(r.problems[1]).toEqual({ line: 6, message: 'resourceSpans[0].scopeSpans[0].spans[0] (spanId 01): missing traceId' });
    expect(r.bytes).toBe(statSync(path).size);
  });

  it('handles CRLF, a BOM and a last line without newline', async () => {
    const path = file('crlf.jsonl', `\uFEFF${line(a)}\r\n${line(b)}\r\n\r\n${line(c)}`);
    const r = await collect(readOtlpFile(path));
    expect(r.problems).toEqual([]);
    expect(r.spans).toEqual([...a, ...b, ...c].map(decoded));
  });

  it('reads gzip, detected by magic bytes whatever the name', async () => {
    const content = [line(a), 'oops', line(b)].join('\n');
    for (const name of ['t.jsonl.gz', 't.jsonl', 'noext']) {
      const path = file(name, gzipSync(content));
      const r = await collect(readOtlpFile(path));
      expect(r.spans).toEqual([...a, ...b].map(decoded));
      expect(r.problems).toEqual([expect.objectContaining({ line: 2 })]);
      expect(r.bytes).toBe(statSync(path).size); // compressed bytes, for progress against the file size
    }
    // concatenated gzip members, as `cat a.gz b.gz` makes
    const multi = file('multi.jsonl.gz', Buffer.concat([gzipSync(line(a) + '\n'), gzipSync(line(b) + '\n')]));
    expect((await collect(readOtlpFile(multi))).spans).toEqual([...a, ...b].map(decoded));
  });

  it('keeps every line of a gzip file followed by data that is not gzip, and reports what follows; zero padding is no problem', async () => {
    // Lines long enough that the member's end and what follows come in one inflate step: Node's gunzip lost that step's output.
    const many = spans(6000);
    const content = Array.from({ length: 600 }, (_, i) => line(many.slice(i * 10, i * 10 + 10))).join('\n') + '\n';
    const gz = gzipSync(content);
    const junk = await collect(readOtlpFile(file('junk.jsonl.gz', Buffer.concat([gz, Buffer.from('GARBAGE\n')]))));
    expect(junk.spans).toEqual(many.map(decoded));
    expect(junk.problems).toEqual([{ message: `gzip: data after the compressed stream (at byte ${gz.length}) is not gzip (incorrect header check): ignored`, kind: 'decompression' }]);
    const padded = await collect(readOtlpFile(file('padded.jsonl.gz', Buffer.concat([gz, Buffer.alloc(1024)]))));
    expect(padded.spans).toEqual(many.map(decoded));
    expect(padded.problems).toEqual([]);
    // A damaged checksum: the data, then the problem.
    const bad = Buffer.from(gz);
    bad[bad.length - 8] ^= 0xff;
    const crc = await collect(readOtlpFile(file('crc.jsonl.gz', bad)));
    expect(crc.spans).toEqual(many.map(decoded));
    expect(crc.problems).toEqual([{ message: 'gzip: incorrect data check', kind: 'decompression' }]);
  });

  it('reports a truncated gzip file after what it could read', async () => {
    const gz = gzipSync([line(a), line(b)].join('\n') + '\n');
    // without its trailer: all the data, then the error
    const path = file('cut.jsonl.gz', gz.subarray(0, gz.length - 8));
    const r = await collect(readOtlpFile(path));
    expect(r.spans).toEqual([...a, ...b].map(decoded));
    expect(r.problems).toEqual([{ message: 'gzip: unexpected end of file', kind: 'decompression' }]);
    // cut in the middle of the data: the lines before, the partial line, the error
    // (zlib hands out what it inflated before the last input chunk, so use a file of several chunks)
    const many = spans(6000);
    const big = gzipSync(Array.from({ length: 600 }, (_, i) => line(many.slice(i * 10, i * 10 + 10))).join('\n'));
    const mid = await collect(readOtlpFile(file('cut2.jsonl.gz', big.subarray(0, Math.floor(big.length * 0.75)))));
    expect(mid.spans.length).toBeGreaterThan(1000);
    expect(mid.spans).toEqual(many.slice(0, mid.spans.length).map(decoded));
    expect(mid.problems.at(-1)).toEqual({ message: 'gzip: unexpected end of file', kind: 'decompression' });
    await expect(collect(readOtlpFile(path, { strict: true }))).rejects.toThrow(OtlpDecodeError);
  });

  it('reads a .json file holding one pretty-printed request, or an array of them', async () => {
    const one = await collect(readOtlpFile(file('one.json', JSON.stringify(encodeOtlpJson([...a, ...b]), null, 2))));
    expect(one.problems).toEqual([]);
    expect(one.spans).toEqual([...a, ...b].map(decoded));
    const arr = await collect(readOtlpFile(file('arr.json', JSON.stringify([encodeOtlpJson(a), encodeOtlpJson(b), encodeOtlpJson(c)], null, 2))));
    expect(arr.problems).toEqual([]);
    expect(arr.spans).toEqual([...a, ...b, ...c].map(decoded));
    // one element per line inside [ ]: not JSONL, a document
    const perLine = file('perline.json', `[\n${line(a)},\n${line(b)}\n]\n`);
    const pl = await collect(readOtlpFile(perLine));
    expect(pl.problems).toEqual([]);
    expect(pl.spans).toEqual([...a, ...b].map(decoded));
    // a compact array on one line
    const compact = await collect(readOtlpFile(file('compact.json', JSON.stringify([encodeOtlpJson(a), encodeOtlpJson(b)]))));
    expect(compact.spans).toEqual([...a, ...b].map(decoded));
  });

  it('splits a big document into batch-sized batches', async () => {
    const many = spans(2500);
    const r: OtlpBatch[] = [];
    for await (const batch of readOtlpFile(file('big.json', JSON.stringify(encodeOtlpJson(many), null, 1)), { batchSize: 1000 })) r.push(batch);
    expect(r.map((x) => x.spans.length)).toEqual([1000, 1000, 500]);
    expect(r.flatMap((x) => x.spans)).toEqual(many.map(decoded));
  });

  it('is lenient with JSONL content in a .json file, even when its first line is broken', async () => {
    const ok = await collect(readOtlpFile(file('lines.json', [line(a), line(b)].join('\n'))));
    expect(ok.problems).toEqual([]);
    expect(ok.spans).toEqual([...a, ...b].map(decoded));
    const broken = await collect(readOtlpFile(file('broken-first.json', ['{"resourceSpans": [', line(a), line(b)].join('\n'))));
    expect(broken.spans).toEqual([...a, ...b].map(decoded));
    expect(broken.problems).toEqual([expect.objectContaining({ line: 1, message: expect.stringMatching(/^invalid JSON/) })]);
  });

  it('reads JSONL with a broken first line past the record limit (a cut-off tail) line by line', async () => {
    const many = spans(200);
    const data = Buffer.from(['{"resourceSpans":[{"scopeSp', ...many.map((s) => line([s]))].join('\r\n') + '\r\n');
    for (const size of [1000, 1 << 20]) {
      const r = await collect(readOtlpStream(chunked(data, size), { maxRecordBytes: 4096 }));
      expect(r.spans).toEqual(many.map(decoded));
      expect(r.problems).toEqual([{ line: 1, message: expect.stringMatching(/^invalid JSON/) }]);
      expect(r.bytes).toBe(data.length);
    }
    // the same as one document over the limit: read span by span
    const doc = Buffer.from(JSON.stringify(encodeOtlpJson(many), null, 2));
    const r = await collect(readOtlpStream(chunked(doc, 1000), { maxRecordBytes: 4096 }));
    expect(r.spans).toEqual(many.map(decoded));
    expect(r.problems).toEqual([]);
  });

  it('reports a broken pretty-printed document once', async () => {
    const text = JSON.stringify(encodeOtlpJson(a), null, 2).replace('"spans"', '"spans" oops');
    const r = await collect(readOtlpFile(file('broken.json', text)));
    expect(r.spans).toEqual([]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0].message).toMatch(/^invalid JSON \(/);
  });

  it('reads protobuf files by extension and by content', async () => {
    const svc = sdkService({ 'service.name': 'pb' });
    svc.span('GET /a', { kind: SpanKind.SERVER, start: 1_700_000_000_000, end: 1_700_000_000_100 });
    svc.span('GET /b', { kind: SpanKind.SERVER, start: 1_700_000_000_200, end: 1_700_000_000_300 });
    const bytes = Buffer.from(ProtobufTraceSerializer.serializeRequest(svc.finished())!);
    for (const name of ['t.pb', 't.binpb.gz', 'unknown.bin']) {
      const path = file(name, name.endsWith('.gz') ? gzipSync(bytes) : bytes);
      const r = await collect(readOtlpFile(path));
      expect(r.problems).toEqual([]);
      expect(r.spans.map((s) => [s.service, s.name, s.kind])).toEqual([
        ['pb', 'GET /a', 'server'],
        ['pb', 'GET /b', 'server'],
      ]);
    }
    const auto = await collect(readOtlpStream(chunked(bytes, 7)));
    expect(auto.spans).toHaveLength(2);
  });

  it('reads stdin-style streams with format detection, in any chunking', async () => {
    const data = Buffer.from([line(a), line(spans(2, 'sérvice-ü')), 'bad', line(c)].join('\n') + '\n');
    for (const size of [1, 3, 64, 1 << 20]) {
      const r = await collect(readOtlpStream(chunked(data, size)));
      expect(r.spans).toHaveLength(9);
      expect(r.spans[3].service).toBe('sérvice-ü');
      expect(r.problems).toEqual([expect.objectContaining({ line: 3 })]);
      expect(r.bytes).toBe(data.length);
    }
    const gz = await collect(readOtlpStream(chunked(gzipSync(data), 5)));
    expect(gz.spans).toHaveLength(9);
    // string chunks and a plain async iterable work too
    const strings = await collect(readOtlpStream((async function* () { yield line(a).slice(0, 10); yield line(a).slice(10) + '\n'; })()));
    expect(strings.spans).toEqual(a.map(decoded));
    // readOtlpFile takes an open stream as well (the CLI passes process.stdin for `-`)
    expect((await collect(readOtlpFile(chunked(data, 100), { name: '-' }))).spans).toHaveLength(9);
    // empty input: nothing
    expect(await collect(readOtlpStream(Readable.from([])))).toEqual({ spans: [], problems: [], bytes: 0, batches: 0 });
  });

  it('tells one document from JSON lines in each batch (`document`), from the first batch with spans on', async () => {
    const many = spans(40);
    const request = encodeOtlpJson(many);
    const svc = sdkService({ 'service.name': 'pb' });
    svc.span('GET /a', { start: 1_700_000_000_000, end: 1_700_000_000_100 });
    const pb = Buffer.from(ProtobufTraceSerializer.serializeRequest(svc.finished())!);
    const cases: Array<[string, string | Buffer, boolean, ReadOtlpOptions?]> = [
      ['JSON lines', [line(a), line(b), line(c)].join('\n'), false],
      // A first line of more spans than a batch: its spans wait for the second line, which says "lines".
      ['JSON lines, batches smaller than a line', [line(a), line(b), line(c)].join('\n'), false, { batchSize: 1 }],
      ['JSONL with a broken first line', ['{"resourceSpans": [', line(a), line(b)].join('\n'), false],
      ['one line', `${JSON.stringify(request)}\n\n  \r\n`, true, { batchSize: 1 }],
      ['pretty-printed', JSON.stringify(request, null, 2), true],
      ['an array', `[\n${[line(a), line(b)].join(',\n')}\n]`, true],
      ['one line over the record limit', JSON.stringify(request), true, { maxRecordBytes: 1024, batchSize: 1 }],
      ['pretty-printed over the record limit', JSON.stringify(request, null, 2), true, { maxRecordBytes: 1024, batchSize: 1 }],
      ['protobuf', pb, true],
    ];
    for (const [name, content, document, options] of cases) {
      const batches: OtlpBatch[] = [];
      for await (const batch of readOtlpStream(chunked(Buffer.from(content), 100), options)) batches.push(batch);
      const withSpans = batches.filter((batch) => batch.spans.length > 0);
      expect(withSpans.length, name).toBeGreaterThan(0);
      expect(withSpans.map((batch) => batch.document), name).toEqual(withSpans.map(() => document));
    }
  });

  it('throws OtlpDecodeError with the line and file in strict mode', async () => {
    const path = file('strict.jsonl', [line(a), line(b), '{"resourceSpans": [', line(c)].join('\n'));
    const seen: Span[] = [];
    const err = await (async () => {
      try {
        for await (const batch of readOtlpFile(path, { strict: true, batchSize: 1 })) seen.push(...batch.spans);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(OtlpDecodeError);
    const e = err as OtlpDecodeError;
    expect(e.line).toBe(3);
    expect(e.file).toBe(path);
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: invalid JSON \\(`));
    expect(seen).toEqual([...a, ...b].map(decoded));
    const named = readOtlpFile(file('strict2.jsonl', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"zz"}]}]}]}\n'), { strict: true, name: 'in.jsonl' });
    await expect(collect(named)).rejects.toThrow('in.jsonl:1: resourceSpans[0].scopeSpans[0].spans[0]: invalid spanId "zz"');
  });

  it('yields batches of about batchSize spans and can be stopped early', async () => {
    const lines = Array.from({ length: 50 }, () => line(spans(30)));
    const path = file('batches.jsonl', lines.join('\n'));
    const sizes: number[] = [];
    for await (const batch of readOtlpFile(path, { batchSize: 100 })) sizes.push(batch.spans.length);
    expect(sizes.slice(0, -1).every((n) => n >= 100 && n < 130)).toBe(true);
    expect(sizes.at(-1)).toBeLessThan(130);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(1500);
    const stream = createReadStream(path);
    for await (const batch of readOtlpStream(stream, { batchSize: 100 })) {
      expect(batch.spans.length).toBeGreaterThan(0);
      break;
    }
    expect(stream.destroyed).toBe(true);
  });

  it('skips over-long lines', async () => {
    const path = file('long.jsonl', [line(a), 'x'.repeat(5000), line(b), 'y'.repeat(3000)].join('\n'));
    const r = await collect(readOtlpFile(path, { maxRecordBytes: 4096 }));
    expect(r.spans).toEqual([...a, ...b].map(decoded));
    expect(r.problems.map((p) => p.line)).toEqual([2, 4]);
    expect(r.problems[0].message).toBe('line longer than 4096 bytes (the record limit), skipped');
  });

  it('throws I/O errors as they are', async () => {
    await expect(collect(readOtlpFile(join(dir, 'missing.jsonl')))).rejects.toThrow(/ENOENT/);
  });

  it('picks the format from the file name', () => {
    expect(['a.jsonl', 'a.ndjson.gz', 'A.JSON', 'a.json.gzip', 'a.pb', 'a.binpb.gz', 'a.txt', '-'].map(formatFromPath)).toEqual([
      'jsonl',
      'jsonl',
      'json',
      'json',
      'protobuf',
      'protobuf',
      'auto',
      'auto',
    ]);
  });

  it('honours an explicit format', async () => {
    // JSONL forced: a pretty-printed file is then a run of bad lines
    const pretty = file('pretty.txt', JSON.stringify(encodeOtlpJson(a), null, 2));
    const opts: ReadOtlpOptions = { format: 'jsonl' };
    const r = await collect(readOtlpFile(pretty, opts));
    expect(r.spans).toEqual([]);
    expect(r.problems.length).toBeGreaterThan(5);
    expect((await collect(readOtlpFile(pretty))).spans).toEqual(a.map(decoded));
    expect(readFileSync(pretty, 'utf8').startsWith('{')).toBe(true);
  });
});
