/**
 * Pruning of internal spans: which spans are left out, how spans below a pruned one are re-parented, the
 * bounds, and — the point — that the engine's answers do not change: random Express-like requests fed
 * whole to one analyzer and through the processor (pruning) to another give the same metrics, service
 * graph, baselines and incidents.
 *
 * A property failure prints fast-check's seed and path; run again with them to reproduce it:
 *   FC_SEED=<seed> FC_PATH=<path> npx vitest run packages/otel/test/prune.test.ts
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createAnalyzer, type Analyzer } from '@rootspan/engine';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RootspanSpanExporter, RootspanSpanProcessor, toEngineSpan } from '../src/index.js';
import { InternalSpanPruner } from '../src/prune.js';
import { FakeAnalyzer, readable } from './helpers/fakes.js';

afterEach(() => {
  vi.useRealTimers();
});

const T0 = 1_700_000_000;
const at = (ms: number): [number, number] => [T0 + Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

let ids = 0;
const id = () => (++ids).toString(16).padStart(16, '0');

interface SpanSpec {
  name: string;
  kind: SpanKind;
  spanId: string;
  parent?: string;
  remoteParent?: boolean;
  start: number;
  end: number;
  error?: boolean;
  attributes?: Attributes;
}

function span(traceId: string, s: SpanSpec): ReadableSpan {
  const r = readable({
    traceId,
    spanId: s.spanId,
    parentSpanId: s.parent,
    name: s.name,
    kind: s.kind,
    start: at(s.start),
    end: at(s.end),
    status: s.error ? { code: SpanStatusCode.ERROR, message: 'boom' } : { code: SpanStatusCode.UNSET },
    attributes: s.attributes,
  });
  if (s.remoteParent && s.parent) return { ...r, parentSpanContext: { traceId, spanId: s.parent, traceFlags: TraceFlags.SAMPLED, isRemote: true } };
  return r;
}

/** A processor on a recording analyzer, with the live clock held still. */
function processorOn(analyzer: Analyzer) {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  return new RootspanSpanProcessor({ analyzer });
}

/** An Express request as it ends: middleware spans, the server span, then the route handler's span. */
function expressRequest(traceId: string, t: number) {
  const server = id();
  const handler = id();
  const spans: SpanSpec[] = [
    { name: 'middleware - query', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: t + 0.1, end: t + 0.2, attributes: { 'express.type': 'middleware' } },
    { name: 'middleware - jsonParser', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: t + 0.2, end: t + 0.3, attributes: { 'express.type': 'middleware' } },
    {
      name: 'GET /api/users/:id',
      kind: SpanKind.SERVER,
      spanId: server,
      parent: id(),
      remoteParent: true,
      start: t,
      end: t + 2,
      attributes: { 'http.request.method': 'GET', 'http.route': '/api/users/:id', 'http.response.status_code': 200 },
    },
    { name: 'request handler - /api/users/:id', kind: SpanKind.INTERNAL, spanId: handler, parent: server, start: t + 0.3, end: t + 2.1, attributes: { 'http.route': '/api/users/:id' } },
  ];
  return { server, handler, spans: spans.map((s) => span(traceId, s)) };
}

