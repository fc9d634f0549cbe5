/**
 * A live central server over real HTTP, on an injected wall clock: each service of the simulated shop
 * exports every 5 s (the SDK BatchSpanProcessor's default) at the time it would, and the server's 500 ms
 * timer is run by fake timers as that clock advances (requests, sockets and the analyzer stay real). With
 * the central defaults, an incident resolves about a minute after its fault stops: while traffic goes on,
 * and when traffic to the failed operation stops with the fault.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeOtlpJson } from '@rootspan/otlp';
import { scenarioByName, simulate } from '@rootspan/sim';
import { CENTRAL_RESOLVE_AFTER_MS } from '@rootspan/server';
import { call, testServer } from './helpers/server.js';

const SEC = 1000;
const MIN = 60 * SEC;
/** The server's tick period (its timer's interval). */
const TICK_MS = 500;
/** Network time from an export to the receiver. */
const TRANSIT_MS = 30;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * Exports `name` (cut to `durationMs` from its start, when given) to a server as the services would, live;
 * then lets the clock run on with no spans until the incident rooted in `root` resolves (or 5 minutes).
 * Returns how long after the fault stopped the API first showed it resolved, in ms (Infinity if never).
 */
async function resolvedAfterFault(name: string, root: string, durationMs?: number) {
  const scenario = scenarioByName(name)!;
  const sim = simulate({ ...scenario, ...(durationMs ? { durationMs } : {}) }, { batchIntervalMs: 5000 });
  const faultEnd = sim.truth.faults[0].endMs;
  let clock = sim.flushTimes[0];
  const server = await testServer({ now: () => clock });
  const incidentOf = async () => {
    const list = await call(server, `/aiops/incidents?service=${root}`);
    return (list.body.incidents as Array<{ id: string; status: string; rootCause: { service: string } }>).find((i) => i.rootCause.service === root);
  };
  let checkedAt = -Infinity;
  let openAtFaultEnd: string | undefined;
  /** Runs the clock to `to`, the server's timer with it; every 5 s from the fault's end, asks the API. */
  const step = async (to: number) => {
    while (clock + TICK_MS <= to) {
      clock += TICK_MS;
      vi.advanceTimersByTime(TICK_MS);
      if (clock < faultEnd || clock - checkedAt < 5 * SEC) continue;
      checkedAt = clock;
      const inc = await incidentOf();
      openAtFaultEnd ??= inc?.status;
      if (inc?.status === 'resolved') return inc.id;
    }
    return undefined;
  };
  let resolved: string | undefined;
  for (let i = 0; i < sim.batches.length && resolved === undefined; i++) {
    resolved = await step(sim.flushTimes[i] + TRANSIT_MS);
    clock = Math.max(clock, sim.flushTimes[i] + TRANSIT_MS);
    const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(sim.batches[i])) });
    expect(res.status).toBe(200);
  }
  resolved ??= await step(faultEnd + 5 * MIN);
  // The fault was seen, and its incident still open, when it stopped.
  expect(openAtFaultEnd).toBe('active');
  if (resolved !== undefined) {
    const status = (await call(server, '/aiops/status')).body;
    return { afterMs: clock - faultEnd, status, incident: (await call(server, `/aiops/incidents/${resolved}`)).body };
  }
  return { afterMs: Infinity, status: undefined, incident: undefined };
}

