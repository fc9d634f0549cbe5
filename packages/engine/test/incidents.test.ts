import { describe, expect, it } from 'vitest';
import { IncidentManager, type RankedOrigin } from '../src/incidents/manager.js';
import type { Anomaly, AnomalyKind, IncidentEvent } from '../src/types.js';

function anomaly(id: string, kind: AnomalyKind, service: string, cause: string, at: number): Anomaly {
  return {
    id,
    kind,
    signal: kind,
    service,
    operation: 'op',
    at,
    firstAt: at,
    windowStart: at - 5000,
    observed: 1,
    expected: 0.01,
    unit: 'ratio',
    score: 8,
    pValue: 1e-9,
    severity: 'high',
    samples: 50,
    cause: { service: cause, operation: 'op', kind, support: 10, share: 1 },
    traceIds: [],
    explanation: '',
    peak: { at, observed: 1, expected: 0.01, score: 8, explanation: '' },
  };
}

const origin = (service: string, kind: AnomalyKind): RankedOrigin[] => [{ service, operation: 'op', key: `${service}\u0001op`, kind, share: 1, count: 10 }];

describe('IncidentManager grouping', () => {
  const manager = (): { m: IncidentManager; events: IncidentEvent[] } => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10 }, (e) => events.push(e), () => ({ explanation: '' }));
    return { m, events };
  };

  it('a timeout seen later in the cascade, on a service the open incident already counts as affected, joins it', () => {
    const { m, events } = manager();
    // db slows; orders (its caller) slows with it: one incident rooted at db, affecting orders.
    const first = m.route(anomaly('a-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    m.route(anomaly('a-2', 'latency', 'orders', 'db', 5000), origin('db', 'latency'), undefined, 5000);
    // 75 s later web gives up on orders: its evidence points at orders, a symptom of the open incident.
    const later = m.route(anomaly('a-3', 'timeout', 'orders', 'orders', 80_000), origin('orders', 'timeout'), undefined, 80_000);
    expect(later).toBe(first);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);
    expect(m.get(first)?.rootCause.service).toBe('db');
  });

  it('a traffic change or an unrelated service opens its own incident', () => {
    const { m } = manager();
    const first = m.route(anomaly('a-1', 'latency', 'orders', 'db', 0), origin('db', 'latency'), undefined, 0);
    expect(m.route(anomaly('a-2', 'traffic', 'orders', 'orders', 60_000), origin('orders', 'traffic'), undefined, 60_000)).not.toBe(first);
    expect(m.route(anomaly('a-3', 'errors', 'billing', 'billing', 60_000), origin('billing', 'errors'), undefined, 60_000)).not.toBe(first);
  });

  it('counts one operation\'s symptom once, however many episodes it split into', () => {
    const { m } = manager();
    const shape = (id: string, service: string, cause: string): Anomaly => ({ ...anomaly(id, 'shape', service, cause, 0), severity: 'medium' });
    // Two callers point at currency; checkout points at itself, but through five missing-call episodes.
    const id = m.route(shape('a-1', 'frontend', 'currency'), origin('currency', 'shape'), undefined, 0);
    m.route({ ...shape('a-2', 'frontend', 'currency'), operation: 'other' }, origin('currency', 'shape'), id, 0);
    for (let i = 3; i < 8; i++) m.route(shape(`a-${i}`, 'checkout', 'checkout'), origin('checkout', 'shape'), id, 0);
    expect(m.get(id)?.rootCause.service).toBe('currency');
  });
});
