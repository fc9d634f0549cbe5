/**
 * Semantic conventions as other systems' tracers write them (probes with OpenTelemetry Demo shaped
 * traces): gRPC status codes on spans without a status (converted from Jaeger or Zipkin), and peer
 * host names that happen to be spelled in hex letters.
 */
import { describe, expect, it } from 'vitest';
import { isErrorSpan, peerName } from '../src/model/operation.js';
import { span } from './helpers/spans.js';

const base = { service: 'checkout', startTime: 1000, endTime: 1010 };
const grpc = (code: number | string, status?: 'unset' | 'ok' | 'error') =>
  span({ ...base, name: 'oteldemo.PaymentService/Charge', status, attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': code } });

describe('gRPC status codes', () => {
  it('a server-error code fails a span with no status, on either side', () => {
    for (const status of [undefined, 'unset'] as const) {
      expect(isErrorSpan(grpc(14, status), false)).toBe(true); // UNAVAILABLE
      expect(isErrorSpan(grpc(13, status), true)).toBe(true); // INTERNAL
      expect(isErrorSpan(grpc('4', status), false)).toBe(true); // DEADLINE_EXCEEDED, as a string
    }
  });

  it('other non-zero codes fail only the caller, and only when the tracer set no status', () => {
    expect(isErrorSpan(grpc(5), false)).toBe(false); // NOT_FOUND is the caller's problem on the server
    expect(isErrorSpan(grpc(5), true)).toBe(true);
    expect(isErrorSpan(grpc(5, 'unset'), true)).toBe(false); // an OTel SDK chose not to mark it
  });

  it('OK, and a status the tracer set, win', () => {
    expect(isErrorSpan(grpc(0), true)).toBe(false);
    expect(isErrorSpan(grpc(14, 'ok'), true)).toBe(false);
    expect(isErrorSpan(grpc(0, 'error'), false)).toBe(true);
  });
});

describe('peer names', () => {
  it('a host named in hex letters is a name (no port appended); IPv6 addresses keep theirs', () => {
    for (const host of ['ad', 'db', 'cafe', 'feed']) {
      expect(peerName(span({ ...base, name: 'GET', attributes: { 'net.peer.name': host, 'net.peer.port': 8080 } }))).toBe(host);
    }
    expect(peerName(span({ ...base, name: 'GET', attributes: { 'server.address': '::1', 'server.port': 3000 } }))).toBe('::1:3000');
    expect(peerName(span({ ...base, name: 'GET', attributes: { 'server.address': '[fe80::1]', 'server.port': 3000 } }))).toBe('[fe80::1]:3000');
    expect(peerName(span({ ...base, name: 'GET', attributes: { 'server.address': '10.0.0.7', 'server.port': 3000 } }))).toBe('10.0.0.7:3000');
  });

  it('a gRPC call by IP names its service (as deployed); by host name, the host still wins', () => {
    const grpc = { 'rpc.system': 'grpc', 'rpc.service': 'shop.Stock', 'rpc.method': 'Reserve', 'server.port': 50051 };
    expect(peerName(span({ ...base, name: 'shop.Stock/Reserve', attributes: { ...grpc, 'server.address': '127.0.0.1' } }))).toBe('stock');
    expect(peerName(span({ ...base, name: 'shop.Stock/Reserve', attributes: { ...grpc, 'server.address': 'stock.shop.svc' } }))).toBe('stock.shop.svc');
  });
});
