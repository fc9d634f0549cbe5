import { describe, expect, it } from 'vitest';
import type { GroundTruth, TruthFault } from '@rootspan/sim';
import type { JsonIncident, JsonReport } from 'rootspan';
import { formatTable, judgeGoals, medianTtd, scoreScenario, summarize, type ScenarioResult } from '../src/index.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const at = (min: number, s = 0): number => T0 + min * MIN + s * 1000;

type Ref = [service: string, operation: string | null];

function incident(id: string, openedAt: number, ...ranked: Ref[]): JsonIncident {
  const [[service, operation]] = ranked;
  return {
    id,
    status: 'resolved',
    severity: 'high',
    title: `${service} broke`,
    openedAt: new Date(openedAt).toISOString(),
    updatedAt: new Date(openedAt).toISOString(),
    acknowledgedAt: null,
    resolvedAt: null,
    resolvedBy: null,
    rootCause: { service, operation, kind: 'errors', confidence: 0.9, explanation: '' },
    candidates: ranked.map(([s, o], i) => ({ service: s, operation: o, kind: 'errors', score: 10 - i })),
    affected: [],
    anomalies: [],
    traceIds: [],
  };
}

function report(...incidents: JsonIncident[]): JsonReport {
  return {
    summary: { spans: 1, traces: 1, services: [], from: null, to: null, dropped: 0, droppedBy: {}, malformed: 0 },
    incidents,
  };
}

const fault = (service: string, operation: string | null, from: number, to: number, kind: TruthFault['kind'] = 'errors'): TruthFault => ({
  service,
  operation,
  kind,
  startMs: at(from),
  endMs: at(to),
});

const paymentTruth: GroundTruth = { faults: [fault('payment', 'POST /payment', 7, 11)], expectedIncidents: 1 };

