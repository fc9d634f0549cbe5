import { describe, expect, it } from 'vitest';
import { LatencyDetector, latencySeverity, logWindowOf, type LogWindow } from '../../src/detectors/latency.js';
import { DEFAULT_BASELINE, DEFAULT_LATENCY } from '../../src/options.js';
import { logNormal, mulberry32, type Rng } from '../helpers/random.js';

function draw(rng: Rng, n: number, median: number, sigma: number): number[] {
  return Array.from({ length: n }, () => logNormal(rng, median, sigma));
}

/** A detector warmed on `windows` windows of 30 log-normal samples. */
function warmed(rng: Rng, median: number, sigma: number, windows = 50, opts = DEFAULT_LATENCY): LatencyDetector {
  const d = new LatencyDetector(DEFAULT_BASELINE, opts);
  for (let i = 0; i < windows; i++) d.learn(logWindowOf(draw(rng, 30, median, sigma)));
  return d;
}

/** Windows of `size` drawn at `factor`× the median, judged without learning; how many fired. */
function firings(d: LatencyDetector, rng: Rng, windows: number, size: number, median: number, sigma: number): number {
  let fired = 0;
  for (let i = 0; i < windows; i++) if (d.judge(logWindowOf(draw(rng, size, median, sigma))).anomalous) fired++;
  return fired;
}

