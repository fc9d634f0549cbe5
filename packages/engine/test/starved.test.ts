import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_OPERATION, LOOP_CPU_ATTRIBUTE, LOOP_HOST_LOAD_ATTRIBUTE, type Incident, type Span } from '../src/index.js';
import { openedBy } from './helpers/events.js';
import { span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const FROM_S = 240;
const TO_S = 252;

/** The plugin's sample of api's loop for the second from `t`: held `hold` ms, its process using `cpuMs`, on a host loaded `load` per CPU. */
function loopSample(traceId: string, t: number, hold: number, cpuMs: number, load: number): Span {
  const attributes = { [LOOP_CPU_ATTRIBUTE]: cpuMs, [LOOP_HOST_LOAD_ATTRIBUTE]: load };
  return span({ traceId, service: 'api', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: t + 999 - hold, endTime: t + 999, attributes });
}

/**
 * A service with the plugin's loop samples (one a second, with the CPU its process used and its host's load
 * per CPU) serving 20 requests a second for 6 minutes; from FROM_S to TO_S its loop is held 120 ms a tick
 * while the process uses 12 ms of CPU, its requests 4× slower, on a host loaded `load` per CPU: the incidents.
 */
function run(load: number): Incident[] {
  const spans: Span[] = [];
  for (let s = 0; s < 360; s++) {
    const t = T0 + s * 1000;
    const held = s >= FROM_S && s < TO_S;
    for (let i = 0; i < 20; i++) {
      const start = t + i * 50;
      const ms = (held ? 40 : 10) + (i % 5);
      spans.push(span({ traceId: `r-${s}-${i}`, service: 'api', name: 'GET /items', kind: 'server', startTime: start, endTime: start + ms, attributes: { 'http.request.method': 'GET', 'http.route': '/items' } }));
    }
    spans.push(loopSample(`loop-${s}`, t, held ? 120 : 20 + (s % 3), held ? 12 : 15, held ? load : 0.3));
  }
  spans.sort((a, b) => a.endTime - b.endTime);
  return openedBy(spans, 50);
}

describe('a process starved of CPU (its loop held while it hardly ran, on an overloaded host)', () => {
  it('opens no incident for a spell of seconds below high: the host is short of CPU, not the service', () => {
    // Before: "Latency in api event loop" (starved of CPU, as its sentence said).
    expect(run(3).map((i) => i.title)).toEqual([]);
  });

  it('the same hold on a host with CPU to spare is a synchronous wait of its own: an incident', () => {
    expect(run(0.5).map((i) => i.title)).toEqual([expect.stringMatching(/^Latency in api /)]);
  });
});

/**
 * The same service calling its database (2 ms a query) for 6 minutes; from FROM_S for 20 s the queries take
 * 8 ms (4×, a low slowdown) while its loop is free, on a host loaded `load` per CPU from 10 s before.
 */
function dbRun(load: number): Incident[] {
  const spans: Span[] = [];
  const spellEnd = FROM_S + 20;
  for (let s = 0; s < 360; s++) {
    const t = T0 + s * 1000;
    const slow = s >= FROM_S && s < spellEnd;
    for (let i = 0; i < 20; i++) {
      const start = t + i * 50;
      const q = (slow ? 8 : 2) * (1 + (i % 5) / 20);
      const traceId = `d-${s}-${i}`;
      const server = span({ traceId, spanId: `s-${s}-${i}`, service: 'api', name: 'GET /items', kind: 'server', startTime: start, endTime: start + 10 + q, attributes: { 'http.request.method': 'GET', 'http.route': '/items' } });
      spans.push(server, span({ traceId, parentSpanId: server.spanId, service: 'api', name: 'SELECT items', kind: 'client', startTime: start + 5, endTime: start + 5 + q, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'items' } }));
    }
    const loaded = s >= FROM_S - 10 && s < spellEnd + 20;
    spans.push(loopSample(`dl-${s}`, t, 21, 15, loaded ? load : 0.3));
  }
  spans.sort((a, b) => a.endTime - b.endTime);
  return openedBy(spans, 50);
}

describe('a low slowdown on a loaded host (more runnable threads than CPUs)', () => {
  it('opens no incident: the host slows every process and the database beside them (probe 16, in process)', () => {
    expect(dbRun(3).map((i) => i.title)).toEqual([]);
  });

  it('the same slowdown on a host with CPU to spare is an incident', () => {
    expect(dbRun(0.5).map((i) => i.title)).toEqual([expect.stringMatching(/^Latency in postgresql SELECT items/)]);
  });
});
