/**
 * The fault-scenario catalogue with ground truth, used by `npm run eval`, benchmarks and the demo.
 *
 * Conventions: at least 5 minutes of healthy traffic before any fault (baselines must learn), the fault
 * for a few minutes, then recovery. Truth times are absolute event time from {@link SIM_EPOCH}; a truth
 * operation is `null` where only the service matters (a database node, a traffic change, a whole-service
 * CPU problem). The catalogue simulates in a few seconds in total.
 */
import { SIM_EPOCH } from './simulate.js';
import { FOREIGN_SCENARIOS } from './foreign-scenarios.js';
import { bankTopology, mediaTopology, shopTopology } from './topologies.js';
import type { Fault, GroundTruth, Scenario, Topology, TruthFault } from './types.js';

const MIN = 60_000;

/** A truth entry from minute offsets. */
function truth(service: string, operation: string | null, kind: TruthFault['kind'], fromMin: number, toMin: number): TruthFault {
  return { service, operation, kind, startMs: SIM_EPOCH + fromMin * MIN, endMs: SIM_EPOCH + toMin * MIN };
}

/** Fault window from minute offsets. */
function win(fromMin: number, toMin: number): { fromMs: number; toMs: number } {
  return { fromMs: fromMin * MIN, toMs: toMin * MIN };
}

interface Def {
  name: string;
  description: string;
  topology: () => Topology;
  minutes: number;
  seed: number;
  baseRps?: number;
  faults?: Fault[];
  truth: GroundTruth;
  swell?: Scenario['swell'];
}

function scenario(d: Def): Scenario {
  return {
    name: d.name,
    description: d.description,
    topology: d.topology(),
    durationMs: d.minutes * MIN,
    seed: d.seed,
    baseRps: d.baseRps ?? 6,
    faults: d.faults ?? [],
    truth: d.truth,
    ...(d.swell ? { swell: d.swell } : {}),
  };
}

const one = (...faults: TruthFault[]): GroundTruth => ({ faults, expectedIncidents: faults.length });
const healthy: GroundTruth = { faults: [], healthy: true, expectedIncidents: 0 };

function paymentErrors(name: string, description: string, seed: number, probability: number, extra: Partial<Def> = {}, at: [number, number] = [7, 11]): Scenario {
  return scenario({
    name,
    description,
    topology: shopTopology,
    minutes: 15,
    seed,
    faults: [{ type: 'errors', service: 'payment', operation: 'POST /payment', probability, ...win(at[0], at[1]) }],
    truth: one(truth('payment', 'POST /payment', 'errors', at[0], at[1])),
    ...extra,
  });
}