describe('LatencyDetector', () => {
  it.each([0.3, 0.45, 0.6])('stays quiet on 10k log-normal samples (sigma %s) in windows of 30', (sigma) => {
    const rng = mulberry32(Math.round(sigma * 100));
    const d = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
    let alarms = 0;
    let judged = 0;
    for (let i = 0; i < 10_000 / 30; i++) {
      const values = draw(rng, 30, 120, sigma);
      const v = d.judge(logWindowOf(values));
      if (v.ready) judged++;
      if (v.anomalous) alarms++;
      // As the analyzer does: learn normal windows, without their outliers.
      else d.learn(logWindowOf(values.filter((x) => !d.baseline.isOutlier(x))));
    }
    expect(judged).toBeGreaterThan(330);
    expect(alarms).toBe(0);
  });

  it('fires when a window of 3 is 3× the baseline, not at 2.9×', () => {
    const d = warmed(mulberry32(1), 50, 0.3);
    const typical = d.baseline.typical;
    const at = (...k: number[]): LogWindow => logWindowOf(k.map((x) => x * typical));
    const v = d.judge(at(3, 3.05, 3.1));
    expect(v.anomalous).toBe(true);
    expect(v.severity).toBe('low');
    expect(v.observed / v.expected).toBeGreaterThanOrEqual(3);
    expect(v.score).toBeGreaterThanOrEqual(DEFAULT_LATENCY.zMin);
    expect(v.pValue).toBeLessThan(1e-3);
    expect(d.judge(at(2.9, 2.9, 2.9)).anomalous).toBe(false);
    expect(d.judge(at(3.5, 3.5)).anomalous).toBe(false); // below minWindowSamples
  });

  it('detects a 5× slowdown in ≥ 99% of windows of 3 and a 4× one in every window of 12', () => {
    const rng = mulberry32(2);
    const d = warmed(rng, 50, 0.3);
    expect(firings(d, rng, 500, 3, 250, 0.3)).toBeGreaterThanOrEqual(495);
    expect(firings(d, rng, 500, 12, 200, 0.3)).toBe(500);
  });

  it('fires at 2.5× on busy windows of 30 by the sensitive rule', () => {
    const rng = mulberry32(3);
    const d = warmed(rng, 50, 0.3);
    expect(firings(d, rng, 200, 30, 125, 0.3)).toBe(200);
    const v = d.judge(logWindowOf(draw(rng, 30, 125, 0.3)));
    expect(v.severity).toBe('low');
    expect(v.score).toBeGreaterThanOrEqual(DEFAULT_LATENCY.sensitiveZ);
    // ... but not on a window of 19: too few requests for a sub-ratio detection.
    expect(firings(d, rng, 200, 19, 125, 0.3)).toBe(0);
  });

  it('the sensitive rule needs typical latency up by 5 × minShiftMs: a 1.2 ms route 2.4× slower on a busy host is not an incident, a 12 ms one is', () => {
    // Every route of a service on a CPU shared with a test run: ~1.7 ms slower for a few seconds.
    const fast = warmed(mulberry32(26), 1.2, 0.3);
    const busy = fast.judge(logWindowOf(draw(mulberry32(27), 60, 2.9, 0.3)));
    expect(busy.score).toBeGreaterThan(DEFAULT_LATENCY.sensitiveZ);
    expect(busy.observed - busy.expected).toBeGreaterThan(DEFAULT_LATENCY.minShiftMs);
    expect(busy.anomalous).toBe(false);
    const slower = warmed(mulberry32(26), 12, 0.3);
    expect(slower.judge(logWindowOf(draw(mulberry32(27), 60, 29, 0.3)))).toMatchObject({ anomalous: true, severity: 'low' });
  });

  it('does not fire on small shifts in huge windows (drift floor)', () => {
    const rng = mulberry32(4);
    const d = warmed(rng, 50, 0.4);
    expect(firings(d, rng, 20, 5000, 65, 0.4)).toBe(0); // 1.3×
    expect(firings(d, rng, 20, 5000, 80, 0.4)).toBe(0); // 1.6×: past sensitiveRatio, z ≈ 4.7 < 6
    // Without the floor the same 1.6× would be "significant".
    const noFloor = warmed(mulberry32(4), 50, 0.4, 50, { ...DEFAULT_LATENCY, driftSigma: 1e-3 });
    expect(firings(noFloor, rng, 20, 5000, 80, 0.4)).toBe(20);
  });

  it('does not fire on one 10× outlier in a window of 3', () => {
    const d = warmed(mulberry32(5), 50, 0.3);
    const t = d.baseline.typical;
    expect(d.judge(logWindowOf([t, t, 10 * t])).anomalous).toBe(false);
    expect(d.judge(logWindowOf([10 * t, 10 * t, 10 * t])).anomalous).toBe(true);
  });

  it('fires above criticalMs at a smaller ratio', () => {
    const slow = warmed(mulberry32(6), 5000, 0.1);
    const v = slow.judge(logWindowOf([10_500, 10_600, 10_700]));
    expect(v.anomalous).toBe(true);
    expect(v.severity).toBe('critical');
    const fast = warmed(mulberry32(6), 50, 0.1);
    expect(fast.judge(logWindowOf([105, 106, 107])).anomalous).toBe(false);
  });

  it('needs typical latency up by minShiftMs: a sub-ms INSERT 4x slower is not an incident, 5 ms is', () => {
    // An in-process SQLite INSERT: ~0.04 ms, a young baseline of a few windows as in the first seconds.
    const d = warmed(mulberry32(24), 0.04, 0.3, 3);
    const blip = logWindowOf(draw(mulberry32(25), 30, 0.16, 0.3));
    const v = d.judge(blip);
    expect(v.observed / v.expected).toBeGreaterThan(3);
    expect(v.score).toBeGreaterThan(DEFAULT_LATENCY.sensitiveZ); // significant: only the floor keeps it quiet
    expect(v.anomalous).toBe(false);
    const noFloor = warmed(mulberry32(24), 0.04, 0.3, 3, { ...DEFAULT_LATENCY, minShiftMs: 1e-6 });
    expect(noFloor.judge(blip).anomalous).toBe(true);
    // A write lock that makes the same INSERT take milliseconds is a real shift and still fires.
    expect(d.judge(logWindowOf([4.5, 5, 5.5]))).toMatchObject({ anomalous: true, severity: 'critical' });
  });

  it('is not ready before minSamples, then judges single samples through observe', () => {
    const d = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
    const rng = mulberry32(7);
    for (let i = 0; i < 4; i++) d.observe(i, logNormal(rng, 40, 0.2));
    const early = d.observe(4, 4000);
    expect(early).toMatchObject({ anomalous: false, ready: false, severity: null, score: 0, pValue: 1 });
    expect(d.baseline.samples).toBe(5); // learned: nothing to judge it by yet
    for (let i = 5; i < 100; i++) d.observe(i, logNormal(rng, 40, 0.2));
    const v = d.observe(100, 4000);
    expect(v.anomalous).toBe(true);
    expect(v.ready).toBe(true);
    expect(v.severity).toBe('critical'); // ~100×
    expect(d.lastT).toBe(100);
    expect(d.baseline.samples).toBe(100); // the anomaly was not learned
  });

  it('observe does not learn outliers that are not anomalous', () => {
    const d = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
    // Enough samples for the young baseline's prior spread to have faded (see LogBaseline.variance).
    for (let i = 0; i < 5000; i++) d.observe(i, i % 2 ? 100 * Math.exp(0.05) : 100 * Math.exp(-0.05));
    const before = d.baseline.samples;
    const v = d.observe(5000, 140); // 1.4×: about 6 sd away, far below the 3× ratio
    expect(v.anomalous).toBe(false);
    expect(d.baseline.samples).toBe(before);
    d.observe(5001, 104);
    expect(d.baseline.samples).toBe(before + 1);
  });

  it('reports a quiet verdict for an empty window', () => {
    const d = warmed(mulberry32(8), 50, 0.3);
    const v = d.judge({ n: 0, sumLog: 0, sumLogSq: 0 });
    expect(v.anomalous).toBe(false);
    expect(v.pValue).toBe(1);
  });

  it('round-trips its baseline through JSON', () => {
    const d = warmed(mulberry32(9), 50, 0.3);
    const e = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
    e.restore(JSON.parse(JSON.stringify(d.toJSON())));
    const w = logWindowOf([160, 170, 180]);
    expect(e.judge(w)).toEqual(d.judge(w));
    expect(() => e.restore({})).toThrow(TypeError);
  });
});

