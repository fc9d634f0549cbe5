/** Spans the analyzer drops, as `/aiops/status` sees them: the counters agree with the analyzer's, each span counted once under one reason. */
import { describe, expect, it } from 'vitest';
import type { AnalyzerSnapshot, Span } from '@rootspan/engine';
import { encodeOtlpJson } from '@rootspan/otlp';
import type { RootspanServer, ServerStore } from '@rootspan/server';
import { call, testServer } from './helpers/server.js';

const T0 = Date.UTC(2026, 0, 1);
let counter = 0;

/** A server span of one trace of its own, ending at `end`. */
function span(end: number): Span {
  counter++;
  return {
    traceId: counter.toString(16).padStart(32, 'c'),
    spanId: counter.toString(16).padStart(16, 'd'),
    service: 'svc',
    name: 'GET /x',
    kind: 'server',
    startTime: end - 10,
    endTime: end,
    attributes: { 'http.request.method': 'GET', 'http.route': '/x', 'http.response.status_code': 200 },
  };
}

const post = (server: RootspanServer, spans: Span[]) =>
  call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(spans)) });

/** The status counters, checked to add up: every span once, the drops by reason summing to `spansDropped`. */
function counts(server: RootspanServer) {
  const { ingest, drops, queue } = server.status();
  expect(Object.values(drops).reduce((a, b) => a + b, 0)).toBe(ingest.spansDropped);
  expect(ingest.spansAccepted + ingest.spansDropped + queue.spans).toBe(ingest.spansReceived);
  return { received: ingest.spansReceived, accepted: ingest.spansAccepted, dropped: ingest.spansDropped, drops };
}

describe('dropped spans', () => {
  it('a replay whose first span is from 1970: the spans the analyzer held as future and took later count as accepted, not dropped', async () => {
    const server = await testServer();
    // The 1970 span starts event time; the next 15 are held as `future` until the 16th in a row moves it.
    expect((await post(server, [span(T0), span(1000)])).status).toBe(200);
    expect((await post(server, Array.from({ length: 40 }, (_, i) => span(T0 + 100 * (i + 1))))).status).toBe(200);
    expect((await call(server, '/aiops/analyze', { method: 'POST' })).status).toBe(200);
    const stats = server.analyzer.stats();
    expect(stats).toMatchObject({ accepted: 42, dropped: 0 });
    expect(counts(server)).toMatchObject({ received: 42, accepted: 42, dropped: 0 });
    const metrics = (await call(server, '/metrics')).text;
    expect(metrics).toContain('rootspan_spans_accepted_total 42');
    expect(metrics).toContain('rootspan_spans_dropped_total{reason="future"} 0');
  });

  it('after a restart on saved state, the counts are of this process: the drops by reason still add up', async () => {
    let saved: AnalyzerSnapshot | undefined;
    const store: ServerStore = {
      location: 'memory-test',
      loadSnapshot: () => saved,
      write: (b) => {
        if (b.snapshot) saved = b.snapshot;
      },
      close: () => {},
    };
    const first = await testServer({ store });
    const spans = Array.from({ length: 5 }, (_, i) => span(T0 + i * 1000));
    await post(first, spans);
    // Sent again: the analyzer drops them as duplicates.
    await post(first, spans);
    await call(first, '/aiops/analyze', { method: 'POST' });
    expect(counts(first)).toMatchObject({ received: 10, accepted: 5, dropped: 5, drops: { duplicate: 5 } });
    await first.close();
    const second = await testServer({ store });
    expect(second.analyzer.stats().droppedBy.duplicate).toBe(5);
    expect(counts(second)).toMatchObject({ received: 0, accepted: 0, dropped: 0, drops: { duplicate: 0 } });
  });
});
