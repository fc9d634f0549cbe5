import { describe, expect, it } from 'vitest';
import { ErrorRateDetector, errorSeverity } from '../../src/detectors/errors.js';
import { DEFAULT_BASELINE, DEFAULT_ERRORS } from '../../src/options.js';
import { binomial, mulberry32 } from '../helpers/random.js';
import { createAnalyzer } from '../../src/index.js';
import type { Span } from '../../src/types.js';

/** A detector that learned `windows` windows of n requests with exactly k errors each. */
function learned(n: number, k: number, windows = 100): ErrorRateDetector {
  const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
  for (let i = 0; i < windows; i++) d.learn(n, k);
  return d;
}

describe('ErrorRateDetector', () => {
  it('fires when 0.2% errors become 8% of 90 requests (sensitive rule)', () => {
    const d = learned(500, 1); // 0.2%
    expect(d.baseline.rate).toBeLessThan(0.003);
    const v = d.judge(90, 7);
    expect(v.anomalous).toBe(true);
    expect(v.observed).toBeCloseTo(7 / 90, 12);
    expect(v.pValue).toBeLessThan(DEFAULT_ERRORS.sensitivePMax);
    expect(v.score).toBeGreaterThan(5);
    expect(v.severity).toBe('medium'); // 7.8%: ≥ 5%
    expect(learned(2000, 1).judge(500, 20)).toMatchObject({ anomalous: true, severity: 'low' }); // 4%
    expect(d.judge(90, 3).anomalous).toBe(false); // fewer than sensitiveMinErrors
  });

  it('never fires on a 1% background over 2000 windows of 30', () => {
    const rng = mulberry32(21);
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    let alarms = 0;
    let errors = 0;
    for (let t = 0; t < 2000; t++) {
      const k = binomial(rng, 30, 0.01);
      errors += k;
      if (d.observe(t, 30, k).anomalous) alarms++;
    }
    expect(errors).toBeGreaterThan(400); // the background really had errors
    expect(alarms).toBe(0);
    expect(d.lastT).toBe(1999);
  });

  it('fires on a low-traffic operation failing all 6 requests once ready', () => {
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    expect(d.judge(6, 6)).toMatchObject({ anomalous: false, ready: false });
    for (let i = 0; i < 10; i++) d.learn(2, 0);
    const v = d.judge(6, 6);
    expect(v).toMatchObject({ anomalous: true, ready: true, severity: 'critical', observed: 1 });
  });

  it('does not fire at 30% on an operation that usually fails 25% of requests', () => {
    const d = learned(30, 7.5, 500);
    expect(d.baseline.rate).toBeGreaterThan(0.23);
    for (const n of [10, 30, 100, 360]) expect(d.judge(n, 0.3 * n).anomalous).toBe(false);
    // A real jump still fires.
    expect(d.judge(30, 21).anomalous).toBe(true);
  });

  it('does not fire on a rare operation that has failed every time so far (the prior only pulls its p0 down)', () => {
    const d = learned(1, 1, 7); // seven reconnects, each refused
    expect(d.baseline.ready).toBe(true);
    expect(d.baseline.rate).toBeLessThan(0.3);
    expect(d.judge(12, 12)).toMatchObject({ anomalous: false, observed: 1, expected: 1 });
    // Its first failures after successes still fire.
    expect(learned(1, 0, 7).judge(12, 12).anomalous).toBe(true);
  });

  it('takes a latest part with no error among at least minRequests as recovered, even on a 0% baseline', () => {
    const d = learned(100, 0, 50);
    expect(d.baseline.observed).toBe(0);
    expect(d.recovered(DEFAULT_ERRORS.minRequests, 0)).toBe(true);
    expect(d.recovered(DEFAULT_ERRORS.minRequests - 1, 0)).toBe(false);
    expect(d.recovered(100, 1)).toBe(false);
    // Above a 0% baseline: a latest part failing less often than usual.
    expect(learned(100, 10).recovered(100, 2)).toBe(true);
  });

  it('applies the rate rule with at least 5 requests and 4 errors', () => {
    const d = learned(100, 0, 50); // no errors seen: p0 ≈ 0.1%
    expect(d.judge(19, 4)).toMatchObject({ anomalous: true, severity: 'high' }); // 21%: the prototype's spike
    expect(d.judge(5, 4).anomalous).toBe(true);
    // Three errors in a row on a quiet route: a blip, however unlikely one at a time.
    expect(d.judge(11, 3).anomalous).toBe(false);
    expect(d.mayFire(11, 3)).toBe(false);
  });

  it('learns each bucket a ring later once ready, unless an anomaly fired meanwhile', () => {
    const d = learned(100, 1, 50); // 1%
    const before = d.baseline.toJSON();
    d.learnBucket(100, 10, 3, 12);
    d.learnBucket(101, 10, 0, 12);
    expect(d.baseline.toJSON()).toEqual(before);
    d.learnBucket(111, 10, 1, 12); // bucket 100 is not a ring old yet
    expect(d.baseline.samples).toBe(before.samples);
    d.learnBucket(112, 10, 0, 12); // 100 is now: learned; 101 waits a bucket more
    expect(d.baseline.samples).toBe(before.samples + 10);
    d.learnBucket(113, 10, 0, 12);
    expect(d.baseline.samples).toBe(before.samples + 20);
    // Buckets an anomaly fired on are part of it, never learned.
    d.learnBucket(120, 10, 3, 12);
    d.forgetHeld();
    const after = d.baseline.samples;
    d.learnBucket(132, 10, 0, 12); // 111, 112 and 113 were forgotten with 120
    expect(d.baseline.samples).toBe(after);
    d.learnBucket(144, 10, 0, 12);
    expect(d.baseline.samples).toBe(after + 10);
  });

  it('learns every bucket at once until ready: an operation is learned from its start, failures and all', () => {
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    d.learnBucket(0, 10, 10, 12);
    expect(d.baseline.samples).toBe(10);
    expect(d.baseline.observed).toBe(1);
  });

  it("holds buckets back only 15 s until the rate is known: a busy operation's steady 5 % is its normal, not an incident", () => {
    // HotROD's simulated Redis: 20 calls/s, 5 % time out (retried). The first bucket had 1 error in 71 calls;
    // held back a ring from that baseline, the first minute's windows fired, nothing was learned while they
    // did, and the operation's usual errors were an incident for good.
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    const rand = mulberry32(3);
    const buckets: Array<[number, number]> = [[71, 1]];
    for (let i = 1; i < 96; i++) buckets.push([100, binomial(rand, 100, 0.05)]);
    let fired = 0;
    for (let i = 0; i < buckets.length; i++) {
      let requests = 0;
      let errors = 0;
      for (let j = Math.max(0, i - 11); j <= i; j++) [requests, errors] = [requests + buckets[j][0], errors + buckets[j][1]];
      if (d.judge(requests, errors).anomalous) {
        fired++;
        d.forgetHeld();
      } else d.learnBucket(i, buckets[i][0], buckets[i][1], 12);
    }
    expect(fired).toBe(0);
    expect(d.baseline.observed).toBeGreaterThan(0.04);
  });

  it("holds a sparse route's buckets back a ring once it has learned a third of a ring's requests", () => {
    // Two requests a bucket, none failed: too few to know its rate to within 2 points, but a minute's window
    // holds fewer requests than it learned; its errors must not be learned while they gather.
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    for (let i = 0; i < 20; i++) d.learnBucket(i, 2, 0, 12);
    d.learnBucket(20, 2, 2, 12);
    for (let i = 21; i < 32; i++) d.learnBucket(i, 2, 0, 12);
    expect(d.baseline.observed).toBe(0);
    d.learnBucket(32, 2, 0, 12);
    expect(d.baseline.observed).toBeGreaterThan(0);
  });

  it('catches a small steady rise that would lift a baseline learned as it came (8 % on a 0.2 % route)', () => {
    // ~17 requests per 5 s bucket, one error in most buckets: no bucket is unlikely on its own.
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    let i = 0;
    for (; i < 200; i++) d.learnBucket(i, 17, i % 30 === 0 ? 1 : 0, 12); // ~0.2 %
    const window = { requests: 0, errors: 0 };
    let fired = false;
    for (let k = 0; k < 12 && !fired; k++, i++) {
      const errors = k % 3 === 2 ? 2 : 1; // 16 errors in 204 requests: 7.8 %
      window.requests += 17;
      window.errors += errors;
      fired = d.judge(window.requests, window.errors).anomalous;
      if (!fired) d.learnBucket(i, 17, errors, 12);
    }
    expect(fired).toBe(true);
  });

  it('tests against what its baseline knows: no error in 500 requests is no proof of a rate under 0.5 %', () => {
    // An operation failing 0.5 % of the time goes 500 requests without one 8 % of the time; then 7 of the
    // next 232 (3 %) are a chance in 10⁴ at 0.5 %, not the p < 1e-7 the estimate (0.1 %) gives them.
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    d.learn(500, 0);
    expect(d.baseline.sf(7, 232)).toBeLessThan(1e-7);
    expect(d.judge(232, 7).anomalous).toBe(false);
    // A fault is another matter: 30 of 232.
    expect(d.judge(232, 30).anomalous).toBe(true);
  });

  it('tells a window larger than its memory from it by the conditional test: a busy route\'s young baseline', () => {
    // A steady 5 %: its first 513 requests happened to hold 13 errors (2.5 %); its next minute, 293 of 5823.
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    d.learn(513, 13);
    expect(d.baseline.sf(293, 5823, d.baseline.upperRate)).toBeLessThan(1e-5);
    expect(d.judge(5823, 293).anomalous).toBe(false);
    // Twice the rate in as large a window is another matter.
    expect(d.judge(5823, 600).anomalous).toBe(true);
  });

  it('is quiet on an empty window and before any request was learned', () => {
    const d = learned(30, 0);
    expect(d.judge(0, 0)).toMatchObject({ anomalous: false, pValue: 1, score: 0 });
    const fresh = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    expect(fresh.judge(9, 9).anomalous).toBe(false);
    expect(fresh.mayFire(9, 9)).toBe(false);
  });

  it('applies only the rate rule before minSamples: two answers before an outage are a baseline of 0%', () => {
    const d = learned(1, 0, 2); // a pool's two connects at start-up
    expect(d.baseline.ready).toBe(false);
    expect(d.mayFire(108, 108)).toBe(true);
    expect(d.judge(108, 108)).toMatchObject({ anomalous: true, observed: 1, expected: 0, severity: 'critical', ready: false });
    // The sensitive rule (15 %: below the spike rule's rate) waits for minSamples.
    expect(d.mayFire(200, 30)).toBe(false);
    expect(d.judge(200, 30).anomalous).toBe(false);
    expect(learned(1, 0, DEFAULT_BASELINE.minSamples).mayFire(200, 30)).toBe(true);
    // It fires once the baseline bounds the usual rate well below 15 % (ten requests without an error do not).
    expect(learned(1, 0, DEFAULT_BASELINE.minSamples).judge(200, 30).anomalous).toBe(false);
    expect(learned(1, 0, 100).judge(200, 30).anomalous).toBe(true);
    // Failures from the start say nothing of a change.
    expect(learned(1, 1, 2).judge(108, 108).anomalous).toBe(false);
  });

  it('observe learns normal windows only', () => {
    const d = learned(30, 0, 10);
    d.observe(1, 20, 20);
    expect(d.baseline.samples).toBe(300);
    d.observe(2, 20, 0);
    expect(d.baseline.samples).toBe(320);
  });

  it('learns how errors bunch: a failing bucket of 3 in a row is 3 times what independent errors give', () => {
    const rng = mulberry32(5);
    const bunched = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    const single = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    for (let i = 0; i < 2000; i++) {
      bunched.learn(10, rng() < 0.033 ? 3 : 0); // 1% of requests, in runs of 3
      single.learn(10, binomial(rng, 10, 0.01));
    }
    expect(bunched.baseline.runs.value).toBeGreaterThan(2.5);
    expect(bunched.baseline.runs.value).toBeLessThan(3.5);
    expect(single.baseline.runs.value).toBeLessThan(1.2);
    // Two runs in 15 s: a spike for independent errors, not for runs.
    expect(single.judge(27, 6).anomalous).toBe(true);
    expect(bunched.judge(27, 6).anomalous).toBe(false);
    // An outage is one whatever the runs.
    expect(bunched.judge(10, 10)).toMatchObject({ anomalous: true, severity: 'critical' });
  });

  it('round-trips its baseline and run length through JSON; an older snapshot counts errors as independent', () => {
    const d = learned(40, 1, 20);
    for (let i = 0; i < 50; i++) d.learn(10, i % 10 === 0 ? 4 : 0);
    expect(d.baseline.runs.value).toBeGreaterThan(1.5);
    const e = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    e.restore(JSON.parse(JSON.stringify(d.toJSON())));
    expect(e.baseline.runs.value).toBe(d.baseline.runs.value);
    expect(e.judge(30, 5)).toEqual(d.judge(30, 5));
    const { runs: _runs, runBuckets: _buckets, ...older } = d.toJSON();
    const o = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    o.restore(older);
    expect(o.baseline.runs.value).toBe(1);
  });
});

