import { describe, expect, it } from 'vitest';
import { analyzeTrace, type TraceContext } from '../src/trace/analyze.js';
import { TraceBuffer, type TraceEntry } from '../src/trace/buffer.js';
import { OperationNames } from '../src/model/operation.js';
import { opKey } from '../src/keys.js';
import { TraceBuilder, span } from './helpers/spans.js';
import type { Span } from '../src/types.js';

function context(
  typical: Record<string, number> = {},
  typicalSelf: Record<string, number> = {},
  usual: Record<string, string[]> = {},
  usualCalls: Record<string, Record<string, number>> = {},
): TraceContext & { peers: Map<string, string> } {
  const peers = new Map<string, string>();
  return {
    peers,
    names: new OperationNames(100),
    operation: (k) => ({
      typicalLatency: () => typical[k],
      typicalSelf: () => typicalSelf[k],
      // Unusual: at least 2× off the typical latency either way.
      unusualLatency: (ms) => typical[k] !== undefined && Math.abs(Math.log(ms / typical[k])) >= Math.log(2),
      usual: usual[k] ?? [],
      usualCalls: (callee) => usualCalls[k]?.[callee],
      newCallee: () => false,
      lastOkAt: Infinity,
      nodeType: 'peer',
    }),
    resolvePeer: (peer) => (peers.has(peer) ? { service: peers.get(peer) as string, operation: null } : undefined),
    learnPeer: (peer, _call, _caller, service) => void peers.set(peer, service),
    answeredAt: () => -Infinity,
    hasOpenCall: () => false,
    givenUpCall: () => undefined,
    heldLoop: () => undefined,
    loopDelay: () => undefined,
    noteLate: () => {},
    noteReadLate: () => {},
    noteHeld: () => {},
    noteAnswer: () => {},
    heldDuring: () => undefined,
    sentAt: () => undefined,
  };
}

