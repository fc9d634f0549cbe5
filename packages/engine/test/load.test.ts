/**
 * A slowdown that lasts only as long as a surge of traffic on its path is load, not a fault: a cron job's 30
 * checkouts at once, every minute, queue for a few seconds in every service they go through.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Anomaly, Span } from '../src/types.js';
import { TraceBuilder } from './helpers/spans.js';
import { watch } from './helpers/events.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);

/** A checkout through the shop's checkout service to inventory, started at `at`, `queuedMs` waiting before inventory answers. */
function checkout(at: number, rng: () => number, queuedMs: number): Span[] {
  const b = new TraceBuilder();
  const inv = logNormal(rng, 3, 0.3) + queuedMs;
  const server = b.server('checkout', '/orders', at, at + inv + 6);
  b.call(server, 'inventory', '/reserve', at + 2, at + 2 + inv);
  return b.spans;
}

/**
 * A checkout a second for 12 minutes; from second `first` (minute 4), every minute, 30 more at once whose
 * calls queue up to 300 ms; `slowFrom`: from then on (ms after T0), every call waits 250 ms more, whatever the load.
 */
function run(slowFrom = Infinity, first = 240): { events: ReturnType<typeof watch>; anomalies: Anomaly[] } {
  const a = createAnalyzer();
  const events = watch(a);
  const anomalies: Anomaly[] = [];
  a.onAnomaly((x) => anomalies.push(x));
  const rng = mulberry32(5);
  for (let s = 0; s < 12 * 60; s++) {
    const batch: Span[] = [];
    const start = T0 + s * 1000;
    const slow = start >= T0 + slowFrom ? 250 : 0;
    batch.push(...checkout(start + 100, rng, slow));
    if (s >= first && (s - first) % 60 === 0) for (let j = 0; j < 30; j++) batch.push(...checkout(start + j * 3, rng, 10 * j + slow));
    a.ingest(batch);
    a.advanceTo(start + 1000);
  }
  a.flush();
  return { events, anomalies };
}

describe('a slowdown that lasts only as long as a surge on its path', () => {
  it('is reported, but opens no incident: a minute-by-minute batch is load', () => {
    const { events, anomalies } = run();
    expect(anomalies.filter((x) => x.signal === 'traffic.surge').length).toBeGreaterThan(0);
    expect(anomalies.filter((x) => x.kind === 'latency').length).toBeGreaterThan(0);
    expect(events).toEqual([]);
  });

  it('opens none from the first batch after a start, before the rate is learned (no surge can fire yet)', () => {
    const { events, anomalies } = run(Infinity, 40);
    // The first batch, 40 s after the start: its slowdown is reported, as the later ones are.
    expect(anomalies.filter((x) => x.kind === 'latency' && x.at <= T0 + 60_000).length).toBeGreaterThan(0);
    expect(events).toEqual([]);
  });

  it('opens one when the slowdown outlasts the surge', () => {
    const { events } = run(7 * 60_000 + 30_000);
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened).toHaveLength(1);
    expect(opened[0].rootCause.service).toBe('inventory');
    expect(opened[0].openedAt).toBeLessThan(T0 + 7 * 60_000 + 30_000 + 20_000);
  });
});

/**
 * A shop's process serves a product page and a checkout. From minute 4, every minute, the page gets 10 s of
 * 6× its traffic: the process's CPU is taken, and the checkout's database calls, 1 ms, answer up to 40 ms
 * late, though the checkout's own traffic never changed. `slowFrom`: from then on (ms after T0), every INSERT
 * waits 60 ms more, whatever the load.
 */
function sharedProcess(slowFrom = Infinity): { events: ReturnType<typeof watch>; anomalies: Anomaly[] } {
  const a = createAnalyzer();
  const events = watch(a);
  const anomalies: Anomaly[] = [];
  a.onAnomaly((x) => anomalies.push(x));
  const rng = mulberry32(9);
  for (let s = 0; s < 12 * 60; s++) {
    const batch: Span[] = [];
    const start = T0 + s * 1000;
    const burst = s >= 240 && (s - 240) % 60 < 10;
    for (let j = 0; j < (burst ? 24 : 4); j++) {
      const b = new TraceBuilder();
      const at = start + j * (burst ? 40 : 240);
      b.server('shop', '/products/:id', at, at + logNormal(rng, 4, 0.3));
      batch.push(...b.spans);
    }
    for (let j = 0; j < 2; j++) {
      const b = new TraceBuilder();
      const at = start + 100 + j * 500;
      const insert = logNormal(rng, 1, 0.3) + (burst ? 10 + 30 * rng() : 0) + (at >= T0 + slowFrom ? 60 : 0);
      const server = b.server('shop', '/checkout', at, at + insert + 3);
      b.db(server, 'postgresql', 'INSERT', at + 1, at + 1 + insert);
      batch.push(...b.spans);
    }
    a.ingest(batch);
    a.advanceTo(start + 1000);
  }
  a.flush();
  return { events, anomalies };
}

describe('a slowdown while another route of its process surges', () => {
  it('is load: the surge takes the CPU the process shares, and no incident opens', () => {
    const { events, anomalies } = sharedProcess();
    expect(anomalies.filter((x) => x.signal === 'traffic.surge' && x.operation === 'GET /products/:id').length).toBeGreaterThan(0);
    expect(anomalies.filter((x) => x.kind === 'latency' && x.service === 'postgresql').length).toBeGreaterThan(0);
    expect(events).toEqual([]);
  });

  it('opens one when the database stays slow after the surge', () => {
    const { events } = sharedProcess(7 * 60_000 + 5_000);
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened).toHaveLength(1);
    expect(opened[0].rootCause.service).toBe('postgresql');
    expect(opened[0].openedAt).toBeLessThan(T0 + 7 * 60_000 + 5_000 + 20_000);
  });
});
