/**
 * Public data shapes of the simulator: topologies, faults, scenarios and their ground truth. All plain
 * data, so scenarios can be printed, diffed and serialised.
 */
import type { Span } from '@rootspan/engine';

/**
 * A log-normal duration with an optional heavy tail: `median * exp(sigma * N(0,1))`, multiplied by
 * `tailFactor` with probability `tailP` (GC pauses, cold caches: the outliers real services have).
 */
export interface LatencyDist {
  /** Median in ms. */
  median: number;
  /** Log-space standard deviation (0.2 tight, 0.5 wide). */
  sigma: number;
  /** Probability of a tail event; default 0. */
  tailP?: number;
  /** Multiplier applied on a tail event; default 1. */
  tailFactor?: number;
}

/** Options every call (HTTP or database) shares. */
export interface CallOptions {
  /** Probability the call is made at all (e.g. 0.3 for a cache miss path); default 1. */
  probability?: number;
  /** Client timeout in ms: the client span ends at the timeout with `error.type` = `timeout`. */
  timeoutMs?: number;
  /** Extra attempts after a failure or timeout; each attempt is its own client span. Default 0. */
  retries?: number;
  /** Pause before a retry in ms; default 0 (Node clients usually retry at once). */
  retryBackoffMs?: number;
  /** The caller swallows a failure of this call and stays OK ("fails silently"). */
  optional?: boolean;
}

/** An HTTP call to another service's operation: a CLIENT span here, a SERVER span in the callee. */
export interface HttpCall extends CallOptions {
  service: string;
  /** The callee's operation, `METHOD /route`. */
  operation: string;
}

/** A call to an uninstrumented database or cache: a CLIENT span only. */
export interface DbCall extends CallOptions {
  /** Name of a {@link DatabaseDef} in the topology. */
  db: string;
  /** `db.operation.name`, e.g. `SELECT`, `GET`. */
  operation: string;
  /** Table/collection/key prefix, used in the span name (`SELECT orders`). */
  target?: string;
  latency: LatencyDist;
  /** Background failure probability; default 0. */
  errorRate?: number;
}

export type Call = HttpCall | DbCall;

/** One step of a call plan: a single call, or an array of calls made in parallel (the step ends with the slowest). */
export type Step = Call | Call[];

export interface OperationDef {
  /** `METHOD /route`, e.g. `POST /payment`, `GET /products/:id`. */
  name: string;
  /** The operation's own work (excluding calls). */
  selfTime: LatencyDist;
  /** Background probability of failing on its own. */
  errorRate: number;
  /** Ordered steps; default none (a leaf). */
  calls?: Step[];
}

export interface ServiceDef {
  name: string;
  /** `service.version` before any deploy fault. */
  version: string;
  /** Port in `server.port` of calls to this service; default 8080. */
  port?: number;
  operations: OperationDef[];
}

/** A database or cache node. Its name is what the engine names it (`db.system`), e.g. `postgresql`. */
export interface DatabaseDef {
  name: string;
  /** `db.system`; defaults to `name`. */
  system?: string;
  /** `server.address`; defaults to `name`. */
  address?: string;
  port: number;
}

/** Where requests enter: an operation and its share of the scenario's request rate. */
export interface EntryDef {
  service: string;
  operation: string;
  /** Relative weight (weights are normalised). */
  weight: number;
}

export interface Topology {
  name: string;
  services: ServiceDef[];
  databases: DatabaseDef[];
  entries: EntryDef[];
}

/** Fields every fault has. Offsets are ms from the scenario start. */
export interface FaultWindow {
  /** Offset (ms from scenario start) at which the fault begins. */
  fromMs: number;
  /** Offset at which it ends (exclusive); default: never. */
  toMs?: number;
  /**
   * Intermittency: within the window the fault is on for `onMs`, then off for `offMs`, repeating
   * (bursts). Works on any fault type.
   */
  cycle?: { onMs: number; offMs: number };
}

/** Targets one operation, or every operation of the service when `operation` is omitted. */
export interface OperationTarget {
  service: string;
  operation?: string;
}

/** The target fails with this probability on its own (its callees are unaffected). */
export interface ErrorsFault extends FaultWindow, OperationTarget {
  type: 'errors';
  probability: number;
  /** HTTP status of the failures; default 500. */
  statusCode?: number;
}

/** The target's self time is multiplied and/or increased. */
export interface LatencyFault extends FaultWindow, OperationTarget {
  type: 'latency';
  multiplier?: number;
  addMs?: number;
}

/** The target takes `durationMs` (default 30 s) extra, so callers with timeouts give up. */
export interface HangFault extends FaultWindow, OperationTarget {
  type: 'hang';
  durationMs?: number;
  /** Share of requests that hang; default 1. */
  probability?: number;
}

/** Self-time multiplier growing linearly from 1× at `fromMs` to `toMultiplier` after `rampMs`, then held. */
export interface RampFault extends FaultWindow, OperationTarget {
  type: 'ramp';
  toMultiplier: number;
  rampMs: number;
}

/**
 * An N+1 regression: the target makes each of its one-at-a-time calls named `call` (the span name, e.g.
 * `SELECT products`; default every such call) `times` times in a row, as a loop of queries where there was one.
 */
export interface RepeatFault extends FaultWindow, OperationTarget {
  type: 'repeat';
  times: number;
  call?: string;
}

/** CPU starvation of a whole service: every operation's own self time is multiplied. */
export interface CpuFault extends FaultWindow {
  type: 'cpu';
  service: string;
  multiplier: number;
}

