import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Analyzer, Span } from '../src/index.js';
import { watch } from './helpers/events.js';
import { TraceBuilder, span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const RPS = 20;
const WARMUP_S = 120;

interface Fault {
  from: number;
  /** When it ends (ms); it lasts to the end without. */
  to?: number;
  /** Extra time billing takes per charge (ms). */
  billingSlowMs?: number;
  /** The worker consumes nothing. */
  workerDown?: boolean;
  /** POST /orders fails before publishing (500). */
  ordersFail?: boolean;
  /** Extra time the worker's own code takes per message (ms). */
  workerSlowMs?: number;
  /** Messages a second the worker takes (it lost instances, or its concurrency): each waits for a free one. */
  workerRate?: number;
  /** With `workerDown` and `to`: the messages sent meanwhile wait for its return, then it takes this many a second. */
  drainRate?: number;
  /** With `drainRate`: its first this many messages back are slow in their billing call (cold connections). */
  coldMessages?: number;
  /** With `workerRate` and `to`: the messages a second it takes once its capacity is back, until its backlog is gone. */
  restoredRate?: number;
}

/**
 * How the consumer's span finds the producer's: its child (instrumentation-amqplib, BullMQ), in a trace of
 * its own with a link to it (amqplib's `useLinksForConsume`, OTel messaging conventions), or as kafkajs's
 * `eachBatch` records it: a `receive` span of its own trace, each message's `process` span under it linked.
 */
type Style = 'child' | 'linked' | 'batch';

interface Shape {
  style?: Style;
  /** How long POST /orders takes (ms): answering after its message was consumed, its trace ends last. */
  postMs?: number;
}

/**
 * Orders publishes a message per POST /orders (answering once the broker has it); a worker consumes each
 * (a consumer span that instrumentation-amqplib makes the producer span's child) and charges it through
 * billing. Spans reach the analyzer when they end, a second at a time, as exporters send them: a consumer
 * that runs long after its message was published arrives long after the producer's trace.
 */
function run(a: Analyzer, seconds: number, fault?: Fault, shape: Shape = {}): void {
  const style = shape.style ?? 'child';
  const spans: Span[] = [];
  let backlogMs = 0;
  /** When a rate-limited worker takes its next message. */
  let freeAt = -Infinity;
  /** Messages a draining worker took since it came back. */
  let taken = 0;
  for (let s = 0; s < seconds; s++) {
    for (let i = 0; i < RPS; i++) {
      const start = T0 + s * 1000 + i * (1000 / RPS);
      const faulty = fault !== undefined && start >= fault.from && (fault.to === undefined || start < fault.to);
      const t = new TraceBuilder();
      if (faulty && fault.ordersFail) {
        t.server('orders', '/orders', start, start + 2, { name: 'POST /orders', status: 'error', attributes: { 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 500 } });
        spans.push(...t.spans);
        continue;
      }
      const post = t.server('orders', '/orders', start, start + (shape.postMs ?? 4) + (i % 3), { name: 'POST /orders', attributes: { 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 202 } });
      const publish = span({
        traceId: t.traceId,
        service: 'orders',
        name: 'publish <default>',
        kind: 'producer',
        parentSpanId: post.spanId,
        startTime: start + 1,
        endTime: start + 3,
        attributes: { 'messaging.system': 'rabbitmq', 'messaging.operation': 'publish', 'messaging.rabbitmq.routing_key': 'orders', 'server.address': '127.0.0.1' },
      });
      t.spans.push(publish);
      const draining = fault?.drainRate !== undefined && fault.to !== undefined && start >= fault.from;
      if (faulty && fault.workerDown && !draining) {
        spans.push(...t.spans);
        continue;
      }
      const cold = draining && taken++ < (fault.coldMessages ?? 0);
      const extra = cold ? 400 : faulty ? (fault.billingSlowMs ?? 0) : 0;
      const own = faulty ? (fault.workerSlowMs ?? 0) : 0;
      // A slow worker falls behind: each message waits for the ones before it.
      if (extra + own > 0 && !cold) backlogMs += ((extra + own) * RPS) / 5 / RPS;
      let consumeAt = publish.endTime + 5 + backlogMs;
      if (draining) {
        // Down, its messages wait in the queue; back, it takes them at its pace, later ones behind them.
        const queued = faulty || freeAt > consumeAt;
        consumeAt = Math.max(consumeAt, fault.to as number, freeAt);
        if (queued) freeAt = consumeAt + 1000 / (fault.drainRate as number);
      } else if (faulty && fault.workerRate !== undefined) {
        consumeAt = Math.max(consumeAt, freeAt);
        freeAt = consumeAt + 1000 / fault.workerRate;
      } else if (fault?.restoredRate !== undefined && freeAt > consumeAt) {
        // Restored, it takes what waits behind the backlog at its full pace.
        consumeAt = freeAt;
        freeAt = consumeAt + 1000 / fault.restoredRate;
      }
      // Linked, the consumer's spans are a trace of their own.
      const c = style === 'child' ? t : new TraceBuilder();
      const link = style === 'child' ? undefined : [{ traceId: t.traceId, spanId: publish.spanId }];
      const end = consumeAt + 16 + extra + own;
      const receive =
        style === 'batch'
          ? span({ traceId: c.traceId, service: 'worker', name: 'orders receive', kind: 'consumer', startTime: consumeAt, endTime: end + 1, attributes: { 'messaging.system': 'kafka', 'messaging.operation': 'receive' } })
          : undefined;
      if (receive !== undefined) c.spans.push(receive);
      const consume = span({
        traceId: c.traceId,
        service: 'worker',
        name: 'orders process',
        kind: 'consumer',
        parentSpanId: style === 'child' ? publish.spanId : receive?.spanId,
        links: link,
        startTime: consumeAt,
        endTime: end,
        attributes: { 'messaging.system': 'rabbitmq', 'messaging.operation': 'process' },
      });
      c.spans.push(consume);
      const charge = c.client(consume, 'billing', consumeAt + 1, consumeAt + 14 + extra, { name: 'POST', attributes: { 'http.request.method': 'POST', 'server.address': 'billing', 'server.port': 80 } });
      c.server('billing', '/charge', consumeAt + 2, consumeAt + 13 + extra, { name: 'POST /charge', attributes: { 'http.request.method': 'POST', 'http.route': '/charge', 'http.response.status_code': 200 } }, charge);
      spans.push(...t.spans);
      if (c !== t) spans.push(...c.spans);
    }
  }
  spans.sort((x, y) => x.endTime - y.endTime);
  let at = 0;
  // Until the load stops (consumers of a backlog would run on, long after).
  for (let s = 1; s <= seconds; s++) {
    const until = T0 + s * 1000;
    const batch: Span[] = [];
    while (at < spans.length && spans[at].endTime <= until) batch.push(spans[at++]);
    a.ingest(batch);
    a.advanceTo(until);
  }
}

describe('messaging: a consumer runs after its producer, on its own', () => {
  it('healthy traffic opens nothing; the publish is a call to the broker, the consumer an entry of the worker', () => {
    const a = createAnalyzer();
    const events = watch(a);
    run(a, 180);
    expect(events).toEqual([]);
    const ops = a.metrics().map((m) => `${m.service} ${m.operation}`).sort();
    expect(ops).toEqual(['billing POST /charge', 'orders POST /orders', 'rabbitmq publish orders', 'worker orders process']);
  });

  it("BullMQ's own telemetry (bullmq.* attributes, no messaging.system): the add is a call to the bullmq broker", () => {
    const a = createAnalyzer();
    const spans: Span[] = [];
    for (let i = 0; i < 20; i++) {
      const start = T0 + i * 500;
      const t = new TraceBuilder();
      const cart = t.server('cart', '/checkout', start, start + 10);
      const queue = { 'bullmq.queue.name': 'orders', 'bullmq.job.name': 'confirm-order' };
      const add = span({ traceId: t.traceId, service: 'cart', name: 'add orders.confirm-order', kind: 'producer', parentSpanId: cart.spanId, startTime: start + 2, endTime: start + 4, attributes: { ...queue, 'bullmq.queue.operation': 'add' } });
      const job = span({ traceId: t.traceId, service: 'worker', name: 'process orders', kind: 'consumer', parentSpanId: add.spanId, startTime: start + 20, endTime: start + 30, attributes: { ...queue, 'bullmq.queue.operation': 'process' } });
      spans.push(...t.spans, add, job);
    }
    a.ingest(spans);
    a.flush();
    // Before: the add was "cart add orders.confirm-order", an operation of the producer's own.
    expect(a.metrics().map((m) => `${m.service} ${m.operation}`).sort()).toEqual(['bullmq add orders.confirm-order', 'cart GET /checkout', 'worker process orders']);
  });

  it('a slow callee of the worker (the queue backing up) is the root cause; the producer is not blamed', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const anomalies: string[] = [];
    a.onAnomaly((x) => anomalies.push(`${x.service} ${x.operation} ${x.signal}`));
    const from = T0 + WARMUP_S * 1000;
    run(a, WARMUP_S + 60, { from, billingSlowMs: 300 });
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident.rootCause.service);
    expect(opened.length).toBeGreaterThan(0);
    expect(new Set(opened)).toEqual(new Set(['billing']));
    // Orders answered as always: the worker's delay is no change in what orders does.
    expect(anomalies.filter((x) => x.startsWith('orders '))).toEqual([]);
  });

  it('a stopped worker is not blamed on the producer that keeps publishing', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const anomalies: string[] = [];
    a.onAnomaly((x) => anomalies.push(`${x.service} ${x.operation} ${x.signal}`));
    const from = T0 + WARMUP_S * 1000;
    run(a, WARMUP_S + 90, { from, workerDown: true });
    expect(anomalies.filter((x) => x.startsWith('orders ') || x.startsWith('rabbitmq '))).toEqual([]);
    const roots = events.filter((e) => e.type === 'opened').map((e) => e.incident.rootCause.service);
    expect(roots[0]).toBe('worker');
    expect(roots).not.toContain('orders');
    // Not less demand: what it did not take waits in its queue.
    const [incident] = a.incidents();
    expect(incident.title).toMatch(/^Traffic drop in worker orders process/);
    expect(incident.rootCause.explanation).toMatch(/orders POST \/orders still sends it messages at 20 req\/s \(20 req\/s expected\): they wait in its queue/);
  });

  it('a worker down for less than a minute opens its incident while down: its producer kept publishing', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const from = T0 + WARMUP_S * 1000;
    // Before: a drop waits half a minute after it first fires to be seen lasting; the worker was back by then.
    run(a, WARMUP_S + 120, { from, to: from + 55_000, workerDown: true });
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened.map((i) => i.title)).toEqual([expect.stringMatching(/^Traffic drop in worker orders process/)]);
    expect(opened[0].openedAt).toBeLessThan(from + 55_000);
    expect(opened[0].rootCause.explanation).toMatch(/still sends it messages .*: they wait in its queue/);
  });

  it('a stopped producer is less demand: its consumer\'s drop says nothing of a queue', () => {
    const a = createAnalyzer();
    run(a, WARMUP_S, undefined);
    // Orders' clients go away (no fault of orders): nothing is published, nothing consumed.
    a.advanceTo(T0 + (WARMUP_S + 120) * 1000);
    expect(a.incidents().map((i) => i.title)).toEqual([expect.stringMatching(/^Traffic drop in orders POST \/orders/)]);
    for (const incident of a.incidents()) expect(incident.rootCause.explanation).not.toMatch(/wait in its queue/);
  });

  it('a worker whose messages stop because the producer’s requests fail is that failure’s effect, not a second incident', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const anomalies: string[] = [];
    a.onAnomaly((x) => anomalies.push(`${x.service} ${x.operation} ${x.signal}`));
    run(a, WARMUP_S + 120, { from: T0 + WARMUP_S * 1000, ordersFail: true });
    // The worker's traffic did drop...
    expect(anomalies).toContain('worker orders process traffic.drop');
    // ...inside the one incident rooted in the failing requests.
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.map((e) => e.incident.rootCause.service)).toEqual(['orders']);
    const [incident] = a.incidents();
    expect(incident.anomalies.map((x) => `${x.service} ${x.signal}`)).toContain('worker traffic.drop');
  });

  it('a worker falling behind its queue on its own slowness: its drop in handled messages is part of that incident', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const anomalies: string[] = [];
    a.onAnomaly((x) => anomalies.push(`${x.service} ${x.operation} ${x.signal}`));
    run(a, WARMUP_S + 120, { from: T0 + WARMUP_S * 1000, workerSlowMs: 1000 });
    expect(anomalies).toContain('worker orders process traffic.drop');
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.map((e) => `${e.incident.rootCause.service} ${e.incident.rootCause.kind}`)).toEqual(['worker latency']);
  });

  it('a worker taking fewer messages than come, each as fast as ever: its queue backs up, and how long they wait is the incident', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const from = T0 + WARMUP_S * 1000;
    // It lost a quarter of its capacity: 15 messages a second where 20 come, each handled in 16 ms as before.
    run(a, WARMUP_S + 90, { from, workerRate: 15 });
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened).toHaveLength(1);
    const [incident] = opened;
    // The wait grows a third of a second per second: past a second from the second bucket on, and a backlog
    // lasts three buckets before it is one (a batch drains in one or two): told within 25 s.
    expect(incident.openedAt - from).toBeLessThanOrEqual(25_000);
    expect(incident.title).toBe('Latency in worker orders process');
    expect(incident.rootCause.explanation).toMatch(/^worker orders process took its messages \d+(\.\d+)? s after they were sent \(median of \d+, waiting in its queue\) vs baseline 5\.0 ms \(\d+×\) in the last \d+ s; it took 15 req\/s of them \(20 req\/s usually\)$/);
    const queue = a.anomalies().filter((x) => x.signal === 'latency.queue');
    expect(queue.map((x) => `${x.service} ${x.operation}`)).toEqual(['worker orders process']);
    // The last messages taken waited over 20 s: medium (5–30 s), as bad as how late the work is.
    expect(queue[0].observed).toBeGreaterThan(20_000);
    expect(queue[0].severity).toBe('medium');
    expect(queue[0].traceIds.length).toBeGreaterThan(0);
    // Nothing else changed: not the worker's handling, nor what orders does.
    expect(a.anomalies().filter((x) => x.signal !== 'latency.queue')).toEqual([]);
  });

  it('a worker that lost capacity for a minute, then had it back: the rate told beside its longest wait is the one that let it grow', () => {
    const a = createAnalyzer();
    const from = T0 + WARMUP_S * 1000;
    // 15 messages a second for a minute; back, it takes the backlog at 60 a second (a restarted worker's pace).
    run(a, WARMUP_S + 150, { from, to: from + 60_000, workerRate: 15, restoredRate: 60 });
    const [incident] = a.incidents();
    expect(incident.title).toBe('Latency in worker orders process');
    // Told at the longest wait, but with the rate of the latest window, the backlog going at 60 a second:
    // "it took 21 req/s of them (20 req/s usually)" hid the 15 a second that let the queue grow.
    expect(incident.rootCause.explanation).toMatch(/; it took 1[4-6](\.\d+)? req\/s of them \(20 req\/s usually\)/);
  });

  it('a worker back after a minute down drains its backlog: the long waits join the drop\'s incident, which stays rooted in the drop', () => {
    const a = createAnalyzer();
    const events = watch(a);
    const from = T0 + WARMUP_S * 1000;
    // Down a minute; back, it takes 60 messages a second until the backlog is gone (a surge of its own).
    // Its first jobs back are slow in billing (cold connections): a few slow requests, no cause of the wait.
    run(a, WARMUP_S + 240, { from, to: from + 60_000, workerDown: true, drainRate: 30, coldMessages: 20 });
    const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened.map((i) => i.title)).toEqual([expect.stringMatching(/^Traffic drop in worker orders process/)]);
    const [incident] = a.incidents();
    expect(incident.rootCause.kind).toBe('traffic');
    const queue = incident.anomalies.filter((x) => x.signal === 'latency.queue');
    expect(queue).toHaveLength(1);
    expect(queue[0].observed).toBeGreaterThan(10_000);
    // Told again as the backlog drained, a minute after the drop's window: the producer that went on still says so.
    expect(incident.rootCause.explanation).toMatch(/orders POST \/orders still sends it messages at 20 req\/s \(20 req\/s expected\): they wait in its queue/);
    // The messages waited for the worker to come back, not for billing.
    expect(`${queue[0].cause.service} ${queue[0].cause.operation}`).toBe('worker orders process');
    expect(queue[0].explanation).not.toMatch(/billing/);
  });

  // OTel's messaging conventions link a consumer's span to the producer's (a trace of its own), and kafkajs's
  // eachBatch links each message's span under its batch's `receive`: there was no parent to measure from.
  for (const style of ['linked', 'batch'] as const) {
    it(`consumers linked to their producers (${style}): healthy, nothing; a worker taking fewer messages than come is told by their wait`, () => {
      const healthy = createAnalyzer();
      const quiet = watch(healthy);
      run(healthy, 180, undefined, { style });
      expect(quiet).toEqual([]);
      expect(healthy.snapshot().operations.find((o) => o.operation === 'orders process')?.queue?.typical).toBeGreaterThan(0);
      const a = createAnalyzer();
      const events = watch(a);
      const from = T0 + WARMUP_S * 1000;
      run(a, WARMUP_S + 90, { from, workerRate: 15 }, { style });
      const opened = events.filter((e) => e.type === 'opened').map((e) => e.incident);
      expect(opened.map((i) => i.title)).toEqual(['Latency in worker orders process']);
      expect(opened[0].openedAt - from).toBeLessThanOrEqual(25_000);
      expect(opened[0].rootCause.explanation).toMatch(/^worker orders process took its messages \d+(\.\d+)? s after they were sent \(median of \d+, waiting in its queue\)/);
    });
  }

  it('a linked consumer whose trace ends before the request that sent its message: its wait is still measured', () => {
    // POST /orders answers 300 ms in, long after its message was consumed: the consumer's trace of its own ends,
    // and is processed, first. Noted only when the producer's trace was processed, no wait was ever learned.
    const a = createAnalyzer();
    const events = watch(a);
    const from = T0 + WARMUP_S * 1000;
    run(a, WARMUP_S + 90, { from, workerRate: 15 }, { style: 'linked', postMs: 300 });
    expect(events.filter((e) => e.type === 'opened').map((e) => e.incident.title)).toEqual(['Latency in worker orders process']);
  });

  it('a consumer linked to a producer in its own large trace (looked up in its index of ids): its wait is measured', () => {
    const a = createAnalyzer();
    const spans: Span[] = [];
    for (let r = 0; r < 30; r++) {
      const start = T0 + r * 1000;
      const t = new TraceBuilder();
      const job = t.server('scheduler', '/batch', start, start + 400);
      // Forty messages sent, each taken by a consumer span in the same trace, linked rather than parented.
      for (let m = 0; m < 40; m++) {
        const publish = span({ traceId: t.traceId, service: 'scheduler', name: 'publish orders', kind: 'producer', parentSpanId: job.spanId, startTime: start + m, endTime: start + m + 1 });
        t.spans.push(publish, span({ traceId: t.traceId, service: 'worker', name: 'orders process', kind: 'consumer', parentSpanId: job.spanId, links: [{ traceId: t.traceId, spanId: publish.spanId }], startTime: start + m + 251, endTime: start + m + 260 }));
      }
      spans.push(...t.spans);
    }
    a.ingest(spans);
    a.flush();
    expect(a.snapshot().operations.find((o) => o.operation === 'orders process')?.queue?.typical).toBeCloseTo(250, 0);
  });

  it('links that are no links (not an array, not ids) are passed over; more than 128 are cut', () => {
    const a = createAnalyzer();
    const t = new TraceBuilder();
    const post = t.server('orders', '/orders', T0, T0 + 4);
    const publish = span({ traceId: t.traceId, service: 'orders', name: 'publish orders', kind: 'producer', parentSpanId: post.spanId, startTime: T0 + 1, endTime: T0 + 3 });
    const bad = [null, 7, { traceId: 1, spanId: 'x' }, { traceId: t.traceId }] as unknown as Span['links'];
    const many = Array.from({ length: 500 }, () => ({ traceId: t.traceId, spanId: 'ffffffffffffffff' }));
    const consumers = [bad, 'links' as unknown as Span['links'], many].map((links, k) =>
      span({ service: 'worker', name: 'orders process', kind: 'consumer', links, startTime: T0 + 50 + k, endTime: T0 + 60 + k }),
    );
    expect(a.ingest([...t.spans, publish, ...consumers])).toEqual({ accepted: 5, dropped: 0 });
    a.flush();
    expect(a.metrics().find((m) => m.operation === 'orders process')?.requests).toBe(3);
  });

  it('messages consumed after their producer\'s trace was processed still tell their wait; a restored analyzer keeps the learned wait', () => {
    const a = createAnalyzer();
    const spans: Span[] = [];
    // Each message waits 3 s: its consumer's span comes long after the producer's trace was processed.
    for (let i = 0; i < 200; i++) {
      const start = T0 + i * 500;
      const t = new TraceBuilder();
      const post = t.server('orders', '/orders', start, start + 4);
      const publish = span({ traceId: t.traceId, service: 'orders', name: 'publish orders', kind: 'producer', parentSpanId: post.spanId, startTime: start + 1, endTime: start + 3, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } });
      spans.push(...t.spans, publish);
      spans.push(span({ traceId: t.traceId, service: 'worker', name: 'orders process', kind: 'consumer', parentSpanId: publish.spanId, startTime: start + 3003, endTime: start + 3010, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } }));
    }
    spans.sort((x, y) => x.endTime - y.endTime);
    for (const s of spans) a.ingest(s);
    a.flush();
    const worker = a.snapshot().operations.find((o) => o.service === 'worker');
    expect(worker?.queue?.typical).toBeCloseTo(3000, 0);
    const restored = createAnalyzer();
    restored.restore(a.snapshot());
    expect(restored.snapshot().operations.find((o) => o.service === 'worker')?.queue).toEqual(worker?.queue);
    expect(a.stats().overflow.sent).toBe(0);
  });
});
