import { describe, expect, it } from 'vitest';
import { TrafficDetector, trafficSeverity } from '../../src/detectors/traffic.js';
import { DEFAULT_BASELINE, DEFAULT_TRAFFIC } from '../../src/options.js';
import { mulberry32, poisson } from '../helpers/random.js';

const BUCKET = 5000;

/** A detector that learned `buckets` Poisson buckets at `rps`. */
function learned(rps: number, buckets = 60, seed = 1): TrafficDetector {
  const rng = mulberry32(seed);
  const d = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
  for (let i = 0; i < buckets; i++) d.learn(poisson(rng, (rps * BUCKET) / 1000), BUCKET);
  return d;
}

describe('TrafficDetector', () => {
  it('stays quiet for 2 h of Poisson traffic at 6 rps with a ±40% swell (5 s and 60 s windows)', () => {
    const rng = mulberry32(31);
    const d = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    const counts: number[] = [];
    let alarms = 0;
    for (let i = 0; i < (2 * 3600 * 1000) / BUCKET; i++) {
      const t = i * BUCKET;
      const rps = 6 * (1 + 0.4 * Math.sin((2 * Math.PI * t) / 1_800_000));
      counts.push(poisson(rng, (rps * BUCKET) / 1000));
      // Judged as the analyzer does: the last bucket and the last minute; learned if neither fired.
      const minute = counts.slice(-12).reduce((a, b) => a + b, 0);
      const fired = d.judge(counts[i], BUCKET).anomalous || (counts.length >= 12 && d.judge(minute, 60_000).anomalous);
      if (fired) alarms++;
      else d.learn(counts[i], BUCKET);
    }
    expect(alarms).toBe(0);
    expect(d.baseline.ready).toBe(true);
  });

  it('takes the traffic coming back after minutes at an outage rate it learned for a return, not a surge', () => {
    const rng = mulberry32(5);
    const d = learned(6, 240);
    // Four minutes at a tenth of the rate, learned (an outage that fired no drop: its requests failed upstream).
    for (let i = 0; i < 48; i++) d.learn(poisson(rng, (0.6 * BUCKET) / 1000), BUCKET);
    expect(d.baseline.rate).toBeLessThan(2);
    expect(d.judge(poisson(rng, (6 * 60_000) / 1000), 60_000)).toMatchObject({ anomalous: false });
    // Three times the level it had before is a surge.
    expect(d.judge(poisson(rng, (18 * 60_000) / 1000), 60_000)).toMatchObject({ anomalous: true, direction: 'surge' });
  });

  it('fires on a drop to 0 within one 5 s bucket at 6 rps', () => {
    const d = learned(6);
    const v = d.judge(0, BUCKET);
    expect(v).toMatchObject({ anomalous: true, direction: 'drop', severity: 'medium', observed: 0 });
    expect(v.expected).toBeGreaterThan(5);
    expect(v.pValue).toBeLessThan(DEFAULT_TRAFFIC.pMax);
    // A partial drop to 14% over a minute is low (fewer requests alone may be a pause).
    expect(d.judge(50, 60_000)).toMatchObject({ anomalous: true, direction: 'drop', severity: 'low' });
    expect(d.judge(4, BUCKET).anomalous).toBe(false); // 4 of ~30 in 5 s: not yet beyond doubt (p ≈ 1e-5)
  });

  it('fires on a 3× surge', () => {
    const d = learned(6);
    const v = d.judge(90, BUCKET);
    expect(v).toMatchObject({ anomalous: true, direction: 'surge', severity: 'low' });
    expect(v.observed).toBe(18);
    expect(d.judge(200, BUCKET).severity).toBe('medium'); // ≥ 5×
    expect(d.judge(45, BUCKET).anomalous).toBe(false); // 1.5×
  });

  it('catches a 1 rps operation going silent on a 60 s window, not on one 5 s bucket', () => {
    const d = learned(1);
    expect(d.judge(0, BUCKET).anomalous).toBe(false); // e^-3.5: could be chance
    expect(d.judge(0, 60_000)).toMatchObject({ anomalous: true, direction: 'drop' });
  });

  it('never calls a lone request on a sparse operation a surge, yet sees a real burst', () => {
    const rng = mulberry32(32);
    const d = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    let alarms = 0;
    for (let i = 0; i < 20_000; i++) {
      const count = poisson(rng, 5 / 300); // one request per ~5 minutes
      if (d.observe(i * BUCKET, count, BUCKET).anomalous) alarms++;
    }
    expect(alarms).toBe(0);
    expect(d.baseline.rate).toBeLessThan(0.01); // the EWMA itself has all but forgotten the requests
    expect(d.judge(1, BUCKET).anomalous).toBe(false);
    expect(d.judge(30, BUCKET)).toMatchObject({ anomalous: true, direction: 'surge' });
  });

  it('mayFire (the cheap pre-check) is true wherever judge finds an anomaly, and false for ordinary counts', () => {
    for (const rate of [0.1, 1, 6, 100]) {
      const d = learned(rate, 200);
      for (const ms of [5000, 15_000, 60_000]) {
        const expected = (rate * ms) / 1000;
        let fired = 0;
        for (let count = 0; count <= Math.ceil(expected * 8 + 10); count++) {
          const v = d.judge(count, ms);
          if (v.anomalous) {
            fired++;
            expect(d.mayFire(count, ms), `rate ${rate}, ${ms} ms, count ${count}`).toBe(true);
          }
        }
        expect(fired).toBeGreaterThan(0);
        if (expected >= 10) expect(d.mayFire(Math.round(expected), ms)).toBe(false);
      }
    }
  });

  it('judges a drop against the traffic\'s own variation: a missed batch of bursty traffic is normal, the same count from steady traffic is not', () => {
    // Batches of 30 requests every 15 s (30, 0, 0 per 5 s bucket), and steady traffic at the same 2 rps.
    const bursty = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    for (let i = 0; i < 120; i++) bursty.learn(i % 3 === 0 ? 30 : 0, BUCKET);
    const steady = learned(2, 120);
    expect(bursty.baseline.rate).toBeCloseTo(steady.baseline.rate, 0);
    expect(bursty.dispersion).toBeGreaterThan(10);
    expect(steady.dispersion).toBeLessThan(2);
    // One batch in a minute instead of four: the same ratio (25%), significant only for steady traffic.
    expect(steady.judge(30, 60_000)).toMatchObject({ anomalous: true, direction: 'drop' });
    expect(bursty.judge(30, 60_000).anomalous).toBe(false);
    // The first buckets of a drop are held back from learning (for up to a minute), so the minute it is
    // judged on is compared with the rate before it, not with a rate that already learned the drop.
    const rate = steady.baseline.rate;
    for (let i = 0; i < 11; i++) steady.learn(0, BUCKET);
    expect(steady.baseline.rate).toBe(rate);
    expect(steady.judge(0, 60_000)).toMatchObject({ anomalous: true, direction: 'drop' });
    // The variation survives a snapshot.
    const restored = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    restored.restore(JSON.parse(JSON.stringify(bursty.toJSON())));
    expect(restored.dispersion).toBe(bursty.dispersion);
  });

  it('is not ready before minBuckets', () => {
    const d = learned(6, 11);
    expect(d.judge(0, BUCKET)).toMatchObject({ anomalous: false, ready: false, direction: null });
    d.observe(55_000, 30, BUCKET);
    expect(d.baseline.ready).toBe(true);
    expect(d.observe(60_000, 0, BUCKET).anomalous).toBe(true);
    expect(d.baseline.buckets).toBe(12); // the drop was not learned
    expect(d.lastT).toBe(60_000);
  });

  it('round-trips its baseline through JSON', () => {
    const d = learned(6);
    const e = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    e.restore(JSON.parse(JSON.stringify(d.toJSON())));
    expect(e.judge(3, BUCKET)).toEqual(d.judge(3, BUCKET));
  });
});

