import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { MAX_LINKS, type Span } from '@rootspan/engine';
import { OtlpDecodeError, decodeOtlpProtobuf, readOtlpStream, type DecodeProblem, type ReadOtlpOptions } from '@rootspan/otlp';
import { LEN, attribute, cat, linkBytes, message, request, resource, resourceWith, scope, spanBytes, tag, writer as w } from './helpers/protobuf-wire.js';
import { SpanKind, sdkService } from './helpers/sdk.js';
import { linksOf } from '../src/protobuf.js';

function chunked(data: Uint8Array, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(Buffer.from(data.subarray(i, i + size)));
  return Readable.from(parts, { objectMode: false });
}

async function read(data: Uint8Array, options: ReadOtlpOptions = {}, size = 1 << 20) {
  const out = { spans: [] as Span[], problems: [] as DecodeProblem[], bytes: 0 };
  for await (const b of readOtlpStream(chunked(data, size), { format: 'protobuf', ...options })) {
    out.spans.push(...b.spans);
    out.problems.push(...b.problems);
    out.bytes += b.bytes;
  }
  return out;
}

const names = (spans: Span[]) => spans.map((s) => `${s.service}/${s.name}`);

describe('streaming protobuf reader', () => {
  it('decodes at most a million messages of a request held in memory (a server body); files have no such limit', async () => {
    const api = sdkService({ 'service.name': 'api' });
    api.span('GET /', { kind: SpanKind.SERVER, start: 1_700_000_000_000, end: 1_700_000_000_009 });
    const good = ProtobufTraceSerializer.serializeRequest(api.finished())!;
    // The good request's span, then two million empty resourceSpans.
    const bomb = cat(good, Buffer.alloc(4_000_000, Buffer.from([0x0a, 0x00])));
    const r = decodeOtlpProtobuf(bomb);
    expect(r.spans).toHaveLength(1);
    expect(r.problems.map((p) => p.message)).toEqual([expect.stringMatching(/more than 1000000 messages in one request\), the rest of the input skipped$/)]);
    const file = await read(cat(good, Buffer.alloc(2_400_000, Buffer.from([0x0a, 0x00])), good), {}, 1 << 20);
    expect(file.problems).toEqual([]);
    expect(file.spans).toHaveLength(2);
  });

  it('decodes SDK output exactly as the whole-message decoder does, in any chunking, gzipped or not', async () => {
    const api = sdkService({ 'service.name': 'api', 'service.version': '2.0.0' });
    const db = sdkService({ 'service.name': 'db' });
    for (let i = 0; i < 30; i++) {
      const root = api.span(`GET /r${i % 3}`, { kind: SpanKind.SERVER, start: 1_700_000_000_000 + i * 10, end: 1_700_000_000_009 + i * 10 });
      db.span('SELECT', { kind: SpanKind.CLIENT, start: 1_700_000_000_001 + i * 10, end: 1_700_000_000_002 + i * 10, parent: root, attributes: { 'db.system': 'pg' } });
    }
    const bytes = ProtobufTraceSerializer.serializeRequest([...api.finished(), ...db.finished()])!;
    const whole = decodeOtlpProtobuf(bytes);
    expect(whole.spans).toHaveLength(60);
    for (const size of [1, 2, 7, 100, 1 << 20]) {
      const r = await read(bytes, {}, size);
      expect(r.problems).toEqual([]);
      expect(r.spans).toEqual(whole.spans);
      expect(r.bytes).toBe(bytes.length);
    }
    const gz = gzipSync(bytes);
    expect((await read(gz, {}, 3)).spans).toEqual(whole.spans);
    // concatenated requests are one request (protobuf merges repeated fields)
    expect((await read(cat(bytes, bytes), { batchSize: 7 })).spans).toEqual([...whole.spans, ...whole.spans]);
  });

  it('skips a span over the record limit, or one that does not decode, and keeps the rest', async () => {
    const big = spanBytes(2, { name: 'x'.repeat(5000) });
    const broken = cat(spanBytes(3), Buffer.from([tag(9, 7)])); // wire type 7 does not exist
    const data = request([resource('svc'), scope(spanBytes(1), big, broken, spanBytes(4))]);
    const r = await read(data, { maxRecordBytes: 4096 }, 100);
    expect(names(r.spans)).toEqual(['svc/op1', 'svc/op4']);
    expect(r.problems).toEqual([
      { message: `resourceSpans[0].scopeSpans[0].spans[1]: ${big.length} bytes, over the 4096-byte record limit, skipped` },
      { message: expect.stringMatching(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[2\]: invalid protobuf \(.+\)$/) },
    ]);
    expect(r.bytes).toBe(data.length);
  });

  it('reports a span with bad fields with its path, as the JSON decoder does', async () => {
    const noTrace = w().uint32(tag(2, LEN)).bytes(Buffer.from('00000000000000aa', 'hex')).finish();
    const r = await read(request([resource('svc'), scope(spanBytes(1), noTrace)]));
    expect(names(r.spans)).toEqual(['svc/op1']);
    expect(r.problems).toEqual([{ message: 'resourceSpans[0].scopeSpans[0].spans[1] (spanId 00000000000000aa): missing traceId' }]);
  });

  it('stops reading an endless input at broken framing, or past megabytes of zero bytes, and lets the source go', async () => {
    let released = 0;
    /** An endless source of `chunk`s, as a device or a pipe from one (`/dev/urandom`, `/dev/zero`). */
    async function* endless(chunk: Buffer): AsyncGenerator<Buffer> {
      try {
        for (;;) yield chunk;
      } finally {
        released++;
      }
    }
    const garbage = { spans: 0, problems: [] as DecodeProblem[] };
    for await (const b of readOtlpStream(endless(Buffer.from('\u000fgarbage')), { format: 'protobuf' })) garbage.problems.push(...b.problems);
    expect(garbage.problems).toEqual([{ message: 'invalid protobuf at byte 1 (wire type 7 for field 1), the rest of the input skipped' }]);
    const zeros: DecodeProblem[] = [];
    for await (const b of readOtlpStream(endless(Buffer.alloc(1 << 16)), { format: 'protobuf' })) zeros.push(...b.problems);
    expect(zeros).toEqual([{ message: expect.stringMatching(/^invalid protobuf at byte \d+ \(4194308 bytes of zeros, not OTLP\), the rest of the input skipped$/) }]);
    expect(released).toBe(2);
  });

  it('ends at broken framing with one problem, keeping what came before', async () => {
    const data = request([resource('svc'), scope(spanBytes(1), spanBytes(2))], [resource('other'), scope(spanBytes(3))]);
    const cut = data.subarray(0, data.length - 10);
    const r = await read(cut, {}, 16);
    expect(names(r.spans)).toEqual(['svc/op1', 'svc/op2']);
    expect(r.problems).toEqual([{ message: expect.stringMatching(/^invalid protobuf at byte \d+ \(truncated\), the rest of the input skipped$/) }]);
    expect(r.bytes).toBe(cut.length);
    // a length running past its parent
    const overrun = cat(Buffer.from([tag(1, LEN), 3, tag(2, LEN), 100]), Buffer.alloc(50));
    expect((await read(overrun)).problems).toEqual([
      { message: 'invalid protobuf at byte 4 (a length runs past the end of its message), the rest of the input skipped' },
    ]);
    // a wild length (2^32, a varint past 32 bits) in a request held whole: named, not read on into what follows
    const wild = cat(request([resource('svc'), scope(spanBytes(1))]), Buffer.from([tag(1, LEN), 0x80, 0x80, 0x80, 0x80, 0x10]), Buffer.alloc(10));
    const held = decodeOtlpProtobuf(wild);
    expect(names(held.spans)).toEqual(['svc/op1']);
    expect(held.problems).toEqual([
      { message: `invalid protobuf at byte ${wild.length - 10} (truncated: a length of 4294967296 bytes, 10 left), the rest of the input skipped` },
    ]);
    // not protobuf at all
    expect((await read(Buffer.from('\u000fgarbage'))).problems).toEqual([
      { message: 'invalid protobuf at byte 1 (wire type 7 for field 1), the rest of the input skipped' },
    ]);
  });

  it("reads the Collector file exporter's format: proto (requests after 4-byte lengths), containing damage to one", async () => {
    const frame = (body: Uint8Array) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      return cat(head, body);
    };
    const one = request([resource('a'), scope(spanBytes(1), spanBytes(2))]);
    const broken = cat(request([resource('b'), scope(spanBytes(3))]), Buffer.from([tag(5, 7)]));
    const three = request([resource('c'), scope(spanBytes(4))]);
    // Empty requests (a zero length) hold nothing and cost no walk each: a gzip of zeros is a billion of them.
    const data = cat(frame(one), frame(broken), Buffer.alloc(4 * 1000), frame(three));
    for (const size of [3, 1 << 20]) {
      const r = await read(data, {}, size);
      expect(names(r.spans)).toEqual(['a/op1', 'a/op2', 'b/op3', 'c/op4']);
      expect(r.problems).toEqual([{ message: `[1]: invalid protobuf at byte ${8 + one.length + broken.length} (wire type 7 for field 5), the rest of this request skipped` }]);
      expect(r.bytes).toBe(data.length);
    }
    expect(decodeOtlpProtobuf(data).spans).toHaveLength(4);
    // cut inside the last request: what came before, one problem
    const cut = await read(data.subarray(0, data.length - 3));
    expect(names(cut.spans)).toEqual(['a/op1', 'a/op2', 'b/op3']);
    expect(cut.problems).toEqual([
      { message: `[1]: invalid protobuf at byte ${8 + one.length + broken.length} (wire type 7 for field 5), the rest of this request skipped` },
      { message: expect.stringMatching(/^invalid protobuf at byte \d+ \(truncated\), the rest of the input skipped$/) },
    ]);
  });

  it('skips unknown fields of every wire type, groups included', async () => {
    const unknown = cat(
      w().uint32(tag(7, 0)).uint64(12345).finish(),
      w().uint32(tag(8, 1)).fixed64(1).finish(),
      w().uint32(tag(9, 5)).fixed32(1).finish(),
      message(10, Buffer.from('schema')),
      Buffer.from([tag(11, 3), tag(12, 3), tag(1, 0), 5, tag(12, 4), tag(11, 4)]),
    );
    const data = cat(unknown, request([unknown, resource('svc'), unknown, scope(spanBytes(1)), unknown]), unknown);
    const r = await read(data, {}, 5);
    expect(r.problems).toEqual([]);
    expect(names(r.spans)).toEqual(['svc/op1']);
  });

  it('reads spans that come before their resource, and says so', async () => {
    const r = await read(request([scope(spanBytes(1)), resource('svc'), scope(spanBytes(2))]));
    expect(names(r.spans)).toEqual(['unknown_service/op1', 'svc/op2']);
    expect(r.problems).toEqual([{ message: 'resourceSpans[0]: its resource comes after 1 of its spans, which were read with service unknown_service' }]);
  });

  it('reads the instance from the resource: service.instance.id, else host.name/process.pid (an int_value)', async () => {
    const data = request(
      [resourceWith(attribute('service.name', 'a'), attribute('host.name', 'h'), attribute('process.pid', 4242), attribute('service.instance.id', 'i-1')), scope(spanBytes(1))],
      [resourceWith(attribute('service.name', 'b'), attribute('process.pid', 4242), attribute('host.name', 'h')), scope(spanBytes(2))],
      [resourceWith(attribute('service.name', 'c'), attribute('service.instance.id', ''), attribute('host.name', 'h')), scope(spanBytes(3))],
      [resourceWith(attribute('service.name', 'd'), attribute('process.pid', 7)), scope(spanBytes(4))],
      [resource('e'), scope(spanBytes(5))],
    );
    const whole = decodeOtlpProtobuf(data);
    expect(whole.problems).toEqual([]);
    expect(whole.spans.map((s) => [s.service, s.instance])).toEqual([['a', 'i-1'], ['b', 'h/4242'], ['c', 'h'], ['d', '7'], ['e', undefined]]);
    for (const size of [3, 1 << 20]) expect((await read(data, {}, size)).spans).toEqual(whole.spans);
  });

  it('stops at the first problem in strict mode', async () => {
    const data = request([resource('svc'), scope(spanBytes(1), w().uint32(tag(2, LEN)).bytes(Buffer.alloc(3)).finish(), spanBytes(3))]);
    await expect(read(data, { strict: true, name: 'x.pb' })).rejects.toThrow(OtlpDecodeError);
    await expect(read(data, { strict: true, name: 'x.pb' })).rejects.toThrow(/^x\.pb: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]/);
  });
});

