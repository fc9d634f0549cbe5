import type { HrTime } from '@opentelemetry/api';
import type { Anomaly } from '@rootspan/engine';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RootspanSpanProcessor } from '../src/index.js';
import { readable } from './helpers/fakes.js';

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/** `n` requests of checkout's POST /checkout, one every `everyMs` from `from`, each `ms(i)` long. */
function serve(p: RootspanSpanProcessor, from: number, n: number, everyMs: number, ms: (i: number) => number): void {
  for (let i = 0; i < n; i++) {
    const start = from + i * everyMs;
    p.onEnd(readable({ start: hr(start), end: hr(start + ms(i)) }));
  }
}

/** About 5 ms, with some spread. */
const usual = (i: number) => 4 + ((i * 7919) % 23) / 10;

let processors: RootspanSpanProcessor[] = [];
const make = (options: ConstructorParameters<typeof RootspanSpanProcessor>[0]) => {
  const p = new RootspanSpanProcessor({ tickMs: 1000, ...options });
  processors.push(p);
  return p;
};
beforeEach(() => {
  // The live clock never ticks on its own here: event time comes from the spans.
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
});
afterEach(async () => {
  for (const p of processors) await p.shutdown();
  processors = [];
  vi.useRealTimers();
});

/**
 * A process that learned five minutes of checkout, then its restart: a new processor restored from it
 * (as `store` does) whose first requests, from `slowFrom` ms after its creation on, take 60 ms.
 */
async function restart(options: { coldStartMs?: number }, slowFrom: number): Promise<Anomaly[]> {
  const now = Date.now();
  const before = make({ coldStartMs: 0 });
  serve(before, now - 6 * 60_000, 1500, 200, usual);
  await before.forceFlush();
  before.analyzer.flush();
  const after = make(options);
  after.analyzer.restore(before.analyzer.snapshot());
  const anomalies: Anomaly[] = [];
  after.analyzer.onAnomaly((a) => anomalies.push(a));
  serve(after, now + slowFrom, 40, 200, () => 60);
  await after.forceFlush();
  after.analyzer.flush();
  return anomalies;
}

describe('cold start (coldStartMs)', () => {
  it('by default, the slow first requests of a restarted process raise no latency anomaly', async () => {
    expect(await restart({}, 500)).toEqual([]);
  });

  it('with coldStartMs: 0, or once the window has passed, the same requests do', async () => {
    expect((await restart({ coldStartMs: 0 }, 500)).map((a) => a.signal)).toContain('latency');
    expect((await restart({ coldStartMs: 2000 }, 3000)).map((a) => a.signal)).toContain('latency');
  });

  it('is validated', () => {
    expect(() => make({ coldStartMs: -1 })).toThrow(/coldStartMs/);
    expect(() => make({ coldStartMs: 1000, coldStartUntil: 5 })).toThrow(/coldStartMs.*coldStartUntil/);
  });
});
