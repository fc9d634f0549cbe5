import { describe, expect, it } from 'vitest';
import { stripOtlpLines } from '../src/recordings.js';

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
