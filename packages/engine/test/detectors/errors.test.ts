import { describe, expect, it } from 'vitest';
import { ErrorRateDetector, errorSeverity } from '../../src/detectors/errors.js';
import { DEFAULT_BASELINE, DEFAULT_ERRORS } from '../../src/options.js';
import { binomial, mulberry32 } from '../helpers/random.js';

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
    expect(v.severity).toBe('low');
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

  it('applies the rate rule above (not at) 20% with at least 5 requests', () => {
    const d = learned(100, 0, 50); // no errors seen: p0 ≈ 0.1%
    expect(d.judge(10, 2).anomalous).toBe(false); // exactly 20%
    expect(d.judge(10, 3)).toMatchObject({ anomalous: true, severity: 'medium' });
    expect(d.judge(4, 3).anomalous).toBe(false); // 75% but only 4 requests
    expect(d.judge(5, 3).anomalous).toBe(true);
  });

  it('is quiet on an empty window and before minSamples', () => {
    const d = learned(30, 0);
    expect(d.judge(0, 0)).toMatchObject({ anomalous: false, pValue: 1, score: 0 });
    expect(new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS).judge(9, 9).anomalous).toBe(false);
  });

  it('observe learns normal windows only', () => {
    const d = learned(30, 0, 10);
    d.observe(1, 20, 20);
    expect(d.baseline.samples).toBe(300);
    d.observe(2, 20, 0);
    expect(d.baseline.samples).toBe(320);
  });

  it('round-trips its baseline through JSON', () => {
    const d = learned(40, 1, 20);
    const e = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    e.restore(JSON.parse(JSON.stringify(d.toJSON())));
    expect(e.judge(30, 5)).toEqual(d.judge(30, 5));
  });
});

describe('errorSeverity', () => {
  it('tiers at 0.2, 0.5 and 0.9', () => {
    expect(errorSeverity(0.19)).toBe('low');
    expect(errorSeverity(0.2)).toBe('medium');
    expect(errorSeverity(0.5)).toBe('high');
    expect(errorSeverity(0.9)).toBe('critical');
  });
});
