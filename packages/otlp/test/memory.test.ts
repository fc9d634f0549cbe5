import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { encodeOtlpJson, readOtlpFile } from '@rootspan/otlp';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'rootspan-otlp-mem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TARGET_BYTES = 50 * 1024 * 1024;
const SPANS_PER_LINE = 25;

/** Writes a ~50 MB Collector-style JSONL file; returns its path and span count. */
async function writeBigFile(): Promise<{ path: string; spans: number }> {
  const path = join(dir, 'big.jsonl');
  const out = createWriteStream(path);
  let written = 0;
  let n = 0;
  while (written < TARGET_BYTES) {
    const batch: Span[] = [];
    for (let i = 0; i < SPANS_PER_LINE; i++, n++) {
      batch.push({
        traceId: (Math.floor(n / 5) + 1).toString(16).padStart(32, '0'),
        spanId: (n + 1).toString(16).padStart(16, '0'),
        parentSpanId: n % 5 === 0 ? undefined : (n - (n % 5) + 1).toString(16).padStart(16, '0'),
        service: `service-${n % 7}`,
        serviceVersion: '1.0.0',
        name: n % 5 === 0 ? 'GET /api/orders/:id' : 'SELECT orders',
        kind: n % 5 === 0 ? 'server' : 'client',
        startTime: 1_700_000_000_000 + n * 0.5,
        endTime: 1_700_000_000_000 + n * 0.5 + 12.345678,
        status: n % 97 === 0 ? 'error' : 'unset',
        attributes: {
          'http.request.method': 'GET',
          'http.route': '/api/orders/:id',
          'http.response.status_code': n % 97 === 0 ? 500 : 200,
          'db.system': 'postgresql',
          'server.address': 'orders-db.internal',
          'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
        },
      });
    }
    const line = `${JSON.stringify(encodeOtlpJson(batch))}\n`;
    written += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return { path, spans: n };
}

it('streams a ~50 MB JSONL file with bounded memory', async () => {
  const { path, spans } = await writeBigFile();
  const size = statSync(path).size;
  gc();
  const base = process.memoryUsage().heapUsed;
  let maxLive = 0;
  let count = 0;
  let batches = 0;
  let bytes = 0;
  const t0 = performance.now();
  for await (const batch of readOtlpFile(path)) {
    count += batch.spans.length;
    bytes += batch.bytes;
    if (++batches % 25 === 0) {
      gc();
      maxLive = Math.max(maxLive, process.memoryUsage().heapUsed - base);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `streamed ${(size / 1048576).toFixed(1)} MB, ${count} spans in ${seconds.toFixed(2)} s ` +
      `(${(size / 1048576 / seconds).toFixed(0)} MB/s); max live heap growth ${(maxLive / 1048576).toFixed(1)} MB`,
  );
  expect(count).toBe(spans);
  expect(bytes).toBe(size);
  expect(batches).toBeGreaterThan(50);
  // The whole file as a string alone would be >= 50 MB of heap; streaming keeps a few batches.
  expect(maxLive).toBeLessThan(size / 5);
}, 60_000);
