/**
 * The foreign-tracer family: the kind of traces fault-injection benchmarks hand out, recorded from
 * systems written by others and converted to OTLP. Spans carry only service and name (no status, no
 * kind, no attributes), some services are not instrumented at all, there are only 30–60 s of traffic
 * before the fault and about two minutes after it, and the first seconds are warm-up (cold caches, JIT:
 * everything slower). Faults are the ones such benchmarks inject: CPU contention, network delay,
 * exceptions and early returns (which, without status, show only in durations and in missing calls),
 * slow operations behind hubs, slow uninstrumented callees, and a low-traffic operation.
 *
 * Each fault runs on two seeds, so no single random draw decides a row.
 */
import { SIM_EPOCH } from './simulate.js';
import { bankTopology, boutiqueTopology, mediaTopology, shopTopology, ticketTopology } from './topologies.js';
import type { Fault, ForeignStyle, GroundTruth, Scenario, Topology, TruthFault } from './types.js';

const S = 1000;

/** Seconds of warm-up at the start of every run, and how much slower everything is then. */
const WARMUP_S = 10;
const WARMUP_FACTOR = 2.5;

function warmup(topology: Topology): Fault[] {
  return topology.services.map((s) => ({ type: 'latency', service: s.name, multiplier: WARMUP_FACTOR, fromMs: 0, toMs: WARMUP_S * S }));
}

interface Def {
  name: string;
  description: string;
  topology: () => Topology;
  style: ForeignStyle;
  /** Fault start and end, seconds from the start; the run lasts until `end`. */
  at?: [number, number];
  seconds?: number;
  baseRps?: number;
  fault?: Fault;
  /** Service (as reported) and operation (as the engine names it, or null) to blame. */
  truth?: [string, string | null, TruthFault['kind']];
  seeds: [number, number];
}

function variants(d: Def): Scenario[] {
  const topology = d.topology();
  const [from, to] = d.at ?? [45, 165];
  const seconds = d.seconds ?? to;
  const truth: GroundTruth = d.truth
    ? {
        faults: [{ service: d.truth[0], operation: d.truth[1], kind: d.truth[2], startMs: SIM_EPOCH + from * S, endMs: SIM_EPOCH + to * S }],
        expectedIncidents: 1,
      }
    : { faults: [], healthy: true, expectedIncidents: 0 };
  return d.seeds.map((seed, i) => ({
    name: `${d.name}${i === 0 ? '' : `-s${i + 1}`}`,
    description: d.description,
    topology,
    durationMs: seconds * S,
    seed,
    baseRps: d.baseRps ?? 8,
    faults: [...warmup(topology), ...(d.fault ? [{ ...d.fault, fromMs: from * S, toMs: to * S }] : [])],
    truth,
    swell: { amplitude: 0.1, periodMs: 10 * 60 * S },
    foreign: d.style,
    family: 'foreign',
  }));
}

const GRPC: ForeignStyle = { naming: 'grpc' };
const HTTP: ForeignStyle = { naming: 'http' };
const win = { fromMs: 0, toMs: 1 };

