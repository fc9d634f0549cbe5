/** A runtime without Node's event-loop delay histogram (some Node-compatible runtimes): the processor works without it. */
import { describe, expect, it, vi } from 'vitest';
import { RootspanSpanProcessor } from '../src/index.js';
import { readable } from './helpers/fakes.js';

vi.mock('node:perf_hooks', async (original) => ({
  ...(await original<typeof import('node:perf_hooks')>()),
  monitorEventLoopDelay: () => {
    throw new Error('monitorEventLoopDelay is not implemented');
  },
}));

describe('a processor where the event loop cannot be sampled', () => {
  it('is created, counts one internal error, and analyses spans as usual', async () => {
    let p: RootspanSpanProcessor | undefined;
    expect(() => (p = new RootspanSpanProcessor({ tickMs: 50 }))).not.toThrow();
    try {
      expect(p!.stats().internalErrors).toBe(1);
      const t = Date.now();
      p!.onEnd(readable({ start: [Math.floor((t - 5) / 1000), ((t - 5) % 1000) * 1e6], end: [Math.floor(t / 1000), (t % 1000) * 1e6] }));
      await p!.forceFlush();
      expect(p!.stats().ingested).toBe(1);
      expect(p!.analyzer.stats().accepted).toBe(1);
    } finally {
      await p?.shutdown();
    }
  });
});
