/**
 * Analyzer and detector options. Every field has a documented default; {@link resolveOptions} validates
 * once, up front, and throws a clear error naming the bad field (the only place the engine throws).
 */
import { RootspanError } from './errors.js';
import { WINDOWS } from './ops/state.js';

/** Baseline learning (shared by the latency, error and traffic baselines). */
export interface BaselineOptions {
  /** EWMA weight of one bucket of successful requests. Default 0.1. */
  alpha: number;
  /**
   * Samples learned before an operation is judged. Default 5: the tests then account for how little was
   * learned (Student's t for latency, a conservative prior for rates), so short history is judged honestly.
   */
  minSamples: number;
  /** Samples further than this many standard deviations from the baseline are not learned. Default 5. */
  outlierSigma: number;
}

/** Latency detector: a ratio to baseline AND a significance test against the learned variance. */
export interface LatencyOptions {
  /** Ratio of observed typical latency to baseline that counts as anomalous. Default 3. */
  ratio: number;
  /** z-score (vs baseline variance) needed together with `ratio`. Default 3. */
  zMin: number;
  /**
   * Smaller shifts still fire on busy operations when this ratio AND `sensitiveZ` are reached, and typical
   * latency rose by 5 × `minShiftMs` (a millisecond or two more on a fast route is what a busy host does
   * to every operation at once). Default 1.5.
   */
  sensitiveRatio: number;
  /**
   * Default 6. The test counts `driftSigma` as well as the window's size, so however many requests a window
   * holds, the sensitive rule needs a shift of `sensitiveZ × driftSigma` in ln ms: ~1.8× at the defaults.
   */
  sensitiveZ: number;
  /** Requests in the window needed for the sensitive rule. Default 20. */
  sensitiveMinSamples: number;
  /** Requests a window needs before latency is judged at all (one slow request is not an incident). Default 3. */
  minWindowSamples: number;
  /** Normal window-to-window wobble of typical latency, as a log-ratio sd; guards huge windows. Default 0.1. */
  driftSigma: number;
  /**
   * The `ratio` rule also needs this many requests individually slower than `ratio`× typical to be
   * unlikely (binomial p-value) given how often that happens normally — the share learned, and at least
   * what the learned spread of latencies implies (at its 95 % upper bound while few were learned): heavy
   * tails alone do not fire. Default 1e-4.
   */
  slowPMax: number;
  /**
   * Typical latency must also rise by at least this much (ms) over its baseline, whatever the ratio: on
   * sub-millisecond operations (in-process SQLite, cache lookups) 3× is a fraction of a millisecond that no
   * caller notices and that scheduler jitter on a shared CPU produces routinely. Default 1 ms.
   */
  minShiftMs: number;
  /** Typical latency above this is critical whatever the ratio. Default 10000 ms. */
  criticalMs: number;
  /** Ratio tiers where medium, high and critical start [5, 10, 20]; low is below, from the lowest firing ratio (see `latencyTiers`). */
  severityTiers: [medium: number, high: number, critical: number];
}

/** Error-rate detector: the prototype's threshold AND a binomial test against the baseline error rate. */
export interface ErrorOptions {
  /** Error rate above which a window is anomalous (with enough requests). Default 0.2. */
  rate: number;
  /** Requests needed in the window for the `rate` rule. Default 5. */
  minRequests: number;
  /**
   * Errors needed in the window for the `rate` rule. Default 4, as `sensitiveMinErrors`: errors often come
   * a few in a row (a reset connection, a retry failing again), so 3 failures of 11 requests on a quiet
   * route are a blip its usual error rate contains, not a spike (the binomial test also counts runs as runs,
   * see `RunLength`).
   */
  minErrors: number;
  /**
   * Binomial p-value the `rate` rule also needs. Default 1e-4. Both rules test against the highest rate
   * the learned one is consistent with (its 95 % upper bound), not the estimate: a baseline of a few hundred
   * requests is not taken for exact.
   */
  pMax: number;
  /** Lower error rates still fire when the p-value is below this (statistically clear shifts). Default 1e-5. */
  sensitivePMax: number;
  /** Errors needed in the window for the sensitive rule. Default 4. */
  sensitiveMinErrors: number;
  /**
   * Per-request decay of the learned error rate (memory of ~1/x requests). Default 0.0005: 2000 requests,
   * enough to bound a rate of a few per thousand.
   */
  decayPerRequest: number;
}

