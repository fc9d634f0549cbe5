/**
 * Notifications to real local HTTP servers: Slack and PagerDuty bodies, retries after failures, a dead
 * endpoint that never slows intake, filters. (A signed webhook from a detected incident: exporters.test.ts.)
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Incident, IncidentEvent } from '@rootspan/engine';
import { encodeOtlpJson } from '@rootspan/otlp';
import { scenarioByName, simulate } from '@rootspan/sim';
import { Notifier } from '../src/notify/notifier.js';
import { call, testServer } from './helpers/server.js';
import { sink, sinks } from './helpers/sink.js';

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
  it('Slack gets text and blocks; PagerDuty gets trigger and resolve with dedup_key = incident id', async () => {
    const slack = await sink();
    const pd = await sink();
    const notifier = new Notifier(
      [
        { type: 'slack', url: slack.url },
        { type: 'pagerduty', routingKey: 'R0UT1NG', url: pd.url },
      ],
      {},
      () => 'http://rootspan.local',
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

  it("links to the server's public URL when it has one (behind a proxy), else to where it listens", async () => {
    const { batches } = simulate({ ...scenarioByName('shop-payment-errors')!, durationMs: 9 * 60_000 });
    for (const publicUrl of ['https://ops.example.com/rootspan/', undefined]) {
      const hook = await sink();
      const server = await testServer({ ...(publicUrl ? { publicUrl } : {}), notifications: [{ type: 'webhook', url: hook.url, events: ['opened'] }] });
      for (const b of batches) server.analyzer.ingest(b);
      const body = JSON.parse((await hook.next()).body);
      const base = publicUrl === undefined ? server.url : 'https://ops.example.com/rootspan';
      expect(body).toMatchObject({ url: `${base}/#/incidents/${body.incident.id}`, apiUrl: `${base}/aiops/incidents/${body.incident.id}` });
    }
  });

  it('Slack says who acknowledged or resolved by hand, and their word on it', async () => {
    const slack = await sink();
    const notifier = new Notifier([{ type: 'slack', url: slack.url, events: ['acknowledged', 'resolved'] }], {}, () => undefined, () => {});
    notifier.notify(event('acknowledged', { status: 'acknowledged', acknowledgedAt: Date.UTC(2026, 0, 1, 0, 1), acknowledgement: { by: 'alice', note: 'looking at payment' } }));
    notifier.notify(event('resolved', { status: 'resolved', resolvedAt: Date.UTC(2026, 0, 1, 0, 5), resolvedBy: 'user', resolution: { note: 'rolled back 2.4.1' } }));
    expect(JSON.parse((await slack.next()).body).text).toMatch(/^:eyes: \*ACKNOWLEDGED\* \[high\] Errors in payment POST \/payment \(inc-7\) \(acknowledged by alice: looking at payment\)\n/);
    expect(JSON.parse((await slack.next()).body).text).toMatch(/\(inc-7\) \(resolved: rolled back 2\.4\.1\)\n/);
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
    // Each event has its id, the same on every retry (a receiver that answered too late dedupes by it).
    const ids = flaky.received.map((r) => [JSON.parse(r.body).id, r.headers['x-rootspan-event-id']]);
    for (const [body, header] of ids) expect(body).toBe(header);
    expect(new Set(ids.map(([id]) => id)).size).toBe(2);
    expect(ids[0][0]).toBe(ids[2][0]);

    // By default an endpoint down for ten attempts (minutes, at the default backoff) still gets the event.
    const restarting = await sink((n) => (n <= 10 ? 503 : 200));
    const patient = new Notifier([{ type: 'webhook', url: restarting.url }], { backoffMs: 1 }, () => undefined, () => {});
    patient.notify(event('resolved', { status: 'resolved' }));
    await patient.close(5000);
    expect(patient.status()[0]).toMatchObject({ delivered: 1, retries: 10, failed: 0 });

    const dead = await sink(() => 400);
    const refused = new Notifier([{ type: 'webhook', url: dead.url }], { backoffMs: 20 }, () => undefined, () => {});
    refused.notify(event('opened'));
    await refused.close(5000);
    // 400 is not retried.
    expect(dead.received).toHaveLength(1);
    expect(refused.status()[0]).toMatchObject({ delivered: 0, failed: 1, healthy: false, lastError: 'HTTP 400' });
  });

  it('a dead endpoint never slows intake; its queue is bounded and drops are counted', async () => {
    // Accepts requests and never answers; `reached` resolves when the first delivery arrives.
    let reached!: () => void;
    const arrived = new Promise<void>((r) => (reached = r));
    const black = createServer(() => reached());
    sinks.push(black);
    await new Promise<void>((r) => black.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(black.address() as AddressInfo).port}/`;
    const notifier = new Notifier([{ type: 'webhook', url }], { maxQueue: 3, timeoutMs: 60_000 }, () => undefined, () => {});
    // notify() is synchronous and only queues: the ten calls are done before any request can reach the endpoint.
    for (let i = 0; i < 10; i++) expect(notifier.notify(event('updated', { id: `inc-${i}` }))).toBeUndefined();
    expect(notifier.status()[0]).toMatchObject({ queued: 3, dropped: 7, delivered: 0 });
    // The first delivery now hangs at the endpoint; a new event still returns at once, dropped and counted.
    await arrived;
    expect(notifier.notify(event('updated', { id: 'inc-10' }))).toBeUndefined();
    expect(notifier.status()[0]).toMatchObject({ queued: 3, dropped: 8, delivered: 0, failed: 0 });
    await notifier.close(0);
    black.closeAllConnections();
  });

  it('an update waiting behind a slow delivery is replaced by the newer update of the same incident', async () => {
    // Holds every answer until released; records the bodies.
    const bodies: string[] = [];
    const held: ServerResponse[] = [];
    let reached!: () => void;
    const arrived = new Promise<void>((r) => (reached = r));
    const slow = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        bodies.push(body);
        held.push(res);
        reached();
      });
    });
    sinks.push(slow);
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;
    const notifier = new Notifier([{ type: 'webhook', url }], { updateIntervalMs: 0 }, () => undefined, () => {});
    notifier.notify(event('opened'));
    await arrived;
    // While `opened` is in flight, four updates of inc-7 and one of another incident arrive, then the resolve.
    for (let n = 1; n <= 4; n++) notifier.notify(event('updated', { title: `update ${n}` }));
    notifier.notify(event('updated', { id: 'inc-8', title: 'other' }));
    notifier.notify(event('resolved', { status: 'resolved', title: 'update 4' }));
    expect(notifier.status()[0]).toMatchObject({ queued: 4, coalesced: 3, dropped: 0 });
    const answerAll = setInterval(() => held.splice(0).forEach((r) => r.writeHead(200).end()), 5);
    await notifier.close(5000);
    clearInterval(answerAll);
    expect(bodies.map((b) => [JSON.parse(b).type, JSON.parse(b).incident.title])).toEqual([
      ['incident.opened', 'Errors in payment POST /payment'],
      ['incident.updated', 'update 4'],
      ['incident.updated', 'other'],
      ['incident.resolved', 'update 4'],
    ]);
    expect(notifier.status()[0]).toMatchObject({ delivered: 4, failed: 0, coalesced: 3 });
  });

  it('sends at most one update of an incident per updateIntervalMs: the newest, unless its resolve comes first; close() sends what is held', async () => {
    const hook = await sink();
    const notifier = new Notifier([{ type: 'webhook', url: hook.url }], { updateIntervalMs: 300 }, () => undefined, () => {});
    const seen = async (n: number) => {
      const got: string[] = [];
      for (let i = 0; i < n; i++) {
        const b = JSON.parse((await hook.next()).body);
        got.push(`${b.type} ${b.incident.id} ${b.incident.title}`);
      }
      return got;
    };
    notifier.notify(event('opened', { title: 'opened' }));
    notifier.notify(event('updated', { title: 'u1' }));
    notifier.notify(event('updated', { title: 'u2' }));
    notifier.notify(event('updated', { id: 'inc-8', title: 'other' }));
    // inc-8 had no notification yet: its update goes at once; inc-7's wait for the interval, the newest only.
    expect(await seen(2)).toEqual(['incident.opened inc-7 opened', 'incident.updated inc-8 other']);
    expect(await seen(1)).toEqual(['incident.updated inc-7 u2']);
    notifier.notify(event('updated', { title: 'u3' }));
    notifier.notify(event('resolved', { status: 'resolved', title: 'u3' }));
    expect(await seen(1)).toEqual(['incident.resolved inc-7 u3']);
    notifier.notify(event('opened', { id: 'inc-9', title: 'nine' }));
    notifier.notify(event('updated', { id: 'inc-9', title: 'nine, later' }));
    await notifier.close(5000);
    expect(await seen(2)).toEqual(['incident.opened inc-9 nine', 'incident.updated inc-9 nine, later']);
    expect(hook.received).toHaveLength(6);
    expect(notifier.status()[0]).toMatchObject({ delivered: 6, coalesced: 2, failed: 0, dropped: 0 });
  });

  it('a webhook that never answers does not hold up the receiver: spans are taken and analysed while its delivery hangs', async () => {
    let reached!: () => void;
    const arrived = new Promise<void>((r) => (reached = r));
    const hanging: ServerResponse[] = [];
    const black = createServer((_req, res) => {
      hanging.push(res);
      reached();
    });
    sinks.push(black);
    await new Promise<void>((r) => black.listen(0, '127.0.0.1', r));
    const server = await testServer({ notifications: [{ type: 'webhook', url: `http://127.0.0.1:${(black.address() as AddressInfo).port}/` }], notify: { maxAttempts: 1, timeoutMs: 60_000 } });
    const { batches, flushTimes } = simulate({ ...scenarioByName('shop-payment-errors')!, durationMs: 9 * 60_000 });
    const post = async (part: typeof batches) => {
      for (let i = 0; i < part.length; i += 20) {
        const res = await call(server, '/v1/traces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(encodeOtlpJson(part.slice(i, i + 20).flat())) });
        expect(res.status).toBe(200);
      }
    };
    // Up to 8 min: payment has failed for a minute, so analysing opens the incident and its delivery starts.
    const split = flushTimes.findIndex((t) => t >= flushTimes[0] + 8 * 60_000);
    await post(batches.slice(0, split));
    expect((await call(server, '/aiops/analyze', { method: 'POST' })).status).toBe(200);
    await arrived;
    try {
      const before = server.status().ingest.spansAccepted;
      // With the delivery hanging, the rest of the traffic is answered and analysed, and the API answers.
      await post(batches.slice(split));
      expect((await call(server, '/aiops/analyze', { method: 'POST' })).status).toBe(200);
      expect(server.status().ingest.spansAccepted - before).toBe(batches.slice(split).reduce((n, b) => n + b.length, 0));
      expect(hanging).toHaveLength(1);
      expect(hanging[0].writableEnded).toBe(false);
      const target = server.status().notifications.targets[0];
      expect(target.delivered).toBe(0);
      expect(target.queued).toBeGreaterThan(0);
    } finally {
      black.closeAllConnections();
    }
  }, 60_000);

  it('close() names the events its deadline left unsent', async () => {
    const hanging: ServerResponse[] = [];
    const black = createServer((_req, res) => void hanging.push(res));
    sinks.push(black);
    await new Promise<void>((r) => black.listen(0, '127.0.0.1', r));
    const lines: string[] = [];
    const notifier = new Notifier([{ type: 'webhook', url: `http://127.0.0.1:${(black.address() as AddressInfo).port}/`, name: 'ops' }], { timeoutMs: 60_000 }, () => undefined, (l) => lines.push(l));
    notifier.notify(event('opened'));
    notifier.notify(event('resolved', { status: 'resolved' }));
    await notifier.close(200);
    for (const res of hanging) res.end();
    expect(lines).toEqual(['2 notification(s) to ops not sent before shutdown: inc-7 opened, inc-7 resolved']);
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

  it('sends a reopening by default, as incident.reopened (and a PagerDuty trigger); acknowledged only when asked', async () => {
    const hook = await sink();
    const pd = await sink();
    const notifier = new Notifier([{ type: 'webhook', url: hook.url }, { type: 'pagerduty', url: pd.url, routingKey: 'k' }], {}, () => undefined, () => {});
    notifier.notify(event('reopened', { reopened: { at: 2000, resolvedAt: 1000, times: 1 } }));
    notifier.notify(event('acknowledged', { id: 'inc-2' }));
    await notifier.close(5000);
    expect(hook.received.map((r) => JSON.parse(r.body))).toMatchObject([{ type: 'incident.reopened', incident: { reopened: { times: 1 } } }]);
    expect(pd.received.map((r) => JSON.parse(r.body).event_action)).toEqual(['trigger']);
  });
});
