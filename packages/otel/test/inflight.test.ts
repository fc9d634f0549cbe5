import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span as ApiSpan, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createAnalyzer, type IncidentEvent, type InFlightCall, type Span } from '@rootspan/engine';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RootspanSpanProcessor } from '../src/index.js';
import { InFlightTable, MAX_OPEN_MS, REFUSED_WITHIN_MS } from '../src/inflight.js';
import { FakeAnalyzer } from './helpers/fakes.js';

const RPS = 20;

function setup(options: ConstructorParameters<typeof RootspanSpanProcessor>[0] = {}) {
  const processor = new RootspanSpanProcessor(options);
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  return { processor, provider, tracer: provider.getTracer('test') };
}

/** A request of the orders API: a server span and, under it, a PostgreSQL query (open until `end` is called). */
function request(tracer: Tracer, start: number): { server: ApiSpan; db: ApiSpan } {
  const server = tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER, startTime: start, attributes: { 'http.request.method': 'GET', 'http.route': '/orders/:id' } });
  const db = tracer.startSpan(
    'SELECT orders',
    { kind: SpanKind.CLIENT, startTime: start + 1, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'orders' } },
    trace.setSpan(ROOT_CONTEXT, server),
  );
  return { server, db };
}

/** One second of `RPS` requests, `request(start, i)` making each, then the live clock a second on. */
function oneSecond(request: (start: number, i: number) => void): void {
  const from = Date.now();
  for (let i = 0; i < RPS; i++) request(from + i * (1000 / RPS), i);
  vi.advanceTimersByTime(1000);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('in-flight calls in the span processor (issue 21)', () => {
  it('tracks a call made within a local call as part of it (knex over pg): one call open, not two', async () => {
    const { processor, provider, tracer } = setup();
    const { server, db: knex } = request(tracer, Date.now());
    const pg = tracer.startSpan('pg.query:SELECT shop', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, knex));
    expect(processor.stats().inFlight).toMatchObject({ open: 1 });
    pg.end();
    knex.end();
    // A call its parent call outlasted (a stream's handler calling on after the stream ended) is its own.
    const after = tracer.startSpan('Reserve', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, knex));
    expect(processor.stats().inFlight).toMatchObject({ open: 1 });
    after.end();
    server.end();
    expect(processor.stats().inFlight).toMatchObject({ open: 0, dropped: 0 });
    await provider.shutdown();
  });

  it('tracks client, producer and database calls from onStart to onEnd; counts what a full table leaves out', async () => {
    const { processor, provider, tracer } = setup({ inFlightSize: 3 });
    const now = Date.now();
    const { server, db } = request(tracer, now);
    const producer = tracer.startSpan('publish', { kind: SpanKind.PRODUCER });
    const internalDb = tracer.startSpan('query', { kind: SpanKind.INTERNAL, attributes: { 'db.system.name': 'redis' } });
    tracer.startSpan('middleware', { kind: SpanKind.INTERNAL }).end();
    expect(processor.stats().inFlight).toEqual({ open: 3, dropped: 0, reported: 0, expired: 0, evicted: 0, refused: 0 });
    tracer.startSpan('one too many', { kind: SpanKind.CLIENT }).end();
    expect(processor.stats().inFlight).toMatchObject({ open: 3, dropped: 1 });
    db.end();
    producer.end();
    internalDb.end();
    server.end();
    expect(processor.stats().inFlight).toMatchObject({ open: 0, dropped: 1 });
    await provider.shutdown();
  });

  it("reports a statement's nested pool wait while it waits, not the statement (Prisma's db_query over pg-pool.connect)", () => {
    const table = new InFlightTable(16);
    const { tracer, provider } = setup();
    const now = Date.now();
    const { server, db: statement } = request(tracer, now - 3000);
    const wait = tracer.startSpan('pg-pool.connect', { kind: SpanKind.CLIENT, startTime: now - 2990, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, statement));
    table.add(server as never, ROOT_CONTEXT);
    table.add(statement as never, trace.setSpan(ROOT_CONTEXT, server));
    table.add(wait as never, trace.setSpan(ROOT_CONTEXT, statement));
    expect(table.report(now, undefined, []).map((c) => c.span.name)).toEqual(['pg-pool.connect']);
    // Connected: now the statement is what the request waits on.
    wait.end(now - 100);
    table.release(wait as never);
    expect(table.report(now, undefined, []).map((c) => c.span.name)).toEqual(['SELECT orders']);
    void provider.shutdown();
  });

  it('reports calls open over a second, with when their request ended', () => {
    const table = new InFlightTable(16);
    const { tracer, provider } = setup();
    const now = Date.now();
    const old = request(tracer, now - 3000);
    const young = request(tracer, now - 200);
    for (const s of [old.db, old.server, young.db, young.server]) table.add(s as never, trace.setSpan(ROOT_CONTEXT, s === old.db ? old.server : young.server));
    old.server.end(now - 1500);
    const calls: InFlightCall[] = table.report(now, undefined, []);
    expect(calls).toHaveLength(1);
    expect(calls[0].span).toMatchObject({ name: 'SELECT orders', kind: 'client', service: expect.any(String), endTime: now });
    expect(calls[0].parentEndedAt).toBeCloseTo(now - 1500, 0);
    expect(table.stats()).toMatchObject({ open: 2, reported: 1 });
    // A call never ended (a leaking instrumentation) is forgotten after MAX_OPEN_MS, and counted.
    expect(table.report(now + MAX_OPEN_MS + 1000, undefined, []).map((c) => c.span.name)).toEqual([]);
    expect(table.stats()).toMatchObject({ open: 0, reported: 0, expired: 2 });
    void provider.shutdown();
  });

  it('hands over a call its request failed at once after, and that never ended, as a refused call (ioredis with Redis down)', () => {
    const table = new InFlightTable(16);
    const { tracer, provider } = setup();
    const now = Date.now();
    const open = (start: number, parentEnd: number, failed: boolean, http = false) => {
      const server = tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER, startTime: start });
      const call = http
        ? tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: start + 1, attributes: { 'http.request.method': 'GET', 'url.full': 'http://audit:8080/events' } }, trace.setSpan(ROOT_CONTEXT, server))
        : tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, startTime: start + 1, attributes: { 'db.system': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, server));
      table.add(call as never, trace.setSpan(ROOT_CONTEXT, server));
      if (failed) server.setStatus({ code: SpanStatusCode.ERROR });
      server.end(parentEnd);
      table.release(server as never);
    };
    open(now - 3000, now - 3000 + 2, true); // refused: the request failed 1 ms after its query began
    open(now - 2800, now - 2800 + 4, false); // refused: the request fell back (to another store) and answered
    open(now - 2600, now - 2600 + 2, true, true); // an HTTP call the failed request did not wait for: refused
    open(now - 2500, now - 2500 + 2, false, true); // an HTTP call the request did not wait for, and it succeeded: running still
    open(now - 2000, now - 2000 + 1 + REFUSED_WITHIN_MS + 400, true); // the request waited 500 ms, then failed: given up on
    const refused: Span[] = [];
    const calls = table.report(now, undefined, refused);
    expect(refused.map((s) => s.startTime)).toEqual(expect.arrayContaining([now - 3000 + 1, now - 2800 + 1, now - 2600 + 1]));
    expect(refused).toHaveLength(3);
    expect(refused.find((s) => s.startTime === now - 3000 + 1)).toMatchObject({ name: 'SELECT orders', status: 'error', endTime: now - 3000 + 2 });
    expect(calls.map((c) => c.span.startTime)).toEqual(expect.arrayContaining([now - 2500 + 1, now - 2000 + 1]));
    expect(calls).toHaveLength(2);
    expect(table.stats()).toMatchObject({ open: 2, reported: 2, refused: 3 });
    // Handed over once: forgotten.
    const again: Span[] = [];
    table.report(now + 1000, undefined, again);
    expect(again).toEqual([]);
    void provider.shutdown();
  });

  it('a full table forgets its oldest calls at a tick, so a leak cannot keep a later hang out', () => {
    const table = new InFlightTable(8);
    const { tracer, provider } = setup();
    const now = Date.now();
    // Spans a leaking instrumentation never ends fill the table.
    const leaked = Array.from({ length: 8 }, (_, i) => request(tracer, now - 60_000 + i * 1000));
    for (const r of leaked) table.add(r.db as never, trace.setSpan(ROOT_CONTEXT, r.server));
    const refused = request(tracer, now - 3000);
    table.add(refused.db as never, trace.setSpan(ROOT_CONTEXT, refused.server));
    expect(table.stats()).toMatchObject({ open: 8, dropped: 1, evicted: 0 });
    // The tick makes room (a quarter of the table) from the oldest; a hang's calls are tracked again.
    expect(table.report(now, undefined, [])).toHaveLength(6);
    expect(table.stats()).toMatchObject({ open: 6, evicted: 2 });
    const hung = request(tracer, now - 2000);
    table.add(hung.db as never, trace.setSpan(ROOT_CONTEXT, hung.server));
    const reported = table.report(now, undefined, []).map((c) => c.span.startTime);
    expect(reported).toHaveLength(7);
    expect(reported).toContain(now - 2000 + 1);
    expect(reported).not.toContain(now - 60_000 + 1);
    expect(reported).not.toContain(now - 59_000 + 1);
    void provider.shutdown();
  });

  it('add and release keep exactly the open calls, in any order, through growth and collisions', () => {
    const { tracer, provider } = setup();
    const table = new InFlightTable(10_000);
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const open: ApiSpan[] = [];
    const start = Date.now() - 5000;
    for (let step = 0; step < 20_000; step++) {
      if (open.length > 0 && (rnd(3) === 0 || open.length > 3000)) {
        const [s] = open.splice(rnd(open.length), 1);
        table.release(s as never);
        s.end();
      } else {
        const s = tracer.startSpan('call', { kind: SpanKind.CLIENT, startTime: start });
        table.add(s as never, ROOT_CONTEXT);
        open.push(s);
      }
      if (step % 997 === 0) {
        expect(table.stats().open).toBe(open.length);
        const reported = new Set(table.report(Date.now(), undefined, []).map((c) => c.span.spanId));
        expect(reported).toEqual(new Set(open.map((s) => s.spanContext().spanId)));
      }
    }
    // Releasing an unknown or already released span changes nothing.
    table.release(tracer.startSpan('never added', { kind: SpanKind.CLIENT }) as never);
    expect(table.stats().open).toBe(open.length);
    void provider.shutdown();
  });

  it('a database that hangs is named while its calls are still open, before any of them ends', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: Date.UTC(2026, 0, 1) });
    const events: IncidentEvent[] = [];
    const { processor, provider, tracer } = setup({ onIncident: (e) => void events.push(e) });
    const second = (hung: boolean) =>
      oneSecond((start, i) => {
        const { server, db } = request(tracer, start);
        if (hung) return;
        db.end(start + 3 + (i % 3));
        server.end(start + 6);
      });
    for (let s = 0; s < 60; s++) second(false);
    await processor.forceFlush();
    expect(events).toEqual([]);
    const stallAt = Date.now();
    let named: IncidentEvent | undefined;
    for (let s = 0; s < 15 && named === undefined; s++) {
      second(true);
      await processor.forceFlush();
      named = events.find((e) => e.type === 'opened');
    }
    expect(named?.incident.rootCause).toMatchObject({ service: 'postgresql', kind: 'timeout' });
    expect(Date.now() - stallAt).toBeLessThanOrEqual(8000);
    expect(processor.stats().inFlight?.open).toBeGreaterThan(0);
    expect(processor.stats().inFlight?.reported).toBeGreaterThan(0);
    await provider.shutdown();
  });

  for (const fallback of [false, true]) {
    it(`Redis refusing every command is errors of redis, not a hang, though instrumentation-ioredis never ends a refused command (${fallback ? 'requests fall back to PostgreSQL and answer' : 'requests fail'})`, async () => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: Date.UTC(2026, 0, 1) });
      const events: IncidentEvent[] = [];
      const { processor, provider, tracer } = setup({ onIncident: (e) => void events.push(e) });
      const second = (down: boolean) =>
        oneSecond((start, i) => {
          const server = tracer.startSpan('GET /cart/:user', { kind: SpanKind.SERVER, startTime: start, attributes: { 'http.request.method': 'GET', 'http.route': '/cart/:user' } });
          // Express's span of the route handler, with no status of its own, is the command's parent.
          const handler = tracer.startSpan('request handler - /cart/:user', { kind: SpanKind.INTERNAL, startTime: start, attributes: { 'http.route': '/cart/:user' } }, trace.setSpan(ROOT_CONTEXT, server));
          const redis = tracer.startSpan('hgetall', { kind: SpanKind.CLIENT, startTime: start + 1, attributes: { 'db.system.name': 'redis', 'db.operation.name': 'hgetall' } }, trace.setSpan(ROOT_CONTEXT, handler));
          if (down) {
            // The command is refused at once and its span stays open: the request answers 503, or reads
            // the cart from PostgreSQL instead.
            if (fallback) tracer.startSpan('SELECT carts', { kind: SpanKind.CLIENT, startTime: start + 1.5, attributes: { 'db.system.name': 'postgresql' } }, trace.setSpan(ROOT_CONTEXT, handler)).end(start + 4);
            handler.end(start + (fallback ? 4.5 : 1.5));
            if (!fallback) server.setStatus({ code: SpanStatusCode.ERROR });
            server.setAttribute('http.response.status_code', fallback ? 200 : 503);
            server.end(start + (fallback ? 5 : 2));
            return;
          }
          redis.end(start + 2 + (i % 3) / 2);
          handler.end(start + 3);
          server.setAttribute('http.response.status_code', 200);
          server.end(start + 4);
        });
      for (let s = 0; s < 60; s++) second(false);
      await processor.forceFlush();
      expect(events).toEqual([]);
      let named: IncidentEvent | undefined;
      for (let s = 0; s < 15 && named === undefined; s++) {
        second(true);
        await processor.forceFlush();
        named = events.find((e) => e.type === 'opened');
      }
      expect(named?.incident.rootCause).toMatchObject({ service: 'redis', operation: 'HGETALL', kind: 'errors' });
      expect(named?.incident.title).toMatch(/^Errors in redis HGETALL/);
      expect(processor.stats().inFlight?.refused).toBeGreaterThan(0);
      await provider.shutdown();
    });
  }

  it('reports every tick, except one that comes late (the event loop was blocked: answers wait unprocessed)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: Date.UTC(2026, 0, 1) });
    const analyzer = new FakeAnalyzer();
    const { processor, provider, tracer } = setup({ analyzer });
    const { server, db } = request(tracer, Date.now());
    vi.advanceTimersByTime(3000);
    expect(analyzer.inFlightReports.map((r) => r.calls.length)).toEqual([0, 1, 1]);
    // The host blocks its event loop for 2 s: the call's answer may be waiting in a socket.
    vi.setSystemTime(Date.now() + 2000);
    vi.advanceTimersByTime(1000);
    expect(analyzer.inFlightReports).toHaveLength(3);
    vi.advanceTimersByTime(1000);
    expect(analyzer.inFlightReports).toHaveLength(4);
    db.end();
    server.end();
    vi.advanceTimersByTime(1000);
    expect(analyzer.inFlightReports.at(-1)?.calls).toEqual([]);
    await provider.shutdown();
    expect(processor.stats().inFlight?.open).toBe(0);
  });

  it('forceFlush and shutdown open nothing, even with calls still in flight', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'], now: Date.UTC(2026, 0, 1) });
    const events: IncidentEvent[] = [];
    const analyzer = createAnalyzer();
    analyzer.onIncident((e) => void events.push(e));
    const { processor, provider, tracer } = setup({ analyzer });
    for (let s = 0; s < 60; s++) {
      const from = Date.now();
      for (let i = 0; i < RPS; i++) {
        const { server, db } = request(tracer, from + i * 50);
        db.end(from + i * 50 + 4);
        server.end(from + i * 50 + 6);
      }
      vi.advanceTimersByTime(1000);
    }
    // The load stops; 20 s later the process goes down mid-request (calls open), and shuts down.
    vi.advanceTimersByTime(20_000);
    for (let i = 0; i < 3 * RPS; i++) request(tracer, Date.now() - 900 + i);
    vi.advanceTimersByTime(500);
    await processor.forceFlush();
    await provider.shutdown();
    expect(events.filter((e) => e.type === 'opened').map((e) => e.incident.title)).toEqual([]);
    expect(processor.stats().inFlight?.open).toBe(0);
  });
});
