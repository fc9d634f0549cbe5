/** `POST /api/v2/spans`: Zipkin v2 reports (JSON or protobuf), as Zipkin reporters send them, into the same analysis as OTLP. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { call, testServer } from './helpers/server.js';
import { zipkinProto } from '../../otlp/test/helpers/zipkin-proto.js';

const T0_US = Date.UTC(2026, 0, 1, 12) * 1000;
const hex = (n: number) => n.toString(16).padStart(16, '0');

/**
 * `seconds` of a frontend → payment flow at 10 requests/s, each call's server side sharing its client's id
 * (B3 `shared: true`); from `faultFrom` s on, every other payment fails.
 */
function zipkinSpans(seconds: number, faultFrom = Infinity): Array<Record<string, unknown>> {
  const spans: Array<Record<string, unknown>> = [];
  for (let i = 0; i < seconds * 10; i++) {
    const traceId = hex(i + 1);
    const start = T0_US + i * 100_000;
    const failing = i >= faultFrom * 10 && i % 2 === 0;
    const jitter = (i * 7919) % 2_000;
    const error = failing ? { error: '500' } : {};
    spans.push({ traceId, id: hex(0x1000 + i), kind: 'SERVER', name: 'get /checkout', timestamp: start, duration: 30_000 + jitter, localEndpoint: { serviceName: 'frontend' }, tags: { 'http.method': 'GET', 'http.route': '/checkout', ...error } });
    spans.push({ traceId, id: hex(0x2000 + i), parentId: hex(0x1000 + i), kind: 'CLIENT', name: 'post', timestamp: start + 1_000, duration: 25_000 + jitter, localEndpoint: { serviceName: 'frontend' }, remoteEndpoint: { serviceName: 'payment' }, tags: { ...error } });
    spans.push({ traceId, id: hex(0x2000 + i), shared: true, kind: 'SERVER', name: 'post /charge', timestamp: start + 2_000, duration: 22_000 + jitter, localEndpoint: { serviceName: 'payment' }, tags: { 'http.method': 'POST', 'http.route': '/charge', ...error } });
  }
  return spans;
}

const post = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) => ({ method: 'POST', headers, body });

