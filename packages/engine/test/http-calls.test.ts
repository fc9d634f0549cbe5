/**
 * HTTP calls and the path they called (OpenTelemetry names an HTTP client span by its method alone): a
 * call whose answer is missing reaches the operation its path was answered by before, not whichever the
 * caller last called by that method; an uninstrumented callee's operations are the paths called on it
 * (in-process, every callee is seen so), and an incident weighs the evidence against all of them together.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import { analyzeTrace, type TraceContext } from '../src/trace/analyze.js';
import { OperationNames } from '../src/model/operation.js';
import { PeerTable } from '../src/ops/peers.js';
import { TraceBuilder } from './helpers/spans.js';
import type { Span } from '../src/types.js';

const API = 'api.payments.example';

function call(b: TraceBuilder, parent: Span, method: string, url: string, start: number, end: number): Span {
  return b.client(parent, API, start, end, { name: method, attributes: { 'http.request.method': method, 'url.full': url, 'server.address': API, 'server.port': 443 } });
}

describe('calls to an uninstrumented HTTP API', () => {
  it('are the paths called on it (ids folded, no query); a slowdown of some is one incident rooted there', () => {
    const analyzer = createAnalyzer();
    const t0 = Date.UTC(2026, 11, 1, 12);
    // 5 requests/s for 4 minutes; from minute 3, the POSTs take 20x as long.
    for (let i = 0; i < 5 * 240; i++) {
      const start = t0 + i * 200;
      const slow = i >= 5 * 180;
      const b = new TraceBuilder();
      const root = b.server('checkout', '/checkout', start, start + (slow ? 660 : 60));
      call(b, root, 'GET', `https://${API}/v1/rates/${1000 + (i % 50)}?currency=EUR`, start + 2, start + 20 + (i % 3));
      call(b, root, 'POST', `https://${API}/v1/${i % 2 ? 'charges' : 'holds'}`, start + 22, start + (slow ? 650 : 50) + (i % 5));
      analyzer.ingest(b.spans);
    }
    analyzer.flush();
    const ops = analyzer.metrics().filter((m) => m.service === API).map((m) => m.operation).sort();
    expect(ops).toEqual(['GET /v1/rates/:id', 'POST /v1/charges', 'POST /v1/holds']);
    const incidents = analyzer.incidents();
    expect(incidents.length).toBe(1);
    expect(incidents[0].rootCause.service).toBe(API);
    expect(incidents[0].rootCause.operation).toMatch(/^POST \/v1\/(charges|holds)$/);
  });
});

describe('a call whose answer is missing', () => {
  it('reaches the operation its path was answered by, whatever the caller called last by that method', () => {
    const peers = new PeerTable(100);
    const ctx: TraceContext = {
      names: new OperationNames(1000),
      operation: () => undefined,
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
    const get = (b: TraceBuilder, parent: Span, path: string, answered: boolean) => {
      const c = b.client(parent, 'inventory', parent.startTime + 1, parent.startTime + 9, { attributes: { 'http.request.method': 'GET', 'url.full': `http://inventory:3001${path}`, 'server.address': 'inventory', 'server.port': 3001 } });
      if (answered) b.server('inventory', path.startsWith('/stock') ? '/stock/:sku' : '/items/:id', c.startTime + 1, c.endTime - 1, {}, c);
    };
    const b = new TraceBuilder();
    const root = b.server('shop', '/product', 0, 10);
    get(b, root, '/stock/42', true);
    get(b, root, '/items/42', true);
    analyzeTrace(b.spans, ctx);
    // The same request later, inventory's stock route not answering (down, or its span lost).
    const later = new TraceBuilder();
    const again = later.server('shop', '/product', 100, 110);
    get(later, again, '/stock/43', false);
    get(later, again, '/items/43', true);
    const { calls } = analyzeTrace(later.spans, ctx);
    const stock = calls.find((c) => c.span.attributes?.['url.full'] === 'http://inventory:3001/stock/43');
    expect(stock).toMatchObject({ calleeService: 'inventory', calleeOperation: 'GET /stock/:sku', virtual: false });
  });
});