describe('analyzeTrace', () => {
  it('computes self time as duration minus the union of outgoing calls (parallel calls counted once)', () => {
    const t = new TraceBuilder();
    const root = t.server('checkout', '/checkout', 0, 100);
    t.call(root, 'inventory', '/stock', 10, 50);
    t.call(root, 'payment', '/pay', 20, 60); // overlaps the first: waiting 10..60
    t.db(root, 'postgresql', 'SELECT', 70, 80);
    const { entries, calls } = analyzeTrace(t.spans, context());
    const checkout = entries.find((e) => e.service === 'checkout');
    expect(checkout?.self).toBe(100 - 50 - 10);
    expect(checkout?.calls.sort()).toEqual([opKey('inventory', 'GET /stock'), opKey('payment', 'GET /pay'), opKey('postgresql', 'SELECT orders')].sort());
    const db = calls.find((c) => c.virtual);
    expect(db).toMatchObject({ calleeService: 'postgresql', calleeOperation: 'SELECT orders', callerKey: opKey('checkout', 'GET /checkout') });
  });

  it('a call made inside another call of the same service is part of it: one call, the outer one (knex over pg, an SDK over HTTP)', () => {
    const t = new TraceBuilder();
    const root = t.server('orders', '/orders/:id', 0, 20);
    // instrumentation-knex's span, and instrumentation-pg's under it: one statement.
    const knex = t.db(root, 'postgresql', 'select', 2, 15, { name: 'select shop.orders', attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'select', 'db.collection.name': 'orders' } });
    t.db(knex, 'postgresql', 'SELECT', 6, 15.4, { name: 'pg.query:SELECT shop', attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'select * from "orders" where "id" = $1' } });
    // A client wrapping its HTTP request: the callee's answer is under the inner span.
    const sdk = t.client(root, 'payment', 15, 19, { name: 'PaymentClient.charge', attributes: { 'peer.service': 'payment' } });
    const http = t.client(sdk, 'payment', 16, 19);
    t.server('payment', '/charge', 16.5, 18.5, {}, http);
    const { entries, calls } = analyzeTrace(t.spans, context());
    const orders = entries.find((e) => e.service === 'orders');
    expect(calls.filter((c) => c.callerService === 'orders').map((c) => [c.calleeService, c.calleeOperation, c.duration, c.virtual])).toEqual([
      ['postgresql', 'SELECT orders', 13, true],
      ['payment', 'GET /charge', 4, false],
    ]);
    expect(orders?.calls).toEqual([opKey('postgresql', 'SELECT orders'), opKey('payment', 'GET /charge')]);
    expect(orders?.self).toBe(20 - 13 - 4);
  });

  it("a pool wait inside an ORM's statement is a call of its own, not the statement's latency (Prisma's db_query over pg-pool.connect)", () => {
    // Prisma 7 with @prisma/adapter-pg: the statement's span holds pg's pool wait and pg's query.
    const statement = (t: TraceBuilder, parent: Span, start: number, end: number, status?: 'error') =>
      t.db(parent, 'postgresql', 'SELECT', start, end, { name: 'prisma:client:db_query', status, attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT "public"."Order"."id" FROM "public"."Order" WHERE "public"."Order"."id" = $1' } });
    const wait = (t: TraceBuilder, parent: Span, start: number, end: number, status?: 'error') =>
      t.db(parent, 'postgresql', 'connect', start, end, { name: 'pg-pool.connect', status, attributes: { 'db.system.name': 'postgresql' } });
    const query = (t: TraceBuilder, parent: Span, start: number, end: number) =>
      t.db(parent, 'postgresql', 'SELECT', start, end, { name: 'pg.query:SELECT shop', attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT "public"."Order"."id" FROM "public"."Order" WHERE "public"."Order"."id" = $1' } });
    // The pool is saturated: 900 ms waiting for a connection, then the query runs in 4 ms.
    const t = new TraceBuilder();
    const root = t.server('shop', '/orders/:id', 0, 1000);
    const db = statement(t, root, 2, 910);
    wait(t, db, 3, 903);
    query(t, db, 904, 908);
    const { entries, calls } = analyzeTrace(t.spans, context());
    expect(calls.map((c) => [c.calleeOperation, c.duration, c.error])).toEqual([
      ['SELECT public.Order', 908 - 900, false],
      ['pg-pool.connect', 900, false],
    ]);
    expect(entries[0].calls).toEqual([opKey('postgresql', 'SELECT public.Order'), opKey('postgresql', 'pg-pool.connect')]);
    expect(entries[0].self).toBe(1000 - 908);
    // No connection in time: the statement never ran, and the pool wait is the failed call.
    const f = new TraceBuilder();
    const failed = f.server('shop', '/orders/:id', 0, 5100, { status: 'error' });
    wait(f, statement(f, failed, 2, 5005, 'error'), 3, 5004, 'error');
    const none = analyzeTrace(f.spans, context());
    expect(none.calls.map((c) => [c.calleeOperation, c.error])).toEqual([['pg-pool.connect', true]]);
    expect(none.entries[0].errorOrigin).toMatchObject({ service: 'postgresql', operation: 'pg-pool.connect' });
  });

  it("a call that does not say how it ended ends as the call nested in it did (Next.js's fetch over undici's request)", () => {
    const fetchSpan = (t: TraceBuilder, parent: Span, start: number, end: number) =>
      t.client(parent, 'catalog', start, end, { name: 'fetch POST http://catalog:3000/reserve', attributes: { 'http.method': 'POST', 'http.url': 'http://catalog:3000/reserve', 'net.peer.name': 'catalog', 'net.peer.port': '3000' } });
    const undici = (t: TraceBuilder, parent: Span, start: number, end: number, code: number) =>
      t.client(parent, 'catalog', start, end, { name: 'POST', status: code >= 500 ? 'error' : undefined, attributes: { 'http.request.method': 'POST', 'server.address': 'catalog', 'url.path': '/reserve', 'http.response.status_code': code } });
    const failed = new TraceBuilder();
    const root = failed.server('storefront', '/api/cart', 0, 30, { status: 'error' });
    undici(failed, fetchSpan(failed, root, 2, 20), 3, 19, 500);
    const { entries, calls } = analyzeTrace(failed.spans, context());
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ calleeService: 'catalog', calleeOperation: 'POST /reserve', error: true });
    expect(entries[0].errorOrigin).toMatchObject({ service: 'catalog', operation: 'POST /reserve', kind: 'errors' });
    // Retried: the attempt that ended last answered.
    const retried = new TraceBuilder();
    const r = retried.server('storefront', '/api/cart', 0, 30);
    const outer = fetchSpan(retried, r, 2, 25);
    undici(retried, outer, 3, 8, 503);
    undici(retried, outer, 12, 24, 200);
    expect(analyzeTrace(retried.spans, context()).calls[0].error).toBe(false);
    // A call saying how it ended keeps its own outcome.
    const own = new TraceBuilder();
    const o = own.server('storefront', '/api/cart', 0, 30);
    undici(own, own.client(o, 'catalog', 2, 20, { status: 'ok' }), 3, 19, 500);
    expect(analyzeTrace(own.spans, context()).calls[0].error).toBe(false);
  });

  it("a root internal span wrapping a server span of its service is not a request of its own (Next.js's verbose spans)", () => {
    const t = new TraceBuilder();
    const outer = span({ traceId: t.traceId, service: 'storefront', name: 'NextServer.getRequestHandler', kind: 'internal', startTime: 0, endTime: 40 });
    const inner = span({ traceId: t.traceId, service: 'storefront', name: 'NextServer.getServerRequestHandler', kind: 'internal', parentSpanId: outer.spanId, startTime: 1, endTime: 39 });
    t.spans.push(outer, inner);
    const root = t.server('storefront', '/products/[id]', 2, 38, {}, inner);
    t.call(root, 'catalog', '/items/:id', 5, 30);
    const { entries, calls } = analyzeTrace(t.spans, context());
    expect(entries.map((e) => [e.service, e.operation])).toEqual([
      ['storefront', 'GET /products/[id]'],
      ['catalog', 'GET /items/:id'],
    ]);
    expect(calls[0].callerKey).toBe(opKey('storefront', 'GET /products/[id]'));
    // A root internal span with no server span under it is a request (a job).
    const job = new TraceBuilder();
    const run = span({ traceId: job.traceId, service: 'worker', name: 'nightly-report', kind: 'internal', startTime: 0, endTime: 40 });
    job.spans.push(run);
    job.call(run, 'catalog', '/items/:id', 5, 30);
    expect(analyzeTrace(job.spans, context()).entries.map((e) => e.operation)).toEqual(['nightly-report', 'GET /items/:id']);
  });

  it('a slow request that never made its usual database call blames the database, not its own time (issue 21)', () => {
    const key = opKey('orders', 'GET /orders/:id');
    const db = opKey('postgresql', 'SELECT orders');
    const ctx = context({ [key]: 5 }, { [key]: 1 }, { [key]: [db] });
    // The client gave up after 3 s; the server span ended while its query was still in flight (no span yet).
    const t = new TraceBuilder();
    t.server('orders', '/orders/:id', 0, 3000);
    const [hung] = analyzeTrace(t.spans, ctx).entries;
    expect(hung.slowOrigin).toMatchObject({ service: 'postgresql', operation: 'SELECT orders', kind: 'latency' });
    expect(hung.shapeOrigin).toMatchObject({ service: 'postgresql', kind: 'shape' });
    // A fast request skipping the call (an early return) is still its own divergence.
    const early = new TraceBuilder();
    early.server('orders', '/orders/:id', 0, 2);
    expect(analyzeTrace(early.spans, ctx).entries[0].shapeOrigin).toMatchObject({ service: 'orders', kind: 'shape' });
  });

  it("a request that never got to its SELECT while its service gives up on the database's hung UPDATE blames the UPDATE (a query builder's pool has no spans)", () => {
    const key = opKey('api', 'GET /orders/:id');
    const select = opKey('postgresql', 'SELECT orders');
    const update = opKey('postgresql', 'UPDATE orders');
    const ctx = { ...context({ [key]: 5 }, { [key]: 1 }, { [key]: [select] }), givenUpCall: (_caller: string, callee: string) => (callee.startsWith('postgresql') ? update : undefined) };
    // Knex waits for a pooled connection (no span), the client gives up after 10 s: the request made no call.
    const t = new TraceBuilder();
    t.server('api', '/orders/:id', 0, 10_000);
    const [waited] = analyzeTrace(t.spans, ctx).entries;
    // Its wait is a timeout of the UPDATE, as the callers that give up on it see it.
    expect(waited.slowOrigin).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'timeout' });
    expect(waited.shapeOrigin).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'shape' });
  });

  it('finds the error origin: the deepest failing span whose children did not fail', () => {
    const t = new TraceBuilder();
    const fe = t.server('frontend', '/', 0, 100, { status: 'error' });
    const co = t.call(fe, 'checkout', '/checkout', 5, 95, { error: true });
    t.call(co, 'inventory', '/stock', 10, 20);
    t.call(co, 'payment', '/pay', 30, 40, { error: true });
    const { entries } = analyzeTrace(t.spans, context());
    for (const svc of ['frontend', 'checkout', 'payment']) {
      expect(entries.find((e) => e.service === svc)?.errorOrigin).toMatchObject({ service: 'payment', operation: 'GET /pay', kind: 'errors' });
    }
    expect(entries.find((e) => e.service === 'inventory')?.errorOrigin).toBeUndefined();
  });

  it("blames the caller for its own bug when its callees are fine", () => {
    const t = new TraceBuilder();
    const fe = t.server('frontend', '/', 0, 100, { status: 'error' });
    const co = t.call(fe, 'checkout', '/checkout', 5, 95, { error: true });
    t.call(co, 'payment', '/pay', 30, 40);
    const { entries } = analyzeTrace(t.spans, context());
    expect(entries.find((e) => e.service === 'frontend')?.errorOrigin).toMatchObject({ service: 'checkout', kind: 'errors' });
  });

  it('blames the callee a client gave up on, even when its server span ends later and OK', () => {
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 2100, { status: 'error' });
    const c = t.client(co, 'payment', 10, 2010, { status: 'error', statusMessage: 'timeout' });
    t.server('payment', '/pay', 15, 30_000, {}, c);
    const ctx = context();
    const { entries, calls } = analyzeTrace(t.spans, ctx);
    expect(calls[0]).toMatchObject({ calleeService: 'payment', gaveUp: true });
    expect(entries.find((e) => e.service === 'checkout')?.errorOrigin).toMatchObject({ service: 'payment', kind: 'timeout' });
  });

  it('blames the end of a chain of equal timeouts, whose server spans end as their clients give up, "OK"', () => {
    // gateway → orders → pricing, each client aborting at 2 s; pricing never answers. Each server span ends
    // a millisecond after its client closed the socket, with the status set before its handler ran.
    const t = new TraceBuilder();
    const gw = t.server('gateway', '/orders', 0, 2003, { status: 'error' });
    const timeout = { status: 'error' as const, statusMessage: 'The operation was aborted due to timeout' };
    const toOrders = t.client(gw, 'orders', 1, 2000.5, timeout);
    const orders = t.server('orders', '/orders', 1.5, 2001.2, { attributes: { 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 201 } }, toOrders);
    const toPricing = t.client(orders, 'pricing', 2, 2001, timeout);
    t.server('pricing', '/price/:id', 2.5, 2001.4, { attributes: { 'http.request.method': 'GET', 'http.route': '/price/:id', 'http.response.status_code': 200 } }, toPricing);
    const { entries, calls } = analyzeTrace(t.spans, context());
    expect(calls.map((c) => [c.calleeService, c.gaveUp])).toEqual([['orders', true], ['pricing', true]]);
    expect(entries.find((e) => e.service === 'gateway')?.errorOrigin).toMatchObject({ service: 'pricing', kind: 'timeout' });
  });

  it('does not take a failed call for given up when its callee answered, however far ahead the callee\'s clock is', () => {
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 220, { status: 'error' });
    // payment's clock runs 300 ms ahead: its span seems to end long after checkout had its 500.
    const c = t.client(co, 'payment', 10, 200, { status: 'error', attributes: { 'http.request.method': 'GET', 'server.address': 'payment', 'http.response.status_code': 500 } });
    t.server('payment', '/pay', 315, 495, { status: 'error' }, c);
    const { entries, calls } = analyzeTrace(t.spans, context());
    expect(calls[0]).toMatchObject({ calleeService: 'payment', gaveUp: false });
    expect(entries.find((e) => e.service === 'checkout')?.errorOrigin).toMatchObject({ service: 'payment', kind: 'errors' });
    // A gateway's 504 is no answer from the callee: still given up.
    const g = new TraceBuilder();
    const co2 = g.server('checkout', '/checkout', 0, 220, { status: 'error' });
    const c2 = g.client(co2, 'payment', 10, 200, { status: 'error', attributes: { 'http.request.method': 'GET', 'server.address': 'payment', 'http.response.status_code': 504 } });
    g.server('payment', '/pay', 15, 5000, {}, c2);
    expect(analyzeTrace(g.spans, context()).calls[0]).toMatchObject({ calleeService: 'payment', gaveUp: true });
  });

  it('treats a call with no answer to a known instrumented peer as given up on that service', () => {
    const ctx = context();
    ctx.peers.set('payment', 'payment');
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 2100, { status: 'error' });
    t.client(co, 'payment', 10, 2010, { status: 'error' });
    const { entries, calls } = analyzeTrace(t.spans, ctx);
    expect(calls[0]).toMatchObject({ calleeService: 'payment', virtual: false, gaveUp: true });
    expect(entries[0].errorOrigin).toMatchObject({ service: 'payment', kind: 'timeout' });
  });

  it('takes a gRPC call that ended DEADLINE_EXCEEDED for given up, one that ended UNAVAILABLE for failed, with what it said', () => {
    const grpc = (code: number) => {
      const t = new TraceBuilder();
      const orders = t.server('orders', '/place', 0, 2100, { status: 'error' });
      // instrumentation-grpc says what went wrong in an attribute only (no status message).
      const message = code === 4 ? '4 DEADLINE_EXCEEDED: Deadline exceeded' : '14 UNAVAILABLE: stock backend unavailable';
      const attributes = { 'rpc.system': 'grpc', 'rpc.service': 'shop.Stock', 'rpc.method': 'Reserve', 'server.address': '10.0.0.7', 'server.port': 50051, 'rpc.grpc.status_code': code, 'grpc.error_message': message };
      t.client(orders, '10.0.0.7', 10, 2010, { name: 'grpc.shop.Stock/Reserve', status: 'error', attributes });
      return analyzeTrace(t.spans, context());
    };
    const deadline = grpc(4);
    expect(deadline.calls[0]).toMatchObject({ calleeOperation: 'shop.Stock/Reserve', gaveUp: true });
    expect(deadline.entries[0].errorOrigin).toMatchObject({ operation: 'shop.Stock/Reserve', kind: 'timeout' });
    const unavailable = grpc(14);
    expect(unavailable.calls[0]).toMatchObject({ gaveUp: false });
    expect(unavailable.entries[0].errorOrigin).toMatchObject({ operation: 'shop.Stock/Reserve', kind: 'errors' });
    expect(unavailable.entries[0].message).toBe('14 UNAVAILABLE: stock backend unavailable');
  });

  it("counts the calls a caller makes under its own call (a gRPC stream's handlers) as the request's calls, not its own time", () => {
    // orders watches a stream, and from the stream's end handler calls Reserve: that span is the Watch span's child.
    const typical = { [opKey('orders', 'GET /place')]: 40 };
    const typicalSelf = { [opKey('orders', 'GET /place')]: 5 };
    const t = new TraceBuilder();
    const place = t.server('orders', '/place', 0, 517, { status: 'error' });
    const watch = t.client(place, 'stock', 2, 20);
    t.client(watch, 'stock-reserve', 21, 515, { status: 'error', attributes: { 'http.request.method': 'POST', 'server.address': 'stock-reserve', 'server.port': 80, 'http.response.status_code': 503 } });
    const { entries } = analyzeTrace(t.spans, context(typical, typicalSelf));
    const [orders] = entries;
    expect(orders.self).toBe(517 - 18 - 494);
    expect(orders.calls).toHaveLength(2);
    expect(orders.errorOrigin).toMatchObject({ service: 'stock-reserve', kind: 'errors' });
    expect(orders.slowOrigin).toMatchObject({ service: 'stock-reserve' });
  });

  it('takes a server span of the same service as the answer to its client parent (a service calling itself, telemetrygen)', () => {
    const t = new TraceBuilder();
    const root = t.server('shop', '/checkout', 0, 100);
    const c = t.client(root, 'shop-internal', 10, 60);
    t.server('shop', '/price', 12, 58, {}, c);
    const ctx = context();
    const { entries, calls } = analyzeTrace(t.spans, ctx);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ callerService: 'shop', callerKey: opKey('shop', 'GET /checkout'), calleeService: 'shop', calleeOperation: 'GET /price', calleeKey: opKey('shop', 'GET /price'), virtual: false });
    expect(entries.find((e) => e.operation === 'GET /checkout')).toMatchObject({ self: 50, calls: [opKey('shop', 'GET /price')] });
    expect(ctx.peers.get('shop-internal')).toBe('shop');
  });

  it('learns which service answers a peer name', () => {
    const ctx = context();
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 100);
    t.call(co, 'payment', '/pay', 10, 50);
    analyzeTrace(t.spans, ctx);
    expect(ctx.peers.get('payment')).toBe('payment');
  });

  it('finds the slow origin: the operation whose own time grew most over its baseline', () => {
    const typical = { [opKey('checkout', 'GET /checkout')]: 60, [opKey('postgresql', 'SELECT orders')]: 5 };
    const typicalSelf = { [opKey('checkout', 'GET /checkout')]: 20, [opKey('payment', 'GET /pay')]: 28 };
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 1000);
    t.call(co, 'payment', '/pay', 10, 950); // payment self ~938 vs 28
    t.db(co, 'postgresql', 'SELECT', 955, 960);
    const { entries } = analyzeTrace(t.spans, context(typical, typicalSelf));
    expect(entries.find((e) => e.service === 'checkout')?.slowOrigin).toMatchObject({ service: 'payment', kind: 'latency' });
  });

  it('finds the slow origin in an operation without a typical time yet (a new or rare one) when nothing learned grew', () => {
    const typical = { [opKey('checkout', 'GET /checkout')]: 60, [opKey('postgresql', 'SELECT orders')]: 5 };
    const typicalSelf = { [opKey('checkout', 'GET /checkout')]: 20 };
    // payment's endpoint is called too rarely to have learned a typical time; its own time is the slow part.
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 1000);
    t.call(co, 'payment', '/refund', 10, 985); // checkout's own time stays its typical 20 ms
    t.db(co, 'postgresql', 'SELECT', 986, 991);
    const { entries } = analyzeTrace(t.spans, context(typical, typicalSelf));
    expect(entries.find((e) => e.service === 'checkout')?.slowOrigin).toMatchObject({ service: 'payment', operation: 'GET /refund', kind: 'latency' });
    // The same for an uninstrumented peer's call without a typical latency.
    const u = new TraceBuilder();
    const co2 = u.server('checkout', '/checkout', 0, 1000);
    u.db(co2, 'redis', 'GET', 10, 990);
    expect(analyzeTrace(u.spans, context(typical, typicalSelf)).entries[0].slowOrigin).toMatchObject({ service: 'redis', kind: 'latency' });
    // When checkout's own time grew, that is learned evidence and wins over the unlearned callee's time.
    const v = new TraceBuilder();
    const co3 = v.server('checkout', '/checkout', 0, 1000);
    v.call(co3, 'payment', '/refund', 600, 700);
    expect(analyzeTrace(v.spans, context(typical, typicalSelf)).entries.find((e) => e.service === 'checkout')?.slowOrigin).toMatchObject({ service: 'checkout', kind: 'latency' });
  });

  it("names the caller as the slow origin when its time went to calls it made more often than usual (an N+1), each as fast as ever", () => {
    const checkout = opKey('checkout', 'GET /checkout');
    const select = opKey('postgresql', 'SELECT orders');
    const typical = { [checkout]: 60, [select]: 5 };
    const typicalSelf = { [checkout]: 20 };
    // 20 queries in a row where it made one, each 5.5 ms against a typical 5 ms: 10 ms over in all, while the
    // 19 extra queries took ~100 ms.
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 130);
    for (let i = 0; i < 20; i++) t.db(co, 'postgresql', 'SELECT', 10 + 5.5 * i, 15.5 + 5.5 * i);
    const slowOf = (counts: Record<string, Record<string, number>>) => analyzeTrace(t.spans, context(typical, typicalSelf, {}, counts)).entries[0].slowOrigin;
    expect(slowOf({ [checkout]: { [select]: 1 } })).toMatchObject({ service: 'checkout', operation: 'GET /checkout', kind: 'latency' });
    // Twice as many as usual is no loop of queries: the callee's time is its own.
    expect(slowOf({ [checkout]: { [select]: 10 } })).toMatchObject({ service: 'postgresql', kind: 'latency' });
    expect(slowOf({})).toMatchObject({ service: 'postgresql', kind: 'latency' });
  });

  it('infers kinds for spans from tracers that did not record them', () => {
    const tid = 'a'.repeat(32);
    const root = span({ traceId: tid, spanId: '1', service: 'api', name: 'GET /x', startTime: 0, endTime: 100 });
    const out = span({ traceId: tid, spanId: '2', parentSpanId: '1', service: 'api', name: 'call', startTime: 10, endTime: 90 });
    const srv = span({ traceId: tid, spanId: '3', parentSpanId: '2', service: 'db-api', name: 'GET /y', startTime: 20, endTime: 80 });
    const { entries, calls } = analyzeTrace([srv, out, root], context());
    expect(entries.map((e) => e.service).sort()).toEqual(['api', 'db-api']);
    expect(calls).toHaveLength(1);
    expect(entries.find((e) => e.service === 'api')?.self).toBe(20);
  });
});

