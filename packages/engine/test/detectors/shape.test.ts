import { describe, expect, it } from 'vitest';
import { CallShapeDetector } from '../../src/detectors/shape.js';
import { DEFAULT_BASELINE, DEFAULT_SHAPE } from '../../src/options.js';
import { binomial, mulberry32, poisson } from '../helpers/random.js';

function learned(parentRequests: number, calls: number, windows = 20, shape = DEFAULT_SHAPE): CallShapeDetector {
  const d = new CallShapeDetector(DEFAULT_BASELINE, shape);
  for (let i = 0; i < windows; i++) d.learn(parentRequests, calls);
  return d;
}

/** Calls made by half the requests or more judged when missing (the default judges those made by 90%). */
const HALF = { ...DEFAULT_SHAPE, usualShare: 0.5 };

/** `requests` requests that each made the call `each` times (a fraction: some made one more). */
function times(requests: number, each: number): { calls: number; squares: number } {
  return { calls: requests * each, squares: requests * each * each };
}

/** A detector that learned `windows` windows of `requests` requests making the call `each` times each. */
function counted(requests: number, each: number, windows: number): CallShapeDetector {
  const d = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
  for (let i = 0; i < windows; i++) d.learnCount(requests, times(requests, each), 12);
  return d;
}

describe('CallShapeDetector', () => {
  it('stays quiet on a stationary 70% share (minute windows, learned per bucket)', () => {
    const rng = mulberry32(51);
    const d = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
    const buckets: Array<[number, number]> = [];
    let alarms = 0;
    for (let i = 0; i < 3000; i++) {
      const n = poisson(rng, 4);
      buckets.push([n, binomial(rng, n, 0.7)]);
      const last = buckets.slice(-12);
      const v = d.judge(
        last.reduce((a, b) => a + b[0], 0),
        last.reduce((a, b) => a + b[1], 0),
      );
      if (v.anomalous) alarms++;
      else d.learn(n, buckets[i][1]);
    }
    expect(alarms).toBe(0);
    expect(d.baseline.share).toBeGreaterThan(0.6);
    expect(d.baseline.share).toBeLessThan(0.8);
  });

  it('fires when a usual call goes missing', () => {
    const d = learned(10, 9); // 90%
    const v = d.judge(60, 0);
    expect(v).toMatchObject({ anomalous: true, change: 'missing', severity: 'medium', observed: 0 });
    expect(v.expected).toBeCloseTo(0.9, 9);
    expect(v.pValue).toBeLessThan(DEFAULT_SHAPE.pMax);
    expect(d.judge(60, 27).change).toBe('missing'); // 45%: half the usual share
    expect(d.judge(60, 28).anomalous).toBe(false);
    expect(d.judge(4, 0).anomalous).toBe(false); // too few requests to be sure
  });

  it('judges a share still falling steadily against where it has got to, and a step after it settles against its level', () => {
    const d = new CallShapeDetector(DEFAULT_BASELINE, HALF);
    for (let i = 0; i < 20; i++) d.learn(20, Math.round(20 * (1 - 0.03 * i))); // 100% → 45%
    // The EWMA lags the fall at ~65%: 30% would be "missing" against it, not against the fall's 45%.
    expect(d.baseline.share).toBeGreaterThan(0.6);
    expect(d.baseline.usual).toBeLessThan(0.5);
    expect(d.judge(60, 18).anomalous).toBe(false);
    for (let i = 0; i < 40; i++) d.learn(20, 12); // settled at 60%
    expect(d.baseline.usual).toBeCloseTo(0.6, 2);
    expect(d.judge(60, 0)).toMatchObject({ anomalous: true, change: 'missing' });
  });

  it('ignores calls that were not usual to begin with', () => {
    const d = learned(10, 4); // 40% < usualShare
    expect(d.judge(100, 0).anomalous).toBe(false);
  });

  it("ignores a call only some requests make, whatever its share does: a cache's misses going to the database", () => {
    // Learned over a cold cache's first minute (six in ten requests missed), then every key cached: the
    // share falls to a few percent between expiries. Made by most requests but not by nearly all, the call
    // depends on the data, not on the code path: its share is the cache's hit ratio, no call pattern.
    const d = learned(20, 12, 12);
    expect(d.baseline.usual).toBeCloseTo(0.6, 2);
    expect(d.judge(60, 4).anomalous).toBe(false);
    expect(d.mayFire(60, 0)).toBe(false);
    // Nearly every request made it: its stop is a change of path (an early return), judged as before.
    expect(learned(20, 19, 12).judge(60, 4)).toMatchObject({ anomalous: true, change: 'missing' });
  });

  it('fires when a new call appears in ≥ 20% of requests, ≥ 5 times', () => {
    const d = learned(10, 0);
    const v = d.judge(60, 12);
    expect(v).toMatchObject({ anomalous: true, change: 'new', severity: 'medium', expected: 0 });
    expect(v.score).toBeGreaterThan(3);
    expect(d.judge(60, 11).anomalous).toBe(false); // 18%
    expect(d.judge(10, 4).anomalous).toBe(false); // 40% but only 4 calls
    expect(learned(10, 0.2).judge(60, 12).anomalous).toBe(false); // 2% share is not "new"
  });

  it('waits for minSamples parent requests', () => {
    const d = learned(1, 1, 5);
    expect(d.judge(60, 0)).toMatchObject({ anomalous: false, ready: false, change: null });
    d.observe(1, 5, 5);
    expect(d.observe(2, 60, 0).change).toBe('missing');
    expect(d.baseline.samples).toBe(10);
    expect(d.lastT).toBe(2);
  });

  it("judges a call missing only once its share was learned over 6 windows (a pool's first requests' SET)", () => {
    // A start-up's first window: half the requests open a connection and set its session up.
    const d = learned(50, 25, 1, HALF);
    expect(d.baseline.share).toBe(0.5);
    expect(d.judge(50, 0)).toMatchObject({ anomalous: false, ready: false, change: null });
    expect(d.mayFire(50, 0)).toBe(false);
    // Learned meanwhile, the later windows without it wash the start-up out of the share.
    for (let i = 0; i < 5; i++) d.learn(50, 0);
    expect(d.baseline.windows).toBe(6);
    expect(d.baseline.share).toBeLessThan(0.1);
    expect(d.judge(50, 0).anomalous).toBe(false);
    // A call learned as usual over as many windows is judged as before.
    expect(learned(50, 25, 6, HALF).judge(50, 0).change).toBe('missing');
    expect(learned(50, 25, 5, HALF).judge(50, 0).change).toBeNull();
  });

  it('reads a snapshot without a window count as a baseline past its start', () => {
    const e = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
    e.restore({ share: 0.9, samples: 200 });
    expect(e.judge(60, 0).change).toBe('missing');
    expect(() => e.restore({ share: 0.9, samples: 200, windows: 'x' })).toThrow(/windows/);
  });

  it('round-trips its baseline through JSON', () => {
    const d = learned(10, 7);
    const e = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
    e.restore(JSON.parse(JSON.stringify(d.toJSON())));
    expect(e.judge(60, 10)).toEqual(d.judge(60, 10));
  });

  it('round-trips how many times per request through JSON; a snapshot from before counts starts them unlearned', () => {
    const d = counted(10, 3, 20);
    const e = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
    e.restore(JSON.parse(JSON.stringify(d.toJSON())));
    expect(e.judgeCount(20, times(20, 12))).toEqual(d.judgeCount(20, times(20, 12)));
    expect(e.judgeCount(20, times(20, 12)).change).toBe('more');
    const old = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
    old.restore({ share: 1, samples: 200 });
    expect(old.judgeCount(20, times(20, 12))).toMatchObject({ anomalous: false, ready: false });
    expect(() => old.restore({ share: 1, samples: 200, counts: { mean: 3, square: 'x', samples: 1, windows: 1 } })).toThrow(/square/);
  });

  it('judges calls per request only after six windows, on windows of 5 requests or more, at three times the usual count', () => {
    expect(counted(10, 3, 5).judgeCount(20, times(20, 30)).change).toBeNull();
    const d = counted(10, 3, 6);
    expect(d.judgeCount(20, times(20, 30)).change).toBe('more');
    expect(d.judgeCount(4, times(4, 30)).change).toBeNull();
    expect(d.judgeCount(200, times(200, 8.9)).change).toBeNull();
    expect(d.judgeCount(200, times(200, 9.1)).change).toBe('more');
    expect(d.mayFireCount(200, times(200, 8.9))).toBe(false);
  });

  it('stays quiet on requests whose counts vary widely but stationarily (1 to 40 per request, skewed), learned per bucket', () => {
    const rng = mulberry32(52);
    const d = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
    let alarms = 0;
    for (let i = 0; i < 3000; i++) {
      const n = poisson(rng, 8);
      const t = { calls: 0, squares: 0 };
      for (let k = 0; k < n; k++) {
        const c = Math.min(40, Math.max(1, Math.round(Math.exp(rng() * rng() * 3.7))));
        t.calls += c;
        t.squares += c * c;
      }
      if (d.judgeCount(n, t).anomalous) alarms++;
      d.learnCount(n, t, 12);
    }
    expect(alarms).toBe(0);
  });

  it('holds a bucket with clearly more calls per request back from learning for up to a ring of buckets', () => {
    const d = counted(10, 3, 20);
    for (let i = 0; i < 12; i++) d.learnCount(10, times(10, 30), 12);
    expect(d.counts.mean).toBeCloseTo(3, 5);
    d.learnCount(10, times(10, 30), 12);
    expect(d.counts.mean).toBeGreaterThan(3);
  });

  it('takes a share learned from few requests as uncertain: the same gap needs more evidence', () => {
    const young = learned(2, 2, 6); // 12 of 12 requests made the call
    const old = learned(10, 10, 100); // 1000 of 1000
    expect(old.judge(8, 0).change).toBe('missing');
    expect(young.judge(8, 0).change).toBeNull();
    expect(young.judge(8, 0).pValue).toBeGreaterThan(old.judge(8, 0).pValue);
    expect(young.judge(20, 0).change).toBe('missing');
  });

  it('calls a call new only after 50 requests without it', () => {
    const d = learned(10, 0, 2);
    expect(d.judge(20, 10).change).toBeNull();
    expect(learned(10, 0, 5).judge(20, 10).change).toBe('new');
  });
});
