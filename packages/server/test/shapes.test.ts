/** The incident JSON the API, the webhooks and `rootspan analyze --json` share. */
import { describe, expect, it } from 'vitest';
import type { Anomaly, Incident } from '@rootspan/engine';
import { incidentJson, timeline } from '../src/shapes.js';

const incident = (at: number): Incident => ({
  id: 'inc-1',
  status: 'active',
  severity: 'high',
  title: 'Errors in payment POST /payment',
  openedAt: at,
  updatedAt: at,
  acknowledgedAt: null,
  resolvedAt: null,
  resolvedBy: null,
  rootCause: { service: 'payment', operation: 'POST /payment', kind: 'errors', confidence: 0.9, explanation: 'fails' },
  candidates: [],
  affected: [],
  anomalies: [],
  traceIds: [],
});

describe('incidentJson', () => {
  it('shows a time no Date can hold as its number instead of throwing', () => {
    expect(incidentJson(incident(1e20))).toMatchObject({ openedAt: '100000000000000000000 ms', updatedAt: '100000000000000000000 ms', resolvedAt: null });
    expect(incidentJson(incident(Date.UTC(2026, 0, 1))).openedAt).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('timeline', () => {
  const T = Date.UTC(2026, 0, 1);
  const at = (s: number) => new Date(T + s * 1000).toISOString();

  it('shows each step as it stood then: the opening head, its changes, each anomaly\'s start and worst moment', () => {
    const anomaly: Anomaly = {
      id: 'a-1',
      kind: 'errors',
      signal: 'errors',
      service: 'payment',
      operation: 'POST /payment',
      firstAt: T + 5000,
      at: T + 40_000,
      windowStart: T - 20_000,
      observed: 0.47,
      expected: 0,
      unit: 'ratio',
      score: 8,
      severity: 'high',
      samples: 567,
      cause: { service: 'payment', operation: 'POST /payment', kind: 'errors', support: 268, share: 1 },
      explanation: 'error rate 47% (268/567) vs baseline 0% in the last 60 s',
      peak: { at: T + 25_000, observed: 0.52, expected: 0, score: 9, explanation: 'error rate 52% (80/155) vs baseline 0% in the last 5 s' },
      traceIds: [],
    };
    const inc: Incident = {
      ...incident(T + 5000),
      anomalies: [anomaly],
      // Opened low, then high at +25 s; an explanation-only change at +15 s keeps the head.
      story: [
        { until: T + 15_000, title: 'Errors in payment POST /payment', kind: 'errors', severity: 'low', explanation: 'error rate 16% (7/44)' },
        { until: T + 25_000, title: 'Errors in payment POST /payment', kind: 'errors', severity: 'low', explanation: 'error rate 20% (9/45)' },
      ],
      resolvedAt: T + 100_000,
      resolvedBy: 'auto',
      status: 'resolved',
    };
    expect(timeline(inc)).toEqual([
      { at: at(5), event: 'opened', text: 'Errors in payment POST /payment (low)' },
      { at: at(5), event: 'anomaly', text: 'errors anomaly began in payment POST /payment' },
      { at: at(25), event: 'updated', text: 'Errors in payment POST /payment (high)' },
      { at: at(25), event: 'anomaly', text: 'at its worst: error rate 52% (80/155) vs baseline 0% in the last 5 s' },
      { at: at(100), event: 'resolved', text: `resolved: no anomaly since ${at(40)}` },
    ]);
    // An operation's latency and its own time are two anomalies, told apart.
    const slow = { ...anomaly, kind: 'latency' as const, signal: 'latency' as const };
    const began = timeline({ ...inc, anomalies: [slow, { ...slow, id: 'a-2', signal: 'latency.self' }] }).filter((e) => e.text.includes('began'));
    expect(began.map((e) => e.text)).toEqual(['latency anomaly began in payment POST /payment', 'self-time anomaly began in payment POST /payment']);
    // Without a story the incident never changed: it opened as it stands.
    expect(timeline(incident(T))[0]).toEqual({ at: at(0), event: 'opened', text: 'Errors in payment POST /payment (high)' });
    // How it resolved: by hand, or because what was left of it became the new normal.
    expect(timeline({ ...inc, resolvedBy: 'user' }).at(-1)?.text).toBe('resolved by hand');
    expect(timeline({ ...inc, resolvedBy: 'adapted' }).at(-1)?.text).toBe('resolved: the change lasted long enough to become the new baseline');
    // Or merged into another incident that named the same root cause, which the API names.
    expect(timeline({ ...inc, resolvedBy: 'merged', mergedInto: 'inc-1' }).at(-1)?.text).toBe('merged into inc-1, which has the same root cause');
    expect(incidentJson({ ...inc, resolvedBy: 'merged', mergedInto: 'inc-1' })).toMatchObject({ status: 'resolved', resolvedBy: 'merged', mergedInto: 'inc-1' });
    expect(incidentJson(inc)).not.toHaveProperty('mergedInto');
    // Past the story's length the opening is not known, and not made up from today's head.
    expect(timeline({ ...inc, storyDropped: 3 })[0]).toEqual({ at: at(5), event: 'opened', text: 'opened (its first 3 changes are not kept)' });
    // Resolved by itself at +50 s, reopened by late evidence at +60 s, then resolved again: both resolutions shown.
    const reopened: Incident = { ...inc, reopened: { at: T + 60_000, resolvedAt: T + 50_000, times: 1 } };
    expect(timeline(reopened).filter((e) => e.event === 'resolved' || e.event === 'reopened')).toEqual([
      { at: at(50), event: 'resolved', text: 'resolved by itself after its quiet period' },
      { at: at(60), event: 'reopened', text: 'reopened: late evidence of the same fault' },
      { at: at(100), event: 'resolved', text: `resolved: no anomaly since ${at(40)}` },
    ]);
    expect(incidentJson(reopened).reopened).toEqual({ at: at(60), resolvedAt: at(50), times: 1 });
    expect(timeline({ ...reopened, reopened: { at: T + 60_000, resolvedAt: T + 50_000, times: 2 } }).find((e) => e.event === 'reopened')?.text).toBe('reopened: late evidence of the same fault (reopened 2 times)');
  });
});
