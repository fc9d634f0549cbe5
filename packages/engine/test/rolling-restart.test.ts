/**
 * A rolling restart of a service whose long-polls query the database once they are answered. A process that
 * stops answers its polls in flight at once, without that query: found live (probe 14), each step of a
 * two-instance rolling restart opened a "Call pattern change in api GET /events/poll" incident, and so did
 * stopping the whole fleet.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type IncidentEvent, type Span } from '../src/index.js';
import { mulberry32 } from './helpers/random.js';
import { ByEndSecond, span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

interface Instance {
  id: string;
  version: string;
  /** When it serves from and until (its polls in flight then end at once, without their query). */
  from: number;
  until: number;
  /** New code that never queries. */
  skips?: boolean;
}

/** Trace ids of the polls that made no query (see {@link run}). */
const skipped = new Set<string>();

function run(instances: Instance[]): IncidentEvent[] {
  skipped.clear();
  const a = createAnalyzer();
  const events: IncidentEvent[] = [];
  a.onIncident((e) => events.push(e));
  const rng = mulberry32(7);
  // Spans by the second their span ends (as exporters send them).
  const byEnd = new ByEndSecond(T0);
  const at = (s: Span) => byEnd.add(s);
  let id = 0;
  const END = 12 * MIN;
  for (const inst of instances) {
    // Sixteen clients per instance, each polling again as soon as it is answered.
    for (let c = 0; c < 16; c++) {
      let t = inst.from + c * 300;
      while (t < Math.min(inst.until, T0 + END)) {
        const wait = 2000 + rng() * 18_000;
        const cut = t + wait > inst.until;
        const end = cut ? inst.until : t + wait;
        const traceId = (++id).toString(16).padStart(32, '0');
        const res = { service: 'api', version: inst.version, instance: inst.id };
        const server = span({ traceId, ...res, name: 'GET /events/poll', kind: 'server', startTime: t, endTime: end + 2, attributes: { 'http.request.method': 'GET', 'http.route': '/events/poll', 'http.response.status_code': cut ? 204 : 200 } });
        at(server);
        if (cut || inst.skips) skipped.add(traceId);
        else {
          at(span({ traceId, ...res, name: 'pg-pool.connect', kind: 'internal', parentSpanId: server.spanId, startTime: end, endTime: end + 0.1 }));
          at(span({ traceId, ...res, name: 'SELECT orders', kind: 'client', parentSpanId: server.spanId, startTime: end + 0.2, endTime: end + 1.5, attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'orders' } }));
        }
        t = end + 5;
      }
    }
  }
  byEnd.feed(a, 12 * 60);
  a.flush();
  return events;
}

describe('a rolling restart', () => {
  it('of two instances, 30 s apart: the polls each stopping process cut short open no incident', () => {
    const events = run([
      { id: 'api-1', version: '1.0.0', from: T0, until: T0 + 6 * MIN },
      { id: 'api-1b', version: '1.0.0', from: T0 + 6 * MIN + 1000, until: Infinity },
      { id: 'api-2', version: '1.0.0', from: T0 + 300, until: T0 + 6 * MIN + 30_000 },
      { id: 'api-2b', version: '1.0.0', from: T0 + 6 * MIN + 31_000, until: Infinity },
    ]);
    expect(events.map((e) => `${e.type}: ${e.incident.title}: ${e.incident.rootCause.explanation}`)).toEqual([]);
  });

  it('of the whole fleet stopping for good: its polls cut short open no call-pattern incident', () => {
    const events = run([
      { id: 'api-1', version: '1.0.0', from: T0, until: T0 + 10 * MIN },
      { id: 'api-2', version: '1.0.0', from: T0 + 300, until: T0 + 10 * MIN },
    ]);
    // Its traffic stopped: that is reported (see drop-resolve.test), not as a change of call pattern.
    expect(events.filter((e) => e.incident.rootCause.kind === 'shape').map((e) => `${e.type}: ${e.incident.title}: ${e.incident.rootCause.explanation}`)).toEqual([]);
  });

  it('to new code that no longer queries: a call-pattern incident, once past the restart', () => {
    const events = run([
      { id: 'api-1', version: '1.0.0', from: T0, until: T0 + 6 * MIN },
      { id: 'api-1b', version: '1.1.0', from: T0 + 6 * MIN + 1000, until: Infinity, skips: true },
      { id: 'api-2', version: '1.0.0', from: T0 + 300, until: T0 + 6 * MIN + 30_000 },
      { id: 'api-2b', version: '1.1.0', from: T0 + 6 * MIN + 31_000, until: Infinity, skips: true },
    ]);
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened).toHaveLength(1);
    expect(opened[0].incident).toMatchObject({ title: 'Call pattern change in api GET /events/poll', rootCause: { service: 'api', operation: 'GET /events/poll', kind: 'shape' } });
    expect(opened[0].incident.openedAt).toBeLessThan(T0 + 7 * MIN);
    // Its examples are requests that skipped the call (not the slowest polls, which made it).
    const shape = opened[0].incident.anomalies.find((x) => x.signal === 'shape.missing-call');
    expect(shape?.traceIds.length).toBeGreaterThan(0);
    for (const t of shape!.traceIds) expect(skipped.has(t), t).toBe(true);
    expect(opened[0].incident.traceIds).toEqual(expect.arrayContaining(shape!.traceIds));
  });
});