describe('trafficSeverity', () => {
  it('a drop alone is never high: ≤ 10% medium, other drops low; surges low, ≥ 5× medium', () => {
    expect(trafficSeverity('drop', 1, 10)).toBe('medium');
    expect(trafficSeverity('drop', 1.01, 10)).toBe('low');
    expect(trafficSeverity('surge', 49, 10)).toBe('low');
    expect(trafficSeverity('surge', 50, 10)).toBe('medium');
  });
  it('takes a return to the usual rate after a learned surge for a return, not a drop; an outage still drops', () => {
    // 10 min at 0.5 req/s, then 4 min at 1.5 req/s that the rate learns (a surge too small to fire).
    const rng = mulberry32(7);
    const d = learned(0.5, 120, 7);
    for (let i = 0; i < 48; i++) d.learn(poisson(rng, (1.5 * BUCKET) / 1000), BUCKET);
    expect(d.baseline.rate).toBeGreaterThan(1.2);
    // Back to about 0.5 req/s: 24 requests in the next minute, under a third of the learned rate's 80 or so.
    expect(d.judge(24, 60_000).anomalous).toBe(false);
    expect(d.mayFire(24, 60_000)).toBe(false);
    // Gone (an outage): a drop against both.
    expect(d.judge(1, 60_000)).toMatchObject({ anomalous: true, direction: 'drop' });
    // The slow rate is part of the snapshot; an older snapshot without it starts it from the rate.
    const json = JSON.parse(JSON.stringify(d.toJSON()));
    const restored = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    restored.restore(json);
    expect(restored.anchor.rate).toBe(d.anchor.rate);
    const { anchor: _anchor, ...older } = json;
    const fromOlder = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    fromOlder.restore(older);
    expect(fromOlder.anchor.rate).toBe(d.baseline.rate);
  });
  it('learns each bucket a ring late once it has two rings of history, and forgets those an anomaly fired on', () => {
    const d = new TrafficDetector(DEFAULT_BASELINE, DEFAULT_TRAFFIC);
    for (let i = 0; i < 24; i++) d.learnBucket(i, 10, BUCKET, 12);
    expect(d.baseline.buckets).toBe(24);
    d.learnBucket(24, 50, BUCKET, 12);
    for (let i = 25; i < 36; i++) d.learnBucket(i, 10, BUCKET, 12);
    expect(d.baseline.buckets).toBe(24);
    expect(d.baseline.rate).toBe(2);
    d.learnBucket(36, 10, BUCKET, 12); // bucket 24 is a ring old now
    expect(d.baseline.buckets).toBe(25);
    expect(d.baseline.rate).toBeGreaterThan(2);
    d.forgetHeld(); // 25–36 were part of an anomaly
    d.learnBucket(48, 10, BUCKET, 12);
    expect(d.baseline.buckets).toBe(25);
  });
});
