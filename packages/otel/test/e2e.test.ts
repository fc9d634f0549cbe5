/**
 * Acceptance test: a real NodeSDK (as a user sets it up) with HTTP + Express instrumentation and the
 * rootspan processor next to the user's own exporter, in this process playing `checkout`; `payment` runs
 * in a child process with its own SDK, so this process sees exactly what a real checkout deployment sees:
 * its server spans, Express middleware spans, and client spans to an (elsewhere-instrumented) peer.
 *
 * The tests in this file are phases of one run and depend on their order: healthy traffic (no incident),
 * then payment failing (an incident naming payment), then recovery with throwing callbacks installed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { context, type Context } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Anomaly, IncidentEvent } from '@rootspan/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootspan } from '../src/index.js';

// No metrics/logs exporters: NodeSDK would otherwise default to OTLP and try to reach a collector.
process.env.OTEL_METRICS_EXPORTER = 'none';
process.env.OTEL_LOGS_EXPORTER = 'none';

/** Fast windows so the run fits in seconds; the plugin itself runs on real time. */
const ANALYZER = { bucketMs: 1000, latenessMs: 200, traceIdleMs: 100 } as const;
const RPS = 100;

const incidents: IncidentEvent[] = [];
const anomalies: Anomaly[] = [];
const suppressedInCallback: boolean[] = [];
/** The instance under test; made once payment's port is known, so `peers` can name it. */
let main: ReturnType<typeof rootspan>;
const mainOptions = {
  ...ANALYZER,
  tickMs: 200,
  onIncident: (e: IncidentEvent) => {
    suppressedInCallback.push(isTracingSuppressed(context.active()));
    incidents.push(e);
  },
  onAnomaly: (a: Anomaly) => void anomalies.push(a),
};
// A second rootspan instance whose callbacks always fail, synchronously and asynchronously.
const broken = rootspan({
  ...ANALYZER,
  tickMs: 200,
  onIncident: () => {
    throw new Error('user callback bug');
  },
  onAnomaly: async () => {
    throw new Error('async user callback bug');
  },
});
/** Stands in for the user's own exporter (OTLP in real life): rootspan must not replace it. */
const userExporter = new InMemorySpanExporter();
const userProcessor = new BatchSpanProcessor(userExporter);

let sdk: NodeSDK;
let http: typeof Http;
let checkout: Http.Server;
let checkoutPort: number;
let payment: ChildProcess;
let paymentPort: number;
let toPayment: Http.Agent;
let toCheckout: Http.Agent;
/** Every status the load generator saw; -1 is a transport error. */
const seen: number[] = [];

function send(child: ChildProcess, msg: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg as never);
  });
}

function startPayment(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(new URL('./fixtures/payment.mjs', import.meta.url)), [], {
    env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`payment exited early (${code})`)));
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
  });
}

