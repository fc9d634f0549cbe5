/**
 * Failed calls their requests survived. Found live (a Fastify probe): an external vendor answering 429 to a
 * third of the calls, each retried after a backoff and answered, users getting their 200s, opened a high
 * errors incident; a callee's 2-s restart that the caller covered with a fallback, a critical one. The
 * failures are real and told, at the severity of what the requests felt.
 */
import { describe, expect, it } from 'vitest';
import type { Anomaly, IncidentEvent, Span } from '../src/index.js';
import { replayRequests } from './helpers/events.js';
import { hexId, span } from './helpers/spans.js';
import { logNormal, type Rng } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);

/**
 * gateway's GET /quote: calls the vendor (uninstrumented), which fails a `limited` share of the calls; on a
 * failure the request `retry`s once 200 ms later (answered), falls back on a cached rate, or `fail`s (502).
 */
function quote(rng: Rng, at: number, limited: number, onFailure: 'retry' | 'fallback' | 'fail'): Span[] {
  const retries = onFailure === 'retry';
  const traceId = hexId(32);
  const calls: Array<[number, number, number]> = [];
  let t = at + 1;
  let answered = false;
  for (let attempt = 1; attempt <= (retries ? 2 : 1) && !answered; attempt++) {
    // The vendor lets the retry through: its limit is per second.
    answered = attempt > 1 || rng() >= limited;
    const took = logNormal(rng, answered ? 40 : 3, 0.3);
    calls.push([t, t + took, answered ? 200 : 429]);
    t += took + (answered ? 0 : 200);
  }
  const end = t + logNormal(rng, 2, 0.3);
  const server = span({
    traceId,
    service: 'gateway',
    name: 'GET /quote',
    kind: 'server',
    startTime: at,
    endTime: end,
    status: answered || onFailure === 'fallback' ? 'unset' : 'error',
    attributes: { 'http.request.method': 'GET', 'http.route': '/quote', 'http.response.status_code': answered || onFailure === 'fallback' ? 200 : 502 },
  });
  const out = [server];
  for (const [start, stop, status] of calls) {
    out.push(
      span({
        traceId,
        parentSpanId: server.spanId,
        service: 'gateway',
        name: 'POST',
        kind: 'client',
        startTime: start,
        endTime: stop,
        status: status >= 400 ? 'error' : 'unset',
        attributes: { 'http.request.method': 'POST', 'server.address': 'api.vendor.example', 'server.port': 443, 'url.full': 'https://api.vendor.example/v1/rates', 'http.response.status_code': status },
      }),
    );
  }
  return out;
}

/** 5 requests/s for 3 minutes; the vendor fails `share` of the calls over [from, to) ms. */
function run(onFailure: 'retry' | 'fallback' | 'fail', share = 1 / 3, from = 120_000, to = 180_000): { events: IncidentEvent[]; anomalies: Anomaly[] } {
  return replayRequests({ seed: 5, start: T0, durationMs: 180_000, rps: 5 }, (rng, at) => quote(rng, at, at - T0 >= from && at - T0 < to ? share : 0, onFailure));
}

describe('failed calls whose requests succeeded all the same', () => {
  it('a vendor rate-limiting calls that a retry gets past: told, at low severity, saying so', () => {
    const { events, anomalies } = run('retry');
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.map((e) => e.incident.title)).toEqual(['Errors in api.vendor.example POST /v1/rates']);
    const vendor = anomalies.filter((a) => a.kind === 'errors' && a.service === 'api.vendor.example');
    expect(vendor.length).toBeGreaterThan(0);
    // Every 429 was retried and answered: the rate is the vendor's, the severity what the users felt.
    for (const a of vendor) {
      expect(a.observed).toBeGreaterThan(0.2);
      expect(a.severity).toBe('low');
      expect(a.explanation).toMatch(/, all \d+ retried or handled \(their callers' requests succeeded\)/);
    }
    const last = events[events.length - 1].incident;
    expect(last.severity).toBe('low');
    expect(last.rootCause.explanation).toMatch(/error rate \d+% \(\d+\/\d+\) vs baseline 0% *, all \d+ retried or handled/);
    expect(anomalies.filter((a) => a.service === 'gateway')).toEqual([]);
  });

  it('the same 429s answered to the users: as severe as their rate', () => {
    const { events, anomalies } = run('fail');
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.length).toBe(1);
    expect(opened[0].incident.rootCause.service).toBe('api.vendor.example');
    expect(events[events.length - 1].incident.severity).toBe('high');
    const vendor = anomalies.filter((a) => a.kind === 'errors' && a.service === 'api.vendor.example');
    expect(vendor.length).toBeGreaterThan(0);
    for (const a of vendor) expect(a.explanation).not.toMatch(/retried or handled/);
  });

  it("a callee's 2-s restart that the caller covers with a fallback: low, not critical", () => {
    const { events, anomalies } = run('fallback', 1, 120_000, 122_000);
    const vendor = anomalies.filter((a) => a.kind === 'errors' && a.service === 'api.vendor.example');
    expect(vendor.length).toBeGreaterThan(0);
    for (const a of vendor) expect(a.severity).toBe('low');
    expect(events.filter((e) => e.type === 'opened').every((e) => e.incident.severity === 'low')).toBe(true);
    // Not covered, the same 2 s are as severe as their rate.
    const failed = run('fail', 1, 120_000, 122_000).anomalies.filter((a) => a.kind === 'errors' && a.service === 'api.vendor.example');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.map((a) => a.severity)).not.toContain('low');
  });
});
