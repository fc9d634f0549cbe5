/**
 * Engine ingest: simulated span batches (three topologies, production-like rates, generated into memory
 * before any timing) through `createAnalyzer().ingest(batch)` and `flush()`, on one JS thread, beside a
 * floor loop over the same batches in the same process that only reads the span fields the engine
 * reads, builds the operation key and counts into a Map. Passes alternate floor/ingest, each after a
 * forced GC; medians are reported. A last, separate pass runs under the CPU profiler.
 *
 * What is measured is a long-lived analyzer's steady state, as in a host or a CLI run, not V8 warming up:
 * - {@link WARM_UP_PASSES} untimed passes first. V8 settles a class's object layout only at its 7th
 *   instance (in-object slack tracking) and then deoptimizes the code compiled for the old one: with one
 *   warm-up pass (three analyzers) the second and third timed passes paid for compiling most of the engine
 *   again (~60 deoptimizations each, ~30–45 % slower than the first).
 * - The first warm-up pass's analyzers stay alive until the end. V8 keeps the hidden classes compiled
 *   code depends on only while some object has them: with every analyzer of the previous pass garbage, a
 *   forced GC collected them and deoptimized most of the engine (~80 functions, "weak objects").
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAnalyzer, type Analyzer, type Span } from '@rootspan/engine';
import { scenarioByName, simulateBatches } from '@rootspan/sim';
import { childMain, forceGc, log, median, sig, type BenchResult, type ChildOptions, type GoalRow } from './common.js';
import { profile, selfTime } from './profile.js';

/** Goal: spans/s through `ingest` on one core. */
export const INGEST_GOAL_SPANS_PER_S = 1.5e6;
/** Goal: ingest ns/span at most this multiple of the floor's. */
export const INGEST_GOAL_FLOOR_RATIO = 3;

/** Scenario and entry rate (requests/s): ~9–11 spans per request, batches as each service's BatchSpanProcessor exports them. */
const DATASETS: ReadonlyArray<readonly [string, number]> = [
  ['shop-payment-errors', 40],
  ['media-cdn-slow-deep', 25],
  ['bank-shared-db-slow', 20],
];

/** Untimed ingest passes before the timed ones (three analyzers each; see the header). */
const WARM_UP_PASSES = 4;

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Dataset {
  name: string;
  rps: number;
  batches: Span[][];
  spans: number;
}

function generate(quick: boolean): Dataset[] {
  return DATASETS.map(([name, rps]) => {
    const scenario = scenarioByName(name);
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    const r = quick ? rps / 4 : rps;
    const batches: Span[][] = [];
    let spans = 0;
    for (const b of simulateBatches(scenario, { baseRps: r })) {
      if (b.spans.length === 0) continue;
      batches.push(b.spans);
      spans += b.spans.length;
    }
    return { name, rps: r, batches, spans };
  });
}

interface IngestOutcome {
  incidents: number;
  accepted: number;
  dropped: number;
  operations: number;
}

/** Every dataset through a fresh analyzer with default options, to the end of input; `keep` receives the analyzers. */
function ingestPass(data: readonly Dataset[], keep?: Analyzer[]): IngestOutcome {
  const out: IngestOutcome = { incidents: 0, accepted: 0, dropped: 0, operations: 0 };
  for (const d of data) {
    const analyzer = createAnalyzer();
    keep?.push(analyzer);
    for (const batch of d.batches) analyzer.ingest(batch);
    analyzer.flush();
    const s = analyzer.stats();
    out.incidents += s.incidents.total;
    out.accepted += s.accepted;
    out.dropped += s.dropped;
    out.operations += s.operations;
  }
  return out;
}

interface Counter {
  requests: number;
  errors: number;
  ms: number;
  ids: number;
}

/**
 * The floor: what any analysis of these spans must at least do. Reads the fields the engine reads, builds
 * the operation key (`service \u0001 METHOD route`, else the span name) and updates a Map of counters.
 * Returns a checksum so the work cannot be optimised away.
 */
