/**
 * Detection on traces like the ones real-system benchmarks hand out (issue 11), in memory: simulator →
 * engine. Each case names its point of the issue; the scored suite is `npm run eval` (foreign family).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Incident } from '@rootspan/engine';
import { SIM_EPOCH, bankTopology, scenarioByName, shopTopology, simulate, type Scenario } from '@rootspan/sim';

const S = 1000;
const MIN = 60 * S;

function analyze(scenario: Scenario): Incident[] {
  const analyzer = createAnalyzer();
  for (const b of simulate(scenario).batches) analyzer.ingest(b);
  analyzer.flush();
  return analyzer.incidents().sort((a, b) => a.openedAt - b.openedAt);
}

function named(name: string): Scenario {
  const s = scenarioByName(name);
  if (s === undefined) throw new Error(`no scenario ${name}`);
  return s;
}

/** The single incident of a one-fault scenario, checked to name the truth and to open within `withinMs`. */
function single(name: string, withinMs = 30 * S): Incident {
  const s = named(name);
  const incidents = analyze(s);
  const [fault] = s.truth.faults;
  expect(incidents.map((i) => `${i.rootCause.service} ${i.rootCause.operation}`)).toHaveLength(1);
  const inc = incidents[0];
  expect(inc.rootCause.service).toBe(fault.service);
  if (fault.operation !== null) expect(inc.rootCause.operation).toBe(fault.operation);
  expect(inc.openedAt - fault.startMs).toBeGreaterThanOrEqual(0);
  expect(inc.openedAt - fault.startMs).toBeLessThanOrEqual(withinMs);
  return inc;
}

describe('spans from other tracers, with 30-60 s of history', () => {
  it('names an uninstrumented callee from its callers\' gRPC client spans', () => {
    const inc = single('foreign-boutique-payment-slow-uninstrumented');
    expect(inc.rootCause.operation).toBe('boutique.PaymentService/PostCharge');
  });

  it('blames the slow operation under a hub, not the hub everything calls', () => {
    single('foreign-ticket-station-slow-behind-hub');
  });

  it('blames a hub whose own (self) time grows under CPU contention', () => {
    single('foreign-ticket-order-cpu');
  });

  it('an exception without status: callers skip their later calls, and the callee that answered oddly fast is named', () => {
    const inc = single('foreign-boutique-currency-exception');
    expect(inc.rootCause.kind).toBe('shape');
  });

  it('an early return: the operation that skipped its own calls after a normal answer is named', () => {
    single('foreign-boutique-checkout-early-return');
  });

  it('network delay: the service whose answers arrive late, though its own spans do not change', () => {
    single('foreign-boutique-shipping-net-delay');
  });

  it('a low-traffic operation (~7/min, ~7 samples of history) 60x slower fires within a window', () => {
    single('foreign-ticket-stations-low-traffic', MIN);
  });

  it('warm-up at the start and short history open nothing on healthy runs', () => {
    expect(analyze(named('foreign-boutique-healthy'))).toEqual([]);
    expect(analyze(named('foreign-ticket-healthy-s2'))).toEqual([]);
  });
});

describe('subtle rates', () => {
  it('errors from 0.2% to 8% on an operation at 2 req/s open an incident within 60 s', () => {
    // payment serves a fifth of the shop's entries: 2 req/s at 10 req/s in; its background error rate is 0.2%.
    const from = 6 * MIN;
    const incidents = analyze({
      name: 'subtle-errors',
      description: '',
      topology: shopTopology(),
      durationMs: 10 * MIN,
      seed: 1101,
      baseRps: 10,
      faults: [{ type: 'errors', service: 'payment', operation: 'POST /payment', probability: 0.08, fromMs: from, toMs: 10 * MIN }],
      truth: { faults: [], expectedIncidents: 1 },
    });
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment' });
    expect(incidents[0].openedAt - (SIM_EPOCH + from)).toBeLessThanOrEqual(60 * S);
  });

  it('a latency ramp over 24 minutes is caught within 4 minutes of its start', () => {
    const from = 6 * MIN;
    const incidents = analyze({
      name: 'ramp',
      description: '',
      topology: bankTopology(),
      durationMs: 11 * MIN,
      seed: 301,
      baseRps: 6,
      faults: [{ type: 'ramp', service: 'ledger', operation: 'POST /entries', toMultiplier: 10, rampMs: 24 * MIN, fromMs: from, toMs: 33 * MIN }],
      truth: { faults: [], expectedIncidents: 1 },
    });
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'ledger', operation: 'POST /entries' });
    expect(incidents[0].openedAt - (SIM_EPOCH + from)).toBeLessThanOrEqual(4 * MIN);
  });
});
