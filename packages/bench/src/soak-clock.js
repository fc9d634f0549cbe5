/**
 * Preloaded into the soak's `rootspan serve` process (`node --expose-gc --import soak-clock.js`), which the
 * soak forks with an IPC channel. Two commands:
 *
 * - `{ type: 'jump', ms }` steps the process's wall clock, as a host resumed from sleep, a VM restore or
 *   an NTP step does (like libfaketime): `Date.now()` moves, monotonic timers and `performance.now()` do
 *   not. The server reads wall time only through `Date.now` (its `now` option's default).
 * - `{ type: 'memory' }` answers `{ type: 'memory', ... }` with `process.memoryUsage()` after a forced
 *   GC, and the event loop's delay (max and p99, ms) since the previous answer.
 *
 * The channel is unref'd: it never keeps the server alive or changes how it stops.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
if (process.send !== undefined) {
    const realNow = Date.now.bind(Date);
    let offset = 0;
    Date.now = () => realNow() + offset;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const gc = globalThis.gc;
    process.on('message', (m) => {
        if (m.type === 'jump') {
            offset += m.ms;
            process.send?.({ type: 'jumped', offset });
        }
        else if (m.type === 'memory') {
            const loopMaxMs = loop.max / 1e6;
            const loopP99Ms = loop.percentile(99) / 1e6;
            gc?.();
            const u = process.memoryUsage();
            // After the forced GC: its pause is the soak's, not the server's.
            loop.reset();
            process.send?.({ type: 'memory', rss: u.rss, heapUsed: u.heapUsed, external: u.external, loopMaxMs, loopP99Ms });
        }
    });
    process.channel?.unref();
}
//# sourceMappingURL=soak-clock.js.map