/** The host's event loop as an operation: blocked by CPU work, it is a latency incident of `<service> event loop`. */
import { availableParallelism, loadavg } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { RootspanSpanProcessor } from '../src/index.js';
import { EVENT_LOOP_OPERATION, LOOP_CPU_ATTRIBUTE, LOOP_HOST_LOAD_ATTRIBUTE } from '@rootspan/engine';
import { LoopDelay } from '../src/loop.js';
import { readable } from './helpers/fakes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps the CPU, as a request computing synchronously does, for `ms`. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

const hr = (ms: number): [number, number] => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

let processors: RootspanSpanProcessor[] = [];
afterEach(async () => {
  for (const p of processors) await p.shutdown();
  processors = [];
});

describe('LoopDelay', () => {
  it("samples the longest the loop took to come round, as a span of the service's event loop, and starts afresh", async () => {
    const loop = new LoopDelay();
    try {
      await sleep(60);
      block(150);
      await sleep(60);
      const now = Date.now();
      const sample = loop.take('checkout', now);
      expect(sample).toMatchObject({ service: 'checkout', name: EVENT_LOOP_OPERATION, kind: 'internal', endTime: now });
      expect(sample!.endTime - sample!.startTime).toBeGreaterThanOrEqual(150);
      expect(sample!.traceId).not.toBe(loop.take('checkout', now)?.traceId);
      // Taken: nothing was sampled since.
      expect(loop.take('checkout', now)).toBeUndefined();
    } finally {
      loop.stop();
    }
  });

  it('gives each sample the CPU the process used over its tick: a held loop that used none was not busy', async () => {
    const loop = new LoopDelay();
    try {
      await sleep(60);
      // 150 ms of CPU, however long a busy machine takes to give them, and 170 ms at least: the sampler
      // measures a hold from its 20 ms timer's due time, which may come up to a period after it began.
      const from = process.cpuUsage();
      const until = performance.now() + 170;
      for (let used = process.cpuUsage(from); used.user + used.system < 150_000 || performance.now() < until; used = process.cpuUsage(from));
      await sleep(60);
      const busy = loop.take('checkout', Date.now());
      expect(busy!.endTime - busy!.startTime).toBeGreaterThanOrEqual(150);
      expect(busy!.attributes![LOOP_CPU_ATTRIBUTE]).toBeGreaterThanOrEqual(150);
      await sleep(60);
      // Held as long by a synchronous wait: the thread sleeps.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 170);
      await sleep(60);
      const idle = loop.take('checkout', Date.now());
      expect(idle!.endTime - idle!.startTime).toBeGreaterThanOrEqual(150);
      expect(idle!.attributes![LOOP_CPU_ATTRIBUTE]).toBeLessThan(75);
      // And its host's load per CPU (the 1-min load average: 0 where the platform has none), to tell a
      // process starved of CPU from one waiting synchronously.
      expect(idle!.attributes![LOOP_HOST_LOAD_ATTRIBUTE]).toBeCloseTo(loadavg()[0] / availableParallelism(), 0);
    } finally {
      loop.stop();
    }
  });
});

describe('the span processor watching the event loop', () => {
  it('a loop blocked by CPU work for seconds is a latency incident of the service\'s event loop; its samples are not counted as spans', async () => {
    const p = new RootspanSpanProcessor({ tickMs: 100, coldStartMs: 0, bucketMs: 1000, latenessMs: 100 });
    processors.push(p);
    // One request names the service (checkout, from its resource).
    const t = Date.now();
    p.onEnd(readable({ start: hr(t - 5), end: hr(t) }));
    // Learns a free loop, then requests compute 250 ms at a time, back to back, for 4 s.
    await sleep(8000);
    const until = Date.now() + 4000;
    while (Date.now() < until) {
      block(250);
      await sleep(30);
    }
    await sleep(1500);
    const incident = p.analyzer.incidents().find((i) => i.rootCause.operation === EVENT_LOOP_OPERATION);
    expect(incident).toMatchObject({ title: 'Latency in checkout event loop', rootCause: { service: 'checkout', kind: 'latency' } });
    expect(p.stats().ingested).toBe(1);
  }, 30_000);

  it('a hold longer than the trace wait (a paused process) is sampled at the time it ended, not moved back as a fast clock', async () => {
    const p = new RootspanSpanProcessor({ tickMs: 50, coldStartMs: 0, maxTraceWaitMs: 200 });
    processors.push(p);
    const t = Date.now();
    p.onEnd(readable({ start: hr(t - 5), end: hr(t) }));
    await sleep(300);
    // Longer than half the trace wait: the tick after it is ahead of the event time the last tick left.
    block(600);
    await sleep(200);
    await p.forceFlush();
    expect(p.analyzer.stats().clockAhead).toBe(0);
    // The samples were ingested all the same: the request, and one per tick.
    expect(p.analyzer.stats().accepted).toBeGreaterThan(5);
  });

  it('eventLoop: false watches nothing', async () => {
    const p = new RootspanSpanProcessor({ tickMs: 50, coldStartMs: 0, eventLoop: false });
    processors.push(p);
    const t = Date.now();
    p.onEnd(readable({ start: hr(t - 5), end: hr(t) }));
    await sleep(400);
    await p.forceFlush();
    p.analyzer.flush();
    expect(p.analyzer.metrics().map((m) => m.operation)).toEqual(['POST /checkout']);
    expect(() => new RootspanSpanProcessor({ eventLoop: 'yes' as unknown as boolean })).toThrow('rootspan: option eventLoop must be true or false, got "yes"');
  });
});