describe('pruning internal spans', () => {
  it('leaves out Express middleware and handler spans that have nothing below them', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const { spans } = expressRequest('a'.repeat(32), 0);
    for (const s of spans) p.onEnd(s);
    await p.forceFlush();
    expect(analyzer.ingested.map((s) => s.kind)).toEqual(['server']);
    expect(p.stats()).toMatchObject({ ingested: 1, pruned: 3 });
    await p.shutdown();
  });

  it('leaves out handler and hook spans that carry the response\'s status below 500 (@fastify/otel)', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const trace = 'f'.repeat(32);
    const server = id();
    const specs: SpanSpec[] = [
      { name: 'fastify -> onRequest', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: 0.1, end: 0.2, attributes: { 'hook.name': 'fastify -> onRequest' } },
      { name: 'handler - fastify', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: 0.3, end: 2, attributes: { 'http.route': '/x', 'http.response.status_code': 200 } },
      { name: 'handler - fastify', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: 2, end: 2.5, attributes: { 'http.route': '/x', 'http.response.status_code': '404' } },
      { name: 'GET /x', kind: SpanKind.SERVER, spanId: server, start: 0, end: 3, attributes: { 'http.request.method': 'GET', 'http.route': '/x', 'http.response.status_code': 200 } },
    ];
    for (const s of specs) p.onEnd(span(trace, s));
    await p.forceFlush();
    expect(analyzer.ingested.map((s) => s.name)).toEqual(['GET /x']);
    expect(p.stats().pruned).toBe(3);
    await p.shutdown();
  });

  it('leaves out internal spans that ended after a call under them, while the call still waited to be handed over (a handler, Koa\'s nested middleware)', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const trace = 'c'.repeat(32);
    const [server, outer, inner, handler] = [id(), id(), id(), id()];
    // Koa: each middleware's span wraps the next one's, so each ends after the spans it wraps.
    const specs: SpanSpec[] = [
      { name: 'SELECT', kind: SpanKind.CLIENT, spanId: id(), parent: handler, start: 1, end: 2, attributes: { 'db.system': 'postgresql' } },
      { name: 'router - /books', kind: SpanKind.INTERNAL, spanId: handler, parent: inner, start: 0.5, end: 2.5, attributes: { 'koa.type': 'router' } },
      { name: 'middleware - bodyParser', kind: SpanKind.INTERNAL, spanId: inner, parent: outer, start: 0.3, end: 2.6, attributes: { 'koa.type': 'middleware' } },
      { name: 'middleware - logger', kind: SpanKind.INTERNAL, spanId: outer, parent: server, start: 0.2, end: 2.7, attributes: { 'koa.type': 'middleware' } },
      { name: 'GET /books', kind: SpanKind.SERVER, spanId: server, start: 0, end: 3 },
    ];
    for (const s of specs) p.onEnd(span(trace, s));
    await p.forceFlush();
    expect(analyzer.ingested.map((s) => [s.name, s.parentSpanId])).toEqual([
      ['SELECT', server],
      ['GET /books', undefined],
    ]);
    expect(p.stats().pruned).toBe(3);
    // The exporter prunes its whole batch first: the same.
    const whole = new FakeAnalyzer();
    const e = new RootspanSpanExporter({ analyzer: whole });
    e.export(specs.map((s) => span('d'.repeat(32), s)), () => {});
    expect(whole.ingested.map((s) => [s.name, s.parentSpanId])).toEqual([
      ['SELECT', server],
      ['GET /books', undefined],
    ]);
    await e.shutdown();
    await p.shutdown();
  });

  it('keeps an internal span a span handed over ended under, failed ones, ones with a 5xx HTTP status, GraphQL operations, and parentless ones', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const trace = 'b'.repeat(32);
    const [server, handler, db] = [id(), id(), id()];
    // The call is handed over (a drain) before the handler ends.
    p.onEnd(span(trace, { name: 'SELECT', kind: SpanKind.CLIENT, spanId: db, parent: handler, start: 1, end: 2, attributes: { 'db.system': 'postgresql' } }));
    await p.forceFlush();
    const specs: SpanSpec[] = [
      { name: 'handler', kind: SpanKind.INTERNAL, spanId: handler, parent: server, start: 0.5, end: 3 },
      { name: 'auth', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: 0.1, end: 0.2, error: true },
      { name: 'proxy', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: 0.1, end: 0.2, attributes: { 'http.response.status_code': 502 } },
      // Its span names a GraphQL request, also when no call was made under it.
      { name: 'query GetCart', kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: 3, end: 3.5, attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': 'GetCart' } },
      { name: 'GET /x', kind: SpanKind.SERVER, spanId: server, start: 0, end: 4 },
      { name: 'nightly job', kind: SpanKind.INTERNAL, spanId: id(), start: 5, end: 6 },
    ];
    for (const s of specs) p.onEnd(span(trace, s));
    await p.forceFlush();
    expect(analyzer.ingested.map((s) => s.name)).toEqual(['SELECT', 'handler', 'auth', 'proxy', 'query GetCart', 'GET /x', 'nightly job']);
    expect(p.stats().pruned).toBe(0);
    await p.shutdown();
  });

  it('re-parents a span that ends after its pruned parent (and grandparent) to the nearest kept ancestor', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const trace = 'c'.repeat(32);
    const [server, router, logger, call] = [id(), id(), id(), id()];
    const specs: SpanSpec[] = [
      // Express ends router spans as they start, and a middleware's span when it calls next().
      { name: 'router - /api', kind: SpanKind.INTERNAL, spanId: router, parent: server, start: 0.1, end: 0.1 },
      { name: 'middleware - logger', kind: SpanKind.INTERNAL, spanId: logger, parent: router, start: 0.2, end: 0.3 },
      // Fire-and-forget: the logger's HTTP call outlives the middleware.
      { name: 'POST', kind: SpanKind.CLIENT, spanId: call, parent: logger, start: 0.25, end: 1.5, attributes: { 'server.address': 'logs.internal' } },
      { name: 'GET /api/x', kind: SpanKind.SERVER, spanId: server, start: 0, end: 2 },
    ];
    for (const s of specs) p.onEnd(span(trace, s));
    await p.forceFlush();
    expect(analyzer.ingested.map((s) => [s.name, s.parentSpanId])).toEqual([
      ['POST', server],
      ['GET /api/x', undefined],
    ]);
    expect(p.stats().pruned).toBe(2);

    // The other way round: the helper is pruned first, then its parent (the handler ends before the call).
    const trace2 = '9'.repeat(32);
    const [server2, handler, helper, late] = [id(), id(), id(), id()];
    for (const s of [
      { name: 'helper', kind: SpanKind.INTERNAL, spanId: helper, parent: handler, start: 0.2, end: 0.3 },
      { name: 'handler', kind: SpanKind.INTERNAL, spanId: handler, parent: server2, start: 0.1, end: 0.4 },
      { name: 'GET /y', kind: SpanKind.SERVER, spanId: server2, start: 0, end: 0.5 },
      { name: 'POST', kind: SpanKind.CLIENT, spanId: late, parent: helper, start: 0.25, end: 2, attributes: { 'server.address': 'logs.internal' } },
    ] satisfies SpanSpec[]) {
      p.onEnd(span(trace2, s));
    }
    await p.forceFlush();
    expect(analyzer.ingested.slice(-2).map((s) => [s.name, s.parentSpanId])).toEqual([
      ['GET /y', undefined],
      ['POST', server2],
    ]);
    await p.shutdown();
  });

  it('keeps traces apart when span ids repeat across them (counters, not random ids)', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const [one, two] = ['1'.repeat(32), '2'.repeat(32)];
    const [server, handler, call] = ['0000000000000001', '0000000000000002', '0000000000000003'];
    // Trace one: the handler span (id 2) ends with nothing below it and is pruned.
    p.onEnd(span(one, { name: 'handler', kind: SpanKind.INTERNAL, spanId: handler, parent: server, start: 0.1, end: 0.5 }));
    p.onEnd(span(one, { name: 'GET /a', kind: SpanKind.SERVER, spanId: server, start: 0, end: 1 }));
    // Trace two, same ids: its call under span 2, handed over, keeps that parent (trace one's pruning says
    // nothing here), and so its span 2 is kept too.
    p.onEnd(span(two, { name: 'POST', kind: SpanKind.CLIENT, spanId: call, parent: handler, start: 0.2, end: 0.4, attributes: { 'server.address': 'pay' } }));
    await p.forceFlush();
    p.onEnd(span(two, { name: 'handler', kind: SpanKind.INTERNAL, spanId: handler, parent: server, start: 0.1, end: 0.5 }));
    p.onEnd(span(two, { name: 'GET /a', kind: SpanKind.SERVER, spanId: server, start: 0, end: 1 }));
    // Trace one again: a late call under its pruned handler goes to the server; trace two's kept span 2 does
    // not stop trace one's span 2 from having been pruned.
    p.onEnd(span(one, { name: 'POST', kind: SpanKind.CLIENT, spanId: call, parent: handler, start: 0.3, end: 2, attributes: { 'server.address': 'pay' } }));
    await p.forceFlush();
    expect(analyzer.ingested.map((s) => [s.traceId === one ? 'one' : 'two', s.name, s.parentSpanId])).toEqual([
      ['one', 'GET /a', undefined],
      ['two', 'POST', handler],
      ['two', 'handler', server],
      ['two', 'GET /a', undefined],
      ['one', 'POST', server],
    ]);
    expect(p.stats().pruned).toBe(1);
    await p.shutdown();
  });

  it('re-parents under pruned spans whose ids differ only in their first characters', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const traceId = 'f'.repeat(32);
    const server = 'a'.repeat(16);
    // A generator that puts a counter first and a constant last: every id ends alike.
    const mw = (i: number) => `${(i + 1).toString(16).padStart(8, '0')}00000000`;
    for (let i = 0; i < 5000; i++) p.onEnd(span(traceId, { name: `mw ${i}`, kind: SpanKind.INTERNAL, spanId: mw(i), parent: server, start: 0, end: 1 }));
    for (const i of [0, 2500, 4999]) p.onEnd(span(traceId, { name: `late ${i}`, kind: SpanKind.CLIENT, spanId: id(), parent: mw(i), start: 0.5, end: 2 }));
    // An id never pruned keeps its parent.
    p.onEnd(span(traceId, { name: 'other', kind: SpanKind.CLIENT, spanId: id(), parent: mw(5000), start: 0.5, end: 2 }));
    await p.forceFlush();
    expect(p.stats().pruned).toBe(5000);
    expect(analyzer.ingested.map((s) => [s.name, s.parentSpanId])).toEqual([
      ['late 0', server],
      ['late 2500', server],
      ['late 4999', server],
      ['other', mw(5000)],
    ]);
    await p.shutdown();
  });

  it('prunes any number of spans of one trace, and forgets pruned spans in generations', async () => {
    const analyzer = new FakeAnalyzer();
    const p = processorOn(analyzer);
    const big = 'd'.repeat(32);
    const server = id();
    for (let i = 0; i < 100; i++) p.onEnd(span(big, { name: `mw ${i}`, kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: i, end: i + 0.5 }));
    await p.forceFlush();
    expect(p.stats()).toMatchObject({ pruned: 100, queued: 0 });
    expect(analyzer.ingested).toHaveLength(0);

    // A middleware span pruned, then 2 × 16384 others: a late child of it is no longer re-parented.
    const old = 'e'.repeat(32);
    const mw = id();
    p.onEnd(span(old, { name: 'mw', kind: SpanKind.INTERNAL, spanId: mw, parent: id(), start: 0, end: 1 }));
    for (let i = 0; i < 2 * 16384; i++) {
      p.onEnd(span((i + 1).toString(16).padStart(32, '0'), { name: 'mw', kind: SpanKind.INTERNAL, spanId: id(), parent: id(), start: 0, end: 1 }));
    }
    expect(p.stats().pruned).toBe(100 + 1 + 2 * 16384);
    p.onEnd(span(old, { name: 'late', kind: SpanKind.CLIENT, spanId: id(), parent: mw, start: 0.5, end: 3 }));
    await p.forceFlush();
    expect(analyzer.ingested.at(-1)).toMatchObject({ name: 'late', parentSpanId: mw });

    // A span pruned 3000 notes ago, in the same generation, is still found.
    const recent = 'f'.repeat(32);
    const handler = id();
    const helper = id();
    p.onEnd(span(recent, { name: 'helper', kind: SpanKind.INTERNAL, spanId: helper, parent: handler, start: 0, end: 1 }));
    for (let i = 0; i < 3000; i++) p.onEnd(span(recent, { name: 'mw', kind: SpanKind.INTERNAL, spanId: id(), parent: id(), start: 0, end: 1 }));
    p.onEnd(span(recent, { name: 'late', kind: SpanKind.CLIENT, spanId: id(), parent: helper, start: 0.5, end: 3 }));
    await p.forceFlush();
    expect(analyzer.ingested.at(-1)).toMatchObject({ name: 'late', parentSpanId: handler });
    await p.shutdown();
  });

  it('the exporter prunes the same way', async () => {
    const analyzer = new FakeAnalyzer();
    const e = new RootspanSpanExporter({ analyzer });
    const { spans } = expressRequest('f'.repeat(32), 0);
    await new Promise((resolve) => e.export(spans, resolve));
    expect(analyzer.ingested.map((s) => s.kind)).toEqual(['server']);
    expect(e.stats().pruned).toBe(3);
    await e.shutdown();
  });
});

