import type { LatencyOptions, ResolvedOptions } from '../options.js';
import type { Severity } from '../types.js';

/**
 * The operation the `@rootspan/otel` span processor samples its host's event loop as: each span is the
 * longest the loop took to come round over one tick (a free loop's is the sampler's 20 ms period).
 */
export const EVENT_LOOP_OPERATION = 'event loop';

/**
 * The attribute of an event-loop sample giving the process's CPU time (ms, every thread) over the tick it
 * covers: a loop held while the process used little CPU was not held by CPU work (a stopped or starved
 * process, a synchronous wait).
 */
export const LOOP_CPU_ATTRIBUTE = 'rootspan.loop.cpu_ms';

/**
 * The attribute of an event-loop sample giving its host's load: the 1-min load average per CPU. A loop held
 * while the process used little CPU on a host with more runnable threads than CPUs was starved of CPU.
 */
export const LOOP_HOST_LOAD_ATTRIBUTE = 'rootspan.host.load';

/** Host load per CPU (see {@link LOOP_HOST_LOAD_ATTRIBUTE}) from which a process waiting for CPU is starved. */
export const STARVED_LOAD = 1.5;

/**
 * The event loop's typical hold must grow at least this much (ms) to fire: where requests are CPU-heavy
 * (server-side rendering), more traffic puts one in more ticks and lifts the per-tick longest hold by
 * tens of milliseconds; held 100 ms longer at a time, every request waits noticeably.
 */
export const LOOP_MIN_SHIFT_MS = 100;

/**
 * One hold of the event loop at least this long (ms) is an anomaly on its own, however free its other ticks:
 * the service read no request for that long, and callers with a deadline of a second or two gave up on all
 * of it (a gRPC service blocked 3 s by `execSync` failed a quarter of its caller's requests while its own
 * spans, started after the hold, looked fast). Major GCs stop the program for less: with 2–4 GB of live
 * heap churned by a million objects a second, the longest hold measured was 1.0 s.
 */
export const LOOP_STALL_MS = 2_000;

/** {@link LOOP_STALL_MS}, or `criticalMs` where it is set lower. */
export function loopStallMs(latency: Pick<LatencyOptions, 'criticalMs'>): number {
  return Math.min(LOOP_STALL_MS, latency.criticalMs);
}

/** A single hold's severity by its length: critical from `criticalMs`, high from half of it, else medium. */
export function stallSeverity(ms: number, latency: Pick<LatencyOptions, 'criticalMs'>): Severity {
  return ms >= latency.criticalMs ? 'critical' : ms >= latency.criticalMs / 2 ? 'high' : 'medium';
}

/** The options an operation's latency is judged with: the event loop's need a larger shift. */
export function latencyOptionsFor(operation: string, opts: ResolvedOptions): ResolvedOptions {
  if (operation !== EVENT_LOOP_OPERATION) return opts;
  return { ...opts, latency: { ...opts.latency, minShiftMs: Math.max(opts.latency.minShiftMs, LOOP_MIN_SHIFT_MS) } };
}
