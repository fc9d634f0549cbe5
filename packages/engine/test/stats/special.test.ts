import { describe, expect, it } from 'vitest';
import {
  chiSquareQuantile,
  binomialCdf,
  binomialSf,
  erfc,
  logGamma,
  normalSf,
  pToScore,
  poissonCdf,
  poissonSf,
  probit,
  regularizedGammaP,
  regularizedGammaQ,
  regularizedIncompleteBeta,
  studentTSf,
} from '../../src/stats/special.js';

/** |actual / expected − 1| ≤ rel. */
function close(actual: number, expected: number, rel = 1e-9): void {
  expect(Math.abs(actual / expected - 1), `${actual} vs ${expected}`).toBeLessThanOrEqual(rel);
}

describe('logGamma', () => {
  it('matches ln((x−1)!) and Γ(1/2) = √π', () => {
    expect(Math.abs(logGamma(1))).toBeLessThan(1e-14);
    expect(Math.abs(logGamma(2))).toBeLessThan(1e-14);
    close(logGamma(5), Math.log(24), 1e-14);
    close(logGamma(101), 363.73937555556347, 1e-14);
    close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
    close(logGamma(1e6), 12815504.569147612, 1e-13);
  });

  it('gives the same number at a half-integer every time it is asked (kept after the first)', () => {
    for (let twice = 1; twice <= 2100; twice++) {
      const x = twice / 2;
      const first = logGamma(x);
      expect(logGamma(x)).toBe(first);
      // Γ(x + 1) = x Γ(x), to the Lanczos approximation's accuracy.
      if (twice > 2) expect(Math.abs(first - logGamma(x - 1) - Math.log(x - 1))).toBeLessThan(1e-10);
    }
  });

  it('uses the reflection formula below 1/2 and is infinite at the poles', () => {
    close(logGamma(-0.5), Math.log(2 * Math.sqrt(Math.PI)), 1e-13); // Γ(−1/2) = −2√π
    expect(logGamma(0)).toBe(Infinity);
    expect(logGamma(-3)).toBe(Infinity);
  });
});

describe('incomplete beta and gamma', () => {
  it('matches closed forms', () => {
    // I_x(1, b) = 1 − (1 − x)^b; I_x(a, 1) = x^a.
    close(regularizedIncompleteBeta(1, 7, 0.3), 1 - 0.7 ** 7, 1e-13);
    close(regularizedIncompleteBeta(4, 1, 0.3), 0.3 ** 4, 1e-13);
    // P(1, x) = 1 − e^-x.
    close(regularizedGammaP(1, 2), 1 - Math.exp(-2), 1e-13);
    close(regularizedGammaQ(1, 50), Math.exp(-50), 1e-12);
  });

  it('is exact at the edges', () => {
    expect(regularizedIncompleteBeta(2, 3, 0)).toBe(0);
    expect(regularizedIncompleteBeta(2, 3, 1)).toBe(1);
    expect(regularizedGammaP(2, 0)).toBe(0);
    expect(regularizedGammaQ(2, 0)).toBe(1);
    expect(regularizedGammaP(2, Infinity)).toBe(1);
    expect(regularizedGammaQ(2, Infinity)).toBe(0);
  });

  it('P + Q = 1 on both sides of the series / fraction switch', () => {
    for (const [a, x] of [[3, 1], [3, 4], [3, 10], [400, 380], [400, 420]]) {
      expect(regularizedGammaP(a, x) + regularizedGammaQ(a, x)).toBeCloseTo(1, 13);
    }
  });
});

describe('binomial tails', () => {
  it('match known values', () => {
    close(binomialSf(3, 10, 0.1), 0.0701908264);
    close(binomialCdf(2, 10, 0.1), 1 - 0.0701908264);
    // P(X ≥ 7 | 90, 0.003): a sensitive error-rate detection.
    close(binomialSf(7, 90, 0.003), 1.3142183480805583e-8, 1e-9);
    // P(X ≤ 0 | 60, 0.81) = 0.19^60: a missing call.
    close(binomialCdf(0, 60, 0.81), 0.19 ** 60, 1e-10);
  });

  it('stay accurate far in the tail (no 1 − x cancellation)', () => {
    close(binomialSf(100, 100, 0.001), 1e-300, 1e-9);
    close(binomialCdf(0, 1000, 0.5), 0.5 ** 1000, 1e-9);
  });

  it('converge for big windows', () => {
    // 3 sd above the mean of 100000 fair coin flips (reference: scipy).
    close(binomialSf(50_475, 100_000, 0.5), 0.0013453777323640785, 1e-8);
  });

  it('handle degenerate arguments without NaN', () => {
    expect(binomialSf(0, 10, 0.3)).toBe(1);
    expect(binomialSf(-2, 10, 0.3)).toBe(1);
    expect(binomialSf(11, 10, 0.3)).toBe(0);
    expect(binomialSf(1, 10, 0)).toBe(0);
    expect(binomialSf(10, 10, 1)).toBe(1);
    expect(binomialSf(0, 0, 0.5)).toBe(1);
    expect(binomialCdf(-1, 10, 0.3)).toBe(0);
    expect(binomialCdf(10, 10, 0.3)).toBe(1);
    expect(binomialCdf(0, 10, 0)).toBe(1);
    expect(binomialCdf(9, 10, 1)).toBe(0);
  });
});