describe('a live central server resolves incidents when the fault stops', () => {
  it(`traffic goes on: resolved about a minute after (resolveAfterMs ${CENTRAL_RESOLVE_AFTER_MS / SEC} s by default)`, async () => {
    // Payment fails every request from minute 7 to 11; shoppers keep coming until minute 15.
    const { afterMs, status, incident } = await resolvedAfterFault('shop-payment-errors', 'payment');
    expect(status.live).toBe(true);
    // Its anomalies end after 30 s of normal signal, then 30 s of quiet, plus the trace wait and a bucket.
    expect(afterMs).toBeGreaterThan(CENTRAL_RESOLVE_AFTER_MS);
    expect(afterMs).toBeLessThanOrEqual(80 * SEC);
    expect(incident).toMatchObject({ status: 'resolved', resolvedBy: 'auto', rootCause: { service: 'payment', kind: 'errors' } });
    expect(incident.timeline.at(-1)).toMatchObject({ event: 'resolved' });
    // Spans of a trace came from several exporters up to 5 s apart: the wait covered them.
    expect(status.queue.traceWaitMode).toBe('auto');
    expect(status.queue.traceWaitMs).toBeGreaterThanOrEqual(5000);
    expect(status.drops.late).toBe(0);
  }, 60_000);

  it('traffic to the failed operation stops with the fault: resolved once its evidence has aged out of the windows', async () => {
    // Payment is 10× slower from minute 7 to 11; then no request reaches it (or anything) any more.
    const { afterMs, incident } = await resolvedAfterFault('shop-payment-slow', 'payment', 11 * MIN);
    // No request says the fault is over: the longest window (1 min) must stop firing, then 30 s without a
    // firing. The traffic drops that joined it (nothing calls anything any more) do not hold it open.
    expect(afterMs).toBeLessThanOrEqual(100 * SEC);
    expect(incident).toMatchObject({ status: 'resolved', resolvedBy: 'auto', rootCause: { service: 'payment', kind: 'latency' } });
    expect(incident.anomalies.some((a: { signal: string }) => a.signal === 'traffic.drop')).toBe(true);
  }, 60_000);

  it('an errors cascade whose traffic stops with it: resolved, still attributed to payment errors', async () => {
    // Payment fails every request from minute 7 to 11 (checkout stops calling shipping meanwhile: a drop
    // that joins the incident); then all traffic stops.
    const { afterMs, incident } = await resolvedAfterFault('shop-payment-errors', 'payment', 11 * MIN);
    expect(afterMs).toBeLessThanOrEqual(100 * SEC);
    expect(incident).toMatchObject({ status: 'resolved', resolvedBy: 'auto', rootCause: { service: 'payment', kind: 'errors' } });
    expect(incident.anomalies.some((a: { signal: string; service: string }) => a.signal === 'traffic.drop' && a.service === 'shipping')).toBe(true);
  }, 60_000);

  it('a span from a host whose clock runs ten minutes fast, sent first, is dropped as future: the live spans after it are taken', async () => {
    const sim = simulate({ ...scenarioByName('shop-payment-errors')!, durationMs: 2 * MIN }, { batchIntervalMs: 5000 });
    let clock = sim.flushTimes[0];
    const server = await testServer({ now: () => clock });
    const ahead = { ...sim.batches[0][0], traceId: 'f'.repeat(32), spanId: 'f'.repeat(16), startTime: clock + 10 * MIN - 5, endTime: clock + 10 * MIN };
    const post = (spans: unknown[]) => call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(spans as never)) });
    expect((await post([ahead])).status).toBe(200);
    // It reaches the analyzer on its own, before any other span: once, it set event time ten minutes ahead.
    for (let t = 0; t < 8 * SEC; t += TICK_MS) {
      clock += TICK_MS;
      vi.advanceTimersByTime(TICK_MS);
    }
    let sent = 0;
    for (let i = 0; i < sim.batches.length; i++) {
      while (clock + TICK_MS <= sim.flushTimes[i] + TRANSIT_MS) {
        clock += TICK_MS;
        vi.advanceTimersByTime(TICK_MS);
      }
      expect((await post(sim.batches[i])).status).toBe(200);
      sent += sim.batches[i].length;
    }
    for (let t = 0; t < 30 * SEC; t += TICK_MS) {
      clock += TICK_MS;
      vi.advanceTimersByTime(TICK_MS);
    }
    const status = (await call(server, '/aiops/status')).body;
    expect(status.drops).toMatchObject({ future: 1, late: 0 });
    expect(status.ingest.spansAccepted).toBe(sent);
  }, 60_000);
});
