/** Errors of one process of several (a canary's or a bad pod's bug) name that process, as a tail slowdown does. */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly } from '../src/index.js';
import { SHOP_START, batches } from './helpers/shop.js';
import { span } from './helpers/spans.js';
import type { Span } from '../src/types.js';

const MIN = 60_000;

/** 14 minutes of api `GET /articles/:slug` at 30 req/s over three processes; request `i` at `t` fails when `fails(i, t)`. */
function run(fails: (i: number, t: number) => boolean, instance: (i: number) => string) {
  const spans: Span[] = [];
  for (let i = 0; i < 14 * 60 * 30; i++) {
    const t = SHOP_START + Math.round(i * (1000 / 30));
    const error = fails(i, t);
    spans.push(
      span({
        service: 'api',
        instance: instance(i),
        name: 'GET /articles/:slug',
        kind: 'server',
        startTime: t,
        endTime: t + 5 + (i % 7),
        status: error ? 'error' : 'unset',
        attributes: { 'http.request.method': 'GET', 'http.route': '/articles/:slug', 'http.response.status_code': error ? 500 : 200 },
      }),
    );
  }
  const analyzer = createAnalyzer();
  const anomalies: Anomaly[] = [];
  analyzer.onAnomaly((a) => anomalies.push(a));
  for (const b of batches(spans, 50)) analyzer.ingest(b);
  analyzer.flush();
  return { anomalies: anomalies.filter((a) => a.kind === 'errors'), incidents: analyzer.incidents() };
}

describe('errors of one instance of several', () => {
  // From minute 10, 30 % of the requests api-2 serves fail (a tenth of all): probe 7's bad deploy of one of two processes.
  const fails = (i: number, t: number) => t >= SHOP_START + 10 * MIN && i % 3 === 2 && i % 10 < 3;

  it('name it in the anomaly and in the root-cause sentence', () => {
    const { anomalies, incidents } = run(fails, (i) => `api-${i % 3}`);
    expect(anomalies.length).toBeGreaterThan(0);
    for (const a of anomalies) {
      expect(a.instance).toBe('api-2');
      expect(a.explanation).toMatch(/^api GET \/articles\/:slug error rate \d+(\.\d)?% \(\d+\/\d+\) vs baseline 0%, (\d+) of them on instance "api-2" \(one of 3\)/);
    }
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause.explanation).toMatch(/; its failing requests ran on instance "api-2"/);
  });

  it("name it once when the root's latest figures already did", () => {
    // api-2 fails every request for 5 s, then 30 %: the worst window leads, the latest figures name api-2.
    const burst = (i: number, t: number) => t >= SHOP_START + 10 * MIN && i % 3 === 2 && (t < SHOP_START + 10 * MIN + 5000 || i % 10 < 3);
    const { incidents } = run(burst, (i) => `api-${i % 3}`);
    expect(incidents).toHaveLength(1);
    const told = incidents[0].rootCause.explanation;
    expect(told).toMatch(/; latest: api GET \/articles\/:slug error rate .*, \d+ of them on instance "api-2" \(one of 3\)/);
    expect(told.match(/instance "api-2"/g)).toHaveLength(1);
  });

  it('name none that only served most of the requests, failing as the others did', () => {
    // api-1 serves nine in ten requests; from minute 10 both fail a third of theirs.
    const { anomalies } = run((i, t) => t >= SHOP_START + 10 * MIN && i % 3 === 0, (i) => (i % 10 === 9 ? 'api-2' : 'api-1'));
    expect(anomalies.length).toBeGreaterThan(0);
    for (const a of anomalies) {
      expect(a.instance).toBeUndefined();
      expect(a.explanation).not.toMatch(/on instance/);
    }
  });

  it('count the processes running in the window, not those stopped before it', () => {
    // Three processes until minute 9, replaced by three others (a restart); api-b2 fails from minute 10.
    const instance = (i: number) => `api-${i < 9 * 60 * 30 ? 'a' : 'b'}${i % 3}`;
    const { anomalies } = run((i, t) => t >= SHOP_START + 10 * MIN && i % 3 === 2 && i % 10 < 3, instance);
    expect(anomalies.length).toBeGreaterThan(0);
    for (const a of anomalies) expect(a.explanation).toMatch(/of them on instance "api-b2" \(one of 3\)/);
  });

  it('name none when the failures are spread over the processes', () => {
    const { anomalies } = run(fails, (i) => `api-${Math.floor(i / 3) % 3}`);
    expect(anomalies.length).toBeGreaterThan(0);
    for (const a of anomalies) {
      expect(a.instance).toBeUndefined();
      expect(a.explanation).not.toMatch(/on instance/);
    }
  });
});