/** Traffic detector: surge or drop against the learned request rate, with a Poisson test. */
export interface TrafficOptions {
  /** Observed/expected rate at or above which a surge is considered. Default 2.5. */
  surgeRatio: number;
  /** Observed/expected rate at or below which a drop is considered. Default 0.3. */
  dropRatio: number;
  /** Poisson p-value needed. Default 1e-6. */
  pMax: number;
  /** Over-dispersion allowance: the expected count is widened by this fraction before testing. Default 0.3. */
  slack: number;
  /** Buckets learned before traffic is judged. Default 12. */
  minBuckets: number;
  /**
   * A drop is judged only over windows at least this long (ms). Default 60000, the longest window: a
   * client pausing, a load test ending or a process draining before shutdown is not an outage; a drop
   * that lasts most of a minute is. At most the longest window (12 buckets); the default is cut to it
   * when buckets are shorter than 5 s.
   */
  dropWindowMs: number;
}

/** Timeout detector: callers giving up on a callee (or attempts with no successful answer). */
export interface TimeoutOptions {
  /** Share of attempts given up on that counts as anomalous. Default 0.2. */
  rate: number;
  /** Attempts needed in the window. Default 3. */
  minAttempts: number;
  /** Binomial p-value needed. Default 1e-3. */
  pMax: number;
  /**
   * Lower give-up shares still fire once the baseline is ready, at twice the learned share and two points
   * above it, when the p-value against its 95 % upper bound is below this. Default 1e-5.
   */
  sensitivePMax: number;
  /** Calls given up on needed in the window for the sensitive rule. Default 4. */
  sensitiveMinGiveUps: number;
}

/** Trace-shape detector: usual child calls that disappear, and new calls that appear. */
export interface ShapeOptions {
  /** A call made by at least this share of requests is "usual" (its absence is judged). Default 0.9. */
  usualShare: number;
  /** A new call must appear in at least this share of the window's requests. Default 0.2. */
  newShare: number;
  /** ... and in at least this many requests. Default 5. */
  minCalls: number;
  /**
   * Parent requests learned before a missing call is judged. Default 10: the test then uses the learned
   * share's lower confidence bound, so little history needs more evidence. New calls need 50.
   */
  minSamples: number;
  /** p-value needed for a missing call. Default 1e-6. */
  pMax: number;
}

/** Options of {@link createAnalyzer}. All optional; defaults in brackets. */
export interface AnalyzerOptions {
  /** Width of a statistics bucket [5000 ms]. Windows of 1, 3 and 12 buckets are judged. */
  bucketMs?: number;
  /**
   * How long after a bucket ends its spans may still arrive and count in it [2000 ms]: a bucket closes
   * this long after event time passes its end. Spans up to `maxTraceWaitMs + latenessMs` behind event
   * time are still accepted (counted in the first bucket still open); older ones are dropped as `late`.
   */
  latenessMs?: number;
  /** A trace with every parent present is processed after this much event time without new spans [1000 ms]. */
  traceIdleMs?: number;
  /**
   * A trace still missing parents is processed anyway after this long [30000 ms]. Spans whose parent was
   * processed with its trace already (a call that ended after its request was answered) wait only
   * `traceIdleMs`.
   */
  maxTraceWaitMs?: number;
  /** Traces buffered at once; beyond it the least recently updated is processed early [20000]. */
  maxTraces?: number;
  /** Spans kept per trace; further spans are dropped and counted [2000]. */
  maxSpansPerTrace?: number;
  /** Distinct operations tracked; spans of further ones are dropped and counted [2000: about 25 KB each, ~50 MB at the cap]. */
  maxOperations?: number;
  /** An incident with no anomaly for this long resolves itself [120000 ms]. */
  resolveAfterMs?: number;
  /** An anomaly episode ends once its signal has looked normal, or nothing fired, this long [30000 ms]; a later deviation is a new episode. */
  anomalyEndMs?: number;
  /**
   * A latency, traffic or call-pattern anomaly that has lasted this long is the operation's new normal
   * [1800000 ms]: its baseline starts learning afresh, the anomaly ends, and an incident left with
   * nothing else active resolves (`resolvedBy: 'adapted'`). A deploy that makes an operation slower, a
   * launch that brings more traffic or a cache that removes a call is not an incident for ever. Error
   * and timeout anomalies never adapt: a failing operation is not normal however long it fails.
   */
  adaptAfterMs?: number;
  /** A version change of the root-cause service this long before an anomaly is named as its trigger [900000 ms]. */
  changeWindowMs?: number;
  /** Exemplar trace ids kept per incident [10]. */
  maxExemplars?: number;
  /**
   * Event time (epoch ms) until which the traced process is cold [0: never]. A freshly started process
   * serves its first requests slowly (module loading, JIT, new connections): requests and calls that
   * STARTED before this time are counted (requests, errors, traffic, calls, timeouts: a bad deploy's
   * errors are still caught at once) but their latency is neither judged nor learned, so a restart with
   * restored baselines raises no latency alarm and teaches no warm-up latency. Only an analyzer fed by
   * one process knows its start (the `rootspan()` plugin sets it from `coldStartMs`); a central
   * analyzer of many processes leaves it 0 and relies on `instanceWarmupMs`.
   */
  coldStartUntil?: number;
  /**
   * How long a process is cold from its first span [20000 ms], for spans that name their process
   * (`Span.instance`: the OTLP decoders read `service.instance.id`, else `host.name` and `process.pid`).
   * As for `coldStartUntil`, requests and calls a process started that soon after its first are counted
   * but their latency is neither judged nor learned: a restart or a new replica behind a central receiver
   * raises no latency alarm (Datadog's `new_host_delay`). The processes seen at the analyzer's own start
   * may have started with it: latency in its own first `instanceWarmupMs` is learned but not judged
   * (unless it was restored from a snapshot: then they ran before).
   */
  instanceWarmupMs?: number;
  /**
   * Injected clock (ms): when set, event time also advances to `clock()` on every ingest, so silence is
   * noticed even when no spans arrive. Default: event time comes from span end times only.
   */
  clock?: () => number;
  /**
   * The real time (ms), where input can be checked against it (a receiver): a span ending more than five
   * minutes past `wallClock()` is dropped as `future` and neither starts nor moves event time, and a
   * restored event time past it is not resumed. Unlike `clock` it never moves event time, so recorded data
   * still replays at its own time. `clock`, when set, is the wall clock too. Default: none.
   */
  wallClock?: () => number;
  baseline?: Partial<BaselineOptions>;
  latency?: Partial<LatencyOptions>;
  errors?: Partial<ErrorOptions>;
  traffic?: Partial<TrafficOptions>;
  timeout?: Partial<TimeoutOptions>;
  shape?: Partial<ShapeOptions>;
}

