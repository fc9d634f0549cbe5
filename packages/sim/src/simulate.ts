/**
 * The simulation driver: Poisson arrivals (by thinning, so the rate can follow a swell and traffic
 * faults), one seeded random stream per request, spans out through per-service batch processors.
 *
 * Each request draws from its own stream `(seed, candidate index)`, so a fault changes only the requests
 * it touches: the same scenario with and without a fault produces identical traces outside the fault.
 */
import type { Span } from '@rootspan/engine';
import { Batcher } from './batcher.js';
import { FaultPlan } from './faults.js';
import { compileForeign } from './foreign.js';
import { Rng } from './random.js';
import { compileTopology } from './topology.js';
import { TraceBuilder } from './trace.js';
import type { GroundTruth, Scenario, SimulateOptions, SimulationResult, SpanBatch, Swell } from './types.js';

/** Default scenario start: 2026-01-01T00:00:00Z, fixed so times are deterministic. */
export const SIM_EPOCH = Date.UTC(2026, 0, 1);

/** Used when a scenario sets no swell: ±10 % over an hour, enough that rates are never perfectly flat. */
export const DEFAULT_SWELL: Swell = { amplitude: 0.1, periodMs: 3_600_000 };

/** Stream 0 drives arrivals; requests use streams 1, 2, ... */
const ARRIVAL_STREAM = 0;

/**
 * Generates a scenario's spans incrementally, batch by batch in export order, holding only the spans
 * not yet exported (about rate × the longest trace duration × spans per trace). Use it for long or
 * high-traffic runs; {@link simulate} collects it.
 */
export function* simulateBatches(scenario: Scenario, opts: SimulateOptions = {}): Generator<SpanBatch, void, undefined> {
  const seed = (opts.seed ?? scenario.seed) >>> 0;
  const rps = opts.baseRps ?? scenario.baseRps;
  const start = opts.startTime ?? SIM_EPOCH;
  const end = start + (opts.durationMs ?? scenario.durationMs);
  const swell = scenario.swell ?? DEFAULT_SWELL;
  if (!(rps > 0)) throw new Error(`baseRps must be positive, got ${rps}`);
  if (!(swell.amplitude >= 0 && swell.amplitude < 1) || !(swell.periodMs > 0)) throw new Error('swell amplitude must be in [0, 1) and period positive');

  const topo = compileTopology(scenario.topology);
  const plan = new FaultPlan(topo, scenario.faults, start);
  const batcher = new Batcher(
    topo.services.map((s) => s.name),
    opts.batchIntervalMs ?? 1000,
    opts.maxBatchSize ?? 512,
    seed,
    start,
  );
  const rng = new Rng(seed, 1);
  const foreign = scenario.foreign ? compileForeign(topo, scenario.foreign, scenario.topology.name) : undefined;
  const builder = new TraceBuilder(topo, plan, batcher, rng, foreign);
  const arrivals = new Rng(seed, ARRIVAL_STREAM);

  // Thinning: candidates at the peak rate, each kept with probability rate(t) / peak.
  const peakFactor = (1 + swell.amplitude) * plan.maxTrafficMultiplier;
  const meanGapMs = 1000 / (rps * peakFactor);
  const omega = (2 * Math.PI) / swell.periodMs;
  const phase = swell.phase ?? 0;
  const entryOps = topo.entries.map((e) => e.op);
  const cumulative: number[] = [];
  let acc = 0;
  for (const e of topo.entries) cumulative.push((acc += e.weight));

  const out: SpanBatch[] = [];
  let t = start;
  for (let candidate = 1; ; candidate++) {
    t += arrivals.exponential(meanGapMs);
    if (t >= end) break;
    const u = arrivals.next();
    let entry = 0;
    while (entry < cumulative.length - 1 && u >= cumulative[entry]) entry++;
    const op = entryOps[entry];
    const factor = (1 + swell.amplitude * Math.sin(omega * (t - start) + phase)) * plan.trafficMultiplier(op, t);
    if (arrivals.next() * peakFactor < factor) {
      rng.reseed(seed, candidate);
      builder.request(op, t);
    }
    batcher.drainBefore(t, out);
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  batcher.drainAll(out);
  yield* out;
}

/** Shifts a truth written against {@link SIM_EPOCH} to another start time. */
export function shiftTruth(truth: GroundTruth, startTime: number): GroundTruth {
  const d = startTime - SIM_EPOCH;
  return {
    ...truth,
    faults: truth.faults.map((f) => ({ ...f, startMs: f.startMs + d, endMs: f.endMs + d })),
    ...(truth.changes ? { changes: truth.changes.map((c) => ({ ...c, at: c.at + d })) } : {}),
  };
}

/**
 * Runs a whole scenario in memory. Same scenario and options → byte-identical output.
 * `spans` is every batch concatenated: the order a Collector receives them.
 */
export function simulate(scenario: Scenario, opts: SimulateOptions = {}): SimulationResult {
  const spans: Span[] = [];
  const batches: Span[][] = [];
  const flushTimes: number[] = [];
  for (const b of simulateBatches(scenario, opts)) {
    batches.push(b.spans);
    flushTimes.push(b.flushAt);
    for (let i = 0; i < b.spans.length; i++) spans.push(b.spans[i]);
  }
  return { spans, batches, flushTimes, truth: shiftTruth(scenario.truth, opts.startTime ?? SIM_EPOCH) };
}
