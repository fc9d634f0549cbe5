import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Analyzer, Anomaly, InFlightCall, Span } from '../src/index.js';
import { watch } from './helpers/events.js';
import { TraceBuilder, span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const RPS = 20;

/** `seconds` of an API whose requests each make one PostgreSQL query (~3 ms), 20 req/s, ending before `from + seconds`. */
function healthy(a: Analyzer, from: number, seconds: number): void {
  for (let s = 0; s < seconds; s++) {
    const batch: Span[] = [];
    for (let i = 0; i < RPS; i++) {
      const start = from + s * 1000 + i * (1000 / RPS);
      const t = new TraceBuilder();
      const server = t.server('orders-api', '/orders/:id', start, start + 6);
      t.db(server, 'postgresql', 'SELECT', start + 1, start + 4 + (i % 3));
      batch.push(...t.spans);
    }
    a.ingest(batch);
    a.advanceTo(from + (s + 1) * 1000);
  }
}

/** The pg calls of the requests started at 20 req/s in [from, to), still open: a hung database. */
/** The trace id of the request a test made at each start (ms, rounded): an open call made under it is in its trace. */
const requestTraces = new Map<number, string>();

function openCalls(from: number, to: number, now: number, parentEnded?: (start: number) => number | undefined): InFlightCall[] {
  const out: InFlightCall[] = [];
  for (let start = from; start < to; start += 1000 / RPS) {
    const t = new TraceBuilder();
    const server = t.server('orders-api', '/orders/:id', start, now);
    const db = t.db(server, 'postgresql', 'SELECT', start + 1, now);
    db.traceId = requestTraces.get(Math.round(start)) ?? db.traceId;
    const ended = parentEnded?.(start);
    out.push(ended === undefined ? { span: db } : { span: db, parentEndedAt: ended });
  }
  return out;
}

/**
 * `seconds` of orders-api requests from `from`, each answered after `ms` (failed when `failed`), while the
 * plugin reports `open` calls (openCalls from `from`, `parentEnded` as there): made under these very requests
 * when `theirs`, else under others.
 */
function requestsWhileOpen(a: Analyzer, from: number, seconds: number, o: { ms: number; failed: boolean; open: boolean; theirs: boolean }): void {
  for (let s = 1; s <= seconds; s++) {
    const now = from + s * 1000;
    const batch: Span[] = [];
    for (let start = now - 1000; start < now; start += 1000 / RPS) {
      const t = new TraceBuilder();
      t.server('orders-api', '/orders/:id', start, start + o.ms, o.failed ? { status: 'error' } : {});
      if (o.theirs) requestTraces.set(Math.round(start), t.traceId);
      else requestTraces.delete(Math.round(start));
      batch.push(...t.spans);
    }
    a.ingest(batch);
    a.inFlight(o.open ? openCalls(from, now, now, o.theirs ? (start) => start + o.ms : undefined) : [], now);
    a.advanceTo(now);
  }
}

/** Reports the hang every second from `from` for `seconds`, as the plugin's tick does; no span ends meanwhile. */
function hang(a: Analyzer, stallAt: number, from: number, seconds: number, parentEnded?: (start: number) => number | undefined): void {
  for (let s = 1; s <= seconds; s++) {
    const now = from + s * 1000;
    a.inFlight(openCalls(stallAt, now, now, parentEnded), now);
    a.advanceTo(now);
  }
}

/**
 * A hang that blocks new calls for `seconds`, reported every second: only the calls of its first second were
 * made; requests after them wait for a connection, uncounted.
 */
function blockedPool(a: Analyzer, stallAt: number, seconds: number): void {
  for (let s = 1; s <= seconds; s++) {
    const now = stallAt + s * 1000;
    a.inFlight(openCalls(stallAt, stallAt + 1000, now), now);
    a.advanceTo(now);
  }
}

/**
 * A lock holding a pool's 5 connections for `seconds` from `stallAt`, reported every second: the calls of
 * its first 250 ms hang; from 3 s on, requests fail as Knex gives up waiting for a connection (no span).
 */
function knexLock(a: Analyzer, stallAt: number, seconds: number): void {
  for (let s = 1; s <= seconds; s++) {
    const now = stallAt + s * 1000;
    if (s > 3) {
      const batch: Span[] = [];
      for (let start = now - 4000; start < now - 3000; start += 1000 / RPS) {
        const t = new TraceBuilder();
        t.server('orders-api', '/orders/:id', start, start + 3000, { status: 'error', statusMessage: 'Knex: Timeout acquiring a connection. The pool is probably full.' });
        batch.push(...t.spans);
      }
      a.ingest(batch);
    }
    a.inFlight(openCalls(stallAt, stallAt + 250, now), now);
    a.advanceTo(now);
  }
}

describe('in-flight calls (issue 21)', () => {
  it('names the hung database while the hang lasts, before any span of it ends', () => {
    const a = createAnalyzer();
    const events = watch(a);
    healthy(a, T0, 60);
    expect(events).toEqual([]);
    const stallAt = T0 + 60_000;
    let detectedAt: number | undefined;
    for (let s = 1; s <= 15 && detectedAt === undefined; s++) {
      hang(a, stallAt, stallAt + (s - 1) * 1000, 1);
      if (events.length > 0) detectedAt = stallAt + s * 1000;
    }
    expect(detectedAt, "detected within 15 s of the stall").toBeDefined();
    // A call counts once open 1 s (20× its p95 is less); the next window to close judges it.
    expect((detectedAt as number) - stallAt).toBeLessThanOrEqual(7000);
    const opened = events.find((e) => e.type === 'opened');
    expect(opened?.incident.rootCause).toMatchObject({ service: 'postgresql', kind: 'timeout' });
    expect(opened?.incident.rootCause.explanation).toMatch(/orders-api got no answer from postgresql/);
    expect(opened?.incident.rootCause.explanation).toMatch(/in the last \d+ s/);
    // Nothing blames the app: none of its requests has even ended.
    expect(events.filter((e) => e.incident.rootCause.service === 'orders-api')).toEqual([]);
  });

  it('counts in a window only the calls overdue by its end: the report, a lateness later, holds later ones', () => {
    const a = createAnalyzer();
    const events = watch(a);
    healthy(a, T0, 60);
    // At a window's start: every call made from then on hangs, and is overdue 1 s after it started.
    const stallAt = T0 + 60_000;
    hang(a, stallAt, stallAt, 15);
    const opened = events.find((e) => e.type === 'opened')?.incident;
    expect(opened?.rootCause).toMatchObject({ service: 'postgresql', kind: 'timeout' });
    // Before the hang's first second no call was overdue: a window ending then shows nothing of it.
    expect(opened?.openedAt).toBeGreaterThanOrEqual(stallAt + 1000);
    const told = /got no answer from postgresql SELECT orders in (\d+) of (\d+) calls/.exec(opened?.rootCause.explanation ?? '');
    expect(told, opened?.rootCause.explanation).not.toBeNull();
    // Only calls made over 1 s before the stated window's end (at 20 req/s) can be overdue by then.
    const end = opened?.openedAt as number;
    const couldBe = (end - 1000 - Math.max(stallAt, end - 6000)) / (1000 / RPS);
    expect(Number(told?.[1])).toBeLessThanOrEqual(couldBe);
  });

  it('requests that end while their calls hang (clients gave up) blame the callee, not their own time', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const anomalies: string[] = [];
    a.onAnomaly((x) => anomalies.push(`${x.service} ${x.signal}`));
    healthy(a, T0, 60);
    const stallAt = T0 + 60_000;
    const GIVE_UP = 3000;
    for (let s = 1; s <= 30; s++) {
      const now = stallAt + s * 1000;
      // Requests started GIVE_UP ago end now, as 200s that took 3 s; their database calls never do.
      const ended: Span[] = [];
      for (let start = now - GIVE_UP - 1000; start < now - GIVE_UP; start += 1000 / RPS) {
        if (start < stallAt) continue;
        const t = new TraceBuilder();
        t.server('orders-api', '/orders/:id', start, start + GIVE_UP);
        ended.push(...t.spans);
      }
      a.ingest(ended);
      a.inFlight(openCalls(stallAt, now, now, (start) => (start + GIVE_UP <= now ? start + GIVE_UP : undefined)), now);
      a.advanceTo(now);
    }
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.length, JSON.stringify(anomalies)).toBeGreaterThan(0);
    expect(opened[0].incident.rootCause.service).toBe('postgresql');
    // Its sentence says what is known while the calls are open: they got no answer (not "p95 5 ms, 1.0×"
    // from the calls that ended before the hang).
    for (const e of events) expect(e.incident.rootCause.explanation).toMatch(/^orders-api got no answer from postgresql SELECT orders in \d+ of \d+ calls/);
    // The app's slow requests are reported (they did take 3 s), but no incident blames its own time.
    expect(events.filter((e) => e.type !== 'resolved' && e.incident.rootCause.service === 'orders-api').map((e) => e.incident.rootCause.explanation)).toEqual([]);
  });

  it('a few slow calls among many answered ones are not a hang', () => {
    const a = createAnalyzer();
    const events = watch(a);
    healthy(a, T0, 60);
    for (let s = 61; s <= 90; s++) {
      const now = T0 + s * 1000;
      healthy(a, now - 1000, 1);
      // One call every other second runs 2 s, far past 20× its p95: rare, and the edge's test says so.
      a.inFlight(s % 2 === 0 ? openCalls(now - 2000, now - 1990, now) : [], now);
      a.advanceTo(now);
    }
    expect(events).toEqual([]);
  });

  it('one statement hung among many answered ones (a row lock) is found while it lasts, with its own calls', () => {
    // Reads at 20 req/s make five SELECTs each; payments at 2 req/s make one UPDATE, which a lock holds.
    const lockedAt = T0 + 60_000;
    const payStarts = (from: number, to: number): number[] => {
      const out: number[] = [];
      for (let t = Math.ceil((from - T0) / 500) * 500 + T0; t < to; t += 500) out.push(t);
      return out;
    };
    const second = (a: Analyzer, s: number): void => {
      const from = T0 + s * 1000;
      const batch: Span[] = [];
      for (let i = 0; i < RPS; i++) {
        const start = from + i * (1000 / RPS);
        const t = new TraceBuilder();
        const server = t.server('orders-api', '/orders/:id', start, start + 12);
        for (let q = 0; q < 5; q++) t.db(server, 'postgresql', 'SELECT', start + 1 + 2 * q, start + 3 + 2 * q);
        batch.push(...t.spans);
      }
      for (const start of payStarts(from, Math.min(from + 1000, lockedAt))) {
        const t = new TraceBuilder();
        const server = t.server('orders-api', '/orders/:id/pay', start, start + 5);
        t.db(server, 'postgresql', 'UPDATE', start + 1, start + 3 + (start % 3));
        batch.push(...t.spans);
      }
      a.ingest(batch);
    };
    const a = createAnalyzer();
    const events = watch(a);
    for (let s = 0; s < 60; s++) {
      second(a, s);
      a.advanceTo(T0 + (s + 1) * 1000);
    }
    expect(events).toEqual([]);
    let detectedAt: number | undefined;
    for (let s = 60; s < 90 && detectedAt === undefined; s++) {
      second(a, s);
      const now = T0 + (s + 1) * 1000;
      const open: InFlightCall[] = payStarts(lockedAt, now).map((start) => {
        const t = new TraceBuilder();
        return { span: t.db(t.server('orders-api', '/orders/:id/pay', start, now), 'postgresql', 'UPDATE', start + 1, now) };
      });
      a.inFlight(open, now);
      a.advanceTo(now);
      if (events.length > 0) detectedAt = now;
    }
    expect(detectedAt, 'detected while the lock lasts').toBeDefined();
    expect((detectedAt as number) - lockedAt).toBeLessThanOrEqual(10_000);
    const rc = events[0].incident.rootCause;
    expect(rc).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'timeout' });
    // Counted over the UPDATEs, not the edge's hundreds of answered SELECTs.
    const [, gaveUp, calls] = /no answer from postgresql UPDATE orders in (\d+) of (\d+) calls/.exec(rc.explanation) ?? [];
    expect(Number(gaveUp)).toBeGreaterThanOrEqual(2);
    expect(Number(calls)).toBeLessThanOrEqual(20);
  });

  it('statements hung on a lock that fill the pool: the incident names the statement, not the wait for a connection queued behind it', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const connect = (t: TraceBuilder, server: Span, start: number, end: number): Span =>
      span({ traceId: t.traceId, service: 'orders-api', name: 'pg-pool.connect', kind: 'client', parentSpanId: server.spanId, startTime: start, endTime: end, attributes: { 'db.system': 'postgresql' } });
    // Each request takes a pooled connection, then reads (or, one in ten, pays: an UPDATE).
    for (let s = 0; s < 60; s++) {
      const batch: Span[] = [];
      for (let i = 0; i < RPS; i++) {
        const start = T0 + s * 1000 + i * (1000 / RPS);
        const t = new TraceBuilder();
        const server = t.server('orders-api', i % 10 === 0 ? '/orders/:id/pay' : '/orders/:id', start, start + 8);
        t.spans.push(connect(t, server, start + 1, start + 1.5));
        t.db(server, 'postgresql', i % 10 === 0 ? 'UPDATE' : 'SELECT', start + 2, start + 5 + (i % 3));
        batch.push(...t.spans);
      }
      a.ingest(batch);
      a.advanceTo(T0 + (s + 1) * 1000);
    }
    expect(events).toEqual([]);
    const stallAt = T0 + 60_000;
    for (let s = 1; s <= 20; s++) {
      const now = stallAt + s * 1000;
      const open: InFlightCall[] = [];
      // The pool's ten connections hold UPDATEs that wait on the lock since the stall...
      for (let i = 0; i < 10; i++) {
        const t = new TraceBuilder();
        const start = stallAt + i * 50;
        open.push({ span: t.db(t.server('orders-api', '/orders/:id/pay', start, now), 'postgresql', 'UPDATE', start + 1, now) });
      }
      // ...and every request since waits for a connection.
      for (let start = stallAt + 500; start < now; start += 1000 / RPS) {
        const t = new TraceBuilder();
        open.push({ span: connect(t, t.server('orders-api', '/orders/:id', start, now), start + 1, now) });
      }
      a.inFlight(open, now);
      a.advanceTo(now);
    }
    const last = events.filter((e) => e.type !== 'resolved').at(-1);
    expect(last?.incident.rootCause).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'timeout' });
  });

  it('a call not learned yet is overdue only after criticalMs; one whose request ended, after a second', () => {
    const unlearned = createAnalyzer();
    const seen = watch(unlearned);
    const start = T0;
    unlearned.advanceTo(start);
    // Calls open 1–9 s, none of their requests ended: not overdue while the callee is unlearned.
    hang(unlearned, start, start, 9);
    expect(seen).toEqual([]);
    // Past 10 s they are.
    hang(unlearned, start, start + 9000, 12);
    expect(seen.find((e) => e.type === 'opened')?.incident.rootCause.service).toBe('postgresql');

    // Calls made under no request (streams, long polls started in the background) are not judged unlearned.
    const background = createAnalyzer();
    const seen3 = watch(background);
    background.advanceTo(start);
    for (let s = 1; s <= 30; s++) {
      const now = start + s * 1000;
      background.inFlight(openCalls(start, start + 1000, now).map((c) => ({ span: { ...c.span, parentSpanId: undefined } })), now);
      background.advanceTo(now);
    }
    expect(seen3).toEqual([]);

    const abandoned = createAnalyzer();
    const seen2 = watch(abandoned);
    abandoned.advanceTo(start);
    // The requests gave up after 1 s: their calls, still open, got no answer.
    hang(abandoned, start, start, 8, (s) => s + 1000);
    expect(seen2.find((e) => e.type === 'opened')?.incident.rootCause.service).toBe('postgresql');
  });

  it('calls left open by an outage stop counting once the callee answers again (spans never ended)', () => {
    // instrumentation-ioredis starts a span for each command rejected while Redis is down and never ends
    // it: every report after the outage still lists them, open and abandoned by their requests.
    const a = createAnalyzer({ resolveAfterMs: 30_000 });
    const events = watch(a);
    healthy(a, T0, 60);
    const stallAt = T0 + 60_000;
    const outage = 30;
    const leaked = (now: number) => openCalls(stallAt, Math.min(now, stallAt + outage * 1000), now, (start) => start + 5);
    for (let s = 1; s <= outage; s++) {
      const now = stallAt + s * 1000;
      a.inFlight(leaked(now), now);
      a.advanceTo(now);
    }
    expect(events.filter((e) => e.type === 'opened').map((e) => e.incident.rootCause.service)).toEqual(['postgresql']);
    // Recovered: requests and their calls answer as before; the leaked calls are reported for minutes.
    const recovered = stallAt + outage * 1000;
    for (let s = 1; s <= 120; s++) {
      const now = recovered + s * 1000;
      healthy(a, now - 1000, 1);
      a.inFlight(leaked(now), now);
      a.advanceTo(now);
    }
    const resolved = events.find((e) => e.type === 'resolved');
    expect(resolved, 'resolved after recovery').toBeDefined();
    expect((resolved?.incident.resolvedAt as number) - recovered).toBeLessThan(60_000);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);
    // While the outage lasted, each window counted the calls that went unanswered in it, not the outage's.
    for (const e of events) {
      const [, missed] = /no answer from postgresql SELECT orders in (\d+) of/.exec(e.incident.rootCause.explanation) ?? [];
      if (missed !== undefined) expect(Number(missed)).toBeLessThanOrEqual(RPS * 5 + RPS);
    }
    // Then the load stops: nothing is called, nothing answers, the leftovers are still reported.
    const after = events.length;
    const quiet = recovered + 120_000;
    for (let s = 1; s <= 60; s++) {
      const now = quiet + s * 1000;
      a.inFlight(leaked(now), now);
      a.advanceTo(now);
    }
    // (Its traffic drop is real; the database it no longer calls is not hung.)
    expect(events.slice(after).filter((e) => e.type !== 'resolved' && e.incident.rootCause.service === 'postgresql')).toEqual([]);
  });

  it('a hang that blocks new calls (a pool whose connections all wait) stays open while nothing answers, its drop in ended requests part of it', () => {
    const a = createAnalyzer({ resolveAfterMs: 30_000 });
    const events = watch(a);
    // Long enough for the traffic baseline to judge a drop.
    healthy(a, T0, 300);
    const stallAt = T0 + 300_000;
    blockedPool(a, stallAt, 120);
    const hung = events.find((e) => e.type === 'opened')?.incident;
    expect(hung?.rootCause).toMatchObject({ service: 'postgresql', kind: 'timeout' });
    expect(events.filter((e) => e.type === 'resolved' && e.incident.id === hung?.id)).toEqual([]);
    // Requests waiting on it do not end: the drop fired, and joined the hang's incident, not one of its own.
    expect(new Set(events.map((e) => e.incident.id))).toEqual(new Set([hung?.id]));
    expect(events[events.length - 1].incident.anomalies.map((x) => [x.kind, x.service])).toContainEqual(['traffic', 'orders-api']);
  });

  it('a hang begun mid-window that blocks new calls (no span waits for the pool: mysql2, Knex) is found from the calls that became overdue then', () => {
    const a = createAnalyzer();
    const events = watch(a);
    healthy(a, T0, 63);
    const stallAt = T0 + 63_000;
    // A pool of 5: the calls of the stall's first quarter second hang; later requests wait for a connection
    // without a span. The window they became overdue in also holds the 60 calls answered before the stall.
    let detectedAt: number | undefined;
    for (let s = 1; s <= 20; s++) {
      const now = stallAt + s * 1000;
      a.inFlight(openCalls(stallAt, stallAt + 250, now), now);
      a.advanceTo(now);
      if (detectedAt === undefined && events.length > 0) detectedAt = now;
    }
    expect(detectedAt, 'detected while the hang lasts').toBeDefined();
    // By the next window to close after the one they became overdue in.
    expect((detectedAt as number) - stallAt).toBeLessThanOrEqual(10_000);
    const opened = events.find((e) => e.type === 'opened')?.incident;
    expect(opened?.rootCause).toMatchObject({ service: 'postgresql', kind: 'timeout' });
    expect(opened?.rootCause.explanation).toMatch(/^orders-api got no answer from postgresql SELECT orders in 5 of 5 calls to postgresql \(/);
    expect(events.filter((e) => e.incident.rootCause.service !== 'postgresql')).toEqual([]);
  });

  it('requests failing on a pool filled by hung calls blame the database, found hung at the first bucket close (Knex: acquire timeout)', () => {
    // A lock holds the pool's 5 connections; Knex gives up waiting for one after 3 s and the request fails
    // with no database span. Those failures come before the hung calls are judged: they are the database's.
    const a = createAnalyzer();
    const events = watch(a);
    healthy(a, T0, 63);
    const stallAt = T0 + 63_000;
    knexLock(a, stallAt, 20);
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened.map((i) => i.rootCause.service)).toEqual(['postgresql']);
    expect(events.filter((e) => e.incident.rootCause.service !== 'postgresql').map((e) => e.incident.title)).toEqual([]);
    expect(events.at(-1)?.incident.rootCause).toMatchObject({ service: 'postgresql', operation: 'SELECT orders', kind: 'timeout' });
    // Opened at the first bucket close after the hung calls became overdue (65 s), though the calls answered
    // before the lock still filled most of that bucket-width, not a bucket later.
    expect(opened[0].openedAt - stallAt).toBeLessThan(5_000);
    expect(opened[0].rootCause.explanation).toMatch(/^orders-api got no answer from postgresql SELECT orders in 5 of 5 calls to postgresql \(/);
  });

  it('requests slow in their own time while the pool drains after a hang wait for what hung (Knex: no span of the wait)', () => {
    const a = createAnalyzer({ resolveAfterMs: 30_000 });
    const events = watch(a);
    healthy(a, T0, 63);
    const stallAt = T0 + 63_000;
    knexLock(a, stallAt, 20);
    // The lock is released: the hung calls end, and the requests queued for a connection run their query
    // at once, each after up to 3 s in the pool's queue, which no span shows.
    const released = stallAt + 20_000;
    const drain: Span[] = [];
    for (const { span: db } of openCalls(stallAt, stallAt + 250, released)) {
      const t = new TraceBuilder();
      const server = t.server('orders-api', '/orders/:id', db.startTime - 1, released + 1);
      t.db(server, 'postgresql', 'SELECT', db.startTime, released);
      drain.push(...t.spans);
    }
    for (let start = released - 3000; start < released + 2000; start += 1000 / RPS) {
      const t = new TraceBuilder();
      const ran = Math.max(start, released) + 3000 * ((start - released + 3000) / 5000);
      const server = t.server('orders-api', '/orders/:id', start, ran + 5);
      t.db(server, 'postgresql', 'SELECT', ran, ran + 3);
      drain.push(...t.spans);
    }
    a.ingest(drain);
    a.inFlight([], released + 2000);
    a.advanceTo(released + 2000);
    healthy(a, released + 2000, 120);
    const slow = events.flatMap((e) => e.incident.anomalies).filter((x) => x.service === 'orders-api' && x.kind === 'latency');
    expect(slow.length).toBeGreaterThan(0);
    for (const x of slow) expect(x.cause).toMatchObject({ service: 'postgresql', operation: 'SELECT orders' });
    expect(new Set(events.map((e) => e.incident.id)).size).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'resolved', incident: { rootCause: { service: 'postgresql', kind: 'timeout' } } });
    expect(events.at(-1)?.incident.rootCause.confidence).toBeGreaterThan(0.9);
  });

  it('requests failing while their calls hang unended blame the callee, not their own code', () => {
    // A publish on a closed channel (amqplib) or a query on a dead connection: the request answers 500 at
    // once, its call's span never ends (so no trace has it), and the plugin reports the call open.
    const failing = (a: Analyzer, from: number, seconds: number, hung: boolean) => requestsWhileOpen(a, from, seconds, { ms: 2, failed: true, open: hung, theirs: true });
    const outage = createAnalyzer();
    const events = watch(outage);
    healthy(outage, T0, 60);
    failing(outage, T0 + 60_000, 40, true);
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened.map((i) => i.rootCause.service)).toEqual(['postgresql']);
    expect(events.at(-1)?.incident.rootCause).toMatchObject({ service: 'postgresql', kind: 'timeout' });
    expect(events.at(-1)?.incident.rootCause.confidence).toBeGreaterThan(0.8);

    // The same failures with the database answering (nothing open): the service's own fault.
    const own = createAnalyzer();
    const ownEvents = watch(own);
    healthy(own, T0, 60);
    failing(own, T0 + 60_000, 40, false);
    expect(ownEvents.filter((e) => e.type === 'opened').map((e) => e.incident.rootCause.service)).toEqual(['orders-api']);
  });

  it('requests failing at once with no call of theirs left open fail in their own code, while other calls hang', () => {
    // Probe 16: a save hook throws at once (500, no INSERT made) while a table lock holds other requests' INSERTs open.
    const a = createAnalyzer();
    const anomalies: Anomaly[] = [];
    a.onAnomaly((x) => anomalies.push(x));
    healthy(a, T0, 60);
    requestsWhileOpen(a, T0 + 60_000, 40, { ms: 2, failed: true, open: true, theirs: false });
    const errors = anomalies.filter((x) => x.kind === 'errors' && x.service === 'orders-api');
    expect(errors.length).toBeGreaterThan(0);
    for (const x of errors) expect(x.cause.service).toBe('orders-api');
  });

  it('requests that go on without a call that hangs unended (a cache they fall back from) blame the callee', () => {
    // ioredis while Redis is down: each command's span starts and never ends; the request answers from the
    // database instead, as fast as ever, and its trace lacks the usual cache call.
    const a = createAnalyzer();
    const events = watch(a);
    const anomalies: Anomaly[] = [];
    a.onAnomaly((x) => anomalies.push(x));
    healthy(a, T0, 60);
    // Its own time as before (the fallback's own call is left out here).
    requestsWhileOpen(a, T0 + 60_000, 40, { ms: 3, failed: false, open: true, theirs: true });
    expect(events.filter((e) => e.type === 'opened').map((e) => e.incident.rootCause.service)).toEqual(['postgresql']);
    const shape = anomalies.filter((x) => x.kind === 'shape');
    expect(shape.length).toBeGreaterThan(0);
    for (const x of shape) expect(x.cause.service).toBe('postgresql');
    expect(events.at(-1)?.incident.rootCause.confidence).toBeGreaterThan(0.9);
  });

  it('ignores a report older than a bucket, and an empty report clears the last one', () => {
    const a = createAnalyzer();
    const events = watch(a);
    healthy(a, T0, 60);
    const now = T0 + 61_000;
    a.inFlight(openCalls(now - 5000, now - 2000, now), now);
    a.inFlight([], now);
    for (let s = 1; s <= 20; s++) a.advanceTo(now + s * 1000);
    const stale = createAnalyzer();
    const staleEvents = watch(stale);
    healthy(stale, T0, 60);
    stale.inFlight(openCalls(now - 5000, now - 2000, now), now);
    // Event time moves on without further reports: the old one says nothing about now.
    stale.advanceTo(now + 20_000);
    expect([...events, ...staleEvents]).toEqual([]);
  });

  it('skips malformed calls without throwing', () => {
    const a = createAnalyzer();
    healthy(a, T0, 30);
    const now = T0 + 31_000;
    const bad = [null, {}, { span: span({ service: '', name: 'x', startTime: NaN, endTime: now }) }] as unknown as InFlightCall[];
    expect(() => {
      a.inFlight(bad, now);
      a.inFlight('nope' as unknown as InFlightCall[], now);
      a.advanceTo(now + 20_000);
    }).not.toThrow();
  });
});
