import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LogBaseline, ProportionBaseline, RateBaseline, ShareBaseline, logMs } from '../../src/stats/baseline.js';
import { DEFAULT_BASELINE } from '../../src/options.js';
import { binomial, logNormal, mulberry32, poisson } from '../helpers/random.js';
import { logWindowOf } from '../../src/detectors/latency.js';

describe('LogBaseline', () => {
  it('converges to the log-normal median and sigma on stationary input', () => {
    const rng = mulberry32(11);
    const b = new LogBaseline(DEFAULT_BASELINE);
    for (let i = 0; i < 500; i++) {
      const w = logWindowOf(Array.from({ length: 30 }, () => logNormal(rng, 80, 0.5)));
      b.learn(w.n, w.sumLog, w.sumLogSq);
    }
    expect(b.typical / 80).toBeGreaterThan(0.95);
    expect(b.typical / 80).toBeLessThan(1.05);
    expect(b.sd).toBeGreaterThan(0.45);
    expect(b.sd).toBeLessThan(0.55);
    expect(b.samples).toBe(15_000);
  });

  it('starts as a cumulative mean: the first window does not dominate', () => {
    const b = new LogBaseline(DEFAULT_BASELINE);
    const windows = [[10, 10], [40], [20, 20, 20]];
    for (const w of windows) {
      const lw = logWindowOf(w);
      b.learn(lw.n, lw.sumLog, lw.sumLogSq);
    }
    const all = windows.flat().map(logMs);
    const mean = all.reduce((a, x) => a + x, 0) / all.length;
    expect(b.mean).toBeCloseTo(mean, 12);
    expect(b.toJSON().m2).toBeCloseTo(all.reduce((a, x) => a + x * x, 0) / all.length, 12);
  });

  it('is an EWMA once warm: a level shift is tracked at rate alpha per full window', () => {
    const b = new LogBaseline(DEFAULT_BASELINE);
    b.learn(1000, 1000 * Math.log(10), 1000 * Math.log(10) ** 2);
    b.learn(10, 10 * Math.log(100), 10 * Math.log(100) ** 2); // w = max(0.1, 10/1010) = 0.1
    expect(b.mean).toBeCloseTo(0.9 * Math.log(10) + 0.1 * Math.log(100), 12);
    b.learn(1, Math.log(1000), Math.log(1000) ** 2); // a lone sample weighs alpha/10
    expect(b.mean).toBeCloseTo(0.99 * (0.9 * Math.log(10) + 0.1 * Math.log(100)) + 0.01 * Math.log(1000), 12);
  });

  it('ready after minSamples; n = 0 is a no-op; typical is NaN before any sample', () => {
    const b = new LogBaseline(DEFAULT_BASELINE);
    expect(b.typical).toBeNaN();
    b.learn(0, 0, 0);
    expect(b.samples).toBe(0);
    b.learn(4, 4 * Math.log(5), 4 * Math.log(5) ** 2);
    expect(b.ready).toBe(false);
    b.learn(1, Math.log(5), Math.log(5) ** 2);
    expect(b.ready).toBe(true);
    expect(b.typical).toBeCloseTo(5, 12);
  });

  it('flags outliers beyond outlierSigma sd in log space, only once ready', () => {
    const b = new LogBaseline(DEFAULT_BASELINE);
    // ln-spread 0.2: half the samples at e^(μ±0.2).
    const lo = Math.log(100) - 0.2;
    const hi = Math.log(100) + 0.2;
    expect(b.isOutlier(1e6)).toBe(false);
    b.learn(20, 10 * lo + 10 * hi, 10 * lo * lo + 10 * hi * hi);
    const sd = b.sd;
    expect(b.isOutlier(100 * Math.exp(4.95 * sd))).toBe(false);
    expect(b.isOutlier(100 * Math.exp(5.05 * sd))).toBe(true);
    expect(b.isOutlier(100 * Math.exp(-5.05 * sd))).toBe(true);
    expect(b.isOutlier(0)).toBe(true); // taken as 1 µs, far below
  });

  it("takes a young baseline's spread to be at least a prior's, which fades as samples come", () => {
    const spread = (samples: number) => {
      const b = new LogBaseline(DEFAULT_BASELINE);
      const lo = Math.log(100) - 0.2;
      const hi = Math.log(100) + 0.2;
      b.learn(samples, (samples / 2) * (lo + hi), (samples / 2) * (lo * lo + hi * hi));
      return b.sd;
    };
    // Twenty samples of one kind say little of how an operation varies: its first statements, a cold cache.
    expect(spread(20)).toBeGreaterThan(0.3);
    expect(spread(20_000)).toBeCloseTo(0.2, 3);
    // A spread wider than the prior's is the learned one.
    const b = new LogBaseline(DEFAULT_BASELINE);
    b.learn(20, 10 * (Math.log(100) - 1) + 10 * (Math.log(100) + 1), 10 * (Math.log(100) - 1) ** 2 + 10 * (Math.log(100) + 1) ** 2);
    expect(b.sd).toBeCloseTo(1, 9);
  });

  it('keeps a variance floor for constant latency', () => {
    const b = new LogBaseline(DEFAULT_BASELINE);
    const w = logWindowOf(Array(50).fill(7));
    b.learn(w.n, w.sumLog, w.sumLogSq);
    expect(b.variance).toBeGreaterThan(0.01);
    // Once the prior has faded, the floor.
    b.learn(1e9, 1e9 * Math.log(7), 1e9 * Math.log(7) ** 2);
    expect(b.variance).toBeGreaterThanOrEqual(1e-6);
    expect(b.variance).toBeLessThan(1.01e-6);
  });

  it('round-trips through JSON and rejects corrupt state', () => {
    const b = new LogBaseline(DEFAULT_BASELINE);
    b.learn(12, 30, 80);
    const c = new LogBaseline(DEFAULT_BASELINE);
    c.restore(JSON.parse(JSON.stringify(b.toJSON())));
    expect(c.toJSON()).toEqual(b.toJSON());
    expect(c.ready).toBe(true);
    expect(() => c.restore({ mean: 1, m2: 'x', samples: 3 })).toThrow(TypeError);
    expect(() => c.restore(null)).toThrow(TypeError);
  });
});

