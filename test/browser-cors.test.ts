/**
 * A web page exporting spans to the receiver from a real browser (Debian's chromium, driven by
 * playwright-core), as the OpenTelemetry web SDK's OTLP/HTTP exporter does: a cross-origin POST of OTLP/JSON
 * with a bearer token, which the browser sends only after a CORS preflight. With the page's origin allowed
 * (`cors`), the spans arrive and the page reads the answer; from an origin not allowed, the browser stops
 * the request at the preflight and nothing arrives.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { encodeOtlpJson } from '@rootspan/otlp';
import { startServer, type RootspanServer } from '@rootspan/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const found = existsSync(CHROMIUM);
if (!found) process.stderr.write(`browser CORS test SKIPPED: no chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)\n`);

const TOKEN = 'browser-ingest';

/** A page server: every path answers the same empty page, on its own origin. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>shop front</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe.skipIf(!found)('spans from a web page, cross-origin', () => {
  let receiver: RootspanServer;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let browser: Browser;

  beforeAll(async () => {
    allowed = await pageServer();
    other = await pageServer();
    receiver = await startServer({ port: 0, grpcPort: false, log: () => {}, ingestToken: TOKEN, cors: { allowedOrigins: [allowed.origin], allowedHeaders: ['Authorization'] } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    allowed?.server.close();
    other?.server.close();
  });

  /** Posts one span from a page of `origin`: the status the page could read, or the fetch's error. */
  async function exportFrom(origin: string, spanName: string): Promise<number | string> {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      const now = Date.now();
      const body = JSON.stringify(
        encodeOtlpJson([{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', service: 'shop-web', name: spanName, kind: 'client', startTime: now - 80, endTime: now }]),
      );
      return await page.evaluate(
        async ({ url, body, token }) => {
          try {
            const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
            return res.status;
          } catch (err) {
            return String(err);
          }
        },
        { url: `${receiver.url}/v1/traces`, body, token: TOKEN },
      );
    } finally {
      await page.close();
    }
  }

  it('takes the spans of a page from an allowed origin, and the page reads the answer', async () => {
    expect(await exportFrom(allowed.origin, 'GET /cart')).toBe(200);
    expect(receiver.status().ingest.spansReceived).toBe(1);
  });

  it('takes spans a page sends with navigator.sendBeacon (the web exporter without custom headers: credentials included)', async () => {
    const open = await startServer({ port: 0, grpcPort: false, log: () => {}, cors: { allowedOrigins: [allowed.origin] } });
    const page = await browser.newPage();
    try {
      await page.goto(`${allowed.origin}/`);
      const now = Date.now();
      const body = JSON.stringify(encodeOtlpJson([{ traceId: '1af7651916cd43dd8448eb211c80319c', spanId: 'c7ad6b7169203331', service: 'shop-web', name: 'GET /list', kind: 'client', startTime: now - 20, endTime: now }]));
      // In the page (the test's TypeScript has Node's types, not the DOM's).
      const beacon = ({ url, body }: { url: string; body: string }) =>
        (globalThis as unknown as { navigator: { sendBeacon(url: string, data: Blob): boolean } }).navigator.sendBeacon(url, new Blob([body], { type: 'application/json' }));
      const queued = await page.evaluate(beacon, { url: `${open.url}/v1/traces`, body });
      expect(queued).toBe(true);
      // A beacon is sent in the background: wait for it to arrive.
      for (let i = 0; i < 50 && open.status().ingest.spansReceived === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(open.status().ingest.spansReceived).toBe(1);
    } finally {
      await page.close();
      await open.close();
    }
  });

  it('receives nothing from a page of an origin not allowed: the browser stops it at the preflight', async () => {
    const before = receiver.status().ingest.spansReceived;
    expect(await exportFrom(other.origin, 'GET /other')).toMatch(/TypeError|Failed to fetch/);
    expect(receiver.status().ingest.spansReceived).toBe(before);
  });
});
