import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { EVENT_LOOP_OPERATION, LOOP_CPU_ATTRIBUTE, LOOP_HOST_LOAD_ATTRIBUTE, type Span } from '@rootspan/engine';

/** Period of Node's event-loop delay sampler (ms): a free loop measures this, a blocked one more. */
export const LOOP_RESOLUTION_MS = 20;

/** CPUs the host offers this process (at least 1). */
const CPUS = Math.max(1, availableParallelism());

/**
 * The host's event loop as the engine sees it: at each tick, one span of the `event loop` operation whose
 * duration is the longest the loop took to come round since the last tick ({@link LOOP_RESOLUTION_MS}
 * when free), from Node's native delay histogram (`perf_hooks.monitorEventLoopDelay`, a timer in C: no
 * JavaScript runs). CPU work that blocks the loop delays every request while it waits to be read, before
 * any span of it starts: without this, requests 8× slower for their callers showed nowhere in the spans.
 * The engine learns and judges the operation as any other (a cold start is not learned), so a loop
 * blocked far longer than usual is a latency incident of the service's `event loop`. Each sample carries
 * the CPU time the process used over its tick ({@link LOOP_CPU_ATTRIBUTE}): a loop held while the process
 * hardly ran was stopped or starved, not busy; and the host's load per CPU ({@link LOOP_HOST_LOAD_ATTRIBUTE}):
 * starved, when more threads wanted to run than it has CPUs.
 */
export class LoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private n = 0;
  /** The process's CPU time at the last sample (or since enabled). */
  private cpu = process.cpuUsage();

  constructor() {
    this.histogram.enable();
  }

  /** The sample since the last call as a span of `service` ending at `now`; undefined before any (and resets). */
  take(service: string, now: number): Span | undefined {
    const h = this.histogram;
    const ms = h.count > 0 ? h.max / 1e6 : NaN;
    h.reset();
    const cpu = process.cpuUsage();
    const cpuMs = (cpu.user - this.cpu.user + cpu.system - this.cpu.system) / 1000;
    this.cpu = cpu;
    if (!(ms > 0)) return undefined;
    const id = `rootspan-loop-${++this.n}`;
    const attributes = { [LOOP_CPU_ATTRIBUTE]: cpuMs, [LOOP_HOST_LOAD_ATTRIBUTE]: loadavg()[0] / CPUS };
    return { traceId: id, spanId: id, service, name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: now - ms, endTime: now, attributes };
  }

  stop(): void {
    this.histogram.disable();
  }
}
