/**
 * The judge skips a detector's p-value when its cheap gate (`mayFire`, `readyAndAtLeast`) says no: that
 * is only safe if every verdict that would fire passes the gate. Checked on random baselines and windows
 * from healthy to far off, including the boundaries the gates compare at.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LatencyDetector, type LogWindow } from '../../src/detectors/latency.js';
import { ErrorRateDetector } from '../../src/detectors/errors.js';
import { CallShapeDetector } from '../../src/detectors/shape.js';
import { TimeoutDetector } from '../../src/detectors/timeout.js';
import { DEFAULT_BASELINE, DEFAULT_ERRORS, DEFAULT_LATENCY, DEFAULT_SHAPE, DEFAULT_TIMEOUT } from '../../src/options.js';

/** A log window of n samples around ln(ms) with spread sd (sums as the recorder keeps them). */
const logWindow = fc
  .tuple(fc.integer({ min: 0, max: 400 }), fc.double({ min: -7, max: 15, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true }))
  .map(([n, mean, sd]): LogWindow => ({ n, sumLog: n * mean, sumLogSq: n * (mean * mean + sd * sd) }));

describe('detector gates: a verdict that fires always passes the gate the judge checks first', () => {
  it('latency: mayFire and readyAndAtLeast', () => {
    fc.assert(
      fc.property(fc.array(logWindow, { maxLength: 8 }), fc.array(logWindow, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 12 }), (learned, judged, minSamples) => {
        const d = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
        for (const w of learned) d.learn(w);
        for (const w of judged) {
          const v = d.judge(w);
          if (v.anomalous) expect(d.mayFire(w)).toBe(true);
          const one = d.judge(w, minSamples);
          if (one.anomalous) expect(d.mayFire(w, minSamples)).toBe(true);
          for (const ratio of [1, DEFAULT_LATENCY.sensitiveRatio, DEFAULT_LATENCY.ratio]) {
            expect(d.readyAndAtLeast(w, ratio)).toBe(w.n > 0 && one.ready && one.observed >= ratio * one.expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('latency: fires on a clear slowdown, and the gate lets it through', () => {
    const d = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
    for (let i = 0; i < 20; i++) d.learn({ n: 30, sumLog: 30 * Math.log(20), sumLogSq: 30 * (Math.log(20) ** 2 + 0.04) });
    const slow = { n: 30, sumLog: 30 * Math.log(200), sumLogSq: 30 * (Math.log(200) ** 2 + 0.04) };
    expect(d.judge(slow).anomalous).toBe(true);
    expect(d.mayFire(slow)).toBe(true);
    expect(d.mayFire({ n: 30, sumLog: 30 * Math.log(21), sumLogSq: 30 * (Math.log(21) ** 2 + 0.04) })).toBe(false);
  });

  it('errors: mayFire', () => {
    const window = fc.integer({ min: 0, max: 500 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n })));
    fc.assert(
      fc.property(fc.array(window, { maxLength: 8 }), fc.array(window, { minLength: 1, maxLength: 8 }), (learned, judged) => {
        const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
        for (const [n, k] of learned) d.learn(n, k);
        for (const [n, k] of judged) if (d.judge(n, k).anomalous) expect(d.mayFire(n, k)).toBe(true);
      }),
      { numRuns: 300 },
    );
    const d = new ErrorRateDetector(DEFAULT_BASELINE, DEFAULT_ERRORS);
    d.learn(1000, 5);
    expect(d.judge(100, 60).anomalous).toBe(true);
    expect(d.mayFire(100, 60)).toBe(true);
    expect(d.mayFire(100, 0)).toBe(false);
  });

  it('timeout: mayFire', () => {
    const window = fc.integer({ min: 0, max: 200 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n })));
    fc.assert(
      fc.property(fc.array(window, { maxLength: 8 }), fc.array(window, { minLength: 1, maxLength: 8 }), (learned, judged) => {
        const d = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
        for (const [n, k] of learned) d.learn(n, k);
        for (const [n, k] of judged) if (d.judge(n, k).anomalous) expect(d.mayFire(n, k)).toBe(true);
      }),
      { numRuns: 300 },
    );
    const d = new TimeoutDetector(DEFAULT_BASELINE, DEFAULT_TIMEOUT);
    d.learn(500, 0);
    expect(d.judge(20, 20).anomalous).toBe(true);
    expect(d.mayFire(20, 20)).toBe(true);
    expect(d.mayFire(20, 0)).toBe(false);
  });

  it('call shape: mayFire, for usual, rare and new calls', () => {
    const window = fc.integer({ min: 0, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n })));
    const share = fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), share), { maxLength: 8 }), fc.array(window, { minLength: 1, maxLength: 8 }), (learned, judged) => {
        const d = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
        for (const [n, s] of learned) d.learn(n, Math.round(n * s));
        for (const [n, calls] of judged) if (d.judge(n, calls).anomalous) expect(d.mayFire(n, calls)).toBe(true);
      }),
      { numRuns: 300 },
    );
    const usual = new CallShapeDetector(DEFAULT_BASELINE, DEFAULT_SHAPE);
    for (let i = 0; i < 6; i++) usual.learn(100, 100);
    expect(usual.judge(50, 0).anomalous).toBe(true);
    expect(usual.mayFire(50, 0)).toBe(true);
    expect(usual.mayFire(50, 48)).toBe(false);
  });
});