describe('TraceBuffer', () => {
  const limits = { maxTraces: 3, maxSpansPerTrace: 3, idleMs: 1000, maxWaitMs: 5000 };

  it('releases a trace once complete and idle, not before', () => {
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer(limits, (e) => released.push(e));
    const t = new TraceBuilder();
    const root = t.server('a', '/', 0, 100);
    const c = t.client(root, 'b', 10, 90);
    buf.add(c, 90); // child first: waits for its parent
    buf.releaseReady(5000 - 1);
    expect(released).toHaveLength(0);
    buf.add(root, 5000);
    buf.releaseReady(5500);
    expect(released).toHaveLength(0);
    buf.releaseReady(6000);
    expect(released).toHaveLength(1);
    expect(released[0].spans).toHaveLength(2);
  });

  /** A buffer that has released one trace, a request's server span alone. */
  function releasedRequest() {
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer(limits, (e) => released.push(e));
    const t = new TraceBuilder();
    const root = t.server('a', '/', 0, 100);
    buf.add(root, 100);
    buf.releaseReady(2000);
    expect(released).toHaveLength(1);
    return { released, buf, t, root };
  }

  it('a straggler of a released trace (a call that ends after its request was answered) is released once idle, not after maxWaitMs', () => {
    const { released, buf, t, root } = releasedRequest();
    // The request's query ends long after its answer: its parent is gone, not on its way.
    const call = t.client(root, 'db', 50, 3000);
    buf.add(call, 3000);
    buf.releaseReady(4000);
    expect(released).toHaveLength(2);
    expect(released[1].spans).toEqual([call]);
    /** Adds `child`, still held past idle, then `parent`: released together once idle, within maxWaitMs. */
    const waitsFor = (child: Span, parent: Span, at: number) => {
      const before = released.length;
      buf.add(child, at);
      buf.releaseReady(at + 2000);
      expect(released).toHaveLength(before);
      buf.add(parent, at + 2100);
      buf.releaseReady(at + 3100);
      expect(released).toHaveLength(before + 1);
      expect(released[before].spans).toEqual([child, parent]);
    };
    // Another service's part of the trace whose own parent was never released still waits for it (spans
    // of several processes arrive in their own batches).
    const server = t.server('b', '/b', 60, 2900);
    waitsFor(t.client(server, 'c', 70, 2800), server, 4000);
    // A late query, then the handler around it (whose parent was released), a while later: released once
    // the handler came and went idle, not after maxWaitMs.
    const handler = span({ traceId: t.traceId, service: 'a', name: 'handler', kind: 'internal', parentSpanId: root.spanId, startTime: 20, endTime: 13_200 });
    waitsFor(t.client(handler, 'db', 30, 13_000), handler, 10_000);
    // The released parent's span id in another trace (a generator counting span ids) is not gone there.
    const other = new TraceBuilder();
    const stranger = other.client(other.server('d', '/', 9000, 9100), 'db', 9010, 9090);
    stranger.parentSpanId = root.spanId;
    buf.add(stranger, 16_000);
    buf.releaseReady(16_000 + 4000);
    expect(released).toHaveLength(4);
  });

  it('a span arriving after its trace was released starts a new fragment (the released one is never added to)', () => {
    const { released, buf, t, root } = releasedRequest();
    const late = t.server('b', '/late', 50, 3000);
    late.parentSpanId = root.spanId;
    expect(buf.add(late, 3000)).toBe('ok');
    expect(released[0].spans).toEqual([root]);
    buf.releaseAll();
    expect(released).toHaveLength(2);
    expect(released[1].spans).toEqual([late]);
    // Sent again after its trace was processed (an exporter retrying a batch), it is still a duplicate.
    expect(buf.add(late, 3001)).toBe('duplicate');
    expect(buf.add({ ...late, spanId: 'other' }, 3002)).toBe('ok');
    expect(buf.add({ ...late, spanId: 'other' }, 3003)).toBe('duplicate');
  });

  it('reuses an entry its consumer emptied, reset, and never one whose spans the consumer kept', () => {
    const seen: TraceEntry[] = [];
    const kept: Span[][] = [];
    const traceIds: string[] = [];
    let empty = true;
    const buf = new TraceBuffer(limits, (e) => {
      seen.push(e);
      kept.push([...e.spans]);
      traceIds.push(e.traceId);
      if (empty) {
        e.spans.length = 0;
        e.ids = undefined;
      }
    });
    /** A one-span trace of its own, ended at `at`, added (not yet released). */
    const add = (service: string, at: number) => {
      const s = new TraceBuilder().server(service, `/${service}`, at - 100, at);
      buf.add(s, at);
      return s;
    };
    add('a', 100);
    buf.releaseReady(2000);
    const b = add('b', 2100);
    buf.releaseReady(4000);
    expect(seen[1]).toBe(seen[0]);
    expect(kept[1]).toEqual([b]);
    expect(traceIds[1]).toBe(b.traceId);
    // Kept for reuse, it holds no trace id alive.
    expect(seen[1].traceId).toBe('');
    expect(seen[1].firstAt).toBe(2100);
    empty = false;
    const c = add('c', 4100);
    buf.releaseReady(6000);
    const d = add('d', 6100);
    buf.releaseAll();
    expect(seen[3]).not.toBe(seen[2]);
    expect(seen[2].spans).toEqual([c]);
    expect(seen[3].spans).toEqual([d]);
  });

  it('releases a trace missing a parent after maxWait', () => {
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer(limits, (e) => released.push(e));
    buf.add(span({ service: 'a', name: 'x', kind: 'client', parentSpanId: 'ff', startTime: 1, endTime: 2 }), 2);
    buf.releaseReady(2000);
    expect(released).toHaveLength(0);
    buf.releaseReady(5002);
    expect(released).toHaveLength(1);
  });

  it('a span naming itself as its parent does not hold its trace for maxWait', () => {
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer(limits, (e) => released.push(e));
    const s = span({ spanId: 'c1', parentSpanId: 'c1', service: 'a', name: 'x', kind: 'client', startTime: 1, endTime: 2 });
    buf.add(s, 2);
    buf.releaseReady(1002);
    expect(released).toHaveLength(1);
  });

  it("a large trace's facts are the same through the buffer's span-id index as found without it", () => {
    const t = new TraceBuilder();
    const root = t.server('frontend', '/', 0, 1000, { status: 'error' });
    for (let i = 0; i < 12; i++) {
      const co = t.call(root, `svc${i}`, `/op${i}`, 10 + i * 100, 90 + i * 100, { error: i === 3 });
      t.db(co, 'postgresql', 'SELECT', 20 + i * 100, 30 + i * 100);
    }
    // Parents after and before their children, as batches from several services arrive.
    const order = t.spans.map((s, i) => [s, (i * 7) % t.spans.length] as const).sort((a, b) => a[1] - b[1]).map(([s]) => s);
    expect(order.length).toBeGreaterThan(32);
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer({ ...limits, maxSpansPerTrace: 100 }, (e) => released.push(e));
    for (const s of order) buf.add(s, 1000);
    buf.releaseAll();
    const [entry] = released;
    expect(entry.ids?.size).toBe(order.length);
    // Facts are reused from trace to trace: compare copies.
    const facts = (ids?: ReadonlyMap<string, number>) => JSON.parse(JSON.stringify(analyzeTrace(entry.spans, context(), ids)));
    const indexed = facts(entry.ids);
    expect(indexed.entries).toHaveLength(13);
    expect(indexed.calls).toHaveLength(24);
    expect(indexed).toEqual(facts());
    expect(indexed.entries.find((e: { service: string }) => e.service === 'frontend').errorOrigin).toMatchObject({ service: 'svc3', kind: 'errors' });
  });

  it('finds thousands of traces through table growth and removals, releasing them in order of last update', () => {
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer({ ...limits, maxTraces: 10_000 }, (e) => released.push(e));
    const spans = Array.from({ length: 3000 }, (_, i) => span({ traceId: `t${i}`, spanId: `s${i}`, service: 'a', name: 'x', startTime: i, endTime: i + 1 }));
    spans.forEach((s, i) => buf.add(s, i));
    expect(buf.size).toBe(3000);
    // Every trace is still found (a duplicate), however far the table grew and probed.
    spans.forEach((s, i) => expect(buf.add(s, i)).toBe('duplicate'));
    // Trace 0 is updated late: it moves behind the others.
    expect(buf.add({ ...spans[0], spanId: 'late' }, 2999)).toBe('ok');
    buf.releaseReady(2500);
    expect(released.map((e) => e.spans[0].traceId)).toEqual(spans.slice(1, 1501).map((s) => s.traceId));
    // Removed traces are gone (their spans sent again are duplicates still), the others still found past
    // the tombstones they left.
    expect(buf.add(spans[1], 3000)).toBe('duplicate');
    expect(buf.add({ ...spans[1], spanId: 's1b' }, 3000)).toBe('ok');
    expect(buf.add(spans[2000], 3000)).toBe('duplicate');
    buf.releaseAll();
    expect(buf.size).toBe(0);
    expect(released.slice(1500).map((e) => e.spans[0].spanId)).toEqual([...spans.slice(1501).map((s) => s.spanId), 's0', 's1b']);
  });

  it('still finds traces whose ids agree in all but their first characters (crafted to collide)', () => {
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer({ ...limits, maxTraces: 10_000 }, (e) => released.push(e));
    const spans = Array.from({ length: 500 }, (_, i) => span({ traceId: `${String(i).padStart(8, '0')}-same-suffix-0000`, spanId: `s${i}`, service: 'a', name: 'x', startTime: 1, endTime: 2 }));
    for (const s of spans) expect(buf.add(s, 2)).toBe('ok');
    for (const s of spans) expect(buf.add(s, 2)).toBe('duplicate');
    expect(buf.size).toBe(500);
    buf.releaseAll();
    expect(released.map((e) => e.spans[0].spanId)).toEqual(spans.map((s) => s.spanId));
  });

  it('bounds traces and spans, and counts duplicates', () => {
    const released: TraceEntry[] = [];
    const buf = new TraceBuffer(limits, (e) => released.push(e));
    for (let i = 0; i < 4; i++) buf.add(span({ service: 'a', name: 'x', startTime: 1, endTime: 2 }), 2);
    expect(buf.size).toBe(3);
    expect(buf.evictedEarly).toBe(1);
    expect(released).toHaveLength(1);
    const s = span({ traceId: 'f'.repeat(32), service: 'a', name: 'x', startTime: 1, endTime: 2 });
    expect(buf.add(s, 2)).toBe('ok');
    expect(buf.add(s, 2)).toBe('duplicate');
    expect(buf.add({ ...s, spanId: 'x1' }, 2)).toBe('ok');
    expect(buf.add({ ...s, spanId: 'x2' }, 2)).toBe('ok');
    expect(buf.add({ ...s, spanId: 'x3' }, 2)).toBe('traceTooLarge');
  });
});

