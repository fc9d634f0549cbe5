/**
 * Notifications to real local HTTP servers: a signed webhook whose signature the receiver verifies,
 * Slack and PagerDuty bodies, retries after failures, and a dead endpoint that never slows intake.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Incident, IncidentEvent } from '@rootspan/engine';
import { encodeOtlpJson } from '@rootspan/otlp';
import { simulate, scenarioByName } from '@rootspan/sim';
import { Notifier } from '../src/notify/notifier.js';
import { call, testServer } from './helpers/server.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

const sinks: Server[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A local endpoint recording what it receives; `answer` picks the status of each request (default 200). */
async function sink(answer: (n: number) => number = () => 200): Promise<{ url: string; received: Received[]; next: () => Promise<Received> }> {
  const received: Received[] = [];
  const waiters: Array<(r: Received) => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r = { headers: req.headers, body };
      received.push(r);
      res.writeHead(answer(received.length)).end();
      waiters.shift()?.(r);
    });
  });
  sinks.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  let seen = 0;
  return {
    url,
    received,
    next: () => (seen < received.length ? Promise.resolve(received[seen++]) : new Promise((r) => waiters.push((x) => (seen++, r(x))))),
  };
}

/** What a receiver does with the documented headers. */
function verify(secret: string, r: Received): boolean {
  const ts = String(r.headers['x-rootspan-timestamp']);
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${r.body}`).digest('hex')}`);
  const given = Buffer.from(String(r.headers['x-rootspan-signature']));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function incident(over: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-7',
    status: 'active',
    severity: 'high',
    title: 'Errors in payment POST /payment',
    openedAt: Date.UTC(2026, 0, 1),
    updatedAt: Date.UTC(2026, 0, 1),
    acknowledgedAt: null,
    resolvedAt: null,
    resolvedBy: null,
    rootCause: { service: 'payment', operation: 'POST /payment', kind: 'errors', confidence: 0.9, explanation: 'payment POST /payment fails 100% of requests vs 0.1% usually' },
    candidates: [],
    affected: [{ service: 'payment', operation: 'POST /payment' }, { service: 'checkout', operation: 'POST /checkout' }],
    anomalies: [],
    traceIds: ['abc'],
    ...over,
  };
}

const event = (type: IncidentEvent['type'], over: Partial<Incident> = {}): IncidentEvent => ({ type, incident: incident(over) });