/** Every scenario, in a stable order: the catalogue, then the foreign-tracer family. */
export const SCENARIOS: readonly Scenario[] = [
  paymentErrors('shop-payment-errors', 'payment POST /payment fails 100% for 4 min; checkout retries once, then checkout and frontend fail.', 101, 1),
  paymentErrors('shop-payment-errors-partial', 'payment POST /payment fails 40% for 4 min (16% of checkouts fail after one retry).', 102, 0.4),
  scenario({
    name: 'shop-payment-slow',
    description: 'payment POST /payment self time 10× for 4 min; checkout and frontend slow down with it.',
    topology: shopTopology,
    minutes: 15,
    seed: 103,
    faults: [{ type: 'latency', service: 'payment', operation: 'POST /payment', multiplier: 10, ...win(7, 11) }],
    truth: one(truth('payment', 'POST /payment', 'latency', 7, 11)),
  }),
  scenario({
    name: 'media-cdn-slow-deep',
    description: 'cdn POST /purge 8× slower, five hops below edge (edge → ingest → transcoder → packager → publisher → cdn).',
    topology: mediaTopology,
    minutes: 15,
    seed: 201,
    faults: [{ type: 'latency', service: 'cdn', operation: 'POST /purge', multiplier: 8, ...win(7, 11) }],
    truth: one(truth('cdn', 'POST /purge', 'latency', 7, 11)),
  }),
  scenario({
    name: 'media-catalog-db-slow',
    description: "mongodb (used only by catalog) 10× slower: catalog, playback's cache misses and the home page slow down.",
    topology: mediaTopology,
    minutes: 15,
    seed: 202,
    faults: [{ type: 'db-slow', db: 'mongodb', multiplier: 10, ...win(7, 11) }],
    truth: one(truth('mongodb', null, 'latency', 7, 11)),
  }),
  scenario({
    name: 'shop-checkout-bug',
    description: "checkout POST /checkout fails 50% on its own (a bug after its calls); inventory, payment and shipping stay healthy.",
    topology: shopTopology,
    minutes: 15,
    seed: 104,
    faults: [{ type: 'errors', service: 'checkout', operation: 'POST /checkout', probability: 0.5, ...win(7, 11) }],
    truth: one(truth('checkout', 'POST /checkout', 'errors', 7, 11)),
  }),
  scenario({
    name: 'shop-checkout-cpu',
    description: "checkout is CPU-starved: its own self time 8× on every operation, callees unchanged.",
    topology: shopTopology,
    minutes: 15,
    seed: 105,
    faults: [{ type: 'cpu', service: 'checkout', multiplier: 8, ...win(7, 11) }],
    truth: one(truth('checkout', null, 'latency', 7, 11)),
  }),
  scenario({
    name: 'shop-inventory-n-plus-one',
    description: 'inventory GET /products/:id reads each variant on its own on a cache miss: postgresql SELECT products 20 times per request where it was once (an N+1); the database itself stays as fast.',
    topology: shopTopology,
    minutes: 15,
    seed: 119,
    faults: [{ type: 'repeat', service: 'inventory', operation: 'GET /products/:id', call: 'SELECT products', times: 20, ...win(7, 11) }],
    truth: one(truth('inventory', 'GET /products/:id', 'shape', 7, 11)),
  }),
  scenario({
    name: 'shop-inventory-hang',
    description: 'inventory POST /reserve hangs 30 s; checkout times out after 2 s twice (one retry) and fails; the hung spans end ~30 s later, OK.',
    topology: shopTopology,
    minutes: 15,
    seed: 106,
    faults: [{ type: 'hang', service: 'inventory', operation: 'POST /reserve', durationMs: 30_000, ...win(7, 11) }],
    truth: one(truth('inventory', 'POST /reserve', 'timeout', 7, 11)),
  }),
  scenario({
    name: 'media-recommendations-fanout-errors',
    description: 'recommendations fails 100%: one branch of edge GET /home\'s parallel fan-out (catalog, recommendations, profile); the page fails.',
    topology: mediaTopology,
    minutes: 15,
    seed: 203,
    faults: [{ type: 'errors', service: 'recommendations', operation: 'GET /recommendations', probability: 1, ...win(7, 11) }],
    truth: one(truth('recommendations', 'GET /recommendations', 'errors', 7, 11)),
  }),
  scenario({
    name: 'shop-two-faults',
    description: 'Two independent roots at once: payment fails 100% and postgresql (inventory, checkout, shipping; not payment) is 8× slower.',
    topology: shopTopology,
    minutes: 16,
    seed: 107,
    faults: [
      { type: 'errors', service: 'payment', operation: 'POST /payment', probability: 1, ...win(7, 11) },
      { type: 'db-slow', db: 'postgresql', multiplier: 8, ...win(7.5, 11.5) },
    ],
    truth: one(truth('payment', 'POST /payment', 'errors', 7, 11), truth('postgresql', null, 'latency', 7.5, 11.5)),
  }),
  scenario({
    name: 'shop-db-slow-then-inventory-bug',
    description:
      'postgresql 8× slower (7:00–11:00); two minutes in, a bug in inventory GET /products/:id fails 60% of its requests (9:00–13:00): a fault of its own in a service the first one slows, its own incident.',
    topology: shopTopology,
    minutes: 17,
    seed: 311,
    faults: [
      { type: 'db-slow', db: 'postgresql', multiplier: 8, ...win(7, 11) },
      { type: 'errors', service: 'inventory', operation: 'GET /products/:id', probability: 0.6, ...win(9, 13) },
    ],
    truth: one(truth('postgresql', null, 'latency', 7, 11), truth('inventory', 'GET /products/:id', 'errors', 9, 13)),
  }),
  scenario({
    name: 'bank-ledger-ramp',
    description: 'ledger POST /entries slows gradually: 1× to 10× over 24 min, held 3 min, then fixed.',
    topology: bankTopology,
    minutes: 38,
    seed: 301,
    faults: [{ type: 'ramp', service: 'ledger', operation: 'POST /entries', toMultiplier: 10, rampMs: 24 * MIN, ...win(6, 33) }],
    truth: one(truth('ledger', 'POST /entries', 'latency', 6, 33)),
  }),
  scenario({
    name: 'shop-traffic-drop',
    description: 'Entry traffic drops to 5% for 4 min (an upstream outage in front of the shop).',
    topology: shopTopology,
    minutes: 15,
    seed: 108,
    faults: [{ type: 'traffic', multiplier: 0.05, ...win(7, 11) }],
    truth: one(truth('frontend', null, 'traffic', 7, 11)),
  }),
  scenario({
    name: 'shop-traffic-surge',
    description: 'Entry traffic triples for 4 min with latency and errors unchanged: a busy moment, not a fault.',
    topology: shopTopology,
    minutes: 15,
    seed: 109,
    faults: [{ type: 'traffic', multiplier: 3, ...win(7, 11) }],
    truth: healthy,
  }),
  scenario({
    name: 'shop-payment-deploy',
    description: 'payment 1.5.0 is deployed at 7 min and fails 30%; rolled back to 1.4.2 at 11 min.',
    topology: shopTopology,
    minutes: 15,
    seed: 110,
    faults: [
      { type: 'deploy', service: 'payment', version: '1.5.0', errorProbability: 0.3, ...win(7, 11) },
      { type: 'deploy', service: 'payment', version: '1.4.2', fromMs: 11 * MIN },
    ],
    truth: {
      ...one(truth('payment', 'POST /payment', 'errors', 7, 11)),
      changes: [
        { service: 'payment', version: '1.5.0', at: SIM_EPOCH + 7 * MIN },
        { service: 'payment', version: '1.4.2', at: SIM_EPOCH + 11 * MIN },
      ],
    },
  }),
  scenario({
    name: 'shop-shipping-hidden-timeouts',
    description: 'shipping GET /estimate hangs 10 s; frontend gives up after 800 ms and swallows it (optional call), so no request fails: only client timeouts and late OK spans show it.',
    topology: shopTopology,
    minutes: 15,
    seed: 111,
    faults: [{ type: 'hang', service: 'shipping', operation: 'GET /estimate', durationMs: 10_000, ...win(7, 11) }],
    truth: one(truth('shipping', 'GET /estimate', 'timeout', 7, 11)),
  }),
  scenario({
    name: 'bank-shared-db-slow',
    description: 'The shared postgresql is 6× slower: auth, accounts, ledger and fraud all slow down at once; the root is the database.',
    topology: bankTopology,
    minutes: 15,
    seed: 302,
    faults: [{ type: 'db-slow', db: 'postgresql', multiplier: 6, ...win(7, 11) }],
    truth: one(truth('postgresql', null, 'latency', 7, 11)),
  }),
  scenario({
    name: 'shop-payment-intermittent',
    description: 'payment fails 100% in bursts: 20 s on, 100 s off, five bursts from 6:00 to 14:20. One incident, not five.',
    topology: shopTopology,
    minutes: 20,
    seed: 112,
    faults: [
      { type: 'errors', service: 'payment', operation: 'POST /payment', probability: 1, fromMs: 6 * MIN, toMs: 6 * MIN + 500_000, cycle: { onMs: 20_000, offMs: 100_000 } },
    ],
    truth: one(truth('payment', 'POST /payment', 'errors', 6, 6 + 500_000 / MIN)),
  }),
  scenario({
    name: 'shop-admin-report-errors',
    description: 'checkout GET /orders/report (behind frontend GET /admin/reports, ~0.1 rps) fails 100% for 8 min.',
    topology: shopTopology,
    minutes: 20,
    seed: 113,
    faults: [{ type: 'errors', service: 'checkout', operation: 'GET /orders/report', probability: 1, ...win(8, 16) }],
    truth: one(truth('checkout', 'GET /orders/report', 'errors', 8, 16)),
  }),
  paymentErrors('shop-payment-errors-subtle', 'payment POST /payment fails 8% (background 0.2%) for 5 min: below default thresholds.', 114, 0.08, {}, [7, 12]),
  scenario({
    name: 'shop-shipping-slow-subtle',
    description: 'shipping GET /quote (a leaf) 2.5× slower for 5 min: below default thresholds.',
    topology: shopTopology,
    minutes: 15,
    seed: 115,
    faults: [{ type: 'latency', service: 'shipping', operation: 'GET /quote', multiplier: 2.5, ...win(7, 12) }],
    truth: one(truth('shipping', 'GET /quote', 'latency', 7, 12)),
  }),
  scenario({
    name: 'shop-payment-slow-tail',
    description: 'payment POST /payment: 10% of requests take 1 s more for 5 min, the rest as fast as before (its median does not move).',
    topology: shopTopology,
    minutes: 15,
    seed: 120,
    faults: [{ type: 'hang', service: 'payment', operation: 'POST /payment', durationMs: 1000, probability: 0.1, ...win(7, 12) }],
    truth: one(truth('payment', 'POST /payment', 'latency', 7, 12)),
  }),
  paymentErrors('shop-payment-errors-low-traffic', 'payment fails 100% at 1 rps entry traffic (payment sees ~0.2 rps).', 116, 1, { baseRps: 1, minutes: 20 }, [8, 14]),
  paymentErrors('shop-payment-errors-high-traffic', 'payment fails 100% at 60 rps entry traffic; shorter run.', 117, 1, { baseRps: 60, minutes: 10 }, [5, 8]),
  scenario({
    name: 'shop-healthy-long',
    description: 'Two healthy hours at 2 rps: heavy tails, occasional single errors, a ±30% two-hour swell.',
    topology: shopTopology,
    minutes: 120,
    seed: 118,
    baseRps: 2,
    swell: { amplitude: 0.3, periodMs: 120 * MIN, phase: -Math.PI / 2 },
    truth: healthy,
  }),
  scenario({
    name: 'bank-healthy',
    description: 'One healthy hour of the bank API at 4 rps with a ±25% swell.',
    topology: bankTopology,
    minutes: 60,
    seed: 303,
    baseRps: 4,
    swell: { amplitude: 0.25, periodMs: 60 * MIN },
    truth: healthy,
  }),
  scenario({
    name: 'media-healthy',
    description: '45 healthy minutes of the media platform at 5 rps (slow uploads with heavy tails included).',
    topology: mediaTopology,
    minutes: 45,
    seed: 204,
    baseRps: 5,
    swell: { amplitude: 0.2, periodMs: 45 * MIN },
    truth: healthy,
  }),
  ...FOREIGN_SCENARIOS,
];

/** The scenario with this name, or undefined. */
export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
