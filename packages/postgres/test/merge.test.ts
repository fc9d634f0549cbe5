/** Merging the incidents of several receivers: same root cause and overlapping lifetimes merge, nothing else. */
import { describe, expect, it } from 'vitest';
import type { Anomaly, Incident } from '@rootspan/engine';
import { mergeIncidents } from '@rootspan/postgres';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

function anomaly(service: string, at: number): Anomaly {
  return {
    id: `a-${service}-${at}`,
    kind: 'errors',
    signal: 'errors',
    service,
    operation: 'POST /pay',
    at,
    firstAt: at,
    windowStart: at - 5000,
    observed: 1,
    expected: 0.01,
    unit: 'ratio',
    score: 10,
    severity: 'high',
    samples: 50,
    cause: { service, operation: 'POST /pay', kind: 'errors', support: 1, share: 1 },
    explanation: `${service} fails`,
    peak: { at, observed: 1, expected: 0.01, score: 10, explanation: `${service} fails` },
    traceIds: [],
  };
}

function inc(id: string, over: Partial<Incident> & { service?: string } = {}): Incident {
  const service = over.service ?? 'payment';
  return {
    id,
    status: 'active',
    severity: 'medium',
    title: `Errors in ${service}`,
    openedAt: T0,
    updatedAt: T0 + MIN,
    acknowledgedAt: null,
    resolvedAt: null,
    resolvedBy: null,
    rootCause: { service, operation: 'POST /pay', kind: 'errors', confidence: 0.5, explanation: `${service} fails` },
    candidates: [],
    affected: [{ service, operation: 'POST /pay' }],
    anomalies: [anomaly(service, T0 + MIN)],
    traceIds: [`${id}-t`],
    ...over,
  };
}

describe('mergeIncidents', () => {
  it('merges one root cause seen by two receivers: earliest opening, worst severity, best root cause, union of the rest', () => {
    const [m] = mergeIncidents(
      [
        { receiver: 'r2', incident: inc('inc-4', { openedAt: T0 + 10_000, severity: 'critical', rootCause: { service: 'payment', operation: 'POST /pay', kind: 'errors', confidence: 0.9, explanation: 'best' }, affected: [{ service: 'checkout', operation: 'POST /checkout' }] }) },
        { receiver: 'r1', incident: inc('inc-1', { status: 'acknowledged', acknowledgedAt: T0 + 30_000 }) },
      ],
      5 * MIN,
    );
    expect(m.id).toBe('r1:inc-1');
    expect(m.members).toEqual(['r1:inc-1', 'r2:inc-4']);
    expect(m.receivers).toEqual(['r1', 'r2']);
    expect(m).toMatchObject({ status: 'active', severity: 'critical', openedAt: T0, acknowledgedAt: null, resolvedAt: null });
    expect(m.rootCause.explanation).toBe('best');
    expect(m.affected).toHaveLength(2);
    // The same anomaly seen by both receivers is one.
    expect(m.anomalies).toHaveLength(1);
    expect(m.traceIds).toEqual(['inc-1-t', 'inc-4-t']);
  });

  it('leaves out an incident its receiver merged into another of its own, when that one is there', () => {
    const mergedAway = inc('inc-2', { status: 'resolved', resolvedAt: T0 + MIN, resolvedBy: 'merged', mergedInto: 'inc-1', rootCause: { service: 'payment', operation: 'POST /pay', kind: 'timeout', confidence: 0.4, explanation: 'first named' } });
    const merged = mergeIncidents([{ receiver: 'r1', incident: inc('inc-1') }, { receiver: 'r1', incident: mergedAway }, { receiver: 'r2', incident: inc('inc-5') }], 5 * MIN);
    expect(merged.map((m) => m.members)).toEqual([['r1:inc-1', 'r2:inc-5']]);
    // Without it (the rows of one page), the merged one still shows, as resolved.
    expect(mergeIncidents([{ receiver: 'r1', incident: mergedAway }], 5 * MIN)).toMatchObject([{ status: 'resolved', resolvedBy: 'merged' }]);
  });

  it('keeps apart different root causes, and the same root cause far apart in time', () => {
    const merged = mergeIncidents(
      [
        { receiver: 'r1', incident: inc('inc-1', { status: 'resolved', resolvedAt: T0 + 2 * MIN, resolvedBy: 'auto' }) },
        { receiver: 'r2', incident: inc('inc-2', { openedAt: T0 + 60 * MIN, updatedAt: T0 + 61 * MIN }) },
        { receiver: 'r2', incident: inc('inc-3', { service: 'inventory' }) },
      ],
      5 * MIN,
    );
    expect(merged.map((m) => m.id).sort()).toEqual(['r1:inc-1', 'r2:inc-2', 'r2:inc-3']);
    const old = merged.find((m) => m.id === 'r1:inc-1')!;
    expect(old).toMatchObject({ status: 'resolved', resolvedAt: T0 + 2 * MIN, resolvedBy: 'auto' });
  });

  it('a merged incident is resolved only when every member is', () => {
    const [m] = mergeIncidents(
      [
        { receiver: 'r1', incident: inc('inc-1', { status: 'resolved', resolvedAt: T0 + 3 * MIN, resolvedBy: 'user' }) },
        { receiver: 'r2', incident: inc('inc-1', { status: 'resolved', resolvedAt: T0 + 4 * MIN, resolvedBy: 'auto' }) },
      ],
      5 * MIN,
    );
    expect(m).toMatchObject({ status: 'resolved', resolvedAt: T0 + 4 * MIN, resolvedBy: 'auto', members: ['r1:inc-1', 'r2:inc-1'] });
  });
});
