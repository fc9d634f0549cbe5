import { describe, expect, it } from 'vitest';
import { TimeoutDetector, timeoutSeverity } from '../../src/detectors/timeout.js';
import { DEFAULT_BASELINE, DEFAULT_TIMEOUT } from '../../src/options.js';
import { binomial, mulberry32 } from '../helpers/random.js';

function learned(attempts: number, gaveUp: number, windows = 50): TimeoutDetector {
  const d = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
  for (let i = 0; i < windows; i++) d.learn(attempts, gaveUp);
  return d;
}

describe('TimeoutDetector', () => {
  it('stays quiet on a 1% give-up background over 2000 windows of 20', () => {
    const rng = mulberry32(41);
    const d = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    let alarms = 0;
    for (let t = 0; t < 2000; t++) if (d.observe(t, 20, binomial(rng, 20, 0.01)).anomalous) alarms++;
    expect(alarms).toBe(0);
  });

  it('stays quiet on a 2% give-up background over 2000 windows of 60 (a minute of 1 req/s)', () => {
    const rng = mulberry32(42);
    const d = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    let alarms = 0;
    for (let t = 0; t < 2000; t++) if (d.observe(t, 60, binomial(rng, 60, 0.02)).anomalous) alarms++;
    expect(alarms).toBe(0);
  });

  it('fires on a smaller share by the sensitive rule once ready: 12% of a minute of calls given up on where 2% were', () => {
    const d = learned(50, 1);
    const v = d.judge(240, 30);
    expect(v).toMatchObject({ anomalous: true, ready: true, severity: 'medium' });
    // Against the highest share the learned one allows (3.2%), 9 of 60 is not yet clear enough.
    expect(d.judge(60, 9).anomalous).toBe(false);
    // Before the baseline is ready, 20% it is.
    const young = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    expect(young.judge(240, 30).anomalous).toBe(false);
  });

  it('reads a window whose latest part gives up less often than usual as over', () => {
    const d = learned(50, 1);
    expect(d.recovered(20, 0)).toBe(true);
    expect(d.recovered(20, 3)).toBe(false);
    // No call ended: a hang, not a recovery.
    expect(d.recovered(0, 0)).toBe(false);
  });

  it('fires when a callee stops answering half the calls', () => {
    const d = learned(20, 0);
    const v = d.judge(10, 5);
    expect(v).toMatchObject({ anomalous: true, ready: true, severity: 'critical', observed: 0.5 });
    expect(v.pValue).toBeLessThan(DEFAULT_TIMEOUT.pMax);
  });

  it('fires when every attempt is given up on, even on an edge that usually loses many', () => {
    const d = learned(10, 4); // 40% give-ups are normal here
    expect(d.judge(3, 2).anomalous).toBe(false);
    expect(d.judge(3, 3)).toMatchObject({ anomalous: true, severity: 'critical' });
    expect(d.judge(2, 2).anomalous).toBe(false); // below minAttempts
  });

  it('judges a brand-new edge with the conservative prior', () => {
    const d = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    expect(d.judge(3, 3)).toMatchObject({ anomalous: true, ready: false }); // p = 0.02^3
    expect(d.judge(3, 1).anomalous).toBe(false);
    expect(d.judge(10, 2).anomalous).toBe(false); // 20% of 10 is not unlikely at 2%
  });

  it('rates severity by the share given up on', () => {
    const d = learned(100, 0);
    expect(d.judge(10, 10).severity).toBe('critical');
    expect(d.judge(10, 5).severity).toBe('critical');
    expect(d.judge(10, 3).severity).toBe('high');
    expect(d.judge(10, 2).severity).toBe('medium'); // the detector's least: 20%
  });

  it('counts give-ups in runs as runs: a callee stalled for a moment loses a few consecutive calls', () => {
    const rng = mulberry32(8);
    const bunched = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    const single = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    for (let i = 0; i < 3000; i++) {
      bunched.learn(8, rng() < 0.016 ? 3 : 0); // 0.6 % of calls, three at a time
      single.learn(8, binomial(rng, 8, 0.006));
    }
    expect(bunched.baseline.runs.value).toBeGreaterThan(2.5);
    expect(single.baseline.runs.value).toBeLessThan(1.3);
    expect(single.judge(8, 3).anomalous).toBe(true);
    expect(bunched.judge(8, 3).anomalous).toBe(false);
    // A callee that stops answering is one whatever the runs.
    expect(bunched.judge(8, 8).anomalous).toBe(true);
  });

  it('round-trips its baseline and run length through JSON', () => {
    const d = learned(20, 0);
    for (let i = 0; i < 40; i++) d.learn(10, i % 8 === 0 ? 3 : 0);
    expect(d.baseline.runs.value).toBeGreaterThan(1.5);
    const e = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    e.restore(JSON.parse(JSON.stringify(d.toJSON())));
    expect(e.baseline.runs.value).toBe(d.baseline.runs.value);
    expect(e.judge(10, 6)).toEqual(d.judge(10, 6));
  });
});

describe('timeoutSeverity', () => {
  it('tiers the give-up rate as an error rate: a call given up on failed', () => {
    expect(timeoutSeverity(10, 10)).toBe('critical');
    expect(timeoutSeverity(10, 5)).toBe('critical');
    expect(timeoutSeverity(31, 10)).toBe('high');
    expect(timeoutSeverity(10, 2)).toBe('medium');
    expect(timeoutSeverity(100, 5)).toBe('medium');
    expect(timeoutSeverity(100, 4)).toBe('low');
  });
});
