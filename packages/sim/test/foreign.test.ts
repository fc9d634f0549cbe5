import { describe, expect, it } from 'vitest';
import type { Span } from '@rootspan/engine';
import { FOREIGN_SCENARIOS, SIM_EPOCH, boutiqueTopology, rpcMethod, simulate, type Scenario } from '@rootspan/sim';
import { byTrace } from './helpers.js';

const S = 1000;

function boutique(overrides: Partial<Scenario> = {}): Scenario {
  return {
    name: 'test-boutique',
    description: 'test',
    topology: boutiqueTopology(),
    durationMs: 60 * S,
    seed: 9,
    baseRps: 10,
    faults: [],
    truth: { faults: [], expectedIncidents: 0 },
    swell: { amplitude: 0, periodMs: 60 * S },
    foreign: { naming: 'grpc', uninstrumented: ['payment'] },
    ...overrides,
  };
}

/** Calls (children in another service, or RPC-named leaves) made by spans of `service` named `name`. */
function callsMade(spans: readonly Span[], service: string, name: string): number {
  let n = 0;
  for (const t of byTrace(spans).values()) {
    for (const s of t) if (s.service === service && s.name === name) n += t.filter((c) => c.parentSpanId === s.spanId && c.name !== name).length;
  }
  return n;
}

describe('foreign-tracer emission', () => {
  it('emits service and name only, gRPC-named, with uninstrumented services absent', () => {
    const { spans } = simulate(boutique());
    expect(spans.length).toBeGreaterThan(1000);
    for (const s of spans) {
      expect(s.kind).toBeUndefined();
      expect(s.status).toBeUndefined();
      expect(s.attributes).toBeUndefined();
      expect(s.serviceVersion).toBeUndefined();
    }
    const services = new Set(spans.map((s) => s.service));
    expect(services.has('paymentservice')).toBe(false);
    expect(services.has('checkoutservice')).toBe(true);
    // Only checkout's client spans show the uninstrumented payment service.
    const charge = spans.filter((s) => s.name === 'boutique.PaymentService/PostCharge');
    expect(charge.length).toBeGreaterThan(5);
    expect(new Set(charge.map((s) => s.service))).toEqual(new Set(['checkoutservice']));
    expect(rpcMethod('GET', '/products/:id')).toBe('GetProductsById');
  });

  it('an exception or early return makes the operation skip its later calls and answer sooner', () => {
    const name = 'boutique.CheckoutService/PostOrders';
    const base = simulate(boutique()).spans;
    const early = simulate(boutique({ faults: [{ type: 'early-return', service: 'checkout', fromMs: 0, toMs: 60 * S }] })).spans;
    const perRequest = (spans: Span[]): number => callsMade(spans, 'checkoutservice', name) / spans.filter((s) => s.service === 'checkoutservice' && s.name === name && s.parentSpanId !== undefined && spans.some((p) => p.spanId === s.parentSpanId && p.service !== 'checkoutservice')).length;
    expect(perRequest(base)).toBeGreaterThan(6);
    expect(perRequest(early)).toBe(1); // only the cart lookup of the first step
  });

  it('a network delay on a service shows between its callers client spans and its own spans', () => {
    const gap = (spans: Span[]): number => {
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const gaps = spans
        .filter((s) => s.service === 'shippingservice')
        .map((s) => {
          const c = byId.get(s.parentSpanId ?? '') as Span;
          return c.endTime - c.startTime - (s.endTime - s.startTime);
        });
      return gaps.reduce((a, b) => a + b, 0) / gaps.length;
    };
    const delayed = simulate(boutique({ faults: [{ type: 'net-delay', service: 'shipping', addMs: 100, fromMs: 0, toMs: 60 * S }] })).spans;
    expect(gap(simulate(boutique()).spans)).toBeLessThan(2);
    expect(gap(delayed)).toBeGreaterThan(100);
  });

  it('the family has short history, two seeds per fault, healthy runs, and truth inside each run', () => {
    const names = new Set(FOREIGN_SCENARIOS.map((s) => s.name.replace(/-s\d$/, '')));
    expect(names.size * 2).toBe(FOREIGN_SCENARIOS.length);
    expect(new Set(FOREIGN_SCENARIOS.map((s) => s.topology.name)).size).toBeGreaterThanOrEqual(4);
    expect(FOREIGN_SCENARIOS.filter((s) => s.truth.healthy).length).toBeGreaterThanOrEqual(4);
    for (const s of FOREIGN_SCENARIOS) {
      expect(s.family).toBe('foreign');
      for (const f of s.truth.faults) {
        expect(f.startMs - SIM_EPOCH, s.name).toBeGreaterThanOrEqual(30 * S);
        expect(f.startMs - SIM_EPOCH, s.name).toBeLessThanOrEqual(60 * S);
        expect(SIM_EPOCH + s.durationMs - f.startMs, s.name).toBeGreaterThanOrEqual(100 * S);
      }
    }
  });
});