function floorPass(data: readonly Dataset[]): number {
  let check = 0;
  for (const d of data) {
    const counts = new Map<string, Counter>();
    for (const batch of d.batches) {
      for (let i = 0; i < batch.length; i++) {
        const s = batch[i];
        const a = s.attributes;
        const method = a === undefined ? undefined : a['http.request.method'];
        const route = a === undefined ? undefined : a['http.route'];
        const operation = s.kind === 'server' && method !== undefined && route !== undefined ? `${method} ${route}` : s.name;
        const key = `${s.service}\u0001${operation}`;
        let c = counts.get(key);
        if (c === undefined) {
          c = { requests: 0, errors: 0, ms: 0, ids: 0 };
          counts.set(key, c);
        }
        c.requests++;
        if (s.status === 'error') c.errors++;
        c.ms += s.endTime - s.startTime;
        c.ids += s.traceId.length + s.spanId.length + (s.parentSpanId === undefined ? 0 : s.parentSpanId.length) + (s.serviceVersion === undefined ? 0 : 1);
      }
    }
    for (const c of counts.values()) check += c.requests + c.errors + c.ms + c.ids;
  }
  return check;
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  forceGc();
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

async function run(opts: ChildOptions): Promise<BenchResult> {
  const started = performance.now();
  log('ingest', 'simulating span batches into memory...');
  const data = generate(opts.quick);
  const spans = data.reduce((n, d) => n + d.spans, 0);
  const batches = data.reduce((n, d) => n + d.batches.length, 0);
  log('ingest', `${spans} spans in ${batches} batches (${(spans / batches).toFixed(0)} spans/batch), ${((performance.now() - started) / 1000).toFixed(1)} s`);

  // Warm-up (see the header): the JIT, and the analyzer's code paths for anomalies and incidents.
  floorPass(data);
  const resident: Analyzer[] = [];
  const warm = ingestPass(data, resident);
  for (let w = 1; w < WARM_UP_PASSES; w++) ingestPass(data);
  const rounds = opts.quick ? 1 : 3;
  const floorMs: number[] = [];
  const ingestMs: number[] = [];
  let outcome = warm;
  for (let r = 0; r < rounds; r++) {
    const f = timed(() => floorPass(data));
    floorMs.push(f.ms);
    const g = timed(() => ingestPass(data));
    ingestMs.push(g.ms);
    outcome = g.value;
    log('ingest', `round ${r + 1}/${rounds}: floor ${sig((f.ms * 1e6) / spans)} ns/span, ingest ${sig((g.ms * 1e6) / spans)} ns/span`);
  }
  const floorNs = (median(floorMs) * 1e6) / spans;
  const ingestNs = (median(ingestMs) * 1e6) / spans;
  const spansPerS = 1e9 / ingestNs;
  const ratio = ingestNs / floorNs;
  // Each round's floor and ingest ran back to back: their ratio shows how far the machine's noise moves it.
  const roundRatios = ingestMs.map((ms, r) => ms / floorMs[r]);
  const spread = `rounds ${sig(Math.min(...roundRatios))}–${sig(Math.max(...roundRatios))}×`;

  log('ingest', 'profiling one more ingest pass...');
  forceGc();
  const prof = await profile(() => ingestPass(data));
  mkdirSync(opts.resultsDir, { recursive: true });
  const profileFile = join(opts.resultsDir, 'ingest.cpuprofile');
  writeFileSync(profileFile, JSON.stringify(prof.profile));
  resident.length = 0;
  const self = selfTime(prof.profile, REPO_ROOT);
  const top = self.top.slice(0, 15);
  const areas = Object.entries(self.areas)
    .sort((a, b) => b[1] - a[1])
    .map(([k, ms]) => `${k} ${((ms / self.totalMs) * 100).toFixed(0)}%`)
    .join(', ');

  const report = [
    `== Engine ingest (${opts.quick ? 'quick' : 'full'}): ${spans} spans, ${batches} batches, ${data.map((d) => `${d.name}@${d.rps}rps`).join(', ')}`,
    `   floor  ${sig(floorNs)} ns/span  (${sig(1e9 / floorNs / 1e6)} M spans/s)   median of ${rounds}: ${floorMs.map((m) => m.toFixed(0)).join(', ')} ms`,
    `   ingest ${sig(ingestNs)} ns/span  (${sig(spansPerS / 1e6)} M spans/s)   median of ${rounds}: ${ingestMs.map((m) => m.toFixed(0)).join(', ')} ms`,
    `   ingest / floor = ${sig(ratio)}× (${spread});  ${outcome.incidents} incidents, ${outcome.operations} operations, ${outcome.dropped} spans dropped`,
    `   CPU profile of one ingest pass (${self.totalMs.toFixed(0)} ms sampled; ${areas}), top self time:`,
    ...top.map((e) => `   ${(e.share * 100).toFixed(1).padStart(5)}% ${e.selfMs.toFixed(0).padStart(6)} ms  ${e.name}  ${e.where}`),
    `   full profile: ${profileFile} (open in Chrome DevTools > Performance, or VS Code)`,
  ];
  const rows: GoalRow[] = [
    {
      benchmark: 'ingest',
      metric: 'engine ingest throughput (1 core)',
      goal: `≥ ${INGEST_GOAL_SPANS_PER_S / 1e6} M spans/s`,
      measured: `${sig(spansPerS / 1e6)} M spans/s (${sig(ingestNs)} ns/span)`,
      ratio: spansPerS / INGEST_GOAL_SPANS_PER_S,
      ratioOf: 'of goal',
      pass: spansPerS >= INGEST_GOAL_SPANS_PER_S,
    },
    {
      benchmark: 'ingest',
      metric: 'ingest ns/span vs floor loop',
      goal: `≤ ${INGEST_GOAL_FLOOR_RATIO}× floor`,
      measured: `${sig(ingestNs)} vs ${sig(floorNs)} ns/span (${spread})`,
      ratio,
      ratioOf: '× floor',
      pass: ratio <= INGEST_GOAL_FLOOR_RATIO,
    },
  ];
  return {
    name: 'ingest',
    wallMs: Math.round(performance.now() - started),
    rows,
    report,
    details: {
      datasets: data.map((d) => ({ scenario: d.name, rps: d.rps, spans: d.spans, batches: d.batches.length })),
      spans,
      rounds,
      floorMs,
      ingestMs,
      floorNsPerSpan: floorNs,
      ingestNsPerSpan: ingestNs,
      ingestSpansPerS: spansPerS,
      ratio,
      roundRatios,
      outcome,
      profile: { file: profileFile, sampledMs: self.totalMs, areasMs: self.areas, top: self.top.slice(0, 30) },
    },
  };
}

childMain(run);
