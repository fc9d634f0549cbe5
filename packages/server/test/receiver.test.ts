/** `POST /v1/traces` over raw HTTP: encodings, the OTLP answers, limits, and nothing lost around bad requests. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { gzipSync } from 'node:zlib';
import { compress as snappyCompress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { Span } from '@rootspan/engine';
import { encodeOtlpJson } from '@rootspan/otlp';
import { nodeBinary } from '../../otel/test/helpers/node-runtime.js';
import { call, testServer } from './helpers/server.js';
import { snappyFramed } from './helpers/snappy-framed.js';
import { shopSpans } from './helpers/shop.js';

const T0 = Date.UTC(2026, 0, 1);
let counter = 0;

/** `n` server spans of one service, one per trace, ending long ago (recorded data: analysed at once). */
function spans(n: number, name = 'GET /x'): Span[] {
  return Array.from({ length: n }, (_, i) => {
    counter++;
    return {
      traceId: counter.toString(16).padStart(32, 'a'),
      spanId: counter.toString(16).padStart(16, 'b'),
      service: 'svc',
      name,
      kind: 'server' as const,
      startTime: T0 + i * 100,
      endTime: T0 + i * 100 + 10,
      attributes: { 'http.request.method': 'GET', 'http.route': '/x', 'http.response.status_code': 200 },
    };
  });
}

