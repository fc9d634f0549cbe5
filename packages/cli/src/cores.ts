import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** CPU time counters of all cores, summed (ms). */
function times(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const { times: t } of cpus()) {
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/**
 * How many cores were idle over the next `ms` milliseconds (0 … the core count), from the kernel's
 * per-core counters: what a second thread would actually get, unlike the core count (a shared machine)
 * or the load average (a minute behind). This process's own CPU time meanwhile counts as idle: a decoding
 * worker it started during the test does not take the core it would run on.
 */
export async function idleCores(ms = 60): Promise<number> {
  const a = times();
  const own = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const b = times();
  const used = process.cpuUsage(own);
  return idleOf(b.idle - a.idle, b.total - a.total, (used.user + used.system) / 1000 / (performance.now() - t0), cpus().length);
}

/**
 * Idle cores from the kernel's idle and total time over all `cores` (any one unit) and the cores this
 * process kept busy meanwhile (its CPU time / the elapsed time), at most `cores`.
 */
export function idleOf(idle: number, total: number, ownCores: number, cores: number): number {
  return total > 0 ? Math.min(cores, (idle / total) * cores + ownCores) : 0;
}

/**
 * Decoding workers for a large file when `idle` cores are idle: decoding takes a little more CPU than the
 * analysis, so with one worker the analysis waits on it. A second worker (the file split in line ranges)
 * pays only with a third core: on two, the three threads took as long as two and ~0.3 s more CPU (258 MB
 * file). None when the cores are busy with other work: the hand-over's cost (~10% more CPU) is not paid
 * back (measured at a load of 10 on 2 cores).
 */
export function decodersFor(idle: number): number {
  return idle >= 2.5 ? 2 : idle >= 1.5 ? 1 : 0;
}
