/**
 * The intake on live traffic, with an injected wall clock: each service exports every 5 s (the SDK
 * BatchSpanProcessor's default), so a trace's spans arrive seconds apart. Held for the learned trace wait,
 * they reach the analyzer together; with the wall clock driving event time, the incident resolves itself
 * once the fault is over and the spans stop.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '@rootspan/engine';
import { scenarioByName, simulate } from '@rootspan/sim';
import { Intake } from '../src/intake.js';

const MIN = 60_000;
/** Network time from an export to the receiver. */
const TRANSIT_MS = 30;

/** Payment fails every request from minute 7 to 11 of 15; each service exports every 5 s. */
function live() {
  return simulate(scenarioByName('shop-payment-errors')!, { batchIntervalMs: 5000 });
}

describe('Intake on live traffic', () => {
  it('learns the trace wait from arrival lag, finds the payment outage despite 5 s export delays, and follows the wall clock', () => {
    const sim = live();
    let now = sim.flushTimes[0];
    // Resolved 2 min after the fault instead of 5: within the recording.
    const analyzer = createAnalyzer({ resolveAfterMs: 2 * MIN });
    const intake = new Intake(analyzer, { maxQueuedSpans: 100_000, traceWaitMs: 'auto' }, () => now);
    sim.batches.forEach((batch, i) => {
      // Ticks every 500 ms of wall time up to this export's arrival, as the server's timer does.
      const arrival = sim.flushTimes[i] + TRANSIT_MS;
      while (now + 500 < arrival) {
        now += 500;
        intake.tick();
      }
      now = arrival;
      expect(intake.offer(batch.slice())).toBe(true);
    });
    expect(intake.live).toBe(true);
    // The BatchSpanProcessor holds a span up to 5 s: the learned wait covers that, and not much more.
    expect(intake.traceWaitMs).toBeGreaterThanOrEqual(5000);
    expect(intake.traceWaitMs).toBeLessThan(7000);
    // Spans are held, not analysed, until their wait is over.
    expect(intake.queued).toBeGreaterThan(0);

    // The wall clock goes on without spans: event time follows it, minus the trace wait.
    const stop = now;
    while (now < stop + MIN) {
      now += 500;
      intake.tick();
    }
    expect(intake.queued).toBe(0);
    expect(analyzer.now()).toBe(now - intake.traceWaitMs);
    const [outage, ...later] = analyzer.incidents().reverse();
    expect(outage.rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment', kind: 'errors' });
    expect(outage.status).toBe('resolved');
    expect(outage.resolvedBy).toBe('auto');
    expect(outage.resolvedAt).toBeLessThan(sim.truth.faults[0].endMs + 3 * MIN);
    // Nothing else during the recording; after it, the silence itself is noticed (event time went on).
    const lastSpanEnd = sim.spans.reduce((m, sp) => Math.max(m, sp.endTime), 0);
    for (const inc of later) {
      expect(inc.rootCause.kind, inc.title).toBe('traffic');
      expect(inc.openedAt, inc.title).toBeGreaterThan(lastSpanEnd);
    }
    expect(analyzer.stats().droppedBy.late).toBe(0);
    expect(intake.analyzed(analyzer.stats()).accepted).toBe(sim.spans.length);
  });

  it('spans from a host minutes fast in the very first live export move event time for no one', () => {
    const sim = live();
    let now = sim.flushTimes[0];
    const analyzer = createAnalyzer();
    const intake = new Intake(analyzer, { maxQueuedSpans: 100_000, traceWaitMs: 2000 }, () => now);
    sim.batches.slice(0, 40).forEach((batch, i) => {
      const arrival = sim.flushTimes[i] + TRANSIT_MS;
      while (now + 500 < arrival) {
        now += 500;
        intake.tick();
      }
      now = arrival;
      // The first export to arrive comes from a host whose clock is 4 minutes fast (within the skew allowance).
      const skew = i === 0 ? 4 * MIN : 0;
      intake.offer(batch.map((sp) => ({ ...sp, startTime: sp.startTime + skew, endTime: sp.endTime + skew })));
    });
    const last = now + 10_000;
    while (now < last) {
      now += 500;
      intake.tick();
    }
    const s = analyzer.stats();
    expect(s.droppedBy.late).toBe(0);
    expect(s.clockAhead).toBe(sim.batches[0].length);
    expect(s.accepted).toBe(s.ingested);
  });

  it('a stall of the receiver itself (a blocked analyzer, a long GC) does not teach it a longer trace wait', () => {
    const sim = live();
    let now = sim.flushTimes[0];
    const intake = new Intake(createAnalyzer(), { maxQueuedSpans: 1_000_000, traceWaitMs: 'auto' }, () => now);
    const stallFrom = sim.flushTimes[0] + 8 * MIN;
    const stallMs = 16_000;
    let stalled = false;
    sim.batches.forEach((batch, i) => {
      const arrival = sim.flushTimes[i] + TRANSIT_MS;
      if (!stalled && arrival >= stallFrom) {
        // No tick, no request handled for 16 s; then the timer runs first and the queued requests after it.
        stalled = true;
        now = stallFrom + stallMs;
        intake.tick();
      }
      while (now + 500 < arrival) {
        now += 500;
        intake.tick();
      }
      now = Math.max(now, arrival);
      expect(intake.offer(batch.slice())).toBe(true);
      // The exporters' lag (≤ 5 s) is still what the wait covers, backlog or not.
      if (i % 50 === 0) expect(intake.traceWaitMs, `after batch ${i}`).toBeLessThan(7000);
    });
    expect(stalled).toBe(true);
    intake.tick();
    expect(intake.traceWaitMs).toBeGreaterThanOrEqual(5000);
    expect(intake.traceWaitMs).toBeLessThan(7000);
  });

  it('a fixed trace wait is used as configured; recorded (old) spans go to the analyzer as rootspan analyze reads them: merged in end-time order over an export period', () => {
    const sim = live();
    const analyzer = createAnalyzer();
    const now = sim.flushTimes[sim.flushTimes.length - 1] + 3_600_000;
    const intake = new Intake(analyzer, { maxQueuedSpans: 100_000, traceWaitMs: 2000 }, () => now);
    const seen: Span[] = [];
    const ingest = analyzer.ingest.bind(analyzer);
    analyzer.ingest = (spans) => {
      for (const s of Array.isArray(spans) ? spans : [spans]) seen.push(s);
      return ingest(spans);
    };
    const sent = sim.batches.slice(0, 50).flat();
    for (const b of sim.batches.slice(0, 50)) intake.offer(b.slice());
    intake.releaseAll();
    expect(intake.traceWaitMs).toBe(2000);
    expect(intake.live).toBe(false);
    expect(intake.queued).toBe(0);
    expect(new Set(seen)).toEqual(new Set(sent));
    expect(seen).toHaveLength(sent.length);
    for (let i = 1; i < seen.length; i++) expect(seen[i].endTime).toBeGreaterThanOrEqual(seen[i - 1].endTime);
  });
});

/** The whole simulated recording, replayed an hour after it was made, with a settable wall clock. */
function replay() {
  const sim = live();
  const analyzer = createAnalyzer();
  const clock = { now: sim.flushTimes[sim.flushTimes.length - 1] + 60 * MIN };
  const intake = new Intake(analyzer, { maxQueuedSpans: 1_000_000, traceWaitMs: 2000 }, () => clock.now);
  return { sim, analyzer, intake, clock };
}

describe('Intake on recorded data', () => {
  it("analyses a recording's last export period once nothing followed it for the trace wait", () => {
    const { sim, analyzer, intake, clock } = replay();
    // Posted fast, one request per recorded export.
    for (const batch of sim.batches) expect(intake.offer(batch.slice())).toBe(true);
    const spans = sim.batches.reduce((n, b) => n + b.length, 0);
    intake.tick();
    // Merged over an export period of its own event time: the last period is still held.
    expect(intake.queued).toBeGreaterThan(0);
    clock.now += 2000;
    intake.tick();
    expect(intake.queued).toBe(0);
    expect(analyzer.stats().accepted).toBe(spans);
  });

  it('stays a replay: one span further ahead than any clock skew does not make it live, nor the next recorded spans late', () => {
    const { sim, analyzer, intake, clock } = replay();
    const half = Math.floor(sim.batches.length / 2);
    for (const batch of sim.batches.slice(0, half)) intake.offer(batch.slice());
    const [template] = sim.batches[0];
    intake.offer([{ ...template, spanId: 'f'.repeat(16), startTime: clock.now + 20 * MIN, endTime: clock.now + 20 * MIN + 5 }]);
    expect(intake.live).toBe(false);
    for (const batch of sim.batches.slice(half)) intake.offer(batch.slice());
    intake.releaseAll();
    const stats = analyzer.stats();
    expect(stats.droppedBy).toMatchObject({ future: 1, late: 0 });
    expect(stats.accepted).toBe(sim.batches.reduce((n, b) => n + b.length, 0));
  });
});
