/**
 * Spans whose parent has not ended when their trace is released: `@fastify/otel`'s handler span outlives its
 * request when the client gives up (instrumentation-http ends the server span then) while the handler waits
 * on a pool. The calls made under it are still the request's.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Anomaly, Span } from '../src/types.js';
import { TraceBuilder, span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);

/** One request: server span, fastify's handler span (left out while `open`), a cache read under it, then `ms` of wait. */
function request(at: number, ms: number, open: boolean): Span[] {
  const b = new TraceBuilder();
  const server = b.server('api', '/products/:id', at, at + ms);
  const handler = span({ traceId: b.traceId, parentSpanId: server.spanId, service: 'api', name: 'handler - fastify -> @fastify/otel', kind: 'internal', startTime: at + 0.2, endTime: at + ms - 0.1 });
  if (!open) b.spans.push(handler);
  b.spans.push(span({ traceId: b.traceId, parentSpanId: handler.spanId, service: 'api', name: 'get', kind: 'client', startTime: at + 0.3, endTime: at + 0.6, attributes: { 'db.system': 'redis', 'db.statement': 'get product:7', 'server.address': 'cache', 'server.port': 6379 } }));
  return b.spans;
}

describe('a call whose parent span has not ended when its trace is released', () => {
  it("is its request's: a wait after a cache read is not blamed on the cache, nor read as the read missing", () => {
    const a = createAnalyzer();
    const anomalies: Anomaly[] = [];
    a.onAnomaly((x) => anomalies.push(x));
    for (let s = 0; s < 300; s++) {
      const batch: Span[] = [];
      // From 4 min on, requests wait 10 s (a pool held by a lock) and their handler spans end a minute later.
      for (let i = 0; i < 10; i++) batch.push(...request(T0 + s * 1000 + i * 100, s >= 240 ? 10_000 : 2 + (i % 3), s >= 240));
      a.ingest(batch);
      a.advanceTo(T0 + (s + 1) * 1000);
    }
    a.flush();
    const slow = anomalies.filter((x) => x.kind === 'latency' && x.service === 'api');
    expect(slow.length).toBeGreaterThan(0);
    for (const x of slow) expect(x.cause.service).toBe('api');
    expect(anomalies.filter((x) => x.kind === 'shape')).toEqual([]);
  });
});
