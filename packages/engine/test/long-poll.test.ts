/**
 * Long-polls whose clients go away. A gateway's `GET /events/poll` waits on the backend's `GET /events/next`
 * until an event comes or 25 s pass: its own time is a millisecond, the rest is the call. When a client
 * disconnects, the gateway's server span ends there (status OK), while its call waits on until the backend's
 * timeout, seconds later: the trace is released without it. Found live (a Fastify probe): the gateway's
 * "self time" of those polls read 18.4 s vs 0.8 ms, a critical incident blamed on the backend.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type IncidentEvent, type Span } from '../src/index.js';
import { mulberry32 } from './helpers/random.js';
import { ByEndSecond, span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);

describe('a long-poll whose client went away', () => {
  it('is no slowdown of its own time: the call it still waits on is not part of the request', () => {
    const a = createAnalyzer();
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    const rng = mulberry32(31);
    // Spans by the second their span ends (as exporters send them).
    const byEnd = new ByEndSecond(T0);
    const at = (s: Span) => byEnd.add(s);
    let id = 0;
    const poll = (start: number, waitMs: number, abortAfterMs?: number) => {
      const traceId = (++id).toString(16).padStart(32, '0');
      const server = span({ traceId, service: 'gateway', name: 'GET /events/poll', kind: 'server', startTime: start, endTime: start + (abortAfterMs ?? waitMs + 1.5), attributes: { 'http.request.method': 'GET', 'http.route': '/events/poll' } });
      const call = span({ traceId, service: 'gateway', name: 'GET', kind: 'client', parentSpanId: server.spanId, startTime: start + 0.5, endTime: start + waitMs + 1, attributes: { 'http.request.method': 'GET', 'server.address': 'backend', 'server.port': 80, 'url.full': 'http://backend/events/next' } });
      const next = span({ traceId, service: 'backend', name: 'GET /events/next', kind: 'server', parentSpanId: call.spanId, startTime: start + 0.7, endTime: start + waitMs + 0.8, attributes: { 'http.request.method': 'GET', 'http.route': '/events/next' } });
      for (const s of [server, call, next]) at(s);
      return server.endTime;
    };
    // Four clients polling for 10 minutes: an event within 100 ms a third of the time, else after up to 25 s.
    const SECONDS = 600;
    for (let c = 0; c < 4; c++) {
      let t = T0 + c * 700;
      while (t < T0 + (SECONDS - 30) * 1000) t = poll(t, rng() < 0.33 ? 20 + rng() * 80 : 2_000 + rng() * 23_000) + 5;
      // The client goes away 18 s into its last poll; the backend answers at its 25 s timeout.
      poll(t, 25_000, 18_000);
    }
    byEnd.feed(a, SECONDS);
    a.flush();
    expect(events.map((e) => `${e.type}: ${e.incident.title}: ${e.incident.rootCause.explanation}`)).toEqual([]);
  });
});