describe('latencySeverity', () => {
  const sev = (ratio: number, ms = 100) => latencySeverity(ratio, ms, DEFAULT_LATENCY);

  it('tiers by ratio at exactly 5, 10 and 20', () => {
    expect(sev(2.99)).toBe('low');
    expect(sev(3)).toBe('low');
    expect(sev(4.99)).toBe('low');
    expect(sev(5)).toBe('medium');
    expect(sev(9.99)).toBe('medium');
    expect(sev(10)).toBe('high');
    expect(sev(19.99)).toBe('high');
    expect(sev(20)).toBe('critical');
  });

  it('is critical above 10 s whatever the ratio', () => {
    expect(sev(1.5, 10_000)).toBe('low');
    expect(sev(1.5, 10_000.1)).toBe('critical');
  });

  it('judges short history honestly: few baseline samples need a larger shift, and still catch 50x', () => {
    const rng = mulberry32(21);
    const young = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
    young.learn(logWindowOf(draw(rng, 6, 40, 0.3)));
    const old = warmed(mulberry32(22), 40, 0.3);
    const shifted = logWindowOf([130, 140, 150]);
    // The same 3.5x window: decisive against 1500 samples, far weaker against 6 (Student's t, 5 df).
    expect(old.judge(shifted).pValue).toBeLessThan(1e-6);
    expect(young.judge(shifted).pValue).toBeGreaterThan(100 * old.judge(shifted).pValue);
    // A 50-100x jump on a handful of samples fires against six samples of history.
    const v = young.judge(logWindowOf([2500, 3100, 3800]));
    expect(v).toMatchObject({ anomalous: true, ready: true, severity: 'critical' });
  });

  it('does not fire on warm-up noise of a young baseline: slow first samples, then normal ones', () => {
    const rng = mulberry32(23);
    const d = new LatencyDetector(DEFAULT_BASELINE, DEFAULT_LATENCY);
    d.learn(logWindowOf(draw(rng, 8, 100, 0.4))); // cold caches
    for (let i = 0; i < 20; i++) {
      const w = logWindowOf(draw(rng, 5, 40, 0.3));
      expect(d.judge(w).anomalous).toBe(false);
      d.learn(w);
    }
  });
});