describe('analyzeTrace through framework spans', () => {
  it('finds a failing call wrapped in middleware spans that did not fail', () => {
    const t = new TraceBuilder();
    const co = t.server('checkout', '/checkout', 0, 100, { status: 'error' });
    const mw = span({ traceId: t.traceId, parentSpanId: co.spanId, service: 'checkout', name: 'request handler - /checkout', kind: 'internal', startTime: 2, endTime: 98 });
    t.spans.push(mw);
    t.client(mw, '127.0.0.1:4000', 10, 50, { status: 'error', attributes: { 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'server.port': 4000 } });
    const { entries } = analyzeTrace(t.spans, context());
    expect(entries[0].errorOrigin).toMatchObject({ service: '127.0.0.1:4000', operation: 'POST', kind: 'errors' });
  });

  it("a server span nested in one of its service's (Python's WSGI middleware around Flask) is one request, named by the inner one's route", () => {
    for (const outerName of ['GET /orders/123', 'HTTP GET']) {
      const t = new TraceBuilder();
      const gw = t.server('gateway', '/api/orders/{id}', 0, 100);
      const call = t.client(gw, 'orders', 5, 95);
      const wsgi = t.server('orders', '', 6, 94, { name: outerName, attributes: { 'http.method': 'GET', 'http.target': '/orders/123', 'http.status_code': 200 } }, call);
      const mw = span({ traceId: t.traceId, parentSpanId: wsgi.spanId, service: 'orders', name: 'auth', kind: 'internal', startTime: 7, endTime: 93 });
      t.spans.push(mw);
      const flask = t.server('orders', '/orders/<int:order_id>', 8, 92, {}, mw);
      t.db(flask, 'postgresql', 'SELECT', 20, 30);
      const { entries, calls } = analyzeTrace(t.spans, context());
      expect(entries.map((e) => `${e.service} ${e.operation} ${e.duration}`)).toEqual(['gateway GET /api/orders/{id} 100', 'orders GET /orders/<int:order_id> 88']);
      const orders = entries[1];
      expect(orders.calls).toEqual([opKey('postgresql', 'SELECT orders')]);
      expect(calls.map((c) => [c.callerKey, c.calleeKey])).toEqual([
        [opKey('gateway', 'GET /api/orders/{id}'), opKey('orders', 'GET /orders/<int:order_id>')],
        [opKey('orders', 'GET /orders/<int:order_id>'), opKey('postgresql', 'SELECT orders')],
      ]);
    }
    // With a client span in between, the service called itself: two requests.
    const t = new TraceBuilder();
    const outer = t.server('orders', '/orders', 0, 100);
    t.call(outer, 'orders', '/orders/{id}', 10, 50);
    expect(analyzeTrace(t.spans, context()).entries.map((e) => e.operation)).toEqual(['GET /orders', 'GET /orders/{id}']);
  });
});