export const DEFAULT_BASELINE: BaselineOptions = { alpha: 0.1, minSamples: 5, outlierSigma: 5 };

export const DEFAULT_LATENCY: LatencyOptions = {
  ratio: 3,
  zMin: 3,
  sensitiveRatio: 1.5,
  sensitiveZ: 6,
  sensitiveMinSamples: 20,
  minWindowSamples: 3,
  driftSigma: 0.1,
  slowPMax: 1e-4,
  minShiftMs: 1,
  criticalMs: 10_000,
  severityTiers: [5, 10, 20],
};

export const DEFAULT_ERRORS: ErrorOptions = {
  rate: 0.2,
  minRequests: 5,
  minErrors: 4,
  pMax: 1e-4,
  sensitivePMax: 1e-5,
  sensitiveMinErrors: 4,
  decayPerRequest: 0.0005,
};

export const DEFAULT_TRAFFIC: TrafficOptions = {
  surgeRatio: 2.5,
  dropRatio: 0.3,
  pMax: 1e-6,
  slack: 0.3,
  minBuckets: 12,
  dropWindowMs: 60_000,
};

export const DEFAULT_TIMEOUT: TimeoutOptions = { rate: 0.2, minAttempts: 3, pMax: 1e-3, sensitivePMax: 1e-5, sensitiveMinGiveUps: 4 };

export const DEFAULT_SHAPE: ShapeOptions = {
  usualShare: 0.9,
  newShare: 0.2,
  minCalls: 5,
  minSamples: 10,
  pMax: 1e-6,
};

/** Options with every default filled in. */
export interface ResolvedOptions {
  bucketMs: number;
  latenessMs: number;
  traceIdleMs: number;
  maxTraceWaitMs: number;
  maxTraces: number;
  maxSpansPerTrace: number;
  maxOperations: number;
  resolveAfterMs: number;
  anomalyEndMs: number;
  adaptAfterMs: number;
  changeWindowMs: number;
  maxExemplars: number;
  coldStartUntil: number;
  instanceWarmupMs: number;
  clock: (() => number) | undefined;
  wallClock: (() => number) | undefined;
  baseline: BaselineOptions;
  latency: LatencyOptions;
  errors: ErrorOptions;
  traffic: TrafficOptions;
  timeout: TimeoutOptions;
  shape: ShapeOptions;
}

/**
 * The quiet period before an incident resolves itself where traffic is watched live (the OTel plugin, the
 * central server), instead of `resolveAfterMs`'s 2 min for offline use: an operator watching live traffic
 * expects an incident to close about a minute after its fault stops, and a paged one to be resolved as soon.
 */
