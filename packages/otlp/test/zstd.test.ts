/** zstd inputs: streams, frames, and the Collector file exporter's `compression: zstd` framing. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { encodeOtlpJson, readOtlpFile, type DecodeProblem } from '@rootspan/otlp';
import type { Span } from '@rootspan/engine';
import { nodeBinary } from '../../otel/test/helpers/node-runtime.js';
import { SpanKind, sdkService } from './helpers/sdk.js';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-zstd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function';

/** Two server spans per request, ids `<request><n>`. */
function request(r: number): Span[] {
  return [0, 1].map((n) => ({
    traceId: `${r}`.padStart(32, 'a'),
    spanId: `${r}${n}`.padStart(16, 'b'),
    service: 'svc',
    name: 'GET /x',
    kind: 'server' as const,
    startTime: 1_700_000_000_000 + r * 10 + n,
    endTime: 1_700_000_000_005 + r * 10 + n,
    attributes: { 'http.route': '/x' },
  }));
}

async function read(path: string): Promise<{ spans: string[]; problems: DecodeProblem[]; error?: string }> {
  const spans: string[] = [];
  const problems: DecodeProblem[] = [];
  try {
    for await (const b of readOtlpFile(path)) {
      spans.push(...b.spans.map((s) => s.spanId));
      problems.push(...b.problems);
    }
  } catch (err) {
    return { spans, problems, error: (err as Error).message };
  }
  return { spans, problems };
}

describe('zstd input', () => {
  it.skipIf(hasZstd)('fails on a Node.js without zstd, naming the version it needs (whatever the file is named)', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/trace.json.zst', import.meta.url));
    const renamed = join(dir, 'trace.bin');
    writeFileSync(renamed, readFileSync(fixture));
    for (const path of [fixture, renamed]) {
      const r = await read(path);
      expect(r.spans).toEqual([]);
      expect(r.error).toBe(`zstd-compressed input needs Node.js 22.15 or later (this is ${process.version}): decompress it first (zstd -d)`);
    }
  });

  it('on Node.js 24: streams, frames in a row, the file exporter legacy and native framings, damaged and cut-off inputs', { timeout: 120_000 }, () => {
    const lines = [0, 1, 2].map((r) => JSON.stringify(encodeOtlpJson(request(r))));
    const protos = [0, 1].map((r) => {
      const svc = sdkService({ 'service.name': 'pb' });
      svc.span(`GET /${r}a`, { kind: SpanKind.SERVER, start: 1_700_000_000_000, end: 1_700_000_000_100 });
      svc.span(`GET /${r}b`, { kind: SpanKind.SERVER, start: 1_700_000_000_200, end: 1_700_000_000_300 });
      const finished = svc.finished();
      return { bytes: Buffer.from(ProtobufTraceSerializer.serializeRequest(finished)!), ids: finished.map((s) => s.spanContext().spanId) };
    });
    writeFileSync(join(dir, 'requests.json'), JSON.stringify({ lines, protos: protos.map((p) => p.bytes.toString('base64')) }));
    const child = fileURLToPath(new URL('./helpers/zstd-read.mjs', import.meta.url));
    const out = execFileSync(nodeBinary(24), [child, dir], { encoding: 'utf8', timeout: 60_000 });
    const results = JSON.parse(out) as Record<string, { spans: string[]; problems: DecodeProblem[]; error?: string }>;
    const ids = (...rs: number[]) => rs.flatMap((r) => request(r).map((s) => s.spanId));
    const all = { spans: ids(0, 1, 2), problems: [] };
    expect(results['stream.jsonl.zst']).toEqual(all);
    expect(results['stream.data']).toEqual(all);
    expect(results['frames.jsonl.zst']).toEqual(all);
    expect(results['legacy-json.json']).toEqual(all);
    const protoIds = protos.flatMap((p) => p.ids);
    expect(protoIds).toHaveLength(4);
    expect(results['legacy-proto.pb']).toEqual({ spans: protoIds, problems: [] });
    expect(results['native-proto.pb']).toEqual({ spans: protoIds, problems: [] });
    expect(results['legacy-damaged.json'].spans).toEqual(ids(0, 2));
    expect(results['legacy-damaged.json'].problems).toEqual([{ message: expect.stringMatching(/^zstd: record 1: .*, skipped$/), kind: 'decompression' }]);
    expect(results['truncated.jsonl.zst'].error).toBeUndefined();
    expect(results['truncated.jsonl.zst'].problems.at(-1)).toMatchObject({ message: expect.stringMatching(/^zstd: /), kind: 'decompression' });
    expect(results['legacy-truncated.json']).toEqual({ spans: ids(0), problems: [{ message: 'zstd: record 1 cut off at the end of the input', kind: 'decompression' }] });
  });
});