/** The seed of every property run here unless FC_SEED names another. */
const PROPERTY_SEED = 20_261_207;

/**
 * fast-check settings: a bounded number of runs from a fixed seed (CI runs the same cases every time), or
 * the run named by FC_SEED/FC_PATH.
 */
function params(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED;
  return seed === undefined ? { numRuns, seed: PROPERTY_SEED } : { seed: Number(seed), path: process.env.FC_PATH, endOnFailure: true };
}

/** What a request does below its server span: nested internal spans, calls, failures, late endings. */
interface Shape {
  middleware: number;
  /** Calls made by the handler, each maybe through a helper internal span, maybe failing, maybe ending after its parent. */
  calls: Array<{ callee: 'db' | 'payment'; viaHelper: boolean; fails: boolean; late: boolean; ms: number }>;
  handlerFails: boolean;
}

const shape: fc.Arbitrary<Shape> = fc.record({
  middleware: fc.integer({ min: 0, max: 3 }),
  calls: fc.array(
    fc.record({
      callee: fc.constantFrom('db' as const, 'payment' as const),
      viaHelper: fc.boolean(),
      fails: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
      late: fc.boolean(),
      ms: fc.integer({ min: 1, max: 40 }),
    }),
    { maxLength: 3 },
  ),
  handlerFails: fc.boolean(),
});

