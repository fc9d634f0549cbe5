import { describe, expect, it } from 'vitest';
import { analyzeTrace, type TraceContext } from '../src/trace/analyze.js';
import { OperationNames } from '../src/model/operation.js';
import { PeerTable, isCallName } from '../src/ops/peers.js';
import { opKey } from '../src/keys.js';
import { span, TraceBuilder } from './helpers/spans.js';
import { createAnalyzer } from '../src/analyzer.js';
import type { Span } from '../src/types.js';

/**
 * Spans as a tracer without OpenTelemetry semantics records them (service, name, ids and times only):
 * which operations the engine blames from call shape and latency alone.
 */

/** A context with a real peer table, learned typical latencies and usual calls. */
function context(typical: Record<string, number> = {}, typicalSelf: Record<string, number> = {}, usual: Record<string, string[]> = {}): TraceContext {
  const peers = new PeerTable(100);
  return {
    names: new OperationNames(100),
    operation: (k) => ({
      typicalLatency: () => typical[k],
      typicalSelf: () => typicalSelf[k],
      unusualLatency: (ms) => typical[k] !== undefined && Math.abs(Math.log(ms / typical[k])) >= Math.log(2),
      usual: usual[k] ?? [],
      usualCalls: () => undefined,
      newCallee: () => false,
      lastOkAt: Infinity,
      nodeType: 'peer',
    }),
    resolvePeer: (peer, name, caller) => peers.resolve(peer, name, caller),
    learnPeer: (peer, name, caller, service, operation) => peers.learn(peer, name, caller, service, operation),
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

let ids = 0;
function bare(service: string, name: string, start: number, end: number, parent?: Span): Span {
  return span({ traceId: `t${ids++}`, service, name, startTime: start, endTime: end, parentSpanId: parent?.spanId, ...(parent ? { traceId: parent.traceId } : {}) });
}

/** Analyses a complete trace in which `caller`'s call named `name` is answered by `callee`'s `op`. */
function learn(ctx: TraceContext, caller: string, route: string, name: string, callee: string, op: string): void {
  const root = bare(caller, route, 0, 10);
  const c = bare(caller, name, 1, 9, root);
  analyzeTrace([root, c, bare(callee, op, 2, 8, c)], ctx);
}

describe('calls named by HTTP and database client conventions', () => {
  it('recognises client span names, not handler or middleware names', () => {
    for (const name of ['GET', 'POST', 'HTTP GET', 'PUT /items/:id', 'get', 'post /api/users', 'SELECT orders', 'run: BEGIN', 'get: SELECT', 'INSERT', 'pg.query: COMMIT']) {
      expect(isCallName(name), name).toBe(true);
    }
    for (const name of ['request handler - /charge', 'middleware - query', 'validate', 'Get cart', 'delete cache', 'select orders', 'GETTER', 'POST /a b', 'render: selected']) {
      expect(isCallName(name), name).toBe(false);
    }
  });

  it('an unanswered leaf named like an HTTP call is a call to a callee with no spans, named on its caller; its time is not the caller\'s own', () => {
    const charge = opKey('payment', 'POST /charge');
    const fraud = opKey('payment', 'POST');
    const ctx = context({ [charge]: 40, [fraud]: 10 }, { [charge]: 25 });
    const root = bare('payment', 'POST /charge', 0, 850);
    const handler = bare('payment', 'request handler - /charge', 1, 849, root);
    const call = bare('payment', 'POST', 5, 815, handler);
    const db = bare('payment', 'run: INSERT', 816, 817, handler);
    const { entries, calls } = analyzeTrace([root, handler, call, db], ctx);
    expect(calls.map((c) => [c.calleeService, c.calleeOperation, c.virtual])).toEqual([
      ['payment', 'POST', true],
      ['payment', 'run: INSERT', true],
    ]);
    expect(entries[0].self).toBe(850 - 810 - 1);
    // The 800 ms the call grew are the callee's, not payment's handler's.
    expect(entries[0].slowOrigin).toMatchObject({ service: 'payment', operation: 'POST', kind: 'latency' });
  });

  it('a leaf without kind named like a client call is a call also when it carries attributes naming no peer', () => {
    const root = bare('payment', 'POST /charge', 0, 50);
    const call = span({ traceId: root.traceId, parentSpanId: root.spanId, service: 'payment', name: 'GET', startTime: 5, endTime: 45, attributes: { 'http.url': 'http://10.0.0.9/score' } });
    const local = span({ traceId: root.traceId, parentSpanId: root.spanId, service: 'payment', name: 'validate', startTime: 45, endTime: 48, attributes: { 'code.function': 'validate' } });
    const { entries, calls } = analyzeTrace([root, call, local], context());
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ calleeService: 'payment', calleeOperation: 'GET', virtual: true });
    expect(entries[0].self).toBe(10);
  });

  it('a database statement that waits (a write lock) is the slow origin, not the handler around it', () => {
    const reserve = opKey('inventory', 'POST /reserve');
    const begin = opKey('inventory', 'run: BEGIN');
    const ctx = context({ [reserve]: 5, [begin]: 0.2 }, { [reserve]: 4 });
    const root = bare('inventory', 'POST /reserve', 0, 405);
    const b = bare('inventory', 'run: BEGIN', 1, 401, root);
    const u = bare('inventory', 'run: UPDATE', 401, 402, root);
    const { entries } = analyzeTrace([root, b, u], ctx);
    expect(entries[0].slowOrigin).toMatchObject({ service: 'inventory', operation: 'run: BEGIN' });
  });
});