describe('protobuf span links (Span field 13)', () => {
  const hex = (h: string) => Buffer.from(h, 'hex');
  const T1 = '5b8efff798038103d269b633813fc60c';
  const T2 = '0af7651916cd43dd8448eb211c80319d';
  const good = [linkBytes(hex(T1), hex('eee19b7ec3c1b174'), message(3, Buffer.from('a=b'))), linkBytes(hex(T2), hex('00f067aa0ba902b7'), w().uint32(tag(6, 5)).fixed32(257).finish())];
  const want = [
    { traceId: T1, spanId: 'eee19b7ec3c1b174' },
    { traceId: T2, spanId: '00f067aa0ba902b7' },
  ];
  const bad = [
    linkBytes(undefined, hex('eee19b7ec3c1b174')),
    linkBytes(hex(T1), undefined),
    linkBytes(Buffer.alloc(16), hex('eee19b7ec3c1b174')),
    linkBytes(hex(T1), Buffer.alloc(8)),
    linkBytes(hex(`${T1}00`), hex('eee19b7ec3c1b174')),
    // A link whose own bytes do not decode (a length past its end): only it is lost.
    message(13, Buffer.from([tag(1, LEN), 40, 1, 2])),
  ];
  const consumer = (i: number, ...links: Uint8Array[]) => spanBytes(i, { kind: 5, extra: cat(...links) });

  async function both(data: Uint8Array): Promise<Span[]> {
    const whole = decodeOtlpProtobuf(data);
    expect(whole.problems).toEqual([]);
    const streamed = await read(data, {}, 7);
    expect(streamed.problems).toEqual([]);
    expect(streamed.spans).toEqual(whole.spans);
    return whole.spans;
  }

  it("keeps a consumer span's links in order, skipping those without valid, non-zero ids; other kinds keep none", async () => {
    const spans = await both(
      request([
        resource('svc'),
        scope(
          consumer(1, bad[0], good[0], ...bad, good[1], bad[1]),
          spanBytes(2, { kind: 4, extra: cat(...good) }),
          spanBytes(3, { kind: 2, extra: cat(...good) }),
          spanBytes(4, { extra: cat(...good) }),
          consumer(5),
          consumer(6, ...bad),
        ),
      ]),
    );
    expect(spans.map((s) => [s.name, s.links])).toEqual([
      ['op1', want],
      ['op2', undefined],
      ['op3', undefined],
      ['op4', undefined],
      ['op5', undefined],
      ['op6', undefined],
    ]);
  });

  it('keeps the first MAX_LINKS (128) links, and those around a field 13 of another wire type', async () => {
    const many = Array.from({ length: 130 }, (_, i) => linkBytes(hex(T1), hex((i + 1).toString(16).padStart(16, '0'))));
    // Field 13 as a varint or fixed32: skipped, no link of it.
    const notLinks = cat(w().uint32(tag(13, 0)).uint32(300).finish(), w().uint32(tag(13, 5)).fixed32(300).finish());
    const spans = await both(request([resource('svc'), scope(consumer(1, bad[2], ...many), consumer(2, good[0], notLinks, good[1]))]));
    expect(spans[0].links).toHaveLength(MAX_LINKS);
    expect(spans[0].links?.map((l) => l.spanId)).toEqual(Array.from({ length: 128 }, (_, i) => (i + 1).toString(16).padStart(16, '0')));
    expect(spans[1].links).toEqual(want);
  });

  it('reads no more of a span\'s links than it keeps: 200,000 empty links hold no object each', async () => {
    // 200,000 links without ids (two bytes each), then 130 with: an object per link read was kept for every one.
    const empty = message(13, new Uint8Array(0));
    const empties = (n: number) => Buffer.alloc(n * empty.length).fill(empty);
    const record = spanBytes(1, { kind: 5, extra: cat(empties(200_000), ...Array.from({ length: 130 }, (_, i) => linkBytes(hex(T1), hex((i + 1).toString(16).padStart(16, '0'))))) });
    const links = linksOf(record);
    expect(links).toHaveLength(MAX_LINKS);
    expect(linksOf(spanBytes(2, { kind: 5, extra: empties(1000) }))).toBeUndefined();
    const [span] = await both(request([resource('svc'), scope(record)]));
    expect(span.links).toHaveLength(MAX_LINKS);
  });
});
