/** Issue 21: one latency severity table, stated by the README, backing every sentence's ratio. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY, describeLatencyTiers, errorSeverity, latencySeverity, latencyTiers, timeoutSeverity, type Anomaly } from '../src/index.js';
import { explainRoot } from '../src/rca/explain.js';
import { ratio } from '../src/rca/format.js';

const rootReadme = () => readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8').replace(/\s+/g, ' ');

describe('latency severity tiers', () => {
  it('the root README states the table the engine applies', () => {
    const words = describeLatencyTiers(latencyTiers(DEFAULT_LATENCY));
    expect(words).toBe('low 1.5–5×, medium 5–10×, high 10–20×, critical > 20× or > 10 s');
    expect(rootReadme()).toContain(words);
  });

  it('low starts at the lowest ratio any latency rule fires at', () => {
    expect(latencyTiers({ ...DEFAULT_LATENCY, sensitiveRatio: 2.5 }).low).toEqual([2.5, 5]);
    expect(latencyTiers({ ...DEFAULT_LATENCY, ratio: 2, sensitiveRatio: 4 }).low).toEqual([2, 5]);
  });

  it('a printed ratio stays in the tier of the exact one', () => {
    for (const [x, printed] of [[4.97, '4.9×'], [9.99, '9.9×'], [19.9, '19×'], [20, '20×'], [1.5, '1.5×']] as const) {
      expect(ratio(x)).toBe(printed);
      expect(latencySeverity(Number(printed.slice(0, -1)), 0, DEFAULT_LATENCY)).toBe(latencySeverity(x, 0, DEFAULT_LATENCY));
    }
  });
});

describe('error and give-up severity', () => {
  it('the root README states the table the engine applies, for error and give-up rates alike', () => {
    expect(rootReadme()).toContain('≥ 50 % critical, > 20 % high, ≥ 5 % medium, else low');
    const at = (rates: number[]) => rates.map(errorSeverity);
    expect(at([0.5, 0.4999, 0.2001, 0.2, 0.05, 0.0499])).toEqual(['critical', 'high', 'high', 'medium', 'medium', 'low']);
    expect([timeoutSeverity(10, 5), timeoutSeverity(1000, 201), timeoutSeverity(10, 2), timeoutSeverity(100, 4)]).toEqual(['critical', 'high', 'medium', 'low']);
  });
});

describe('root-cause sentence', () => {
  const anomaly = (over: Partial<Anomaly>): Anomaly => {
    const a: Anomaly = {
      id: 'a-1', kind: 'latency', signal: 'latency', service: 'web', operation: 'GET /', at: 60_000, firstAt: 60_000, windowStart: 45_000,
      observed: 250, expected: 10, unit: 'ms', score: 9, severity: 'critical', samples: 40,
      cause: { service: 'db', operation: 'SELECT', kind: 'latency', support: 40, share: 0.9 },
      explanation: 'web GET / typical latency 250 ms vs baseline 10 ms (25×) over 40 requests in the last 15 s; 90% of slow requests spend the extra time in db SELECT',
      peak: { at: 60_000, observed: 250, expected: 10, score: 9, explanation: '' }, traceIds: [], ...over,
    };
    a.peak.explanation = a.explanation;
    return a;
  };

  it('names the window of its figures and backs the severity with a stated ratio', () => {
    const top = { service: 'db', operation: 'SELECT', key: 'db SELECT', kind: 'latency' as const, share: 0.9, count: 40 };
    const s = explainRoot(top, [anomaly({})], { window: 15_000, p95: { now: 240, baseline: 30, what: 'latency' } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(s).toMatch(/^in the last 15 s: db SELECT latency p95 240 ms vs baseline 30 ms \(8\.0×\)/);
    // The incident is critical (web's 25×): the sentence says which figure makes it so.
    expect(s).toContain('worst: web GET / typical latency 250 ms vs baseline 10 ms (25×) over 40 requests in the last 15 s');
    expect(s).toContain('90% of slow web GET / requests spend the extra time in db (in the last 15 s)');
    // A p95 in the worst anomaly's tier needs no second figure.
    const same = explainRoot(top, [anomaly({ severity: 'medium' })], { window: 15_000, p95: { now: 240, baseline: 30, what: 'latency' } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(same).not.toContain('worst:');
    // Nor one in a higher tier: "worst" would label the milder figure (p95 50×, then "worst: … (13×)").
    const higher = explainRoot(top, [anomaly({ severity: 'high' })], { window: 5_000, p95: { now: 1020, baseline: 20, what: 'latency' } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(higher).toMatch(/^in the last 5 s: db SELECT latency p95 1\.02 s vs baseline 20 ms \(51×\)/);
    expect(higher).not.toContain('worst:');
  });

  it("cites what another service's users felt (failures, slowness) before a call-pattern or traffic change it caused", () => {
    const top = { service: 'payment', operation: 'POST /payment', key: 'payment POST /payment', kind: 'errors' as const, share: 1, count: 154 };
    const cause = { service: 'payment', operation: 'POST /payment', kind: 'errors' as const, support: 40 };
    const failing = anomaly({ kind: 'errors', signal: 'errors', service: 'checkout', operation: 'POST /checkout', at: 60_000, windowStart: 0, cause: { ...cause, share: 0.96 } });
    const fewer = anomaly({
      id: 'a-2', kind: 'traffic', signal: 'traffic.drop', service: 'shipping', operation: 'POST /shipments', at: 60_000, windowStart: 0, cause: { ...cause, share: 1 },
      explanation: 'shipping POST /shipments traffic 0.05 req/s vs 1.09 req/s expected (−95%) in the last 60 s; 100% of the drop traces back to payment POST /payment',
    });
    const s = explainRoot(top, [fewer, failing], { window: 60_000, errors: { rate: 1, errors: 154, requests: 154, baseline: 0.002 } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(s).toContain('96% of failing checkout POST /checkout requests fail first in payment (in the last 60 s)');
    expect(s).not.toContain('traffic anomaly');
    // A caller giving up on a service in between is felt too, and told once by its own figures.
    const gaveUp = anomaly({
      id: 'a-3', kind: 'timeout', signal: 'timeout', service: 'checkout', operation: 'POST /orders', severity: 'critical', at: 60_000, windowStart: 45_000,
      cause: { ...cause, kind: 'latency', share: 0.95 },
      explanation: 'frontend got no answer from checkout POST /orders in 40 of 40 calls (100%, baseline 0.1%) in the last 15 s; 95% of the give-ups trace back to payment POST /payment',
    });
    const slow = { ...top, kind: 'latency' as const };
    const viaTimeout = explainRoot(slow, [fewer, gaveUp], {}, undefined, 60_000, DEFAULT_LATENCY);
    expect(viaTimeout).toBe(
      'payment POST /payment is where the extra time is spent; frontend got no answer from checkout POST /orders in 40 of 40 calls (100%, baseline 0.1%) in the last 15 s; 95% of the give-ups trace back to payment',
    );
    // With nothing felt to cite, the change it caused is the evidence, told by its own figures.
    expect(explainRoot(top, [fewer], {}, undefined, 60_000, DEFAULT_LATENCY)).toContain(
      'shipping POST /shipments traffic 0.05 req/s vs 1.09 req/s expected (−95%) in the last 60 s; 100% of the change traces back to payment',
    );
  });

  it("does not lead a statement's slowdown with another statement's give-ups", () => {
    // A table locked in a real app (mysql2): the SELECTs slowed and a few UPDATEs were given up on, in one bucket.
    const top = { service: 'mysql', operation: 'SELECT products', key: 'mysql SELECT products', kind: 'latency' as const, share: 1, count: 84 };
    const slow = anomaly({
      service: 'mysql', operation: 'SELECT products', observed: 300, expected: 1.4,
      explanation: 'mysql SELECT products typical latency 300 ms vs baseline 1.4 ms (214×) over 84 requests in the last 5 s',
    });
    const gaveUp = anomaly({
      id: 'a-2', kind: 'timeout', signal: 'timeout', service: 'mysql', operation: 'UPDATE products', severity: 'high', observed: 0.29, expected: 0.0007, unit: 'ratio',
      caller: { service: 'catalog', operation: null },
      explanation: 'catalog got no answer from mysql UPDATE products in 4 of 14 calls (29%, baseline 0.07%) in the last 5 s',
    });
    const s = explainRoot(top, [gaveUp, slow], {}, undefined, 60_000, DEFAULT_LATENCY);
    expect(s).toMatch(/^mysql SELECT products typical latency 300 ms/);
    // Its own give-ups still lead it: its calls that ended say nothing of the ones still open.
    const own = anomaly({ ...gaveUp, operation: 'SELECT products', explanation: 'catalog got no answer from mysql SELECT products in 4 of 14 calls (29%, baseline 0.07%) in the last 5 s' });
    expect(explainRoot(top, [own, slow], {}, undefined, 60_000, DEFAULT_LATENCY)).toMatch(/^catalog got no answer from mysql SELECT products/);
  });

  it("says what made a slowdown's incident medium when it is a call-pattern change (not on the latency table)", () => {
    const top = { service: 'api', operation: 'GET /items', key: 'api GET /items', kind: 'latency' as const, share: 1, count: 40 };
    const slow = anomaly({ service: 'api', operation: 'GET /items', severity: 'low', observed: 30, expected: 10, explanation: 'api GET /items typical latency 30 ms vs baseline 10 ms (3.0×) over 40 requests in the last 5 s' });
    const skipped = anomaly({
      id: 'a-2', kind: 'shape', signal: 'shape.missing-call', service: 'api', operation: 'GET /items', severity: 'medium', observed: 0, expected: 1, unit: 'ratio',
      callee: { service: 'redis', operation: 'get' }, explanation: 'api GET /items stopped calling redis get: 0% of requests vs usually 100% in the last 15 s',
    });
    const s = explainRoot(top, [slow, skipped], { window: 5_000, p95: { now: 33, baseline: 11, what: 'self-time' } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(s).toMatch(/^in the last 5 s: api GET \/items self-time p95 33 ms vs baseline 11 ms \(3\.0×\)/);
    expect(s).toContain('worst: api GET /items stopped calling redis get: 0% of requests vs usually 100% in the last 15 s');
  });

  it('states no latency figure of a root whose calls that ended are not slower (its callers waited on ones that never did)', () => {
    const top = { service: 'payment', operation: 'POST', key: 'payment POST', kind: 'latency' as const, share: 1, count: 5 };
    const worst = anomaly({ service: 'payment', operation: 'POST /charge', explanation: 'payment POST /charge typical self time 316 ms vs baseline 7.4 ms (42×) over 5 requests in the last 5 s' });
    const s = explainRoot(top, [worst], { window: 15_000, p95: { now: 20, baseline: 83, what: 'latency' } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(s).not.toContain('0.2×');
    expect(s).toMatch(/^payment POST is where the extra time is spent; worst: payment POST \/charge typical self time 316 ms/);
    // Nor does a p95 barely above its baseline (below every tier) lead the sentence of a critical incident.
    const barely = explainRoot(top, [worst], { window: 15_000, p95: { now: 94, baseline: 76, what: 'latency' } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(barely).not.toContain('1.2×');
    expect(barely).toMatch(/^payment POST is where the extra time is spent; worst: payment POST \/charge typical self time 316 ms/);
  });

  it("leads with the root's own latency anomaly when its p95 is above baseline but below every tier (a heavy-tailed baseline)", () => {
    const top = { service: 'inventory', operation: 'POST', key: 'inventory POST', kind: 'latency' as const, share: 1, count: 16 };
    const own = anomaly({
      service: 'inventory', operation: 'POST', severity: 'medium', observed: 412, expected: 53,
      explanation: 'inventory POST typical latency 412 ms vs baseline 53 ms (7.8×) over 16 requests in the last 5 s',
    });
    const s = explainRoot(top, [own], { window: 5_000, p95: { now: 442, baseline: 383, what: 'latency' } }, undefined, 60_000, DEFAULT_LATENCY);
    expect(s).toMatch(/^inventory POST typical latency 412 ms vs baseline 53 ms \(7\.8×\)/);
    expect(s).not.toContain('1.1×');
    // Without an own latency anomaly it does not lead either (a 1.1× would read as "not the root"): the
    // callers' share and the worst anomaly's figures say why it is.
    const caller = anomaly({
      service: 'checkout', operation: 'POST /orders', severity: 'medium', observed: 450, expected: 60,
      explanation: 'checkout POST /orders typical latency 450 ms vs baseline 60 ms (7.5×) over 16 requests in the last 5 s',
      cause: { service: 'inventory', operation: 'POST', kind: 'latency', support: 16, share: 1 } });
    expect(explainRoot(top, [caller], { window: 5_000, p95: { now: 442, baseline: 383, what: 'latency' } }, undefined, 60_000, DEFAULT_LATENCY)).toBe(
      'inventory POST is where the extra time is spent; 100% of slow checkout POST /orders requests spend the extra time in inventory (in the last 15 s); worst: checkout POST /orders typical latency 450 ms vs baseline 60 ms (7.5×) over 16 requests in the last 5 s',
    );
  });

  it("tells a root's own anomaly of another kind when it has none of the kind it was blamed for", () => {
    const top = { service: 'payment', operation: 'POST', key: 'payment POST', kind: 'shape' as const, share: 1, count: 5 };
    const slow = anomaly({ service: 'payment', operation: 'POST', explanation: 'payment POST typical latency 809 ms vs baseline 20 ms (40×) over 14 requests in the last 5 s' });
    expect(explainRoot(top, [slow], {}, undefined, 60_000, DEFAULT_LATENCY)).toMatch(/^payment POST typical latency 809 ms vs baseline 20 ms \(40×\)/);
  });
});


describe("the root-cause sentence's evidence from callers", () => {
  /** web's `route` failing, its failures starting in cart `operation` (`share` of them). */
  const failing = (route: string, operation: string, share: number): Anomaly =>
    ({
      kind: 'errors',
      signal: 'errors',
      service: 'web',
      operation: route,
      severity: 'high',
      at: 10_000,
      windowStart: 5_000,
      cause: { service: 'cart', operation, kind: 'errors', support: 10, share },
      peak: { at: 10_000, explanation: `web ${route} error rate 30%` },
    }) as Anomaly;

  it("cites the route whose failures start in the root's operation, not one failing in another of its service's", () => {
    const top = { service: 'cart', operation: 'shop.Cart/Checkout', key: 'k', kind: 'errors' as const, share: 1, count: 6 };
    const told = explainRoot(top, [failing('POST /api/cart', 'shop.Cart/AddItem', 1), failing('POST /api/checkout', 'shop.Cart/Checkout', 0.9)], {}, undefined, 0, DEFAULT_LATENCY);
    // Before: "100% of failing web POST /api/cart requests fail first in cart", a route that never calls Checkout.
    expect(told).toMatch(/90% of failing web POST \/api\/checkout requests fail without calling cart/);
  });
});
