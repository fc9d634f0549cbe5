import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_OPERATION, LOOP_CPU_ATTRIBUTE, LOOP_HOST_LOAD_ATTRIBUTE, type Incident, type Span } from '../src/index.js';
import { openedBy } from './helpers/events.js';
import { span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const FROM_S = 240;
const TO_S = 252;

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
    const hold = held ? 120 : 20 + (s % 3);
    const attributes = { [LOOP_CPU_ATTRIBUTE]: held ? 12 : 15, [LOOP_HOST_LOAD_ATTRIBUTE]: held ? load : 0.3 };
    spans.push(span({ traceId: `loop-${s}`, service: 'api', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: t + 999 - hold, endTime: t + 999, attributes }));
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