/** A span as tracers without OpenTelemetry semantics record it: service and name only. */
function bare(traceId: string, service: string, name: string, start: number, end: number, parent?: Span): Span {
  return span({ traceId, service, name, startTime: start, endTime: end, parentSpanId: parent?.spanId });
}

describe('analyzeTrace on spans from tracers that record every span as internal', () => {
  it('takes a span under another service\'s span for that service\'s request, and its parent for the call', () => {
    const internal = (service: string, name: string, start: number, end: number, parent?: Span, attributes?: Span['attributes']): Span =>
      span({ traceId: 'ti', service, name, kind: 'internal', startTime: start, endTime: end, parentSpanId: parent?.spanId, attributes });
    const root = internal('frontend', 'POST /api/orders', 0, 100);
    const call = internal('frontend', 'HTTP POST', 5, 90, root, { 'http.method': 'POST', 'http.url': 'http://orders/orders' });
    const handler = internal('orders', 'POST /orders', 8, 85, call);
    const work = internal('orders', 'validate', 10, 20, handler);
    // An internal leaf is local work even when it names a peer.
    const cache = internal('orders', 'cache lookup', 20, 30, handler, { 'server.address': 'redis' });
    const { entries, calls } = analyzeTrace([work, cache, handler, call, root], context());
    expect(entries.map((e) => `${e.service} ${e.operation}`).sort()).toEqual(['frontend POST /api/orders', 'orders POST /orders']);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ callerService: 'frontend', calleeService: 'orders', calleeOperation: 'POST /orders', virtual: false });
  });
});