/** One client request to checkout, made with tracing suppressed: the load generator is not part of the system. */
function post(): Promise<number> {
  const suppressed: Context = suppressTracing(context.active());
  return new Promise((resolve) => {
    context.with(suppressed, () => {
      const req = http.request(
        { host: '127.0.0.1', port: checkoutPort, path: '/checkout', method: 'POST', agent: toCheckout, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? -1));
        },
      );
      req.on('error', () => resolve(-1));
      req.end(JSON.stringify({ cart: 'c-1', amount: 42 }));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends requests at a steady rate for up to `ms`, or until `stop()` holds; returns the response statuses. */
async function drive(ms: number, stop: () => boolean = () => false): Promise<number[]> {
  const pending: Array<Promise<number>> = [];
  const start = Date.now();
  for (let i = 0; Date.now() - start < ms && !stop(); i++) {
    pending.push(post());
    await sleep(Math.max(0, start + ((i + 1) * 1000) / RPS - Date.now()));
  }
  const statuses = await Promise.all(pending);
  seen.push(...statuses);
  return statuses;
}

const opened = () => incidents.filter((e) => e.type === 'opened');

beforeAll(async () => {
  ({ child: payment, port: paymentPort } = await startPayment());
  // payment is reached by IP, as in many deployments: `peers` gives it its name.
  main = rootspan({ ...mainOptions, peers: { [`127.0.0.1:${paymentPort}`]: 'payment' } });

  // What a user writes: their exporter's processor, and rootspan's next to it.
  sdk = new NodeSDK({
    serviceName: 'checkout',
    spanProcessors: [userProcessor, main.processor, broken.processor],
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
  });
  sdk.start();

  // Loaded through require after start(), as with `node --require ./otel.js app.js`, so the
  // instrumentations' require hooks patch them.
  const require = createRequire(import.meta.url);
  http = require('node:http');
  const express = require('express') as typeof import('express');
  toPayment = new http.Agent({ keepAlive: true, maxSockets: 64 });
  toCheckout = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const app = express();
  app.use(express.json());
  app.post('/checkout', (_req, res) => {
    const call = http.request(
      { host: '127.0.0.1', port: paymentPort, path: '/payment', method: 'POST', agent: toPayment, headers: { 'content-type': 'application/json' } },
      (pay) => {
        pay.resume();
        pay.on('end', () => {
          if (pay.statusCode === 200) res.json({ ok: true });
          else res.status(502).json({ error: 'payment failed' });
        });
      },
    );
    call.on('error', () => res.status(502).json({ error: 'payment unreachable' }));
    call.end(JSON.stringify({ amount: 42 }));
  });
  checkout = await new Promise<Http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  checkoutPort = (checkout.address() as AddressInfo).port;
}, 20_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (checkout ? checkout.close(() => resolve()) : resolve()));
  checkout?.closeAllConnections();
  toCheckout?.destroy();
  toPayment?.destroy();
  if (payment?.connected) payment.disconnect();
  payment?.kill();
  await sdk?.shutdown();
});

describe('rootspan in a real NodeSDK (checkout → payment over HTTP)', () => {
  it('healthy traffic: spans flow in, baselines are learned, no incident opens', async () => {
    const statuses = await drive(6000);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Let the last windows close (bucket + lateness + a clock tick or two).
    await sleep(1500);

    const stats = main.processor.stats();
    expect(stats.ingested).toBeGreaterThan(statuses.length);
    expect(stats.dropped).toBe(0);
    expect(stats.internalErrors).toBe(0);
    const ops = main.analyzer.baselines().map((b) => `${b.service} ${b.operation}`);
    expect(ops).toContain('checkout POST /checkout');
    const services = main.analyzer.serviceGraph().nodes.map((n) => n.service);
    expect(services).toContain('checkout');
    // Every span carried the SDK's service name, also while its async resource detectors were pending.
    expect(services.filter((s) => s.startsWith('unknown_service'))).toEqual([]);
    expect(services).toContain('payment'); // the payment peer, seen from client spans and named by `peers`
    expect(opened()).toEqual([]);
    // The user's exporter still received everything: rootspan sits next to it.
    expect(userExporter.getFinishedSpans().length).toBeGreaterThan(0);
  }, 20_000);

  it('payment failing: an incident opens whose root cause is payment, not checkout', async () => {
    await send(payment, { fault: true });
    const statuses = await drive(10_000, () => opened().length > 0);
    expect(statuses.some((s) => s === 502)).toBe(true);
    // Give an incident that was decided at the very end of the drive a moment to be delivered.
    for (let i = 0; i < 20 && opened().length === 0; i++) await sleep(100);

    const summary = JSON.stringify(opened().map((e) => `${e.incident.title} <- ${e.incident.rootCause.service}`));
    expect(opened().length, `no incident; anomalies: ${JSON.stringify(anomalies.map((a) => a.explanation))}`).toBeGreaterThan(0);
    // Express runs the handler (and so the client call to payment) under an INTERNAL "request handler"
    // span: the engine has to look through it to blame the callee rather than checkout itself.
    expect(opened().map((e) => e.incident.rootCause.service), summary).not.toContain('checkout');
    // Named by the `peers` option, not `127.0.0.1:<port>`.
    const found = opened().find((e) => e.incident.rootCause.service === 'payment');
    expect(found, summary).toBeDefined();
    expect(found!.incident.traceIds.length).toBeGreaterThan(0);
    // Callbacks ran with tracing suppressed, so a webhook call from them would not feed back.
    expect(suppressedInCallback.every(Boolean)).toBe(true);
  }, 20_000);

  it('throwing callbacks never break request handling', async () => {
    await send(payment, { fault: false });
    // The broken instance saw the same incident and its callbacks threw / rejected: its clock ticks apart
    // from the main instance's, so on a busy machine its incident may come a tick or two later.
    for (let i = 0; i < 30 && broken.processor.stats().callbackErrors === 0; i++) await sleep(100);
    expect(broken.processor.stats().callbackErrors).toBeGreaterThan(0);
    const statuses = await drive(1500);
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.every((s) => s === 200)).toBe(true);
    // No transport errors at any point in the run, and nothing leaked out of rootspan.
    expect(seen.every((s) => s === 200 || s === 502)).toBe(true);
    expect(broken.processor.stats().internalErrors).toBe(0);
    expect(main.processor.stats().internalErrors).toBe(0);
    expect(main.processor.stats().callbackErrors).toBe(0);
  }, 20_000);
});