describe('error windows once the errors stop', () => {
  /** 20 requests/s of one route failing until `fixedAt` (ms after the start), answering after it; the anomalies fired. */
  function run(failFrom: number, fixedAt: number, endAt: number) {
    const analyzer = createAnalyzer();
    const fired: string[] = [];
    analyzer.onAnomaly((a) => fired.push(a.explanation));
    const t0 = 1_700_000_000_000;
    let n = 0;
    for (let at = t0; at < t0 + endAt; at += 50) {
      const fail = at >= t0 + failFrom && at < t0 + fixedAt;
      const id = (++n).toString(16).padStart(16, '0');
      const span: Span = { traceId: id + id, spanId: id, service: 'catalog', name: 'GET', kind: 'server', startTime: at, endTime: at + 2, status: fail ? 'error' : 'unset', attributes: { 'http.request.method': 'GET', 'http.route': '/p/:id', 'http.response.status_code': fail ? 500 : 200 } };
      analyzer.ingest([span]);
    }
    analyzer.flush();
    return { fired, incidents: analyzer.incidents() };
  }

  it('open nothing when an operation that failed from the start recovers', () => {
    // Its baseline learned the failures as its normal, then the recovery: a minute's window holding both read
    // as a rise over it ("73% vs baseline 67%") and opened an incident 15 s after the errors stopped.
    const { fired, incidents } = run(0, 120_000, 210_000);
    expect(fired).toEqual([]);
    expect(incidents).toEqual([]);
  });

  it('still fire on errors that begin after a healthy start, however the windows run', () => {
    const { incidents } = run(120_000, 150_000, 240_000);
    expect(incidents.map((i) => i.title)).toEqual(['Errors in catalog GET /p/:id']);
  });
});

describe('errorSeverity', () => {
  it("tiers as the prototype: ≥ 50 % critical, above its 20 % spike rule high, medium from 5 %", () => {
    expect(errorSeverity(0.049)).toBe('low');
    expect(errorSeverity(0.05)).toBe('medium');
    expect(errorSeverity(0.2)).toBe('medium');
    expect(errorSeverity(0.21)).toBe('high');
    expect(errorSeverity(0.49)).toBe('high');
    expect(errorSeverity(0.5)).toBe('critical');
  });
});