describe('ProportionBaseline', () => {
  it('reports the observed rate: 0 after requests without errors, while the tests keep a prior', () => {
    const b = new ProportionBaseline(0.002, 10);
    b.learn(1827, 0);
    expect(b.observed).toBe(0);
    expect(b.rate).toBeGreaterThan(0);
    b.learn(100, 5);
    expect(b.observed).toBeGreaterThan(0.001);
  });

  it('has a weak 2% prior and converges towards the observed rate', () => {
    const b = new ProportionBaseline(0.002, 10);
    expect(b.rate).toBeCloseTo(0.02, 12);
    const rng = mulberry32(5);
    for (let i = 0; i < 2000; i++) b.learn(30, binomial(rng, 30, 0.1));
    // Steady state: C ≈ 515 decayed requests, so the prior still pulls ~5% of the way to 2%.
    expect(b.rate).toBeGreaterThan(0.085);
    expect(b.rate).toBeLessThan(0.11);
  });

  it('bounds the rate from above at 95 %: loosely after few requests, towards the rate after many', () => {
    const b = new ProportionBaseline(0.0005, 10);
    // No error yet: the exact Poisson bound is 3 errors (−ln 0.05) over the requests and the prior's 25.
    expect(b.upperRate).toBeCloseTo(-Math.log(0.05) / 25, 6);
    b.learn(500, 0);
    const none = b.upperRate;
    expect(none).toBeGreaterThan(0.005);
    expect(none).toBeLessThan(0.0065);
    // 0 of 500 is what a steady 0.5 % gives 8 % of the time: the bound covers that rate, the estimate does not.
    expect(b.rate).toBeLessThan(0.002);
    const rng = mulberry32(9);
    for (let i = 0; i < 2000; i++) b.learn(30, binomial(rng, 30, 0.01));
    expect(b.upperRate).toBeGreaterThan(b.rate);
    expect(b.upperRate).toBeLessThan(1.6 * b.rate);
  });

  it('tests a window against its memory by the conditional test: as the estimate once the memory outgrows it', () => {
    const b = new ProportionBaseline(0.0005, 10);
    b.learn(513, 13);
    // As large as the memory: its uncertainty counts as much as the window's.
    expect(b.sfAgainst(26, 513)).toBeGreaterThan(0.01);
    const rng = mulberry32(3);
    for (let i = 0; i < 400; i++) b.learn(50, binomial(rng, 50, 0.025));
    // A small window against a large memory: close to the binomial test at the estimate.
    const k = 4;
    expect(b.sfAgainst(k, 20) / b.sf(k, 20)).toBeGreaterThan(0.9);
    expect(b.sfAgainst(k, 20) / b.sf(k, 20)).toBeLessThan(1.5);
  });

  it('forgets per request, not per window: history decays by (1 − d)^n however n is split', () => {
    const a = new ProportionBaseline(0.01, 10);
    const b = new ProportionBaseline(0.01, 10);
    a.learn(100, 50);
    b.learn(100, 50);
    a.learn(200, 0);
    for (let i = 0; i < 20; i++) b.learn(10, 0);
    expect(a.toJSON().events).toBeCloseTo(50 * 0.99 ** 200, 12);
    expect(b.toJSON().events).toBeCloseTo(50 * 0.99 ** 200, 12);
  });

  it('decays by exactly Math.pow(1 − d, n), whole or fractional n, within the kept powers or past them', () => {
    const n = fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0.5, max: 50, noNaN: true }));
    fc.assert(
      fc.property(fc.constantFrom(0.002, 0.01, 0.05), fc.array(fc.tuple(n, fc.nat(30)), { maxLength: 30 }), (d, windows) => {
        const b = new ProportionBaseline(d, 10);
        let e = 0;
        let c = 0;
        for (const [requests, k] of windows) {
          b.learn(requests, k);
          const f = Math.pow(1 - d, requests);
          e = e * f + k;
          c = c * f + requests;
        }
        expect(b.toJSON().events).toBe(e);
        expect(b.toJSON().trials).toBe(c);
      }),
      { numRuns: 100 },
    );
  });

  it('ready after minSamples requests; n = 0 is a no-op', () => {
    const b = new ProportionBaseline(0.002, 10);
    b.learn(0, 0);
    b.learn(9, 0);
    expect(b.ready).toBe(false);
    b.learn(1, 0);
    expect(b.ready).toBe(true);
    expect(b.samples).toBe(10);
  });

  it('round-trips through JSON', () => {
    const b = new ProportionBaseline(0.002, 10);
    b.learn(40, 3);
    const c = new ProportionBaseline(0.002, 10);
    c.restore(JSON.parse(JSON.stringify(b.toJSON())));
    expect(c.rate).toBe(b.rate);
    expect(c.samples).toBe(40);
    expect(() => c.restore({ events: 1, trials: Infinity, samples: 1 })).toThrow(TypeError);
  });
});

