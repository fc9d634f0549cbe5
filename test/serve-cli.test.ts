/**
 * `rootspan serve` as a real process (the built bin): one line with the URL once listening, bearer auth,
 * a clean stop on SIGTERM and SIGINT with state saved to --data (spans still buffered are analysed first), and learned state and incidents back
 * after a restart.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EXPORT_HOLD_MS, EndTimeWindow, decodeOtlpJson, encodeOtlpJson } from '@rootspan/otlp';
import { createAnalyzer } from '@rootspan/engine';
import { resolveServerOptions } from '@rootspan/server';
import { scenarioByName, simulate } from '@rootspan/sim';
import { exited, killServes, runCli, serveBuilt as built, startServe as serve } from './serve-process.js';

const dir = mkdtempSync(join(tmpdir(), 'rootspan-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killServes);

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe.skipIf(!built)(built ? 'rootspan serve' : 'rootspan serve: SKIPPED, packages/cli/dist is missing (run `npm run build`)', () => {
  it('prints its URL, requires the token, stops on SIGTERM saving state, and restores it on restart', async () => {
    const data = join(dir, 'data');
    const first = await serve(['--data', data], { ROOTSPAN_TOKEN: 'env-token' });
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${first.url}/aiops/status`)).status).toBe(401);
    expect((await fetch(`${first.url}/aiops/status`, { headers: auth('env-token') })).status).toBe(200);

    const scenario = scenarioByName('shop-payment-errors')!;
    const { batches } = simulate({ ...scenario, durationMs: 9 * 60_000 });
    const bodies: string[] = [];
    for (let i = 0; i < batches.length; i += 20) {
      const body = JSON.stringify(encodeOtlpJson(batches.slice(i, i + 20).flat()));
      bodies.push(body);
      const res = await fetch(`${first.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth('env-token') }, body });
      expect(res.status).toBe(200);
    }
    // No POST /aiops/analyze: the last traces are still buffered when the stop comes.
    const pending = (await (await fetch(`${first.url}/aiops/status`, { headers: auth('env-token') })).json()) as { queue: { spans: number; bufferedTraces: number } };
    expect(pending.queue.spans + pending.queue.bufferedTraces).toBeGreaterThan(0);
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    expect(existsSync(join(data, 'rootspan.db'))).toBe(true);
    // What it saved on the way out is everything it accepted, analysed: the same as one analyzer over all the
    // spans, fed as the server feeds recorded data (merged in end-time order over an export period).
    const options = resolveServerOptions();
    const whole = createAnalyzer(options.analyzer);
    const window = new EndTimeWindow(options.maxQueuedSpans, (spans) => whole.ingest(spans), EXPORT_HOLD_MS);
    for (const body of bodies) window.push(decodeOtlpJson(JSON.parse(body)).spans);
    window.flush();
    whole.flush();

    // A config file and a flag: the flag's token wins over the environment's.
    const config = join(dir, 'serve.json');
    writeFileSync(config, JSON.stringify({ maxQueuedSpans: 5000, redact: { attributes: ['exception.message'] } }));
    const second = await serve(['--data', data, '--config', config, '--token', 'flag-token'], { ROOTSPAN_TOKEN: 'env-token' });
    expect((await fetch(`${second.url}/aiops/status`, { headers: auth('env-token') })).status).toBe(401);
    const status = (await (await fetch(`${second.url}/aiops/status`, { headers: auth('flag-token') })).json()) as any;
    expect(status.queue.capacity).toBe(5000);
    expect(status.store.location).toBe(join(data, 'rootspan.db'));
    const after = (await (await fetch(`${second.url}/aiops/incidents`, { headers: auth('flag-token') })).json()) as { incidents: Array<{ id: string; rootCause: { service: string; operation: string | null; kind: string } }> };
    expect(after.incidents.map((i) => i.rootCause.service)).toContain('payment');
    const verdict = (i: { id: string; rootCause: { service: string; operation: string | null; kind: string } }) => [i.id, i.rootCause.service, i.rootCause.operation, i.rootCause.kind];
    expect(after.incidents.map(verdict)).toEqual(whole.incidents().map(verdict));
    const baselines = (await (await fetch(`${second.url}/aiops/baselines`, { headers: auth('flag-token') })).json()) as { baselines: Array<{ service: string; operation: string; ready: boolean; samples: number }> };
    expect(baselines.baselines.filter((b) => b.ready).length).toBeGreaterThan(3);
    const samples = (list: Array<{ service: string; operation: string; samples: number }>) => Object.fromEntries(list.map((b) => [`${b.service} ${b.operation}`, b.samples]));
    expect(samples(baselines.baselines)).toEqual(samples(whole.baselines()));
    // The charts' per-minute rollups were written too: the fresh process answers them from the database.
    const series = (await (await fetch(`${second.url}/aiops/series?service=payment`, { headers: auth('flag-token') })).json()) as { series: Array<{ points: Array<{ requests: number }> }> };
    expect(series.series.flatMap((s) => s.points).reduce((n, p) => n + p.requests, 0)).toBeGreaterThan(0);
    second.child.kill('SIGINT');
    expect(await exited(second.child)).toBe(0);
  });

  it('--cors-origin lets pages of that origin in, beside the config file\'s CORS settings', async () => {
    const config = join(dir, 'cors.json');
    writeFileSync(config, JSON.stringify({ cors: { allowedOrigins: ['https://a.test'], allowedHeaders: ['Authorization'] } }));
    const s = await serve(['--config', config, '--cors-origin', 'https://*.shop.test'], { ROOTSPAN_TOKEN: 't' });
    const preflight = (origin: string) =>
      fetch(`${s.url}/v1/traces`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    for (const origin of ['https://a.test', 'https://eu.shop.test']) expect((await preflight(origin)).headers.get('access-control-allow-origin')).toBe(origin);
    expect((await preflight('https://b.test')).headers.get('access-control-allow-origin')).toBeNull();
    s.child.kill('SIGTERM');
    expect(await exited(s.child)).toBe(0);
  });

  it('bad usage and a port in use exit 2 with one line', async () => {
    const bad = runCli(['serve', '--port', 'abc']);
    let err = '';
    bad.stderr!.on('data', (d) => (err += d));
    expect(await exited(bad)).toBe(2);
    expect(err).toMatch(/--port must be a number/);
    const noUrl = runCli(['serve', '--port', '0', '--public-url', 'rootspan.example.com']);
    let urlErr = '';
    noUrl.stderr!.on('data', (d) => (urlErr += d));
    expect(await exited(noUrl)).toBe(2);
    expect(urlErr).toMatch(/cannot serve: option publicUrl must be an absolute http\(s\) URL/);

    const first = await serve([]);
    const port = new URL(first.url).port;
    const clash = runCli(['serve', '--port', port]);
    let clashErr = '';
    clash.stderr!.on('data', (d) => (clashErr += d));
    expect(await exited(clash)).toBe(2);
    expect(clashErr).toMatch(/cannot serve: .*EADDRINUSE/);
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
  });
});