/** One request's spans, in the order they end (ties keep children first, as instrumentations end them). */
function requestSpans(shapeOf: Shape, route: string, t: number, traceId: string): ReadableSpan[] {
  const server = id();
  const handler = id();
  const out: Array<SpanSpec & { order: number }> = [];
  let order = 0;
  let cursor = t + 0.5;
  for (let i = 0; i < shapeOf.middleware; i++) {
    out.push({ name: `middleware - m${i}`, kind: SpanKind.INTERNAL, spanId: id(), parent: server, start: cursor, end: cursor + 0.1, order: order++ });
    cursor += 0.2;
  }
  const handlerStart = cursor;
  let failed = false;
  for (const c of shapeOf.calls) {
    const helper = c.viaHelper ? id() : undefined;
    const start = cursor + 0.1;
    const end = start + c.ms;
    const attributes: Attributes = c.callee === 'db' ? { 'db.system': 'postgresql', 'db.name': 'shop' } : { 'server.address': 'payment', 'server.port': 8080, 'http.request.method': 'POST' };
    if (c.callee === 'payment' && !c.fails) attributes['http.response.status_code'] = 200;
    // A late call outlives the span it was made in (fire-and-forget): that span ends first.
    const parentEnd = c.late ? start + 0.05 : end + 0.05;
    out.push({ name: c.callee === 'db' ? 'SELECT shop' : 'POST', kind: SpanKind.CLIENT, spanId: id(), parent: helper ?? handler, start, end, error: c.fails, attributes, order: order++ });
    if (helper !== undefined) out.push({ name: 'helper', kind: SpanKind.INTERNAL, spanId: helper, parent: handler, start, end: parentEnd, order: order++ });
    failed ||= c.fails;
    cursor = c.late ? start + 0.1 : end + 0.1;
  }
  const serverEnd = cursor + 1;
  const fails = failed || shapeOf.handlerFails;
  out.push({
    name: `GET ${route}`,
    kind: SpanKind.SERVER,
    spanId: server,
    parent: id(),
    remoteParent: true,
    start: t,
    end: serverEnd,
    error: fails,
    attributes: { 'http.request.method': 'GET', 'http.route': route, 'http.response.status_code': fails ? 500 : 200 },
    order: order++,
  });
  // Like @fastify/otel's, the handler span carries the response's status.
  out.push({ name: `request handler - ${route}`, kind: SpanKind.INTERNAL, spanId: handler, parent: server, start: handlerStart, end: serverEnd + 0.1, error: shapeOf.handlerFails, attributes: { 'http.response.status_code': fails ? 500 : 200 }, order: order++ });
  out.sort((a, b) => a.end - b.end || a.order - b.order);
  return out.map((s) => span(traceId, s));
}