describe('notifications', () => {
  it('a server-detected incident reaches a webhook with a valid HMAC-SHA256 signature', async () => {
    const hook = await sink();
    const server = await testServer({ notifications: [{ type: 'webhook', url: hook.url, secret: 's3cret' }] });
    // A recorded payment outage, posted in arrival order.
    const scenario = scenarioByName('shop-payment-errors')!;
    const { spans } = simulate({ ...scenario, durationMs: 9 * 60_000 });
    for (let i = 0; i < spans.length; i += 2000) {
      const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(spans.slice(i, i + 2000))) });
      expect(res.status).toBe(200);
    }
    await call(server, '/aiops/analyze', { method: 'POST' });
    const got = await hook.next();
    expect(verify('s3cret', got)).toBe(true);
    expect(verify('other', got)).toBe(false);
    const body = JSON.parse(got.body);
    expect(body.type).toBe('incident.opened');
    expect(body.incident.rootCause.service).toBe('payment');
    expect(body.url).toBe(`${server.url}/aiops/incidents/${body.incident.id}`);
    // Requests group spans by service (as a Collector's do): still one incident, no false alarm.
    const list = await call(server, '/aiops/incidents');
    expect(list.body.incidents.map((i: any) => i.rootCause.service)).toEqual(['payment']);
    const status = await call(server, '/aiops/status');
    expect(status.body.notifications.targets[0]).toMatchObject({ type: 'webhook', delivered: expect.any(Number), failed: 0, healthy: true });
    expect(status.body.notifications.targets[0].endpoint).toBe(new URL(hook.url).origin);
  });

  it('Slack gets text and blocks; PagerDuty gets trigger and resolve with dedup_key = incident id', async () => {
    const slack = await sink();
    const pd = await sink();
    const notifier = new Notifier(
      [
        { type: 'slack', url: slack.url },
        { type: 'pagerduty', routingKey: 'R0UT1NG', url: pd.url },
      ],
      {},
      (id) => `http://rootspan.local/aiops/incidents/${id}`,
      () => {},
    );
    notifier.notify(event('opened'));
    notifier.notify(event('resolved', { status: 'resolved', resolvedAt: Date.UTC(2026, 0, 1, 0, 5), resolvedBy: 'auto' }));
    const s1 = JSON.parse((await slack.next()).body);
    expect(s1.text).toMatch(/OPENED.*Errors in payment/);
    expect(s1.text).toMatch(/Root cause: payment POST \/payment \(errors, confidence 90%\)/);
    expect(s1.blocks[0].type).toBe('section');
    const trigger = JSON.parse((await pd.next()).body);
    expect(trigger).toMatchObject({ routing_key: 'R0UT1NG', event_action: 'trigger', dedup_key: 'inc-7' });
    expect(trigger.payload).toMatchObject({ source: 'payment', severity: 'error', class: 'errors' });
    expect(trigger.payload.summary).toMatch(/Errors in payment/);
    const resolve = JSON.parse((await pd.next()).body);
    expect(resolve).toEqual({ routing_key: 'R0UT1NG', event_action: 'resolve', dedup_key: 'inc-7' });
    expect(JSON.parse((await slack.next()).body).text).toMatch(/RESOLVED/);
    await notifier.close(1000);
  });

  it('retries failed deliveries with backoff, in order, and counts failures', async () => {
    // Fails the first two attempts, then accepts.
    const flaky = await sink((n) => (n <= 2 ? 503 : 200));
    const notifier = new Notifier([{ type: 'webhook', url: flaky.url, events: ['opened', 'resolved'] }], { backoffMs: 20 }, () => undefined, () => {});
    notifier.notify(event('opened'));
    notifier.notify(event('resolved', { status: 'resolved' }));
    await notifier.close(5000);
    expect(flaky.received.map((r) => JSON.parse(r.body).type)).toEqual(['incident.opened', 'incident.opened', 'incident.opened', 'incident.resolved']);
    expect(notifier.status()[0]).toMatchObject({ delivered: 2, retries: 2, failed: 0, healthy: true });

    const dead = await sink(() => 400);
    const refused = new Notifier([{ type: 'webhook', url: dead.url }], { backoffMs: 20 }, () => undefined, () => {});
    refused.notify(event('opened'));
    await refused.close(5000);
    // 400 is not retried.
    expect(dead.received).toHaveLength(1);
    expect(refused.status()[0]).toMatchObject({ delivered: 0, failed: 1, healthy: false, lastError: 'HTTP 400' });
  });

  it('a dead endpoint never slows intake; its queue is bounded and drops are counted', async () => {
    // Accepts connections and never answers.
    const black = createServer(() => {});
    sinks.push(black);
    await new Promise<void>((r) => black.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(black.address() as AddressInfo).port}/`;
    const notifier = new Notifier([{ type: 'webhook', url }], { maxQueue: 3, timeoutMs: 60_000 }, () => undefined, () => {});
    const t = performance.now();
    for (let i = 0; i < 10; i++) notifier.notify(event('updated', { id: `inc-${i}` }));
    // notify() only queues: ten calls return at once whatever the endpoint does.
    expect(performance.now() - t).toBeLessThan(1000);
    expect(notifier.status()[0]).toMatchObject({ queued: 3, dropped: 7, delivered: 0 });
    await notifier.close(0);
    black.closeAllConnections();
  });

  it('filters by event and minimum severity', async () => {
    const hook = await sink();
    const notifier = new Notifier([{ type: 'webhook', url: hook.url, events: ['opened'], minSeverity: 'critical' }], {}, () => undefined, () => {});
    notifier.notify(event('opened'));
    notifier.notify(event('resolved', { severity: 'critical' }));
    notifier.notify(event('opened', { severity: 'critical', id: 'inc-9' }));
    await notifier.close(5000);
    expect(hook.received.map((r) => JSON.parse(r.body).incident.id)).toEqual(['inc-9']);
  });
});