describe('unanswered calls that name no peer', () => {
  it('resolve to the one operation that always answered them from the same caller, and stay on the caller when several did', () => {
    const ctx = context();
    // Learned from complete traces: frontend's GET always reached inventory; checkout's POST reached two services.
    learn(ctx, 'frontend', 'GET /products', 'GET', 'inventory', 'GET /stock');
    learn(ctx, 'checkout', 'POST /orders', 'POST', 'inventory', 'POST /reserve');
    learn(ctx, 'checkout', 'POST /orders', 'POST', 'payment', 'POST /charge');
    // Fragments whose answers arrive later (another exporter's batch).
    const f = bare('frontend', 'GET /products', 0, 10);
    expect(analyzeTrace([f, bare('frontend', 'GET', 1, 9, f)], ctx).calls[0]).toMatchObject({ calleeService: 'inventory', calleeOperation: 'GET /stock', virtual: false });
    const c = bare('checkout', 'POST /orders', 0, 10);
    expect(analyzeTrace([c, bare('checkout', 'POST', 1, 9, c)], ctx).calls[0]).toMatchObject({ calleeService: 'checkout', calleeOperation: 'POST', virtual: true });
  });
});

describe('where a request without status left its usual path', () => {
  const orders = opKey('checkout', 'POST /orders');
  const reserve = opKey('inventory', 'POST /reserve');
  const charge = opKey('payment', 'POST /charge');
  const insert = opKey('checkout', 'run: INSERT');
  const release = opKey('inventory', 'POST /release');
  const usual = { [orders]: [reserve, charge, insert], [charge]: [opKey('payment', 'POST'), opKey('payment', 'run: INSERT')] };

  it('follows the callee that itself skipped its usual calls, though the caller went on to compensate after it', () => {
    const ctx = context({ [reserve]: 2, [charge]: 30, [release]: 3 }, {}, usual);
    const root = bare('checkout', 'POST /orders', 0, 60);
    const c1 = bare('checkout', 'POST', 1, 5, root);
    const s1 = bare('inventory', 'POST /reserve', 2, 4, c1);
    const c2 = bare('checkout', 'POST', 6, 40, root);
    const s2 = bare('payment', 'POST /charge', 7, 39, c2); // returned early: none of its usual calls
    const c3 = bare('checkout', 'POST', 41, 45, root);
    const s3 = bare('inventory', 'POST /release', 42, 44, c3); // the compensation, last
    const { entries } = analyzeTrace([root, c1, s1, c2, s2, c3, s3], ctx);
    expect(entries.find((e) => e.key === orders)?.shapeOrigin).toMatchObject({ service: 'payment', operation: 'POST /charge', kind: 'shape' });
  });

  it('blames the usual callee a request skipped when an unanswered call naming no peer took its place (the callee refused or was down)', () => {
    const ctx = context({ [reserve]: 2, [release]: 3 }, {}, usual);
    // checkout's POST calls reach several services: an unanswered one alone does not say which.
    learn(ctx, 'checkout', 'POST /orders', 'POST', 'inventory', 'POST /reserve');
    learn(ctx, 'checkout', 'POST /orders', 'POST', 'payment', 'POST /charge');
    const root = bare('checkout', 'POST /orders', 0, 20);
    const c1 = bare('checkout', 'POST', 1, 5, root);
    const s1 = bare('inventory', 'POST /reserve', 2, 4, c1);
    const refused = bare('checkout', 'POST', 6, 6, root);
    const c3 = bare('checkout', 'POST', 7, 12, root);
    const s3 = bare('inventory', 'POST /release', 8, 11, c3);
    const { entries } = analyzeTrace([root, c1, s1, refused, c3, s3], ctx);
    expect(entries.find((e) => e.key === orders)?.shapeOrigin).toMatchObject({ service: 'payment', operation: 'POST /charge', kind: 'shape' });
    // Without such a call (the request just stopped), the operation's own early return stays the answer.
    const alone = bare('checkout', 'POST /orders', 0, 20);
    const a1 = bare('checkout', 'POST', 1, 5, alone);
    const { entries: own } = analyzeTrace([alone, a1, bare('inventory', 'POST /reserve', 2, 4, a1)], ctx);
    expect(own.find((e) => e.key === orders)?.shapeOrigin).toMatchObject({ service: 'checkout', operation: 'POST /orders' });
  });
});