describe('analyzeTrace on spans from other tracers (no kind, status or attributes)', () => {
  it('takes a request whose caller\'s spans are missing for a request by its server attributes, not for a call', () => {
    const served = span({ traceId: 'to', service: 'inventory', name: 'HTTP GET', startTime: 0, endTime: 10, parentSpanId: 'a1b2c3d4e5f60718', attributes: { 'http.method': 'GET', 'http.target': '/items/42?x=1', 'net.host.name': 'inventory' } });
    const { entries, calls } = analyzeTrace([served], context());
    expect(calls).toHaveLength(0);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ service: 'inventory', operation: 'GET /items/:id' });
  });

  it('takes a leaf named for an RPC to another service as a call to it, even though it has no spans', () => {
    const root = bare('t1', 'checkoutservice', 'hipstershop.CheckoutService/PlaceOrder', 0, 100);
    const pay = bare('t1', 'checkoutservice', 'hipstershop.PaymentService/Charge', 10, 90, root);
    const local = bare('t1', 'checkoutservice', 'hipstershop.CheckoutService/validate', 90, 95, root);
    const { entries, calls } = analyzeTrace([root, pay, local], context());
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ calleeService: 'paymentservice', calleeOperation: 'hipstershop.PaymentService/Charge', virtual: true });
    // The call's 80 ms are waiting, not checkout's own time; the local span stays checkout's work.
    expect(entries[0].self).toBe(20);
  });

  it('names an uninstrumented callee from rpc.service when present', () => {
    const root = bare('t2', 'frontend', 'GET /', 0, 50);
    const c = span({ traceId: 't2', service: 'frontend', name: 'Convert', startTime: 5, endTime: 40, parentSpanId: root.spanId, attributes: { 'rpc.service': 'hipstershop.CurrencyService', 'rpc.method': 'Convert' } });
    const { calls } = analyzeTrace([root, c], context());
    expect(calls[0]).toMatchObject({ calleeService: 'currencyservice', virtual: true });
  });

  it('blames the callee that answered abnormally fast right before a request skipped its usual calls (an exception without status)', () => {
    const fe = opKey('frontend', 'GET /product');
    const cur = opKey('currencyservice', 'x.CurrencyService/Convert');
    const rec = opKey('recommendationservice', 'x.RecommendationService/List');
    const root = bare('t3', 'frontend', 'GET /product', 0, 20);
    const c1 = bare('t3', 'frontend', 'x.CurrencyService/Convert', 2, 4, root);
    const s1 = bare('t3', 'currencyservice', 'x.CurrencyService/Convert', 2.2, 3.8, c1); // usually 5 ms
    const ctx = context({ [cur]: 5, [fe]: 30 }, {}, { [fe]: [cur, rec] });
    const { entries } = analyzeTrace([root, c1, s1], ctx);
    const front = entries.find((e) => e.service === 'frontend');
    expect(front?.shapeOrigin).toMatchObject({ service: 'currencyservice', operation: 'x.CurrencyService/Convert', kind: 'shape' });
  });

  it('blames the operation itself when it skipped its usual calls after a normal answer (an early return)', () => {
    const co = opKey('checkout', 'POST /orders');
    const cart = opKey('cart', 'GET /cart');
    const root = bare('t4', 'checkout', 'POST /orders', 0, 10);
    const c1 = bare('t4', 'checkout', 'GET /cart', 1, 6, root);
    const s1 = bare('t4', 'cart', 'GET /cart', 1.2, 5.8, c1);
    const ctx = context({ [cart]: 4.5 }, {}, { [co]: [cart, opKey('payment', 'POST /charge')] });
    const { entries } = analyzeTrace([root, c1, s1], ctx);
    expect(entries.find((e) => e.service === 'checkout')?.shapeOrigin).toMatchObject({ service: 'checkout', operation: 'POST /orders' });
    expect(entries.find((e) => e.service === 'cart')?.shapeOrigin).toBeUndefined();
  });

  it('counts a call that lasts far longer than its answer against the callee (a delayed pod), not the caller', () => {
    const co = opKey('checkout', 'POST /orders');
    const ship = opKey('shipping', 'GET /quote');
    const root = bare('t5', 'checkout', 'POST /orders', 0, 230);
    const c1 = bare('t5', 'checkout', 'GET /quote', 5, 215, root);
    const s1 = bare('t5', 'shipping', 'GET /quote', 5.5, 10, c1);
    const { entries } = analyzeTrace([root, c1, s1], context({ [co]: 25, [ship]: 4 }, { [co]: 15, [ship]: 4 }));
    expect(entries.find((e) => e.service === 'checkout')?.slowOrigin).toMatchObject({ service: 'shipping', operation: 'GET /quote', kind: 'latency' });
  });
});