/** `n` as a protobuf varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

const post = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) => ({ method: 'POST', headers, body });
const json = (s: Span[]) => JSON.stringify(encodeOtlpJson(s));

describe('POST /v1/traces', () => {
  it('refuses small compressed bodies that decode to millions of empty records quickly, and still takes good requests', async () => {
    const server = await testServer();
    // 16 KB of gzip: ~1.1 million empty objects (JSON), ~2 million empty resourceSpans (protobuf).
    const objects = gzipSync(`{"resourceSpans":[${'{},'.repeat(1_100_000)}{}]}`);
    const json = await call(server, '/v1/traces', post(objects, { 'content-type': 'application/json', 'content-encoding': 'gzip' }));
    expect(json.status).toBe(413);
    expect(json.body.error).toMatch(/more than 1000000 JSON objects and arrays/);
    // ~16 KB of gzip: 8 million values that are no objects (each would be a skipped span).
    const values = gzipSync(`{"resourceSpans":[{"scopeSpans":[{"spans":[${'0,'.repeat(8_000_000)}0]}]}]}`);
    const flat = await call(server, '/v1/traces', post(values, { 'content-type': 'application/json', 'content-encoding': 'gzip' }));
    expect(flat.status).toBe(413);
    expect(flat.body.error).toMatch(/more than 2500000 JSON values/);
    const messages = gzipSync(Buffer.alloc(4_000_000, Buffer.from([0x0a, 0x00])));
    const proto = await call(server, '/v1/traces', post(messages, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }));
    expect(proto.status).toBe(400);
    expect(proto.text).toMatch(/more than 1000000 messages in one request/);
    // ~16 KB of gzip: one span of 3.5 million empty attributes (field 9), in its scope and resource.
    const attrs = Buffer.alloc(7_000_000, Buffer.from([0x4a, 0x00]));
    const field = (n: number, body: Buffer) => Buffer.concat([Buffer.from([(n << 3) | 2]), varint(body.length), body]);
    const bomb = gzipSync(field(1, field(2, field(2, attrs))));
    const fields = await call(server, '/v1/traces', post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }));
    expect(fields.status).toBe(400);
    expect(fields.text).toMatch(/more than 3000000 span fields in one request/);
    // The same attributes in one event of the span (field 11, its attributes field 3), and in one kvlist value.
    const inEvent = gzipSync(field(1, field(2, field(2, field(11, Buffer.alloc(7_000_000, Buffer.from([0x1a, 0x00])))))));
    const eventFields = await call(server, '/v1/traces', post(inEvent, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }));
    expect(eventFields.status).toBe(400);
    expect(eventFields.text).toMatch(/more than 3000000 span fields in one request/);
    const inList = gzipSync(field(1, field(2, field(2, field(9, field(2, field(6, Buffer.alloc(7_000_000, Buffer.from([0x0a, 0x00])))))))));
    const listFields = await call(server, '/v1/traces', post(inList, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }));
    expect(listFields.status).toBe(400);
    expect(listFields.text).toMatch(/more than 3000000 span fields in one request/);
    const ok = await call(server, '/v1/traces', post(JSON.stringify(encodeOtlpJson(spans(3)))));
    expect(ok.status).toBe(200);
  });

  it('takes OTLP/JSON plain and gzipped, and answers {} on full success', async () => {
    const server = await testServer();
    const plain = await call(server, '/v1/traces', post(json(spans(5))));
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({});
    const zipped = await call(server, '/v1/traces', post(gzipSync(json(spans(7))), { 'content-type': 'application/json', 'content-encoding': 'gzip' }));
    expect(zipped.status).toBe(200);
    expect(server.status().ingest.spansReceived).toBe(12);
  });

  it('takes OTLP/protobuf (as the SDK serialises it) and answers in protobuf', async () => {
    const server = await testServer();
    const { checkout } = shopSpans({ t0: T0, durationMs: 2000 });
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(checkout)!);
    const res = await call(server, '/v1/traces', post(gzipSync(body), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect(res.text).toBe('');
    expect(server.status().ingest.spansReceived).toBe(checkout.length);
  });

  it('answers a partial success naming the rejected spans, and keeps the good ones', async () => {
    const server = await testServer();
    const request = encodeOtlpJson(spans(4)) as any;
    const list = request.resourceSpans[0].scopeSpans[0].spans;
    list[1].startTimeUnixNano = 'soon';
    list[2].traceId = 'zz';
    const res = await call(server, '/v1/traces', post(JSON.stringify(request)));
    expect(res.status).toBe(200);
    expect(res.body.partialSuccess.rejectedSpans).toBe('2');
    expect(res.body.partialSuccess.errorMessage).toMatch(/spans\[1\].*startTimeUnixNano/);
    expect(res.body.partialSuccess.errorMessage).toMatch(/spans\[2\]/);
    const status = server.status();
    // Every span that arrived is counted once: accepted, dropped or queued.
    expect(status.ingest).toMatchObject({ spansReceived: 4, spansDropped: 2 });
    expect(status.drops.malformed).toBe(2);
    expect(status.ingest.spansAccepted + status.ingest.spansDropped + status.queue.spans).toBe(4);
  });

  it('partial success in protobuf: field 1 { 1: rejected_spans, 2: error_message }', async () => {
    const server = await testServer();
    const { checkout } = shopSpans({ t0: T0, durationMs: 1000 });
    const good = Buffer.from(ProtobufTraceSerializer.serializeRequest(checkout)!);
    // An extra ResourceSpans with one span whose end (fixed64 field 8) is before its start: decodable, but rejected.
    const bad = Buffer.from(ProtobufTraceSerializer.serializeRequest([Object.create(checkout[0], { startTime: { value: [2_000_000_000, 0] }, endTime: { value: [1_000_000_000, 0] } })])!);
    const res = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.concat([good, bad]) });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(bytes[0]).toBe(0x0a);
    expect(bytes[2]).toBe(0x08);
    expect(bytes[3]).toBe(1); // one span rejected
    expect(bytes.subarray(6).toString('utf8')).toMatch(/spans\[0\]/);
    expect(server.status().ingest.spansReceived).toBe(checkout.length + 1);
  });

  it('400 with the reason for bodies that are not OTLP, 415 for other content types, and the valid requests around them lose nothing', async () => {
    const server = await testServer();
    let sent = 0;
    const good = async () => {
      const s = spans(3);
      sent += s.length;
      expect((await call(server, '/v1/traces', post(json(s)))).status).toBe(200);
    };
    await good();
    const notJson = await call(server, '/v1/traces', post('{"resourceSpans": ['));
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatch(/invalid JSON/);
    await good();
    const notOtlp = await call(server, '/v1/traces', post('{"hello": "world"}'));
    expect(notOtlp.status).toBe(400);
    expect(notOtlp.body.error).toMatch(/resourceSpans/);
    const badProto = await call(server, '/v1/traces', post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1]), { 'content-type': 'application/x-protobuf' }));
    expect(badProto.status).toBe(400);
    expect(badProto.headers.get('content-type')).toBe('application/x-protobuf'); // a Status in the request's encoding (otlp-errors.test.ts)
    expect(badProto.text).toMatch(/invalid protobuf/);
    // resourceSpans as a number (`{"resourceSpans": 5}` in JSON is a 400 too), and a field numbered 0: no OTLP.
    for (const bytes of [[0x08, 0x05], [0x0a, 0x02, 0x00, 0x00]]) {
      const wrong = await call(server, '/v1/traces', post(Buffer.from(bytes), { 'content-type': 'application/x-protobuf' }));
      expect(wrong.status).toBe(400);
      expect(wrong.text).toMatch(/invalid protobuf/);
    }
    const badGzip = await call(server, '/v1/traces', post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' }));
    expect(badGzip.status).toBe(400);
    // A compressed body sent without its Content-Encoding: named, in either encoding; a binary start quoted escaped.
    for (const type of ['application/json', 'application/x-protobuf']) {
      const undeclared = await call(server, '/v1/traces', post(gzipSync(json(spans(2))), { 'content-type': type }));
      expect(undeclared.status).toBe(400);
      expect(undeclared.text).toContain('the body is gzip-compressed but has no Content-Encoding: send Content-Encoding: gzip');
    }
    const binary = await call(server, '/v1/traces', post(Buffer.from([0x01, 0xff, 0xfe, 0x08, 0x41]), { 'content-type': 'application/json' }));
    expect(binary.status).toBe(400);
    expect(binary.body.error).toMatch(/^invalid JSON \(.*\\u0001\\ufffd/);
    expect(binary.body.error).not.toMatch(/[\u0000-\u001f\ufffd]/);
    await good();
    const text = await call(server, '/v1/traces', post('hello', { 'content-type': 'text/plain' }));
    expect(text.status).toBe(415);
    expect(text.body.error).toMatch(/Content-Type/);
    // JSON in another charset than UTF-8 would only read as invalid JSON; a UTF-8 one (any spelling) is taken.
    const utf16 = await call(server, '/v1/traces', post(Buffer.from(json(spans(1)), 'utf16le'), { 'content-type': 'application/json; charset=UTF-16' }));
    expect(utf16.status).toBe(415);
    expect(utf16.body.error).toBe("unsupported charset 'UTF-16' (JSON bodies are read as UTF-8)");
    const s = spans(2);
    sent += s.length;
    expect((await call(server, '/v1/traces', post(json(s), { 'content-type': 'application/json; charset="utf-8"' }))).status).toBe(200);
    await good();
    const status = server.status();
    expect(status.ingest.spansReceived).toBe(sent);
    expect(status.ingest.requests).toMatchObject({ '200': 5, '400': 9, '415': 2 });
  });

  it('a body over the limit sent whole (as the OTLP exporters send it) gets its 413, not a broken pipe; the connection serves on', async () => {
    const server = await testServer({ maxBodyBytes: 8 << 20 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer, headers: Record<string, string | number>, on: Agent | false = agent) =>
      new Promise<{ status: number; text: string; error?: string }>((resolve) => {
        let answer = { status: 0, text: '' };
        let error: string | undefined;
        const req = httpRequest(`${server.url}/v1/traces`, { method: 'POST', agent: on, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
          res.on('data', (c) => (answer.text += c));
          res.on('end', () => (answer.status = res.statusCode ?? 0));
        });
        // A write cut by the server's close (EPIPE, ECONNRESET) is what an exporter sees, whatever came first.
        req.on('error', (err) => (error ??= (err as NodeJS.ErrnoException).code ?? err.message));
        req.on('close', () => resolve(error === undefined ? answer : { ...answer, error }));
        req.end(body);
      });
    try {
      const big = Buffer.alloc(28 << 20, 0x20);
      for (const [headers, on] of [
        [{ 'content-length': big.length }, agent],
        [{ 'transfer-encoding': 'chunked' }, agent],
        // A connection of its own (`Connection: close`), as the probe's client and many one-shot senders use.
        [{ 'content-length': big.length }, false],
      ] as const) {
        const res = await send(big, headers, on);
        expect(res).toMatchObject({ status: 413 });
        expect(res.error).toBeUndefined();
        expect(JSON.parse(res.text).error).toBe(`request body over the limit of ${8 << 20} bytes`);
        expect((await send(Buffer.from(json(spans(2))), {})).status).toBe(200);
      }
      expect(server.status().ingest.spansReceived).toBe(6);
    } finally {
      agent.destroy();
    }
  });

  it('Expect: 100-continue: a body declared over the limit gets 413 before it is sent; a small one is asked for and taken', async () => {
    const server = await testServer({ maxBodyBytes: 1 << 20 });
    /** Sends the headers, and the body only once the server asks for it. */
    const expecting = (length: number, body: string, type = 'application/json') =>
      new Promise<{ status: number; continued: boolean; type: string | undefined; text: string }>((resolve, reject) => {
        let continued = false;
        const req = httpRequest(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': type, 'content-length': length, expect: '100-continue' } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, type: res.headers['content-type'], text }));
        });
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('error', reject);
      });
    const huge = await expecting(1e9, '');
    expect(huge).toMatchObject({ status: 413, continued: false });
    expect(JSON.parse(huge.text).error).toBe(`request body over the limit of ${1 << 20} bytes`);
    // A protobuf request hears it in protobuf, as when the body is refused while read: Status { code 3, message }.
    const proto = await expecting(1e9, '', 'application/x-protobuf');
    expect(proto).toMatchObject({ status: 413, continued: false, type: 'application/x-protobuf' });
    const message = `request body over the limit of ${1 << 20} bytes`;
    expect(proto.text).toBe(`\x08\x03\x12${String.fromCharCode(message.length)}${message}`);
    const body = json(spans(2));
    expect(await expecting(Buffer.byteLength(body), body)).toMatchObject({ status: 200, continued: true });
    expect(server.status().ingest.spansReceived).toBe(2);
    expect(server.status().ingest.requests).toMatchObject({ '200': 1, '413': 2 });
  });

  it('zstd bodies: refused with 415 and the reason on a Node.js without zstd, taken on one with it', async () => {
    const server = await testServer();
    const body = Buffer.from(json(spans(3)));
    const zstdCompress = (zlib as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
    const res = await call(server, '/v1/traces', post(zstdCompress === undefined ? body : zstdCompress(body), { 'content-type': 'application/json', 'content-encoding': 'zstd' }));
    if (zstdCompress === undefined) {
      expect(res.status).toBe(415);
      expect(res.body.error).toBe(`Content-Encoding 'zstd' needs Node.js 22.15 or later (this server runs ${process.version}): use gzip`);
    } else {
      expect(res.status).toBe(200);
      expect(server.status().ingest.spansReceived).toBe(3);
    }
    const unknown = await call(server, '/v1/traces', post(body, { 'content-type': 'application/json', 'content-encoding': 'compress' }));
    expect(unknown.status).toBe(415);
    expect(unknown.body.error).toMatch(/^unsupported Content-Encoding 'compress' \(use gzip, deflate, zlib, snappy, x-snappy-framed, lz4/);
  });

  it("takes every encoding the Collector's otlphttp exporter offers; a snappy bomb is 413, a corrupt lz4 body 400", async () => {
    const server = await testServer({ maxBodyBytes: 1 << 20 });
    const body = Buffer.from(json(spans(6)));
    const block = Buffer.from(snappyCompress(body));
    const lz4Frame = readFileSync(new URL('./fixtures/codecs/default.lz4', import.meta.url)); // 150 spans
    const bodies: Array<[string, Buffer, number]> = [
      ['deflate', zlib.deflateSync(body), 6],
      ['zlib', zlib.deflateSync(body), 6],
      ['snappy', block, 6],
      ['snappy', snappyFramed(body), 6],
      ['x-snappy-framed', snappyFramed(body), 6],
      ['lz4', lz4Frame, 150],
    ];
    let sent = 0;
    for (const [encoding, data, n] of bodies) {
      const res = await call(server, '/v1/traces', post(data, { 'content-type': 'application/json', 'content-encoding': encoding }));
      expect([encoding, res.status, res.body]).toEqual([encoding, 200, {}]);
      sent += n;
      expect(server.status().ingest.spansReceived).toBe(sent);
    }
    const bomb = Buffer.from(snappyCompress(Buffer.alloc(4 << 20, 32)));
    expect(bomb.length).toBeLessThan(1 << 20);
    const big = await call(server, '/v1/traces', post(bomb, { 'content-type': 'application/json', 'content-encoding': 'snappy' }));
    expect(big.status).toBe(413);
    const corrupt = await call(server, '/v1/traces', post(lz4Frame.subarray(0, 200), { 'content-type': 'application/json', 'content-encoding': 'lz4' }));
    expect(corrupt.status).toBe(400);
    expect(corrupt.body.error).toMatch(/^cannot decompress lz4 body: truncated/);
    expect(server.status().ingest.spansReceived).toBe(sent);
  });

  it('zstd bodies on Node.js 24: decoded, a zstd bomb 413, corrupt 400, a frame needing a window over 8 MiB refused at its header', { timeout: 120_000 }, () => {
    const child = fileURLToPath(new URL('./helpers/zstd-body.mjs', import.meta.url));
    const out = execFileSync(nodeBinary(24), ['--experimental-transform-types', '--no-warnings', child], { encoding: 'utf8', timeout: 60_000 });
    const { text, results } = JSON.parse(out) as { text: string; results: Record<string, { status: number; text?: string; error?: string }> };
    expect(results.ok).toEqual({ status: 200, text });
    expect(results.bomb).toEqual({ status: 413, error: 'request body over the limit of 65536 bytes' });
    expect(results.corrupt.status).toBe(400);
    expect(results.corrupt.error).toMatch(/^cannot decompress zstd body/);
    expect(results.wideWindow.status).toBe(400);
    expect(results.wideWindow.error).toMatch(/too much memory/);
  });

  it('413 over the body limit, declared or streamed, on the wire or after gunzip', async () => {
    const server = await testServer({ maxBodyBytes: 4096 });
    const big = json(spans(40));
    expect(big.length).toBeGreaterThan(4096);
    expect((await call(server, '/v1/traces', post(big))).status).toBe(413);
    // Chunked (no Content-Length): refused while streaming.
    const stream = new Blob([big]).stream();
    const chunked = await fetch(`${server.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    // A small gzip that expands past the limit.
    const bomb = gzipSync(Buffer.alloc(100_000, ' '));
    expect(bomb.length).toBeLessThan(4096);
    const res = await call(server, '/v1/traces', post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }));
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/4096/);
    expect((await call(server, '/v1/traces', post(json(spans(2))))).status).toBe(200);
  });

  it('429 with Retry-After when the intake queue is full; nothing of the refused request is kept', async () => {
    // Fresh spans (ending now) are held for the trace wait: they fill the queue.
    const server = await testServer({ maxQueuedSpans: 10, traceWaitMs: 60_000 });
    const fresh = (n: number) => spans(n).map((s) => ({ ...s, startTime: Date.now() - 20, endTime: Date.now() - 10 }));
    expect((await call(server, '/v1/traces', post(json(fresh(8))))).status).toBe(200);
    const full = await call(server, '/v1/traces', post(json(fresh(5))));
    expect(full.status).toBe(429);
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(full.body.error).toMatch(/queue full/);
    const status = server.status();
    expect(status.queue.spans).toBe(8);
    expect(status.drops.queueFull).toBe(5);
    expect(status.ingest).toMatchObject({ spansReceived: 13, spansAccepted: 0, spansDropped: 5 });
    // Analysing releases the queue: room again.
    await call(server, '/aiops/analyze', { method: 'POST' });
    expect((await call(server, '/v1/traces', post(json(fresh(5))))).status).toBe(200);
  });

  it('takes a JSON body that starts with a byte-order mark (RFC 8259: may be ignored)', async () => {
    const server = await testServer();
    const res = await call(server, '/v1/traces', post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json(spans(3)))])));
    expect(res.status, res.text).toBe(200);
    expect(server.status().ingest.spansReceived).toBe(3);
  });

  it('413, not a retryable 429, for a request with more spans than the queue holds even when empty', async () => {
    const server = await testServer({ maxQueuedSpans: 10, traceWaitMs: 60_000 });
    const big = await call(server, '/v1/traces', post(json(spans(11))));
    expect(big.status).toBe(413);
    expect(big.headers.get('retry-after')).toBeNull();
    expect(big.body.error).toMatch(/11 spans in one request, more than the intake queue holds \(10\): send smaller batches/);
    expect(server.status().queue.spans).toBe(0);
    expect((await call(server, '/v1/traces', post(json(spans(10))))).status).toBe(200);
  });

  it('cuts a body that arrives too slowly (408) and keeps serving', async () => {
    const server = await testServer({ requestTimeoutMs: 300 });
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"resourceSpans":');
      });
      let got = '';
      socket.on('data', (d) => (got += d.toString()));
      socket.on('close', () => resolve(got));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect((await call(server, '/v1/traces', post(json(spans(1))))).status).toBe(200);
  });

  it("counts the answers Node.js gives itself by their status: 408 for a body cut by the timeout (not the 400 of an aborted request), 400 for broken framing, 431 for headers over its limit", async () => {
    const server = await testServer({ requestTimeoutMs: 300 });
    /** What the server answers to `text` sent raw, the connection left open until the server closes it. */
    const exchange = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(server.port, '127.0.0.1', () => socket.write(text));
        let got = '';
        socket.on('data', (d) => (got += d.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve(got));
      });
    const slow = await exchange('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"resourceSpans":');
    expect(slow).toMatch(/^HTTP\/1\.1 408 /);
    expect(await exchange('NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(server.status().ingest.requests).toEqual({ 400: 1, 408: 1, 431: 1 });
    const prom = await call(server, '/metrics');
    expect(prom.text).toContain('rootspan_otlp_requests_total{code="408"} 1');
  });

  it('closes a connection that sends nothing, or half a request line, within the request timeout', async () => {
    const server = await testServer({ requestTimeoutMs: 300 });
    const closedAfter = (first: string) =>
      new Promise<number>((resolve) => {
        const started = Date.now();
        const socket = connect(server.port, '127.0.0.1', () => {
          if (first) socket.write(first);
        });
        socket.on('error', () => {});
        // Read, or the server's end of the connection is never taken in and 'close' never comes.
        socket.resume();
        socket.on('close', () => resolve(Date.now() - started));
      });
    const [silent, partial] = await Promise.all([closedAfter(''), closedAfter('G')]);
    // Cut within about the headers timeout (300 ms, checked every 300 ms; the test times out long before "never").
    expect(silent).toBeLessThan(5000);
    expect(partial).toBeLessThan(5000);
    expect((await call(server, '/v1/traces', post(json(spans(1))))).status).toBe(200);
  });

  it('answers 503 with Retry-After to data arriving during shutdown, and still analyses what it accepted before', async () => {
    const server = await testServer();
    expect((await call(server, '/v1/traces', post(json(spans(3))))).status).toBe(200);
    const body = json(spans(2));
    const socket = connect(server.port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // A request whose headers have begun keeps its connection open through close(); it ends after close() began.
    await new Promise<void>((resolve) => socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\n', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = server.close();
    socket.write(`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await ended;
    await closed;
    expect(got).toMatch(/^HTTP\/1\.1 503/);
    expect(got).toMatch(/retry-after: 5/i);
    expect(got).toMatch(/shutting down/);
    const status = server.status();
    expect(status.ingest.requests['503']).toBe(1);
    expect(status.ingest.spansReceived).toBe(3);
    expect(server.analyzer.metrics().some((m) => m.operation === 'GET /x' && m.requests === 3)).toBe(true);
  });

  it('strips query strings and configured attribute keys before anything is stored', async () => {
    const server = await testServer({ redact: { attributes: ['exception.message'] } });
    const s = spans(1, 'GET /search?q=secret-term')[0];
    s.status = 'error';
    s.statusMessage = 'upstream http://api.example.com/v1/pay?token=abc failed';
    s.attributes = { ...s.attributes, 'http.route': '/search?q=x', 'exception.message': 'password=hunter2' };
    const captured: Span[] = [];
    const original = server.analyzer.ingest.bind(server.analyzer);
    server.analyzer.ingest = (list) => {
      captured.push(...(Array.isArray(list) ? list : [list]));
      return original(list);
    };
    expect((await call(server, '/v1/traces', post(json([s])))).status).toBe(200);
    await call(server, '/aiops/analyze', { method: 'POST' });
    expect(captured).toHaveLength(1);
    expect(captured[0].name).toBe('GET /search');
    expect(captured[0].statusMessage).toBe('upstream http://api.example.com/v1/pay failed');
    expect(captured[0].attributes!['http.route']).toBe('/search');
    expect(captured[0].attributes!).not.toHaveProperty('exception.message');
    expect(JSON.stringify(server.analyzer.snapshot())).not.toMatch(/secret-term|hunter2|token=abc/);
  });
});
