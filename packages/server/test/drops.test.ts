/**
 * Spans the analyzer drops, as the exporter and `/aiops/status` see them: a partial success names the ones
 * it is sure to drop, and the counters agree with the analyzer's, each span counted once under one reason.
 */
import { describe, expect, it } from 'vitest';
import type { AnalyzerSnapshot, Span } from '@rootspan/engine';
import { encodeOtlpJson } from '@rootspan/otlp';
import type { RootspanServer, ServerStore } from '@rootspan/server';
import { call, testServer } from './helpers/server.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
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

  it('a span ending over 5 min past the wall clock is named in the partial success and counted once as future', async () => {
    const now = T0 + 10 * MIN;
    const server = await testServer({ now: () => now });
    const res = await post(server, [span(now - 2 * MIN), span(now + 6 * MIN), span(now - MIN)]);
    expect(res.status).toBe(200);
    expect(res.body.partialSuccess.rejectedSpans).toBe('1');
    expect(res.body.partialSuccess.errorMessage).toMatch(/^span \w+ ends at 2026-01-01T00:16:00.000Z, more than 5 min past the receiver's clock .*dropped as future$/);
    await call(server, '/aiops/analyze', { method: 'POST' });
    expect(counts(server)).toMatchObject({ received: 3, accepted: 2, dropped: 1, drops: { future: 1 } });
  });

  it('a span ending long before the analysis event time is named in the partial success and counted once as late; decode problems come first', async () => {
    const server = await testServer();
    expect((await post(server, Array.from({ length: 20 }, (_, i) => span(T0 + i * 1000)))).status).toBe(200);
    await call(server, '/aiops/analyze', { method: 'POST' });
    const request = encodeOtlpJson([span(T0 + 20_000), span(T0 - MIN), span(T0 + 19_000)]) as any;
    request.resourceSpans[0].scopeSpans[0].spans[2].traceId = 'zz';
    const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    expect(res.status).toBe(200);
    expect(res.body.partialSuccess.rejectedSpans).toBe('2');
    const [problem, late] = res.body.partialSuccess.errorMessage.split('; ');
    expect(problem).toMatch(/spans\[2\]/);
    expect(late).toMatch(/^span \w+ ends at 2025-12-31T23:59:00.000Z, more than 32 s before the analysis's event time \(2026-01-01T00:00:19.000Z\): dropped as late$/);
    await call(server, '/aiops/analyze', { method: 'POST' });
    expect(counts(server)).toMatchObject({ received: 23, accepted: 21, dropped: 2, drops: { late: 1, malformed: 1 } });
    expect(server.analyzer.stats().droppedBy.late).toBe(0);
  });
});
