import { describe, expect, it } from 'vitest';
import { peerCalls, stripOtlpLines } from '../src/recordings.js';
import { namesFault } from '../src/score.js';

describe('stripOtlpLines', () => {
  it('removes status, kind and attributes, keeping service.name, ids, names and times', () => {
    const line = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'host.name', value: { stringValue: 'h' } }] },
        scopeSpans: [{ spans: [{ traceId: 't', spanId: 's', parentSpanId: 'p', name: 'POST /checkout', kind: 2, startTimeUnixNano: '1', endTimeUnixNano: '2', status: { code: 2 }, attributes: [{ key: 'http.response.status_code', value: { intValue: 500 } }], events: [{ name: 'exception' }] }] }],
      }],
    });
    const out = JSON.parse(stripOtlpLines(line).trim());
    expect(out.resourceSpans[0].resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'checkout' } }]);
    expect(out.resourceSpans[0].scopeSpans[0].spans[0]).toEqual({ traceId: 't', spanId: 's', parentSpanId: 'p', name: 'POST /checkout', startTimeUnixNano: '1', endTimeUnixNano: '2' });
  });
});

describe('peerCalls', () => {
  const attr = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const resource = (service: string, ...spans: object[]) => ({ resource: { attributes: [attr('service.name', service)] }, scopeSpans: [{ spans }] });
  const text = [
    JSON.stringify({ resourceSpans: [resource('payment',
      { name: 'POST /charge', kind: 2 },
      { name: 'POST', kind: 3, attributes: [attr('peer.service', 'fraud'), attr('server.address', '127.0.0.1')] },
      { name: 'run: INSERT', kind: 3, attributes: [attr('db.system.name', 'sqlite3')] },
    )] }),
    JSON.stringify({ resourceSpans: [resource('checkout', { name: 'POST', kind: 3, attributes: [attr('peer.service', 'payment')] })] }),
  ].join('\n');
  const fault = (service: string) => ({ service, operation: null, kind: 'latency' as const, startMs: 0, endMs: 1 });

  it('names a peer without spans of its own by the calls that reach it; an instrumented service needs no such calls', () => {
    const [fraud, db, payment] = peerCalls(text, [fault('fraud'), fault('sqlite3'), fault('payment')]);
    expect(fraud.via).toEqual([{ service: 'payment', operation: 'POST' }]);
    expect(db.via).toEqual([{ service: 'payment', operation: 'run: INSERT' }]);
    expect(payment.via).toBeUndefined();
    // In the stripped copy, the call is the answer; the caller's own operation is not.
    expect(namesFault({ service: 'payment', operation: 'POST' }, fraud)).toBe(true);
    expect(namesFault({ service: 'payment', operation: 'POST /charge' }, fraud)).toBe(false);
    expect(namesFault({ service: 'fraud', operation: null }, fraud)).toBe(true);
  });
});
