/**
 * Slow requests one stall held together (a GC pause, a callee stalled for a moment) are one slow event: the
 * tail and latency tests count events, not requests, where a pause holds a dozen requests at once.
 */
import { describe, expect, it } from 'vitest';
import { OpBucket, slowEvents } from '../src/ops/bucket.js';
import { emptyWindow } from '../src/ops/state.js';
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
  const w = emptyWindow().latency;
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

interface Pausing {
  seed: number;
  /** Mean requests per second. */
  rps: number;
  /** Each service's pause, ms. */
  pauseMs: number;
  /** Share of requests that come within 20 ms of the one before (bursts). */
  burst: number;
}

/**
 * Thirty minutes of a healthy gateway → api → auth, each service pausing `pauseMs` once a minute (a major
 * GC): a request that arrives during a pause waits for its end.
 */
function pausingTraffic({ seed, rps, pauseMs, burst }: Pausing): Span[] {
  const rng = mulberry32(seed);
  const ln = (median: number) => median * Math.exp(0.6 * normal(rng));
  const pause = (service: number, at: number) => {
    const x = (at - SHOP_START + service * 7_919) % 60_000;
    return x < pauseMs ? pauseMs - x : 0;
  };
  const next = (t: number) => t + (rng() < burst ? 20 * rng() : (-Math.log(1 - rng()) / rps) * 1000);
  const spans: Span[] = [];
  const end = SHOP_START + 30 * 60_000;
  for (let t = next(SHOP_START); t < end; t = next(t)) {
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

/** The incidents of each run, as "seed N: title at M min". */
function incidentsOf(runs: readonly Pausing[]): string[] {
  const found: string[] = [];
  for (const run of runs) {
    const a = createAnalyzer();
    for (const b of batches(pausingTraffic(run), 200)) a.ingest(b);
    a.flush();
    for (const i of a.incidents()) found.push(`seed ${run.seed}: ${i.title} at ${((i.openedAt - SHOP_START) / 60_000).toFixed(1)} min`);
  }
  return found;
}

describe('GC pauses in healthy traffic', () => {
  it('open no incident: a pause holds a dozen requests, once a minute, as it always did', () => {
    expect(incidentsOf([1, 2, 5].map((seed) => ({ seed, rps: 50, pauseMs: 200, burst: 0 })))).toEqual([]);
  });

  it('open no incident where a pause holds a burst of a quiet service: its requests are one slow event, not a shift', () => {
    // A third of the window's requests held by one pause lift its median and mean of logs far enough for the
    // sensitive rule, which took each of them for evidence of its own.
    expect(incidentsOf([1, 2, 3, 4, 5, 6].map((seed) => ({ seed, rps: 5, pauseMs: 600, burst: 0.3 })))).toEqual([]);
  });
});