export const LIVE_RESOLVE_AFTER_MS = 30_000;

const TOP_DEFAULTS = {
  bucketMs: 5000,
  latenessMs: 2000,
  traceIdleMs: 1000,
  maxTraceWaitMs: 30_000,
  maxTraces: 20_000,
  maxSpansPerTrace: 2000,
  maxOperations: 2000,
  // Offline, a fault that pauses for a minute stays one incident, and faults a few minutes apart are not one.
  resolveAfterMs: 120_000,
  anomalyEndMs: 30_000,
  adaptAfterMs: 1_800_000,
  changeWindowMs: 900_000,
  maxExemplars: 10,
  instanceWarmupMs: 20_000,
} as const;

function positive(path: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new RootspanError('ERR_OPTION', `option ${path} must be a positive finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function merge<T extends object>(path: string, defaults: T, given: Partial<T> | undefined): T {
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new RootspanError('ERR_OPTION', `option ${path} must be an object`);
  }
  const out = { ...defaults };
  for (const key of Object.keys(given ?? {}) as Array<keyof T>) {
    if (!(key in defaults)) throw new RootspanError('ERR_OPTION', `unknown option ${path}.${String(key)}`);
    const v = (given as T)[key];
    if (v === undefined) continue;
    const def = defaults[key];
    if (Array.isArray(def)) {
      if (!Array.isArray(v) || v.length !== def.length) {
        throw new RootspanError('ERR_OPTION', `option ${path}.${String(key)} must be an array of ${def.length} numbers`);
      }
      (v as unknown[]).forEach((x, i) => positive(`${path}.${String(key)}[${i}]`, x));
    } else {
      positive(`${path}.${String(key)}`, v);
    }
    out[key] = v as T[keyof T];
  }
  return out;
}

/** Fills in defaults and validates; throws a {@link RootspanError} (`ERR_OPTION`) naming the first bad option. */
export function resolveOptions(options: AnalyzerOptions = {}): ResolvedOptions {
  const known = new Set<string>([
    ...Object.keys(TOP_DEFAULTS),
    'clock',
    'wallClock',
    'coldStartUntil',
    'baseline',
    'latency',
    'errors',
    'traffic',
    'timeout',
    'shape',
  ]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new RootspanError('ERR_OPTION', `unknown option ${key}`);
  }
  const top = { ...TOP_DEFAULTS } as Record<keyof typeof TOP_DEFAULTS, number>;
  for (const key of Object.keys(TOP_DEFAULTS) as Array<keyof typeof TOP_DEFAULTS>) {
    const v = options[key];
    if (v !== undefined) top[key] = positive(key, v);
  }
  for (const key of ['clock', 'wallClock'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new RootspanError('ERR_OPTION', `option ${key} must be a function returning epoch ms`);
    }
  }
  const coldStartUntil = options.coldStartUntil ?? 0;
  if (typeof coldStartUntil !== 'number' || !Number.isFinite(coldStartUntil) || coldStartUntil < 0) {
    throw new RootspanError('ERR_OPTION', `option coldStartUntil must be an epoch ms time (0 for none), got ${JSON.stringify(options.coldStartUntil)}`);
  }
  const baseline = merge('baseline', DEFAULT_BASELINE, options.baseline);
  if (baseline.alpha > 1) throw new RootspanError('ERR_OPTION', 'option baseline.alpha must be in (0, 1]');
  const traffic = merge('traffic', DEFAULT_TRAFFIC, options.traffic);
  const longest = WINDOWS[WINDOWS.length - 1] * top.bucketMs;
  // The default (60 s) is cut to the longest window when buckets are shorter than 5 s; only an explicit
  // value beyond it is an error.
  if (options.traffic?.dropWindowMs === undefined) traffic.dropWindowMs = Math.min(traffic.dropWindowMs, longest);
  else if (traffic.dropWindowMs > longest) {
    throw new RootspanError('ERR_OPTION', `option traffic.dropWindowMs must be at most the longest window (${WINDOWS[WINDOWS.length - 1]} × bucketMs = ${longest} ms), got ${traffic.dropWindowMs}`);
  }
  return {
    ...top,
    coldStartUntil,
    clock: options.clock,
    wallClock: options.wallClock ?? options.clock,
    baseline,
    latency: merge('latency', DEFAULT_LATENCY, options.latency),
    errors: merge('errors', DEFAULT_ERRORS, options.errors),
    traffic,
    timeout: merge('timeout', DEFAULT_TIMEOUT, options.timeout),
    shape: merge('shape', DEFAULT_SHAPE, options.shape),
  };
}