describe('RateBaseline', () => {
  it('is a cumulative mean at first, then tracks with weight alpha', () => {
    const b = new RateBaseline(0.1, 12);
    b.learn(10, 5000);
    b.learn(20, 5000);
    b.learn(30, 5000);
    expect(b.rate).toBeCloseTo(4, 12); // (2 + 4 + 6) / 3 per second
    for (let i = 0; i < 200; i++) b.learn(50, 5000);
    expect(b.rate).toBeCloseTo(10, 6);
    b.learn(100, 5000);
    expect(b.rate).toBeCloseTo(0.9 * 10 + 0.1 * 20, 6);
  });

  it('converges on Poisson counts and is ready after minBuckets', () => {
    const rng = mulberry32(3);
    const b = new RateBaseline(0.1, 12);
    for (let i = 0; i < 11; i++) b.learn(poisson(rng, 30), 5000);
    expect(b.ready).toBe(false);
    b.learn(poisson(rng, 30), 5000);
    expect(b.ready).toBe(true);
    for (let i = 0; i < 500; i++) b.learn(poisson(rng, 30), 5000);
    expect(b.rate).toBeGreaterThan(5.4);
    expect(b.rate).toBeLessThan(6.6);
    b.learn(5, 0); // no duration: ignored
    expect(b.buckets).toBe(512);
  });

  it('round-trips through JSON', () => {
    const b = new RateBaseline(0.1, 12);
    b.learn(7, 1000);
    const c = new RateBaseline(0.1, 12);
    c.restore(JSON.parse(JSON.stringify(b.toJSON())));
    expect(c.toJSON()).toEqual({ rate: 7, buckets: 1, bucketMs: 1000 });
    expect(() => c.restore({ rate: 7, buckets: 1 })).toThrow(/bucketMs/);
  });

  it('resolves rates down to one request per its memory (~1/alpha buckets)', () => {
    const b = new RateBaseline(0.1, 12);
    expect(b.resolution).toBe(0);
    b.learn(0, 5000);
    expect(b.resolution).toBeCloseTo(0.02, 12); // one request per 50 s
  });
});

describe('ShareBaseline', () => {
  it('is a cumulative share at first, then an EWMA', () => {
    const b = new ShareBaseline(0.1);
    b.learn(10, 10);
    b.learn(30, 0);
    expect(b.share).toBeCloseTo(0.25, 12);
    b.learn(0, 0);
    expect(b.samples).toBe(40);
  });

  it('converges to the true share on stationary input', () => {
    const rng = mulberry32(9);
    const b = new ShareBaseline(0.1);
    for (let i = 0; i < 1000; i++) b.learn(20, binomial(rng, 20, 0.7));
    expect(b.share).toBeGreaterThan(0.65);
    expect(b.share).toBeLessThan(0.75);
  });

  it('round-trips through JSON', () => {
    const b = new ShareBaseline(0.1);
    b.learn(8, 6);
    const c = new ShareBaseline(0.1);
    c.restore(JSON.parse(JSON.stringify(b.toJSON())));
    expect(c.toJSON()).toEqual(b.toJSON());
    expect(() => c.restore({ share: 0.5 })).toThrow(/samples/);
  });
});
