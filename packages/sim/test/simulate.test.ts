import { describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { scenarioByName, SIM_EPOCH, simulate, simulateBatches } from '@rootspan/sim';
import { at, byTrace, duration, errorRate, isTimeout, median, MIN, serverSpans, shop, structuralProblems } from './helpers.js';

describe('determinism', () => {
  it('same seed gives byte-identical output; another seed differs', () => {
    const s = shop({ durationMs: 3 * MIN });
    const a = JSON.stringify(simulate(s));
    expect(JSON.stringify(simulate(s))).toBe(a);
    expect(JSON.stringify(simulate(s, { seed: 43 }))).not.toBe(a);
  });

  it('the incremental generator yields exactly what simulate returns', () => {
    const s = shop({ durationMs: 3 * MIN });
    const r = simulate(s);
    const batches = [...simulateBatches(s)];
    expect(batches.map((b) => b.spans)).toEqual(r.batches);
    expect(batches.map((b) => b.flushAt)).toEqual(r.flushTimes);
  });

  it('starts at the fixed epoch, or a given start with the truth shifted', () => {
    const s = scenarioByName('shop-payment-errors')!;
    const r = simulate(s, { durationMs: 2 * MIN });
    expect(Math.min(...r.spans.map((x) => x.startTime))).toBeGreaterThanOrEqual(SIM_EPOCH);
    const shifted = simulate(s, { durationMs: 2 * MIN, startTime: SIM_EPOCH + 1000 });
    expect(shifted.spans[0].startTime).toBeCloseTo(r.spans[0].startTime + 1000, 3);
    expect(shifted.truth.faults[0].startMs).toBe(s.truth.faults[0].startMs + 1000);
  });
});

describe('structure', () => {
  it('emits OpenTelemetry-like server, HTTP client and db spans', () => {
    const { spans } = simulate(shop({ durationMs: 2 * MIN }));
    const root = spans.find((s) => !s.parentSpanId && s.name === 'POST /checkout')!;
    expect(root).toMatchObject({ service: 'frontend', serviceVersion: '2.3.1', kind: 'server', status: 'unset' });
    expect(root.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/checkout', 'http.response.status_code': 200 });
    const client = spans.find((s) => s.kind === 'client' && s.attributes?.['server.address'] === 'payment')!;
    expect(client).toMatchObject({ service: 'checkout', name: 'POST' });
    expect(client.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.port': 8080, 'http.response.status_code': 200 });
    const child = spans.find((s) => s.parentSpanId === client.spanId)!;
    expect(child).toMatchObject({ service: 'payment', name: 'POST /payment', kind: 'server', traceId: client.traceId });
    const dbSpan = spans.find((s) => s.attributes?.['db.system'] === 'postgresql')!;
    expect(dbSpan).toMatchObject({ kind: 'client', name: expect.stringMatching(/^(SELECT|INSERT|UPDATE) \w+$/) });
    expect(dbSpan.attributes).toMatchObject({ 'server.address': 'postgres', 'server.port': 5432 });
  });

  it('every scenario of the catalogue is structurally valid', () => {
    for (const name of ['shop-payment-errors', 'shop-inventory-hang', 'shop-shipping-hidden-timeouts', 'media-cdn-slow-deep', 'bank-ledger-ramp', 'shop-payment-intermittent']) {
      const { spans } = simulate(scenarioByName(name)!);
      expect(structuralProblems(spans), name).toEqual([]);
    }
  });

  it('parallel calls overlap and the caller waits for the slowest', () => {
    const { spans } = simulate(shop({ durationMs: 2 * MIN }));
    const ids = new Map(spans.map((s) => [s.spanId, s]));
    let checked = 0;
    for (const cs of serverSpans(spans, 'checkout', 'POST /checkout')) {
      const calls = spans.filter((s) => s.parentSpanId === cs.spanId && (s.attributes?.['server.address'] === 'inventory' || s.name === 'GET'));
      const reserve = calls.find((s) => s.attributes?.['server.address'] === 'inventory');
      const quote = calls.find((s) => s.attributes?.['server.address'] === 'shipping' && s.name === 'GET');
      if (!reserve || !quote) continue;
      expect(Math.abs(reserve.startTime - quote.startTime)).toBeLessThan(1);
      const payment = spans.find((s) => s.parentSpanId === cs.spanId && s.attributes?.['server.address'] === 'payment')!;
      expect(payment.startTime).toBeGreaterThanOrEqual(Math.max(reserve.endTime, quote.endTime));
      expect(ids.get(cs.parentSpanId!)).toBeDefined();
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe('arrivals', () => {
  it('Poisson arrivals at the base rate: mean and dispersion', () => {
    const { spans } = simulate(shop({ durationMs: 20 * MIN, baseRps: 10 }));
    const roots = spans.filter((s) => !s.parentSpanId);
    const expected = 10 * 20 * 60;
    expect(Math.abs(roots.length - expected)).toBeLessThan(4 * Math.sqrt(expected));
    // Counts per 10 s: a Poisson process has variance ≈ mean.
    const counts = new Array(120).fill(0);
    for (const r of roots) counts[Math.floor((r.startTime - SIM_EPOCH) / 10_000)]++;
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    const variance = counts.reduce((a, b) => a + (b - mean) ** 2, 0) / (counts.length - 1);
    expect(variance / mean).toBeGreaterThan(0.7);
    expect(variance / mean).toBeLessThan(1.4);
    // Entry mix follows the weights.
    const share = roots.filter((r) => r.name === 'GET /products/:id').length / roots.length;
    expect(share).toBeCloseTo(0.5 / 1.017, 1);
  });

  it('the swell modulates the rate', () => {
    const s = shop({ durationMs: 20 * MIN, baseRps: 10, swell: { amplitude: 0.5, periodMs: 20 * MIN } });
    const roots = simulate(s).spans.filter((x) => !x.parentSpanId);
    const count = (from: number, to: number) => roots.filter((r) => r.startTime >= at(from) && r.startTime < at(to)).length;
    // sin peaks at 5 min (rate 15 rps) and bottoms at 15 min (5 rps).
    expect(count(4, 6) / 120).toBeGreaterThan(13);
    expect(count(14, 16) / 120).toBeLessThan(7);
  });
});

describe('batches', () => {
  it('are in flush order, sorted by end time, and split traces out of parent order', () => {
    const r = simulate(shop({ durationMs: 3 * MIN }));
    for (let i = 1; i < r.flushTimes.length; i++) expect(r.flushTimes[i]).toBeGreaterThanOrEqual(r.flushTimes[i - 1]);
    r.batches.forEach((b, i) => {
      expect(new Set(b.map((s) => s.service)).size).toBe(1);
      for (let j = 0; j < b.length; j++) {
        expect(b[j].endTime).toBeLessThanOrEqual(r.flushTimes[i]);
        expect(r.flushTimes[i] - b[j].endTime).toBeLessThan(1000);
        if (j > 0) expect(b[j].endTime).toBeGreaterThanOrEqual(b[j - 1].endTime);
      }
    });
    expect(r.spans).toEqual(r.batches.flat());
    // Most traces span several batches, and children arrive before their parents.
    const batchOf = new Map<Span, number>();
    r.batches.forEach((b, i) => b.forEach((s) => batchOf.set(s, i)));
    const traces = [...byTrace(r.spans).values()];
    const split = traces.filter((t) => new Set(t.map((s) => batchOf.get(s))).size > 1).length;
    expect(split / traces.length).toBeGreaterThan(0.9);
    const position = new Map(r.spans.map((s, i) => [s.spanId + s.traceId, i]));
    const childFirst = r.spans.filter((s) => s.parentSpanId && position.get(s.parentSpanId + s.traceId)! > position.get(s.spanId + s.traceId)!).length;
    expect(childFirst / r.spans.length).toBeGreaterThan(0.5);
  });

  it('respect the batch interval and maximum size', () => {
    const r = simulate(shop({ durationMs: 2 * MIN, baseRps: 60 }), { batchIntervalMs: 5000, maxBatchSize: 100 });
    expect(Math.max(...r.batches.map((b) => b.length))).toBe(100);
    r.batches.forEach((b, i) => b.forEach((s) => expect(r.flushTimes[i] - s.endTime).toBeLessThan(5000)));
  });
});

describe('timeouts', () => {
  it('a hang makes clients end at the timeout and retry, while the server spans end ~30 s later, OK', () => {
    const { spans } = simulate(scenarioByName('shop-inventory-hang')!, { durationMs: 10 * MIN });
    const byId = new Map(spans.map((s) => [s.spanId + s.traceId, s]));
    const clients = spans.filter((s) => s.service === 'checkout' && s.attributes?.['server.address'] === 'inventory' && s.startTime >= at(7.1));
    expect(clients.length).toBeGreaterThan(100);
    for (const c of clients) {
      expect(c.status).toBe('error');
      expect(isTimeout(c)).toBe(true);
      expect(duration(c)).toBeCloseTo(2000, 3);
      expect(c.attributes?.['http.response.status_code']).toBeUndefined();
      const server = spans.find((s) => s.parentSpanId === c.spanId)!;
      expect(server.status).toBe('unset');
      expect(server.endTime - c.endTime).toBeGreaterThan(27_000);
    }
    // One retry: two attempts per checkout, the second after the first timed out.
    const perParent = new Map<string, Span[]>();
    for (const c of clients) perParent.set(c.parentSpanId!, [...(perParent.get(c.parentSpanId!) ?? []), c]);
    for (const [parentId, attempts] of perParent) {
      if (attempts.length < 2) continue; // first attempt before the window cut
      expect(attempts.length).toBe(2);
      expect(attempts[1].startTime).toBeGreaterThanOrEqual(attempts[0].endTime);
      const parent = byId.get(parentId + attempts[0].traceId)!;
      expect(parent).toMatchObject({ status: 'error', service: 'checkout' });
    }
  });

  it('a timed-out optional call is swallowed: the caller stays OK', () => {
    const { spans } = simulate(scenarioByName('shop-shipping-hidden-timeouts')!, { durationMs: 10 * MIN });
    const inside = serverSpans(spans, 'frontend', 'GET /products/:id', at(7.1), at(10));
    expect(inside.length).toBeGreaterThan(300);
    expect(errorRate(inside)).toBeLessThan(0.02);
    const timeouts = spans.filter((s) => s.service === 'frontend' && isTimeout(s) && s.startTime >= at(7.1));
    expect(timeouts.length).toBeGreaterThan(300);
    expect(timeouts.every((t) => Math.abs(duration(t) - 800) < 1e-6)).toBe(true);
    const estimate = serverSpans(spans, 'shipping', 'GET /estimate', at(7.1), at(10));
    expect(errorRate(estimate)).toBeLessThan(0.02);
    expect(median(estimate.map(duration))).toBeGreaterThan(10_000);
  });
});
