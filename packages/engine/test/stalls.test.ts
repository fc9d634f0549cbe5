/**
 * Slow requests one stall held together (a GC pause, a callee stalled for a moment) are one slow event: the
 * tail and latency tests count events, not requests, where a pause holds a dozen requests at once.
 */
import { describe, expect, it } from 'vitest';
import { OpBucket, slowEvents } from '../src/ops/bucket.js';
import { createAnalyzer } from '../src/index.js';
import { mulberry32, normal } from './helpers/random.js';
import { batches, SHOP_START } from './helpers/shop.js';
import { TraceBuilder } from './helpers/spans.js';
import type { Span } from '../src/types.js';

/** A bucket with `over` requests running over [start, end] each. */
function bucketOf(spans: Array<[number, number]>): OpBucket {
  const b = new OpBucket();
  for (const [start, end] of spans) b.latency.addOver(start, end);
  return b;
}

const events = (buckets: OpBucket[], releaseMs = 30) => {
  const w = { over: 0, overLastStart: -Infinity, overFirstEnd: Infinity };
  for (const b of buckets) {
    w.over += b.latency.over;
    w.overLastStart = Math.max(w.overLastStart, b.latency.overLastStart);
    w.overFirstEnd = Math.min(w.overFirstEnd, b.latency.overFirstEnd);
  }
  return slowEvents(w, buckets, 'latency', releaseMs);
};

describe('slowEvents', () => {
  it('counts requests all in flight at one instant as one event', () => {
    expect(events([bucketOf([[0, 500], [100, 510], [450, 900]])])).toBe(1);
  });

  it('counts a pause that released a dozen requests together beside ordinary slow ones as one event more', () => {
    // Ordinary slow requests, apart from each other.
    const spread: Array<[number, number]> = [[0, 60], [1000, 1070], [2500, 2555], [4000, 4090]];
    // A 200 ms pause from t = 3000: requests that came during it end within a few ms of its end.
    const pause: Array<[number, number]> = [];
    for (let i = 0; i < 12; i++) pause.push([3000 + 16 * i, 3205 + i]);
    expect(events([bucketOf(spread), bucketOf(pause)])).toBe(5);
  });

  it('counts slow requests that overlap but end apart (a slow instance) one by one', () => {
    const slow: Array<[number, number]> = [];
    for (let i = 0; i < 10; i++) slow.push([100 * i, 100 * i + 500]);
    expect(events([bucketOf(slow)])).toBe(10);
  });

  it('counts the requests past those whose times a bucket keeps each as an event', () => {
    const pause: Array<[number, number]> = [];
    for (let i = 0; i < 100; i++) pause.push([1000 + i, 1300]);
    pause.push([0, 100]);
    // 64 kept, the first 64 of the pause: one event; the 37 not kept: 37.
    expect(events([bucketOf(pause)])).toBe(38);
  });
});

/**
 * Thirty minutes of a healthy gateway → api → auth at 50 req/s, Poisson arrivals, each service pausing
 * 200 ms once a minute (a major GC): a request that arrives during a pause waits for its end.
 */
function pausingTraffic(seed: number): Span[] {
  const rng = mulberry32(seed);
  const ln = (median: number) => median * Math.exp(0.6 * normal(rng));
  const pause = (service: number, at: number) => {
    const x = (at - SHOP_START + service * 7_919) % 60_000;
    return x < 200 ? 200 - x : 0;
  };
  const spans: Span[] = [];
  const end = SHOP_START + 30 * 60_000;
  for (let t = SHOP_START + (-Math.log(1 - rng()) / 50) * 1000; t < end; t += (-Math.log(1 - rng()) / 50) * 1000) {
    const b = new TraceBuilder();
    const apiStart = t + ln(1) + pause(0, t);
    const authStart = apiStart + 1 + ln(0.5);
    const authEnd = authStart + 2.5 + ln(2) + pause(1, authStart);
    const apiEnd = authEnd + 1 + ln(1.5) + pause(2, authEnd);
    const gw = b.server('gateway', '/items', t, apiEnd + 1 + ln(0.5));
    const api = b.call(gw, 'api', '/items', apiStart - 0.5, apiEnd + 0.5);
    b.call(api, 'auth', '/verify', authStart, authEnd);
    spans.push(...b.spans);
  }
  return spans.filter((s) => s.endTime < end).sort((a, b) => a.endTime - b.endTime);
}

describe('GC pauses in healthy traffic', () => {
  it('open no incident: a pause holds a dozen requests, once a minute, as it always did', () => {
    const found: string[] = [];
    for (const seed of [1, 2, 5]) {
      const a = createAnalyzer();
      for (const b of batches(pausingTraffic(seed), 200)) a.ingest(b);
      a.flush();
      for (const i of a.incidents()) found.push(`seed ${seed}: ${i.title} at ${((i.openedAt - SHOP_START) / 60_000).toFixed(1)} min`);
    }
    expect(found).toEqual([]);
  });
});