/** The request rate of the entries (all, or one `METHOD /route` entry) is multiplied: drop or surge. */
export interface TrafficFault extends FaultWindow {
  type: 'traffic';
  multiplier: number;
  /** Entry operation to affect; default all entries. */
  operation?: string;
}

/**
 * A new `service.version` from `fromMs` on (kept after `toMs`: deploy the old version back to roll
 * back), optionally bringing errors/latency over the window.
 */
export interface DeployFault extends FaultWindow {
  type: 'deploy';
  service: string;
  version: string;
  /** Operation the regression is in; default all of the service's operations. */
  operation?: string;
  errorProbability?: number;
  latencyMultiplier?: number;
}

/** A database node gets slower for every caller (`multiplier` on its latency, `addMs` on top). */
export interface DbSlowFault extends FaultWindow {
  type: 'db-slow';
  db: string;
  multiplier: number;
  addMs?: number;
  /** Only this `db.operation.name`; default all. */
  operation?: string;
}

/**
 * The target stops part-way: it skips every call after its first step (all of them when it has one
 * step) and its own time shrinks to a third. `exception` answers with an error (which a tracer without
 * status never shows), `early-return` answers OK (a bad config check, a wrong cached answer).
 */
export interface AbortFault extends FaultWindow, OperationTarget {
  type: 'exception' | 'early-return';
  /** Share of requests affected; default 1. */
  probability?: number;
}

/** Packets leaving a service are delayed (netem on its pod): callers wait `addMs` longer than its own spans show. */
export interface NetDelayFault extends FaultWindow {
  type: 'net-delay';
  service: string;
  addMs: number;
}

export type Fault =
  | ErrorsFault
  | LatencyFault
  | HangFault
  | RampFault
  | CpuFault
  | TrafficFault
  | DeployFault
  | DbSlowFault
  | AbortFault
  | NetDelayFault
  | RepeatFault;

/** Slow sinusoidal swell of the request rate (a compressed diurnal cycle). */
export interface Swell {
  /** Relative amplitude, e.g. 0.2 for ±20 %. */
  amplitude: number;
  periodMs: number;
  /** Phase in radians; default 0. */
  phase?: number;
}

/** A root cause the engine should name. */
export interface TruthFault {
  service: string;
  /** `METHOD /route`, or null where only the service matters (a database node, a traffic change). */
  operation: string | null;
  kind: 'latency' | 'errors' | 'timeout' | 'traffic' | 'shape';
  /** Event time, absolute epoch ms. */
  startMs: number;
  endMs: number;
}

export interface GroundTruth {
  faults: TruthFault[];
  /** Nothing is wrong: any incident is a false positive. */
  healthy?: boolean;
  expectedIncidents: number;
  /** Deploys in the scenario (event time), so an evaluation can check the engine links them. */
  changes?: Array<{ service: string; version: string; at: number }>;
}

export interface Scenario {
  name: string;
  description: string;
  topology: Topology;
  /** Event time simulated, from {@link SIM_EPOCH}. */
  durationMs: number;
  seed: number;
  /** Mean request rate over all entries (before swell and traffic faults). */
  baseRps: number;
  faults: Fault[];
  truth: GroundTruth;
  /** Default: ±10 % over one hour. */
  swell?: Swell;
  /** Emit spans as another tracer would (see {@link ForeignStyle}); default: OpenTelemetry with semantic conventions. */
  foreign?: ForeignStyle;
  /** Which table of `npm run eval` scores it; default `catalogue`. */
  family?: 'catalogue' | 'foreign';
}

/**
 * Spans as other tracers (Jaeger/Zipkin/SkyWalking exports converted to OTLP) give them: no status, no
 * kind, no attributes, no version, only service and name. Faults then show only in durations and in
 * which calls are made.
 */
export interface ForeignStyle {
  /**
   * `grpc`: every span is named by its RPC, `pkg.NameService/Method`, and service `name` is reported as
   * `nameservice` (as gRPC shops name their deployments); `http`: `METHOD /route` on both sides.
   */
  naming: 'grpc' | 'http';
  /** gRPC package; default the topology's name. */
  package?: string;
  /** Services that emit no span at all (uninstrumented): only their callers' client spans show them. Leaves only. */
  uninstrumented?: string[];
}

export interface SimulateOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's base rate (benchmarks scale traffic this way). */
  baseRps?: number;
  /** Overrides the scenario's duration. */
  durationMs?: number;
  /** Epoch ms of the scenario start; default {@link SIM_EPOCH}. Truth times are shifted with it. */
  startTime?: number;
  /** Export interval of each service's batch processor in ms; default 1000. */
  batchIntervalMs?: number;
  /** Largest batch; bigger flushes are split. Default 512 (BatchSpanProcessor's default). */
  maxBatchSize?: number;
}

/** One export of one service's batch processor, as a Collector receives it. */
export interface SpanBatch {
  service: string;
  /** Event time the batch was exported (>= every span's end time). */
  flushAt: number;
  /** Sorted by end time. */
  spans: Span[];
}

export interface SimulationResult {
  /** All spans in arrival order (the batches concatenated). */
  spans: Span[];
  /** Batches in flush order. */
  batches: Span[][];
  /** Flush time of each batch (parallel to `batches`). */
  flushTimes: number[];
  /** The scenario's truth, shifted to `startTime`. */
  truth: GroundTruth;
}