describe('name lookups', () => {
  it("call the resolver, not the service itself, when made outside any call (a server's listen)", () => {
    const lookup = span({ traceId: 'dns-1', service: 'api', name: 'dns.lookup', kind: 'client', startTime: 0, endTime: 2, attributes: { 'peer.ipv4': '127.0.0.1' } });
    expect(analyzeTrace([lookup], context()).calls[0]).toMatchObject({ callerService: 'api', calleeService: 'dns', calleeOperation: 'dns.lookup', virtual: true });
    const analyzer = createAnalyzer();
    analyzer.ingest({ ...lookup, startTime: 1_700_000_000_000, endTime: 1_700_000_000_002 });
    analyzer.flush();
    expect(analyzer.serviceGraph().edges.map((e) => `${e.from} → ${e.to}`)).toEqual(['api → dns']);
    expect(analyzer.metrics().map((m) => `${m.nodeType} ${m.service} ${m.operation}`)).toEqual(['peer dns dns.lookup']);
  });

  it("made inside an HTTP call are the resolver's time, not the callee's: a slow lookup is blamed on dns", () => {
    // checkout's call to payment resolves payment's name first: 900 ms in the resolver, then payment answers in 90.
    const t = new TraceBuilder();
    const root = t.server('checkout', '/orders', 0, 1010);
    const call = t.client(root, 'payment', 5, 1005);
    t.spans.push(span({ traceId: t.traceId, service: 'checkout', name: 'dns.lookup', kind: 'client', startTime: 6, endTime: 906, parentSpanId: call.spanId, attributes: { 'peer.ipv4': '10.0.0.7' } }));
    t.server('payment', '/charge', 910, 1000, {}, call);
    const orders = opKey('checkout', 'GET /orders');
    const charge = opKey('payment', 'GET /charge');
    const ctx = context({ [orders]: 100, [charge]: 90 }, { [orders]: 10, [charge]: 90 });
    const { entries, calls } = analyzeTrace(t.spans, ctx);
    // The lookup is a call of checkout's own to dns, and the call to payment took payment's time, not the lookup's.
    expect(calls.map((c) => `${c.callerService} → ${c.calleeService} ${c.duration}`).sort()).toEqual(['checkout → dns 900', 'checkout → payment 100']);
    expect(entries.find((e) => e.service === 'checkout')?.slowOrigin).toMatchObject({ service: 'dns', operation: 'dns.lookup', kind: 'latency' });
  });
});