/**
 * What an analyzer concluded, for comparison (without the intake counters, which pruning changes by
 * design). The calls of an operation are listed in the order a request's spans were first linked, which
 * re-parenting can change for calls made under different internal spans: compared as a set.
 */
function answers(a: Analyzer) {
  const baselines = a.baselines().map((b) => ({ ...b, calls: [...b.calls].sort((x, y) => x.callee.localeCompare(y.callee)) }));
  return { metrics: a.metrics(), graph: a.serviceGraph(), baselines, incidents: a.incidents(), anomalies: a.anomalies() };
}

describe('pruning does not change what the engine concludes', () => {
  it('random Express-like services, healthy and then failing or slow, give the same answers pruned as whole', () => {
    const service = fc.record({
      /** Each route's usual request: its shape is kept, call durations vary. */
      routes: fc.array(shape, { minLength: 1, maxLength: 3 }),
      healthy: fc.integer({ min: 150, max: 400 }),
      faulty: fc.integer({ min: 0, max: 200 }),
      fault: fc.constantFrom('errors' as const, 'slow' as const),
      faultCallee: fc.constantFrom('db' as const, 'payment' as const),
      gapMs: fc.integer({ min: 20, max: 150 }),
      /** Spans ended between two hand-overs (the processor's drains). */
      batch: fc.integer({ min: 1, max: 12 }),
      seed: fc.integer({ min: 1, max: 1_000_000 }),
    });
    let detected = 0;
    fc.assert(
      fc.property(service, (svc) => {
        let rnd = svc.seed;
        const random = () => ((rnd = (rnd * 48271) % 2147483647) / 2147483647);
        const spans: ReadableSpan[] = [];
        let t = 0;
        for (let i = 0; i < svc.healthy + svc.faulty; i++) {
          const r = i % svc.routes.length;
          const faulty = i >= svc.healthy;
          const usual = svc.routes[r];
          const calls = usual.calls.map((c) => {
            const hit = faulty && c.callee === svc.faultCallee;
            return { ...c, ms: c.ms * (0.8 + 0.4 * random()) * (hit && svc.fault === 'slow' ? 30 : 1), fails: c.fails || (hit && svc.fault === 'errors') };
          });
          t += svc.gapMs * (0.5 + random());
          spans.push(...requestSpans({ ...usual, calls }, `/api/r${r}`, t, (i + 1).toString(16).padStart(32, '0')));
        }
        // Span by span on both sides: the engine's event clock moves at the end of every ingest call. The
        // pruned side is driven as the processor's live clock drives it: after every span, pruned or kept,
        // event time is at least its end (a driver whose time stood still would make later spans look as
        // if from a fast clock). Pruned as they end, the kept spans are re-parented as they are handed over,
        // `batch` spans at a time.
        const whole = createAnalyzer();
        const pruned = createAnalyzer();
        const pruner = new InternalSpanPruner();
        const waiting: Array<{ kept: ReturnType<typeof toEngineSpan>; remote: boolean; end: number }> = [];
        const handOver = () => {
          for (const w of waiting) {
            if (w.kept !== undefined) {
              pruner.keep(w.kept, w.remote);
              pruned.ingest(w.kept);
            }
            pruned.advanceTo(w.end);
          }
          waiting.length = 0;
        };
        for (const s of spans) {
          // Each analyzer its own copy: re-parenting must not reach the whole one's.
          whole.ingest(toEngineSpan(s)!);
          const mapped = toEngineSpan(s)!;
          const ctx = s.spanContext();
          const out = pruner.prune(s, ctx.traceId, ctx.spanId);
          waiting.push({ kept: out ? undefined : mapped, remote: s.parentSpanContext?.isRemote === true, end: mapped.endTime });
          if (waiting.length >= svc.batch) handOver();
        }
        handOver();
        whole.flush();
        pruned.flush();
        expect(answers(pruned)).toEqual(answers(whole));
        expect(pruned.stats().accepted + pruner.pruned).toBe(whole.stats().accepted);
        if (whole.incidents().length > 0) detected++;
      }),
      params(Number(process.env.PRUNE_RUNS ?? 25)),
    );
    // The comparison means something only if faults were found in some runs.
    expect(detected).toBeGreaterThan(0);
  });
});
