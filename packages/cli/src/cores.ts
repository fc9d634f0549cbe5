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
 * or the load average (a minute behind).
 */
export async function idleCores(ms = 60): Promise<number> {
  const a = times();
  await sleep(ms);
  const b = times();
  const total = b.total - a.total;
  return total > 0 ? ((b.idle - a.idle) / total) * cpus().length : 0;
}
