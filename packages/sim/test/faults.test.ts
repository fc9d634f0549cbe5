import { describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { simulate, type Fault } from '@rootspan/sim';
import { at, byTrace, duration, errorRate, median, MIN, serverSpans, shop } from './helpers.js';

const run = (faults: Fault[], minutes = 10, rps = 6) => simulate(shop({ faults, durationMs: minutes * MIN, baseRps: rps })).spans;
const win = (from: number, to: number) => ({ fromMs: from * MIN, toMs: to * MIN });
const rootsIn = (spans: Span[], from: number, to: number) => spans.filter((s) => !s.parentSpanId && s.startTime >= at(from) && s.startTime < at(to));

describe('fault windows', () => {
  const faulted = run([{ type: 'errors', service: 'payment', operation: 'POST /payment', probability: 1, ...win(4, 7) }]);
  const clean = run([]);

  it('change the target only inside the window', () => {
    expect(errorRate(serverSpans(faulted, 'payment', 'POST /payment', at(4), at(7)))).toBe(1);
    expect(errorRate(serverSpans(faulted, 'payment', 'POST /payment', at(0), at(4)))).toBeLessThan(0.02);
    expect(errorRate(serverSpans(faulted, 'payment', 'POST /payment', at(7), at(10)))).toBeLessThan(0.02);
  });

  it('propagate as errors up the chain while unrelated operations stay healthy', () => {
    expect(errorRate(serverSpans(faulted, 'frontend', 'POST /checkout', at(4.1), at(7)))).toBe(1);
    expect(errorRate(serverSpans(faulted, 'inventory', 'POST /reserve', at(4), at(7)))).toBeLessThan(0.02);
    expect(errorRate(serverSpans(faulted, 'frontend', 'GET /products/:id', at(4), at(7)))).toBeLessThan(0.02);
    const failedRoot = serverSpans(faulted, 'frontend', 'POST /checkout', at(5), at(6))[0];
    expect(failedRoot.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
  });

  it('leave every trace outside the window byte-identical to the fault-free run', () => {
    const a = byTrace(faulted);
    const b = byTrace(clean);
    expect([...a.keys()]).toEqual(expect.arrayContaining([...b.keys()]));
    let same = 0;
    let differ = 0;
    for (const [id, spans] of b) {
      const root = spans.find((s) => !s.parentSpanId)!;
      const other = JSON.stringify(a.get(id)!.sort((x, y) => x.startTime - y.startTime || x.spanId.localeCompare(y.spanId)));
      const equal = JSON.stringify(spans.sort((x, y) => x.startTime - y.startTime || x.spanId.localeCompare(y.spanId))) === other;
      if (root.startTime < at(3.99) || root.startTime >= at(7)) {
        expect(equal).toBe(true);
        same++;
      } else if (!equal) differ++;
    }
    expect(same).toBeGreaterThan(2000);
    expect(differ).toBeGreaterThan(150);
  });
});

describe('fault types', () => {
  it('repeat makes the named one-at-a-time call that many times per request, one after another, and nothing else', () => {
    const spans = run([{ type: 'repeat', service: 'inventory', operation: 'GET /products/:id', call: 'SELECT products', times: 20, ...win(4, 7) }]);
    const server = new Map(spans.filter((s) => s.kind === 'server').map((s) => [s.spanId, s]));
    /** Per request of inventory GET /products/:id in [from, to) minutes that made the call: how many times, by name. */
    const calls = (name: string, from: number, to: number): number[] => {
      const per = new Map<string, number>();
      for (const s of spans) {
        const parent = s.kind === 'client' && s.name === name ? server.get(s.parentSpanId ?? '') : undefined;
        if (parent?.service === 'inventory' && parent.name === 'GET /products/:id' && parent.startTime >= at(from) && parent.startTime < at(to)) per.set(parent.spanId, (per.get(parent.spanId) ?? 0) + 1);
      }
      return [...per.values()];
    };
    expect(new Set(calls('SELECT products', 0, 4))).toEqual(new Set([1]));
    expect(new Set(calls('SELECT products', 4.01, 6.99))).toEqual(new Set([20]));
    expect(new Set(calls('GET product', 4.01, 6.99))).toEqual(new Set([1]));
    // One after another: each repeated query starts once the one before it ended.
    const repeated = spans.filter((s) => s.name === 'SELECT products' && s.startTime >= at(5)).slice(0, 20).sort((a, b) => a.startTime - b.startTime);
    for (let i = 1; i < repeated.length; i++) if (repeated[i].parentSpanId === repeated[i - 1].parentSpanId) expect(repeated[i].startTime).toBeGreaterThanOrEqual(repeated[i - 1].endTime);
    expect(() => run([{ type: 'repeat', service: 'inventory', operation: 'GET /products/:id', times: 0, ...win(4, 7) }], 5)).toThrow('repeat fault needs times >= 1, got 0');
  });

  it('latency multiplies the self time of the target', () => {
    const spans = run([{ type: 'latency', service: 'payment', operation: 'POST /payment', multiplier: 10, ...win(4, 7) }]);
    const before = median(serverSpans(spans, 'payment', 'POST /payment', at(0), at(4)).map(duration));
    const during = median(serverSpans(spans, 'payment', 'POST /payment', at(4), at(7)).map(duration));
    expect(during / before).toBeGreaterThan(7);
    expect(during / before).toBeLessThan(12);
    const inventory = (from: number, to: number) => median(serverSpans(spans, 'inventory', 'POST /reserve', at(from), at(to)).map(duration));
    expect(inventory(4, 7) / inventory(0, 4)).toBeCloseTo(1, 0);
  });

  it('added latency and hang with a probability', () => {
    const spans = run([
      { type: 'latency', service: 'shipping', operation: 'GET /quote', addMs: 100, ...win(4, 7) },
      { type: 'hang', service: 'inventory', operation: 'GET /products', durationMs: 5000, probability: 0.5, ...win(4, 7) },
    ]);
    expect(median(serverSpans(spans, 'shipping', 'GET /quote', at(4), at(7)).map(duration))).toBeGreaterThan(100);
    const list = serverSpans(spans, 'inventory', 'GET /products', at(4), at(7));
    const hung = list.filter((s) => duration(s) >= 5000).length / list.length;
    expect(hung).toBeGreaterThan(0.4);
    expect(hung).toBeLessThan(0.6);
  });

  it('ramp grows linearly to its multiplier, then holds', () => {
    const spans = run([{ type: 'ramp', service: 'payment', operation: 'POST /payment', toMultiplier: 10, rampMs: 4 * MIN, ...win(2, 9) }], 10, 10);
    const m = (from: number, to: number) => median(serverSpans(spans, 'payment', 'POST /payment', at(from), at(to)).map(duration));
    const base = m(0, 2);
    expect(m(3.5, 4.5) / base).toBeGreaterThan(4); // ≈5.5× at the middle of the ramp
    expect(m(3.5, 4.5) / base).toBeLessThan(7.5);
    expect(m(7, 9) / base).toBeGreaterThan(8);
    expect(m(9.05, 10) / base).toBeLessThan(1.5);
  });

  it('cpu slows the service itself, not its callees', () => {
    const spans = run([{ type: 'cpu', service: 'checkout', multiplier: 8, ...win(4, 7) }]);
    const m = (svc: string, op: string, from: number, to: number) => median(serverSpans(spans, svc, op, at(from), at(to)).map(duration));
    expect(m('checkout', 'POST /checkout', 4, 7) - m('checkout', 'POST /checkout', 0, 4)).toBeGreaterThan(50);
    expect(m('payment', 'POST /payment', 4, 7) / m('payment', 'POST /payment', 0, 4)).toBeCloseTo(1, 0);
  });

  it("an operation's own errors leave its callees' traffic unchanged", () => {
    const spans = run([{ type: 'errors', service: 'checkout', operation: 'POST /checkout', probability: 0.5, ...win(4, 7) }]);
    const clean = run([]);
    expect(errorRate(serverSpans(spans, 'checkout', 'POST /checkout', at(4), at(7)))).toBeGreaterThan(0.4);
    expect(serverSpans(spans, 'payment', 'POST /payment').length).toBe(serverSpans(clean, 'payment', 'POST /payment').length);
    expect(errorRate(serverSpans(spans, 'payment', 'POST /payment', at(4), at(7)))).toBeLessThan(0.02);
  });

  it('traffic multiplies the entry rate inside the window (drop and surge)', () => {
    const drop = run([{ type: 'traffic', multiplier: 0.05, ...win(4, 7) }], 10, 10);
    expect(Math.abs(rootsIn(drop, 0, 4).length / 240 - 10)).toBeLessThan(1);
    expect(rootsIn(drop, 4, 7).length / 180).toBeLessThan(1);
    const surge = run([{ type: 'traffic', multiplier: 3, operation: 'GET /', ...win(4, 7) }], 10, 10);
    const home = (from: number, to: number) => rootsIn(surge, from, to).filter((s) => s.name === 'GET /').length / ((to - from) * 60);
    expect(home(4, 7) / home(0, 4)).toBeGreaterThan(2.5);
    expect(home(4, 7) / home(0, 4)).toBeLessThan(3.5);
    const products = (from: number, to: number) => rootsIn(surge, from, to).filter((s) => s.name === 'GET /products/:id').length;
    expect(products(4, 7) / 3 / (products(0, 4) / 4)).toBeCloseTo(1, 0);
  });

  it('db-slow slows every caller of the database and nothing else', () => {
    const spans = run([{ type: 'db-slow', db: 'postgresql', multiplier: 8, ...win(4, 7) }]);
    const dbm = (system: string, from: number, to: number) =>
      median(spans.filter((s) => s.attributes?.['db.system'] === system && s.startTime >= at(from) && s.startTime < at(to)).map(duration));
    expect(dbm('postgresql', 4, 7) / dbm('postgresql', 0, 4)).toBeGreaterThan(6);
    expect(dbm('redis', 4, 7) / dbm('redis', 0, 4)).toBeCloseTo(1, 0);
    const callers = new Set(spans.filter((s) => s.attributes?.['db.system'] === 'postgresql').map((s) => s.service));
    expect([...callers].sort()).toEqual(['checkout', 'inventory', 'shipping']);
  });

  it('deploy changes service.version at its time and brings its errors', () => {
    const spans = run([
      { type: 'deploy', service: 'payment', version: '1.5.0', errorProbability: 0.3, ...win(4, 7) },
      { type: 'deploy', service: 'payment', version: '1.4.2', fromMs: 7 * MIN },
    ]);
    const payment = spans.filter((s) => s.service === 'payment');
    for (const s of payment) {
      const inside = s.startTime >= at(4) && s.startTime < at(7);
      expect(s.serviceVersion).toBe(inside ? '1.5.0' : '1.4.2');
    }
    expect(errorRate(serverSpans(spans, 'payment', 'POST /payment', at(4), at(7)))).toBeGreaterThan(0.2);
    expect(spans.filter((s) => s.service === 'checkout').every((s) => s.serviceVersion === '1.8.0')).toBe(true);
  });

  it('cycle makes a fault intermittent: on only in its bursts', () => {
    const spans = run([{ type: 'errors', service: 'payment', operation: 'POST /payment', probability: 1, fromMs: 2 * MIN, toMs: 8 * MIN, cycle: { onMs: 20_000, offMs: 100_000 } }]);
    const inWindow = serverSpans(spans, 'payment', 'POST /payment', at(2), at(8));
    const onPhase = inWindow.filter((s) => (s.startTime - at(2)) % 120_000 < 20_000);
    expect(onPhase.length).toBeGreaterThan(50);
    expect(errorRate(onPhase)).toBe(1);
    const offPhase = inWindow.filter((s) => (s.startTime - at(2)) % 120_000 >= 20_000);
    expect(errorRate(offPhase)).toBeLessThan(0.02);
  });
});

describe('validation', () => {
  it('rejects unknown targets and cycles', () => {
    expect(() => run([{ type: 'errors', service: 'nope', probability: 1, fromMs: 0 }])).toThrow(/unknown service/);
    expect(() => run([{ type: 'errors', service: 'payment', operation: 'GET /x', probability: 1, fromMs: 0 }])).toThrow(/unknown operation/);
    expect(() => run([{ type: 'db-slow', db: 'mysql', multiplier: 2, fromMs: 0 }])).toThrow(/unknown database/);
    const s = shop();
    s.topology.services[3].operations[0].calls = [{ service: 'checkout', operation: 'POST /checkout' }];
    expect(() => simulate(s)).toThrow(/cycle/);
    s.topology.services[3].operations[0].calls = [{ service: 'checkout', operation: 'POST /nope' }];
    expect(() => simulate(s)).toThrow(/unknown operation/);
  });
});