describe('Poisson tails', () => {
  it('match known values', () => {
    close(poissonSf(10, 2), 4.649807e-5, 1e-6);
    close(poissonCdf(0, 21), Math.exp(-21), 1e-12);
    close(poissonCdf(3, 2), Math.exp(-2) * (1 + 2 + 2 + 4 / 3), 1e-12);
    close(poissonSf(1, 0.5), 1 - Math.exp(-0.5), 1e-12);
  });

  it('handle lambda = 0 and k ≤ 0', () => {
    expect(poissonSf(0, 0)).toBe(1);
    expect(poissonSf(1, 0)).toBe(0);
    expect(poissonCdf(0, 0)).toBe(1);
    expect(poissonCdf(-1, 5)).toBe(0);
  });

  it('converge for large counts', () => {
    // 3 sd above a mean of 1e6.
    close(poissonSf(1_003_000, 1e6), 0.0013580352726831, 1e-8);
  });
});

describe('normal tail and probit', () => {
  it('normalSf matches known values, far into the tail', () => {
    expect(normalSf(0)).toBe(0.5);
    close(normalSf(1.5), 0.06680720126885807, 1e-12);
    close(normalSf(5), 2.8665157e-7, 1e-7);
    close(normalSf(37), 5.7255712225239266e-300, 1e-9);
    close(normalSf(-3), 0.9986501019683699, 1e-14);
    close(erfc(1), 0.15729920705028513, 1e-13);
  });

  it('probit inverts normalSf to full precision down to 1e-300', () => {
    close(probit(1e-10), 6.3613409, 1e-7);
    close(probit(0.975), -1.959963984540054, 1e-12);
    expect(probit(0.5)).toBe(0);
    for (const p of [1e-300, 1e-200, 1e-50, 1e-7, 0.001, 0.02425, 0.2, 0.45, 0.8, 0.999]) {
      close(normalSf(probit(p)), p, 1e-11);
    }
  });

  it('probit saturates instead of returning infinities', () => {
    const top = probit(1e-300);
    expect(top).toBeGreaterThan(37);
    expect(top).toBeLessThan(37.1);
    expect(probit(0)).toBe(top);
    expect(probit(1e-320)).toBe(top);
    expect(probit(1)).toBe(-top);
    expect(probit(NaN)).toBeNaN();
  });

  it('pToScore is 0 for p ≥ 0.5 (and NaN), probit below', () => {
    expect(pToScore(0.5)).toBe(0);
    expect(pToScore(0.9)).toBe(0);
    expect(pToScore(1)).toBe(0);
    expect(pToScore(NaN)).toBe(0);
    close(pToScore(1e-10), 6.3613409, 1e-7);
    expect(pToScore(0)).toBe(probit(1e-300));
  });
});

describe('studentTSf', () => {
  it('matches tabulated t quantiles, exactly for few df and by approximation for many', () => {
    // Two-sided 95% and one-sided 99.5% points from standard tables.
    expect(studentTSf(2.776, 4)).toBeCloseTo(0.025, 4);
    expect(studentTSf(4.604, 4)).toBeCloseTo(0.005, 4);
    expect(studentTSf(2.042, 30)).toBeCloseTo(0.025, 4);
    expect(studentTSf(1.984, 100)).toBeCloseTo(0.025, 3);
    expect(studentTSf(2.576, 1e6)).toBeCloseTo(0.005, 4);
    expect(studentTSf(0, 7)).toBeCloseTo(0.5, 12);
    expect(studentTSf(-2.776, 4)).toBeCloseTo(0.975, 4);
  });

  it('has heavier tails than the normal for few df: the same t is far less significant', () => {
    expect(studentTSf(6, 4)).toBeGreaterThan(1000 * normalSf(6));
  });
});

describe('chiSquareQuantile', () => {
  it('matches the table (5 % and 95 % quantiles) and inverts the CDF', () => {
    const lower: Array<[number, number]> = [[1, 0.003932], [2, 0.1026], [5, 1.1455], [10, 3.9403], [30, 18.4927], [100, 77.9295]];
    for (const [k, q] of lower) close(chiSquareQuantile(0.05, k), q, 1e-3);
    close(chiSquareQuantile(0.95, 5), 11.0705, 1e-4);
    for (const k of [1, 3, 7, 40]) close(regularizedGammaP(k / 2, chiSquareQuantile(0.05, k) / 2), 0.05, 1e-6);
    expect(chiSquareQuantile(0, 5)).toBeNaN();
    expect(chiSquareQuantile(0.05, 0)).toBeNaN();
  });
});