/** The foreign-tracer family, in a stable order. */
export const FOREIGN_SCENARIOS: readonly Scenario[] = [
  ...variants({
    name: 'foreign-boutique-payment-slow-uninstrumented',
    description: 'gRPC names, no status/kind/attributes; paymentservice emits no spans and gets 15× slower: only checkout\'s client spans show it.',
    topology: boutiqueTopology,
    style: { ...GRPC, uninstrumented: ['payment', 'email'] },
    fault: { type: 'latency', service: 'payment', multiplier: 15, ...win },
    truth: ['paymentservice', null, 'latency'],
    seeds: [501, 511],
  }),
  ...variants({
    name: 'foreign-boutique-currency-exception',
    description: 'currencyservice POST /convert throws on 60% of calls (no status to show it): callers skip their remaining calls.',
    topology: boutiqueTopology,
    style: GRPC,
    fault: { type: 'exception', service: 'currency', operation: 'POST /convert', probability: 0.6, ...win },
    truth: ['currencyservice', 'boutique.CurrencyService/PostConvert', 'errors'],
    seeds: [502, 512],
  }),
  ...variants({
    name: 'foreign-boutique-catalog-cpu',
    description: 'productcatalogservice CPU-starved (own time 6×); it is called by the frontend, recommendation and checkout.',
    topology: boutiqueTopology,
    style: GRPC,
    fault: { type: 'cpu', service: 'productcatalog', multiplier: 6, ...win },
    truth: ['productcatalogservice', null, 'latency'],
    seeds: [503, 513],
  }),
  ...variants({
    name: 'foreign-boutique-checkout-early-return',
    description: 'checkoutservice returns early (OK) after fetching the cart: its later calls (payment, shipping, email) disappear.',
    topology: boutiqueTopology,
    style: GRPC,
    at: [30, 150],
    fault: { type: 'early-return', service: 'checkout', ...win },
    truth: ['checkoutservice', null, 'errors'],
    seeds: [504, 514],
  }),
  ...variants({
    name: 'foreign-boutique-shipping-net-delay',
    description: 'shippingservice\'s packets delayed 200 ms: its callers wait longer, its own spans do not change.',
    topology: boutiqueTopology,
    style: GRPC,
    baseRps: 12,
    fault: { type: 'net-delay', service: 'shipping', addMs: 200, ...win },
    truth: ['shippingservice', null, 'latency'],
    seeds: [505, 515],
  }),
  ...variants({
    name: 'foreign-ticket-station-slow-behind-hub',
    description: 'HTTP names, no status; station GET /stations/:id 12× slower under the order hub (called by everything).',
    topology: ticketTopology,
    style: HTTP,
    fault: { type: 'latency', service: 'station', operation: 'GET /stations/:id', multiplier: 12, ...win },
    truth: ['station', 'GET /stations/:id', 'latency'],
    seeds: [601, 611],
  }),
  ...variants({
    name: 'foreign-ticket-order-cpu',
    description: 'The order hub itself is CPU-starved: its own time 5× on every operation.',
    topology: ticketTopology,
    style: HTTP,
    fault: { type: 'cpu', service: 'order', multiplier: 5, ...win },
    truth: ['order', null, 'latency'],
    seeds: [602, 612],
  }),
  ...variants({
    name: 'foreign-ticket-config-exception',
    description: 'config GET /configs/:id throws on every call: seat fails, its callers skip their later calls; no status anywhere.',
    topology: ticketTopology,
    style: HTTP,
    at: [60, 180],
    fault: { type: 'exception', service: 'config', operation: 'GET /configs/:id', ...win },
    truth: ['config', 'GET /configs/:id', 'errors'],
    seeds: [603, 613],
  }),
  ...variants({
    name: 'foreign-ticket-stations-low-traffic',
    description: 'station GET /stations, behind a ~7/min admin entry, 60× slower: a handful of samples before and after.',
    topology: ticketTopology,
    style: HTTP,
    at: [60, 180],
    fault: { type: 'latency', service: 'station', operation: 'GET /stations', multiplier: 60, ...win },
    truth: ['station', 'GET /stations', 'latency'],
    seeds: [604, 614],
  }),
  ...variants({
    name: 'foreign-shop-inventory-slow-uninstrumented',
    description: 'The shop in gRPC names with payment and shipping uninstrumented; inventoryservice POST /reserve 10× slower.',
    topology: shopTopology,
    style: { ...GRPC, uninstrumented: ['payment', 'shipping'] },
    fault: { type: 'latency', service: 'inventory', operation: 'POST /reserve', multiplier: 10, ...win },
    truth: ['inventoryservice', 'shop.InventoryService/PostReserve', 'latency'],
    seeds: [701, 711],
  }),
  ...variants({
    name: 'foreign-bank-fraud-slow-uninstrumented',
    description: 'The bank in gRPC names with fraud and notifications uninstrumented; fraudservice 8× slower.',
    topology: bankTopology,
    style: { ...GRPC, uninstrumented: ['fraud', 'notifications'] },
    fault: { type: 'latency', service: 'fraud', multiplier: 8, ...win },
    truth: ['fraudservice', null, 'latency'],
    seeds: [801, 811],
  }),
  ...variants({
    name: 'foreign-media-packager-cpu',
    description: 'The media platform with HTTP names; packager CPU-starved (4×) in the middle of the upload chain.',
    topology: mediaTopology,
    style: HTTP,
    baseRps: 10,
    fault: { type: 'cpu', service: 'packager', multiplier: 4, ...win },
    truth: ['packager', null, 'latency'],
    seeds: [901, 911],
  }),
  ...variants({
    name: 'foreign-boutique-healthy',
    description: 'Healthy boutique, gRPC names, payment and email uninstrumented, warm-up at the start: no incident.',
    topology: boutiqueTopology,
    style: { ...GRPC, uninstrumented: ['payment', 'email'] },
    seconds: 180,
    seeds: [521, 531],
  }),
  ...variants({
    name: 'foreign-ticket-healthy',
    description: 'Healthy ticketing system, HTTP names, warm-up at the start: no incident.',
    topology: ticketTopology,
    style: HTTP,
    seconds: 180,
    seeds: [621, 631],
  }),
];
