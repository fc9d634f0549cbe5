/** The incident JSON the API, the webhooks and `rootspan analyze --json` share. */
import { describe, expect, it } from 'vitest';
import type { Incident } from '@rootspan/engine';
import { incidentJson } from '../src/shapes.js';

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
