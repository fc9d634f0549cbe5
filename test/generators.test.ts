/**
 * Traces from load generators rather than instrumented services: `telemetrygen` (the Collector's) records
 * each trace as a `lets-go` client span and its `okey-dokey-0` server child, both under one service, the
 * client naming its peer `telemetrygen-server`, every span the same length. Healthy traffic (even of
 * zero-length spans) opens nothing; a fault opens one incident, on the request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '@rootspan/eval';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-generators-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Fault = 'none' | 'slow' | 'error';

/** Three minutes of telemetrygen traces at 50 per second, as its OTLP/JSON export; the fault from 90 s on. */
function telemetrygen(name: string, durationMs: number, fault: Fault): string {
  const t0 = Date.UTC(2026, 10, 30, 12);
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  const attrs = (peer: string) => [
    { key: 'net.peer.ip', value: { stringValue: '1.2.3.4' } },
    { key: 'peer.service', value: { stringValue: peer } },
  ];
  let id = 1;
  const lines: string[] = [];
  for (let s = 0; s < 180; s++) {
    const spans: unknown[] = [];
    for (let k = 0; k < 50; k++) {
      const start = (t0 + s * 1000 + k * 20) * 1e6;
      const faulty = s >= 90;
      const end = start + Math.round((faulty && fault === 'slow' ? 20 * durationMs : durationMs) * 1e6);
      const status = faulty && fault === 'error' && k % 3 === 0 ? { code: 2, message: 'boom' } : {};
      const traceId = hex(id++, 32);
      const client = hex(id++, 16);
      const times = { startTimeUnixNano: String(start), endTimeUnixNano: String(end) };
      spans.push({ traceId, spanId: client, name: 'lets-go', kind: 3, ...times, attributes: attrs('telemetrygen-server'), status });
      spans.push({ traceId, spanId: hex(id++, 16), parentSpanId: client, name: 'okey-dokey-0', kind: 2, ...times, attributes: attrs('telemetrygen-client'), status });
    }
    lines.push(JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'telemetrygen' } }] }, scopeSpans: [{ scope: { name: 'telemetrygen' }, spans }] }] }));
  }
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('telemetrygen traces', () => {
  it.each([0, 0.123, 1])('healthy traffic of %s ms spans opens no incident', async (ms) => {
    const report = await analyzeFile(telemetrygen(`healthy-${ms}`, ms, 'none'));
    expect(report.summary.spans).toBe(18_000);
    expect(report.incidents).toEqual([]);
  });

  it.each([
    ['slow', 'latency'],
    ['error', 'errors'],
  ] as const)('a %s fault opens one incident, rooted in okey-dokey-0 (the request), not two', async (fault, kind) => {
    const report = await analyzeFile(telemetrygen(fault, 0.5, fault));
    expect(report.incidents).toHaveLength(1);
    expect(report.incidents[0].rootCause).toMatchObject({ service: 'telemetrygen', operation: 'okey-dokey-0', kind });
  });
});
