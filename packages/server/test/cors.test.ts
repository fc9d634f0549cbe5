/**
 * CORS on the HTTP port: preflights answered before authentication, with permissions only for allowed
 * origins, methods and headers; answers to allowed origins readable by the page; nothing changes without
 * the option.
 */
import { describe, expect, it } from 'vitest';
import { encodeOtlpJson } from '@rootspan/otlp';
import { resolveServerOptions } from '@rootspan/server';
import { call, testServer } from './helpers/server.js';

const TOKEN = 'tok';
const APP = 'https://app.example.com';
const cors = { allowedOrigins: [APP, 'https://*.shop.test'], allowedHeaders: ['Authorization'], maxAgeSeconds: 600 };

const preflight = (origin: string, method = 'POST', headers = 'content-type, authorization') => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
});

describe('CORS', () => {
  it('answers an allowed preflight before authentication, with what it asked for', async () => {
    const server = await testServer({ token: TOKEN, cors });
    const res = await call(server, '/v1/traces', preflight(APP));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type, authorization');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')).toMatch(/Origin/);
    // One `*` in an origin stands for a family of hosts, not for nothing.
    expect((await call(server, '/aiops/status', preflight('https://eu.shop.test', 'GET', ''))).headers.get('access-control-allow-origin')).toBe('https://eu.shop.test');
    expect((await call(server, '/aiops/status', preflight('https://.shop.test', 'GET', ''))).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives no permission to another origin, scheme, method or header', async () => {
    const server = await testServer({ token: TOKEN, cors });
    for (const init of [
      preflight('https://evil.example.com'),
      preflight('http://app.example.com'),
      preflight('https://shop.test'),
      preflight(APP, 'DELETE'),
      preflight(APP, 'POST', 'content-type, x-secret'),
    ]) {
      const res = await call(server, '/v1/traces', init);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin'), JSON.stringify(init.headers)).toBeNull();
      expect(res.headers.get('access-control-allow-headers')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('lets an allowed page read the answers, errors and Retry-After included; spans are taken as from anyone', async () => {
    const server = await testServer({ token: TOKEN, cors });
    const body = JSON.stringify(encodeOtlpJson([{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), service: 'web', name: 'GET /', kind: 'server', startTime: 1_700_000_000_000, endTime: 1_700_000_000_040 }]));
    const post = await call(server, '/v1/traces', { method: 'POST', token: TOKEN, headers: { origin: APP, 'content-type': 'application/json' }, body });
    expect(post.status).toBe(200);
    expect(post.headers.get('access-control-allow-origin')).toBe(APP);
    expect(post.headers.get('access-control-expose-headers')).toBe('Retry-After');
    expect(post.headers.get('access-control-allow-credentials')).toBe('true');
    const denied = await call(server, '/aiops/status', { headers: { origin: APP } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP);
    // The browser, not the server, keeps other origins from reading: their requests are served, unmarked.
    const other = await call(server, '/aiops/status', { token: TOKEN, headers: { origin: 'https://evil.example.com' } });
    expect(other.status).toBe(200);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.body.ingest.spansReceived).toBe(1);
  });

  it('is off by default: a preflight is an ordinary request, answered without permissions', async () => {
    const server = await testServer({ token: TOKEN });
    const res = await call(server, '/v1/traces', preflight(APP));
    expect(res.status).not.toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const any = await testServer({ cors: { allowedOrigins: ['*'], allowedHeaders: ['*'] } });
    const open = await call(any, '/v1/traces', preflight('https://anywhere.test', 'POST', 'content-type, x-anything'));
    expect(open.headers.get('access-control-allow-origin')).toBe('https://anywhere.test');
    expect(open.headers.get('access-control-max-age')).toBeNull();
  });

  it('refuses bad settings, naming them', () => {
    expect(() => resolveServerOptions({ cors: { allowedOrigins: 'https://a.test' } as never })).toThrow(/cors\.allowedOrigins must be an array/);
    expect(() => resolveServerOptions({ cors: { allowedOrigins: ['https://*.*.test'] } })).toThrow(/more than one '\*'/);
    expect(() => resolveServerOptions({ cors: { allowedOrigins: [APP], maxAgeSeconds: -1 } })).toThrow(/cors\.maxAgeSeconds/);
    expect(() => resolveServerOptions({ cors: { allowedOrigins: [APP], origins: [] } as never })).toThrow(/unknown option cors\.origins/);
    expect(() => resolveServerOptions({ cors: [] as never })).toThrow(/option cors must be an object/);
  });
});