describe('POST /api/v2/spans (Zipkin v2 JSON)', () => {
  it('takes reports as Zipkin does (202), gzipped too, and finds the failing payment service', async () => {
    const server = await testServer({ token: 'api', ingestToken: 'ingest' });
    const spans = zipkinSpans(180, 90);
    for (let i = 0; i < spans.length; i += 600) {
      const batch = JSON.stringify(spans.slice(i, i + 600));
      const res = await call(server, '/api/v2/spans', { ...post(i % 1200 === 0 ? gzipSync(batch) : batch, { 'content-type': 'application/json', ...(i % 1200 === 0 ? { 'content-encoding': 'gzip' } : {}) }), token: 'ingest' });
      expect(res.status).toBe(202);
      expect(res.text).toBe('');
    }
    expect((await call(server, '/aiops/analyze', { method: 'POST', token: 'api' })).status).toBe(200);
    const status = (await call(server, '/aiops/status', { token: 'api' })).body;
    expect(status.ingest.spansReceived).toBe(spans.length);
    expect(status.ingest.requests).toEqual({ '202': 9 });
    const incidents = (await call(server, '/aiops/incidents', { token: 'api' })).body.incidents;
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'payment', operation: 'POST /charge' });
  });

  it('joins a trace whose services report it apart, one with its 128-bit id and one with only the low 64 bits', async () => {
    const server = await testServer({ token: 'api', ingestToken: 'ingest' });
    const spans = zipkinSpans(180, 90);
    // frontend runs Brave with traceId128Bit; payment, an older one, propagates the low half only.
    const HIGH = '5e1f0c2d3b4a6978';
    const frontend = spans.filter((s) => (s.localEndpoint as { serviceName: string }).serviceName === 'frontend').map((s) => ({ ...s, traceId: HIGH + String(s.traceId) }));
    const payment = spans.filter((s) => (s.localEndpoint as { serviceName: string }).serviceName === 'payment');
    // Each service reports its own spans of the same 10 s.
    for (let i = 0; i < payment.length; i += 100) {
      for (const report of [frontend.slice(2 * i, 2 * i + 200), payment.slice(i, i + 100)]) {
        expect((await call(server, '/api/v2/spans', { ...post(JSON.stringify(report)), token: 'ingest' })).status).toBe(202);
      }
    }
    expect((await call(server, '/aiops/analyze', { method: 'POST', token: 'api' })).status).toBe(200);
    const incidents = (await call(server, '/aiops/incidents', { token: 'api' })).body.incidents;
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'payment', operation: 'POST /charge' });
    // payment's failing spans are in the frontend's traces, under the id frontend reported first.
    const ids: string[] = incidents[0].traceIds;
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(new RegExp(`^${HIGH}[0-9a-f]{16}$`));
  });

  it('takes protobuf reports (ListOfSpans, as zipkin-go and the Collector send with format: proto), gzipped too', async () => {
    const server = await testServer({ token: 'api', ingestToken: 'ingest' });
    const spans = zipkinSpans(180, 90);
    for (let i = 0; i < spans.length; i += 600) {
      const batch = zipkinProto(spans.slice(i, i + 600));
      const gz = i % 1200 === 0;
      const res = await call(server, '/api/v2/spans', { ...post(gz ? gzipSync(batch) : batch, { 'content-type': 'application/x-protobuf', ...(gz ? { 'content-encoding': 'gzip' } : {}) }), token: 'ingest' });
      expect(res.status).toBe(202);
    }
    expect((await call(server, '/aiops/analyze', { method: 'POST', token: 'api' })).status).toBe(200);
    expect((await call(server, '/aiops/status', { token: 'api' })).body.ingest.spansReceived).toBe(spans.length);
    const incidents = (await call(server, '/aiops/incidents', { token: 'api' })).body.incidents;
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'payment', operation: 'POST /charge' });
  });

  it('refuses what is not a Zipkin v2 JSON report with the reason, and counts the spans it cannot read', async () => {
    const server = await testServer({ ingestToken: 'ingest' });
    const good = JSON.stringify(zipkinSpans(1));
    expect((await call(server, '/api/v2/spans', post(good))).status).toBe(401);
    const auth = { token: 'ingest' };
    expect((await call(server, '/api/v2/spans', { method: 'GET', ...auth })).status).toBe(405);
    const xml = await call(server, '/api/v2/spans', { ...post('<spans/>', { 'content-type': 'application/xml' }), ...auth });
    expect(xml.status).toBe(415);
    expect(xml.body.error).toMatch(/application\/json or application\/x-protobuf/);
    const proto = await call(server, '/api/v2/spans', { ...post(Buffer.from([10, 200, 1, 2]), { 'content-type': 'application/x-protobuf' }), ...auth });
    expect(proto).toMatchObject({ status: 400, body: { error: 'malformed protobuf: expected a Zipkin v2 ListOfSpans' } });
    expect((await call(server, '/api/v2/spans', { ...post('[{'), ...auth })).body.error).toMatch(/^invalid JSON/);
    const notArray = await call(server, '/api/v2/spans', { ...post('{"resourceSpans":[]}'), ...auth });
    expect(notArray).toMatchObject({ status: 400, body: { error: 'expected a JSON array of Zipkin v2 spans' } });
    // One span without an id among good ones: the good ones are kept, the bad one counted.
    const mixed = JSON.stringify([...zipkinSpans(1), { traceId: 'ab', name: 'x', timestamp: T0_US, duration: 5 }]);
    expect((await call(server, '/api/v2/spans', { ...post(mixed), ...auth })).status).toBe(202);
    const status = server.status();
    expect(status.ingest.spansReceived).toBe(31);
    expect(status.drops.malformed).toBe(1);
    // A report of which no span can be read is refused, as Zipkin refuses it (not a 202 for nothing kept).
    const bad = JSON.stringify([{ traceId: 'ab', name: 'x', timestamp: T0_US, duration: 5 }, { name: 'y' }]);
    const refused = await call(server, '/api/v2/spans', { ...post(bad), ...auth });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/^no span could be read: .+; and 1 more$/);
    expect(server.status().drops.malformed).toBe(3);
    // An empty report is fine.
    expect((await call(server, '/api/v2/spans', { ...post('[]'), ...auth })).status).toBe(202);
  });
});
