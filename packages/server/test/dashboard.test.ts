/** The dashboard's files at `/` and the chart series at `GET /aiops/series`, over real HTTP. */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { dashboardDir } from '@rootspan/dashboard';
import { encodeOtlpJson } from '@rootspan/otlp';
import type { ApiSeries } from '@rootspan/server';
import { scenarioByName, simulate, SIM_EPOCH } from '@rootspan/sim';
import { call, testServer } from './helpers/server.js';

const MIN = 60_000;

describe('the dashboard at /', () => {
  it.skipIf(!existsSync(`${dashboardDir}index.html`))('serves the page and its assets without the API token, and nothing else', async () => {
    const server = await testServer({ token: 's3cret' });
    const page = await call(server, '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.text).toContain('<div id="app">');
    const script = await call(server, '/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await call(server, '/app.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const head = await call(server, '/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await call(server, '/', { method: 'POST' })).status).toBe(405);
    // Only the bundle's own files: no other path reaches the file system.
    expect((await call(server, '/../package.json')).status).toBe(404);
    expect((await call(server, '/index.html/../../src/index.ts')).status).toBe(404);
    expect((await call(server, '/nope.js')).body.error).toContain('no such endpoint');
    // The data stays behind the token.
    expect((await call(server, '/aiops/series')).status).toBe(401);
  });
});

describe('odd request targets', () => {
  it('answers a path that reads as a host (`//`, `//:99999/`) or `*` with 400 or 404, never 500', async () => {
    const server = await testServer();
    const { port } = new URL(server.url);
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    for (const path of ['//', '//:99999/', '//x/aiops/status', '*']) expect([400, 404]).toContain(await status(path));
    expect((await call(server, '/healthz')).status).toBe(200);
  });
});

describe('GET /aiops/series', () => {
  it('answers per-minute rollups with the baseline in force, over the range asked', async () => {
    const server = await testServer();
    const scenario = scenarioByName('shop-payment-errors')!;
    const { spans } = simulate(scenario, { durationMs: 9 * MIN });
    // Small requests, as exporters send them: OTLP groups a request's spans by service, and the engine
    // places spans that arrive after their bucket has closed in no rollup (a known limit: spans in any order).
    for (let i = 0; i < spans.length; i += 500) {
      const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(spans.slice(i, i + 500))) });
      expect(res.status).toBe(200);
    }
    expect((await call(server, '/aiops/analyze', { method: 'POST' })).status).toBe(200);

    const all = (await call(server, `/aiops/series?from=${SIM_EPOCH}&to=${SIM_EPOCH + 9 * MIN}`)).body as ApiSeries;
    expect(all.series.map((s) => s.service)).toEqual(expect.arrayContaining(['checkout', 'frontend', 'payment']));
    const { body } = await call(server, `/aiops/series?service=payment&operation=${encodeURIComponent('POST /payment')}&from=${SIM_EPOCH}&to=${SIM_EPOCH + 9 * MIN}`);
    const series = (body as ApiSeries).series;
    expect(series).toHaveLength(1);
    const points = series[0].points;
    expect(points.map((p) => Date.parse(p.start))).toEqual([...Array(9).keys()].map((m) => SIM_EPOCH + m * MIN));
    // Every payment request is in exactly one minute.
    const served = spans.filter((s) => s.service === 'payment' && s.kind === 'server').length;
    expect(points.reduce((n, p) => n + p.requests, 0)).toBe(served);
    for (const p of points) expect(p.rate).toBeCloseTo(p.requests / 60, 9);
    // The fault starts at minute 7: every request fails from then on, against a learned rate near zero.
    expect(points[8].errorRate).toBe(1);
    expect(points[8].latency).toBeNull();
    expect(points[6].errorRate).toBeLessThan(0.05);
    expect(points[6].baseline!.errorRate).toBeLessThan(0.05);
    expect(points[6].baseline!.latency!.typical).toBeGreaterThan(0);
    // The band is what was learned before the fault: failures are not learned as normal.
    expect(points[8].baseline!.errorRate).toBeLessThan(0.05);

    const later = (await call(server, `/aiops/series?service=payment&from=${SIM_EPOCH + 7 * MIN}&to=${SIM_EPOCH + 8 * MIN}`)).body as ApiSeries;
    expect(later.series[0].points.map((p) => p.start)).toEqual([new Date(SIM_EPOCH + 7 * MIN).toISOString()]);
    // Without a range: the last hour up to the analyzer's event time.
    const recent = (await call(server, '/aiops/series?service=payment')).body as ApiSeries;
    expect(recent.series[0].points).toHaveLength(9);
    expect(recent.to).toBe(new Date(Date.parse(recent.at!) + 1).toISOString());
  });

  it('refuses bad parameters with a message', async () => {
    const server = await testServer();
    for (const [q, msg] of [
      ['?from=yesterday', "bad from 'yesterday'"],
      ['?to=1x', "bad to '1x'"],
      // Past the spans' own range: no time an answer could name (it printed `"100000000000000000 ms"`).
      ['?to=99999999999999999', "bad to '99999999999999999'"],
      ['?from=10&to=5', 'from must be before to'],
      ['?operation=GET%20%2F', 'operation needs service'],
      ['?svc=a', "unknown parameter 'svc'"],
    ]) {
      const res = await call(server, `/aiops/series${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error).toContain(msg);
    }
    const post = await call(server, '/aiops/series', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await call(server, '/aiops/series')).body).toMatchObject({ series: [], dropped: 0 });
  });
});