describe('scoreScenario', () => {
  it('scores a right answer: AC@1, AC@3, time to detect, no false incidents', () => {
    const s = scoreScenario(
      paymentTruth,
      report(incident('inc-1', at(7, 12), ['payment', 'POST /payment'], ['checkout', 'POST /checkout'], ['frontend', 'POST /checkout'])),
    );
    expect(s.ac1).toBe(true);
    expect(s.ac3).toBe(true);
    expect(s.faults[0].ttdMs).toBe(12_000);
    expect(s.faults[0].got).toEqual(['payment POST /payment', 'checkout POST /checkout', 'frontend POST /checkout']);
    expect(s.expected).toEqual(['payment POST /payment']);
    expect(s).toMatchObject({ incidents: 1, matchedIncidents: 1, falseIncidents: 0, earlyIncidents: 0, oneIncidentPerFault: true });
  });

  it('a wrong top-1 with the answer in the top 3 is AC@3 only, and the incident is false', () => {
    const s = scoreScenario(
      paymentTruth,
      report(incident('inc-1', at(7, 20), ['checkout', 'POST /checkout'], ['payment', 'POST /payment'], ['frontend', 'POST /checkout'])),
    );
    expect(s.ac1).toBe(false);
    expect(s.ac3).toBe(true);
    expect(s.faults[0].ttdMs).toBeNull();
    expect(s.faults[0].got[0]).toBe('checkout POST /checkout');
    expect(s).toMatchObject({ falseIncidents: 1, falseIncidentIds: ['inc-1'], oneIncidentPerFault: false });
  });

  it('an incident before the fault starts is early and false even when it names the right service', () => {
    const s = scoreScenario(
      paymentTruth,
      report(incident('inc-1', at(3), ['payment', 'POST /payment']), incident('inc-2', at(7, 9), ['payment', 'POST /payment'])),
    );
    expect(s.ac1).toBe(true);
    expect(s.faults[0].incidentIds).toEqual(['inc-2']);
    expect(s.faults[0].ttdMs).toBe(9_000);
    expect(s).toMatchObject({ incidents: 2, falseIncidents: 1, earlyIncidents: 1, falseIncidentIds: ['inc-1'], oneIncidentPerFault: false });
  });

  it('two faults need one incident each; a null truth operation matches any operation of the service', () => {
    const truth: GroundTruth = {
      faults: [fault('payment', 'POST /payment', 7, 11), fault('postgresql', null, 7.5, 11.5, 'latency')],
      expectedIncidents: 2,
    };
    const both = scoreScenario(
      truth,
      report(incident('inc-2', at(7, 40), ['postgresql', 'SELECT']), incident('inc-1', at(7, 10), ['payment', 'POST /payment'])),
    );
    expect(both.ac1).toBe(true);
    expect(both.faults.map((f) => f.ttdMs)).toEqual([10_000, 10_000]);
    expect(both.faults.map((f) => f.incidentIds)).toEqual([['inc-1'], ['inc-2']]);
    expect(both).toMatchObject({ matchedIncidents: 2, falseIncidents: 0, oneIncidentPerFault: true });

    // Merged into one incident (opened in both windows): the database is only a runner-up, so AC@1 fails but AC@3 holds.
    const merged = scoreScenario(truth, report(incident('inc-1', at(7, 40), ['payment', 'POST /payment'], ['postgresql', null])));
    expect(merged.faults.map((f) => f.ac1)).toEqual([true, false]);
    expect(merged).toMatchObject({ ac1: false, ac3: true, falseIncidents: 0, oneIncidentPerFault: false });
  });

  it('operations must agree when both sides name one', () => {
    const s = scoreScenario(paymentTruth, report(incident('inc-1', at(8), ['payment', 'GET /refunds'])));
    expect(s).toMatchObject({ ac1: false, ac3: false, falseIncidents: 1 });
    const unknownOp = scoreScenario(paymentTruth, report(incident('inc-1', at(8), ['payment', null])));
    expect(unknownOp.ac1).toBe(true);
  });

  it('counts an incident up to 2 min after the fault ends, not later', () => {
    expect(scoreScenario(paymentTruth, report(incident('inc-1', at(12, 59), ['payment', 'POST /payment']))).ac1).toBe(true);
    const late = scoreScenario(paymentTruth, report(incident('inc-1', at(13, 1), ['payment', 'POST /payment'])));
    expect(late).toMatchObject({ ac1: false, falseIncidents: 1, earlyIncidents: 0 });
  });

  it('every incident on a healthy run is false and early; AC is not applicable', () => {
    const truth: GroundTruth = { faults: [], healthy: true, expectedIncidents: 0 };
    expect(scoreScenario(truth, report())).toMatchObject({ ac1: null, ac3: null, incidents: 0, falseIncidents: 0, oneIncidentPerFault: null });
    expect(scoreScenario(truth, report(incident('inc-1', at(30), ['frontend', 'GET /'])))).toMatchObject({
      incidents: 1,
      falseIncidents: 1,
      earlyIncidents: 1,
    });
  });
});

describe('totals and goals', () => {
  const result = (name: string, truth: GroundTruth, r: JsonReport, baseRps = 6): ScenarioResult => ({
    name,
    family: 'catalogue',
    description: '',
    baseRps,
    durationMs: 15 * MIN,
    spans: 100,
    wallMs: 10,
    score: scoreScenario(truth, r),
    incidents: r.incidents,
  });

  it('counts misses as never detected in the median', () => {
    expect(medianTtd([1000, 3000, null])).toBe(3000);
    expect(medianTtd([1000, null, null])).toBeNull();
    expect(medianTtd([1000, 3000])).toBe(2000);
    expect(medianTtd([])).toBeNull();
  });

  it('judges the four goals and prints them under the table', () => {
    const results = [
      result('good', paymentTruth, report(incident('inc-1', at(7, 10), ['payment', 'POST /payment']))),
      result('slow-low-rps', paymentTruth, report(incident('inc-1', at(8), ['payment', 'POST /payment'])), 1),
      result('healthy', { faults: [], healthy: true, expectedIncidents: 0 }, report(incident('inc-1', at(2), ['frontend', 'GET /']))),
    ];
    const totals = summarize(results);
    expect(totals).toMatchObject({ ac1: 2, faultScenarios: 2, medianTtdMs: 10_000, ttdFaults: 1, healthyClean: 0, falseIncidents: 1 });
    const goals = judgeGoals(totals);
    expect(goals.map((g) => g.pass)).toEqual([true, true, false, true]);
    const text = formatTable(results, totals, goals);
    expect(text).toContain('FAIL  zero incidents on healthy runs');
    expect(text).toMatch(/good +payment POST \/payment +payment POST \/payment +✓/);
  });
});
