/**
 * How long messages wait in their queue, on healthy patterns that make them wait: a batch enqueued at once
 * every minute (a cron's emails), a consumer that polls. None is a backlog to report.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type AttributeValue, type Span } from '../src/index.js';
import { watch } from './helpers/events.js';
import { TraceBuilder, span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);

/**
 * A message sent by `service`'s request at `start`, taken by the worker at `takenAt`, handled in `ms`; with
 * `retries`, its attempts fail but the last, and BullMQ runs it again at each of those times (after a backoff).
 */
function message(out: Span[], start: number, takenAt: number, ms: number, route = '/orders', retries: readonly number[] = [], job: Job = {}): void {
  const t = new TraceBuilder();
  const post = t.server('api', route, start, start + 4);
  const queue = { 'bullmq.queue.name': 'jobs' };
  const publish = span({ traceId: t.traceId, service: 'api', name: 'add jobs', kind: 'producer', parentSpanId: post.spanId, startTime: start + 1, endTime: start + 3, attributes: queue });
  out.push(...t.spans, publish);
  const attempts = job.attempts ?? ((n: number) => ({ 'bullmq.job.attempts.made': n }));
  const attempt = (at: number, n: number, failed: boolean) =>
    span({ traceId: t.traceId, service: 'worker', name: 'process jobs', kind: 'consumer', parentSpanId: publish.spanId, startTime: at, endTime: at + ms, status: failed ? 'error' : undefined, attributes: { ...queue, ...attempts(n), ...job.attributes } });
  const times = [takenAt, ...retries];
  times.forEach((at, i) => out.push(attempt(at, i + 1, i < times.length - 1)));
}

/** How the worker's instrumentation tells a job's attempt (`n`: 1 the first), and what else it says of the job. */
interface Job {
  attempts?: (n: number) => Record<string, AttributeValue>;
  attributes?: Record<string, AttributeValue>;
}

/** Spans fed as they end, a second at a time, the clock driven. */
function feed(spans: Span[], seconds: number): { events: ReturnType<typeof watch>; anomalies: Anomaly[] } {
  const a = createAnalyzer();
  const events = watch(a);
  const anomalies: Anomaly[] = [];
  a.onAnomaly((x) => anomalies.push(x));
  spans.sort((x, y) => x.endTime - y.endTime);
  let at = 0;
  for (let s = 1; s <= seconds; s++) {
    const batch: Span[] = [];
    while (at < spans.length && spans[at].endTime <= T0 + s * 1000) batch.push(spans[at++]);
    a.ingest(batch);
    a.advanceTo(T0 + s * 1000);
  }
  return { events, anomalies };
}

describe('healthy waits in a queue', () => {
  it('a batch of 100 messages enqueued each minute beside a steady trickle, drained in 5 s: nothing opens', () => {
    const spans: Span[] = [];
    const MIN = 20;
    let freeAt = 0;
    for (let s = 0; s < MIN * 60; s++) {
      // Two a second, taken at once.
      for (let i = 0; i < 2; i++) {
        const start = T0 + s * 1000 + i * 500;
        const takenAt = Math.max(start + 8, freeAt);
        freeAt = takenAt + 50;
        message(spans, start, takenAt, 45);
      }
      if (s % 60 === 30) {
        // The cron's batch: one worker takes them one after another, 50 ms each.
        const start = T0 + s * 1000 + 250;
        for (let i = 0; i < 100; i++) {
          const takenAt = Math.max(start + 8, freeAt);
          freeAt = takenAt + 50;
          message(spans, start, takenAt, 45, '/cron/emails');
        }
      }
    }
    const { events, anomalies } = feed(spans, MIN * 60);
    expect(events.filter((e) => e.type === 'opened').map((e) => e.incident.title)).toEqual([]);
    // Not even an anomaly: each batch waited up to 5 s, and was gone in a bucket or two.
    expect(anomalies.filter((x) => x.signal === 'latency.queue')).toEqual([]);
  });

  it('a consumer that polls every 2 s (each message waits up to a poll), some polls late by a second: nothing', () => {
    const spans: Span[] = [];
    const MIN = 15;
    let poll = T0;
    let late = 0;
    for (let s = 0; s < MIN * 60; s++) {
      for (let i = 0; i < 5; i++) {
        const start = T0 + s * 1000 + i * 200;
        // Taken at the first poll after it was sent; every seventh poll comes a second late (a GC, a busy host).
        while (poll < start + 3) poll += 2000 + (++late % 7 === 0 ? 1000 : 0);
        message(spans, start, poll + 2 * (i % 5), 20);
      }
    }
    const { events, anomalies } = feed(spans, MIN * 60);
    expect(events.filter((e) => e.type === 'opened')).toEqual([]);
    expect(anomalies.filter((x) => x.signal === 'latency.queue')).toEqual([]);
  });

  // BullMQ's own telemetry counts the attempt a job is on (`attempts.made`, `attempts_made` in its newer
  // names); the community instrumentations (`messaging.bullmq.*`) the attempts made before it.
  const conventions: Record<string, Job['attempts']> = {
    'bullmq.job.attempts.made': (n) => ({ 'bullmq.job.attempts.made': n }),
    'bullmq.job.attempts_made': (n) => ({ 'bullmq.job.attempts_made': n }),
    'messaging.bullmq.job.attempts': (n) => ({ 'messaging.bullmq.job.attempts': n - 1 }),
  };
  for (const [name, attempts] of Object.entries(conventions)) {
    it(`jobs retried after backoffs of 10 and 30 s (${name}) waited their backoff, not the queue: no queue wait fires`, () => {
      const spans: Span[] = [];
      const MIN = 6;
      for (let s = 0; s < MIN * 60; s++) {
        for (let i = 0; i < 5; i++) {
          const start = T0 + s * 1000 + i * 200;
          // From minute 3, every job fails twice: it runs again 10 s later, then 30 s later (most attempts are retries).
          message(spans, start, start + 8, 20, '/orders', s >= 180 ? [start + 10_000, start + 30_000] : [], { attempts });
        }
      }
      const { anomalies } = feed(spans, MIN * 60);
      expect(anomalies.filter((x) => x.signal === 'latency.queue')).toEqual([]);
      // The failures themselves are seen.
      expect(anomalies.map((x) => `${x.service} ${x.signal}`)).toContain('worker errors');
    });
  }

  it('delayed jobs (the community instrumentation\'s messaging.bullmq.job.delay) waited their delay, not the queue: nothing opens', () => {
    const spans: Span[] = [];
    const MIN = 6;
    const attempts = conventions['messaging.bullmq.job.attempts'];
    for (let s = 0; s < MIN * 60; s++) {
      for (let i = 0; i < 5; i++) {
        const start = T0 + s * 1000 + i * 200;
        // From minute 3 (a deploy), every job is held 5 s before it runs (a debounce): taken when it is due.
        const delay = s >= 180 ? 5_000 : 0;
        message(spans, start, start + 8 + delay, 20, '/orders', [], { attempts, attributes: { 'messaging.bullmq.job.delay': delay } });
      }
    }
    const { events, anomalies } = feed(spans, MIN * 60);
    expect(anomalies.filter((x) => x.signal === 'latency.queue')).toEqual([]);
    expect(events.filter((e) => e.type === 'opened')).toEqual([]);
  });
});
