/**
 * Special functions and the exact tail probabilities the detectors test with. Everything is computed
 * directly in the tail that is asked for (never as `1 - other tail`), so p-values stay accurate down to
 * ~1e-300 instead of rounding to 0 at ~1e-16.
 */

const EPS = 1e-15;
/**
 * Keeps Lentz's continued fractions away from division by zero. Assigned as `+FPMIN`: the bundler turns
 * module constants into mutable `var`s, and a loop variable that may take one becomes a boxed value,
 * one new heap number per iteration (the judge's largest allocation before).
 */
const FPMIN = 1e-300;
/** Smallest p-value {@link probit} resolves; below it the score saturates (~37). */
const P_MIN = 1e-300;

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** Arguments 2x up to this have their ln Γ(x) kept once computed. */
const LOG_GAMMA_CACHED = 2048;
/**
 * ln Γ at the half-integers and integers 0.5 … 1024: the arguments of every exact test (binomial counts,
 * Student's t degrees of freedom, erfc's 1/2), which repeat at every bucket for every operation. NaN until
 * computed by {@link lanczosLogGamma}, so a cached value is the very number it would compute.
 */
const logGammaCache = new Float64Array(LOG_GAMMA_CACHED + 1).fill(NaN);

/** ln Γ(x) (Lanczos, ~15 digits). Infinity at the poles (0, -1, -2, ...). */
export function logGamma(x: number): number {
  const twice = 2 * x;
  if (twice >= 1 && twice <= LOG_GAMMA_CACHED && Number.isInteger(twice)) {
    const cached = logGammaCache[twice];
    if (!Number.isNaN(cached)) return cached;
    return (logGammaCache[twice] = lanczosLogGamma(x));
  }
  return lanczosLogGamma(x);
}

function lanczosLogGamma(x: number): number {
  if (x < 0.5) {
    if (Number.isInteger(x)) return Infinity;
    // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let a = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return HALF_LOG_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Iterations needed grow like sqrt of the shape parameters; this keeps big windows converging. */
function maxIterations(size: number): number {
  return 200 + Math.ceil(10 * Math.sqrt(size));
}

/** Continued fraction of the incomplete beta function (Numerical Recipes `betacf`, modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = +FPMIN;
  d = 1 / d;
  let h = d;
  const limit = maxIterations(Math.max(a, b));
  for (let m = 1; m <= limit; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = +FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = +FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = +FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = +FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b) for a, b > 0; 0 for x ≤ 0 and 1 for x ≥ 1. */
export function regularizedIncompleteBeta(a: number, b: number, x: number): number {
  if (!(x > 0)) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // Evaluate the fraction on the side where it converges fast; that side is also the small tail.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** ln of x^a e^-x / Γ(a), the common factor of both incomplete gamma expansions. */
function gammaFront(a: number, x: number): number {
  return a * Math.log(x) - x - logGamma(a);
}

/** P(a, x) by its power series (converges fast for x < a + 1). */
function gammaSeries(a: number, x: number): number {
  let ap = a;
  let del = 1 / a;
  let sum = del;
  const limit = maxIterations(a);
  for (let n = 0; n < limit; n++) {
    ap++;
    del *= x / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(gammaFront(a, x));
}

/** Q(a, x) by its continued fraction (converges fast for x ≥ a + 1). */
function gammaContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  const limit = maxIterations(a);
  for (let i = 1; i <= limit; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = +FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = +FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h * Math.exp(gammaFront(a, x));
}

/** Regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0; 0 for x ≤ 0. */
export function regularizedGammaP(a: number, x: number): number {
  if (!(x > 0)) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), computed directly (accurate when tiny). */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(x > 0)) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaContinuedFraction(a, x);
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialSf(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return regularizedIncompleteBeta(k, n - k + 1, p);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (p <= 0) return 1;
  if (p >= 1) return 0;
  return regularizedIncompleteBeta(n - k, k + 1, 1 - p);
}

/** P(X ≥ k) for X ~ Poisson(lambda). */
export function poissonSf(k: number, lambda: number): number {
  if (k <= 0) return 1;
  return regularizedGammaP(k, lambda);
}

/** P(X ≤ k) for X ~ Poisson(lambda). */
export function poissonCdf(k: number, lambda: number): number {
  if (k < 0) return 0;
  return regularizedGammaQ(k + 1, lambda);
}

/** Complementary error function erfc(x) = Q(1/2, x²) for x ≥ 0, accurate in the far tail. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x >= 0 ? regularizedGammaQ(0.5, x * x) : 1 + regularizedGammaP(0.5, x * x);
}

/** Upper tail of the standard normal, P(Z > z). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * The `p` quantile of chi-square with `k` degrees of freedom (the x with P(χ²_k ≤ x) = p), by bisection
 * on its CDF to 1e-9 relative: for an upper confidence bound on a standard deviation estimated from k + 1
 * samples, σ·√(k / quantile(0.05, k)). Called when a verdict needs confirming, not per request.
 */
export function chiSquareQuantile(p: number, k: number): number {
  if (!(p > 0 && p < 1) || !(k > 0)) return NaN;
  let lo = 0;
  let hi = k + 20 * Math.sqrt(2 * k) + 20;
  while (hi - lo > 1e-9 * hi) {
    const mid = (lo + hi) / 2;
    if (regularizedGammaP(k / 2, mid / 2) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Degrees of freedom up to which {@link studentTSf} evaluates the incomplete beta exactly. */
const T_EXACT_DF = 30;

/**
 * Upper tail of Student's t with `df` degrees of freedom, P(T > t): the test of a mean against a
 * baseline whose spread was estimated from few samples (df = samples − 1). Infinite df is the normal.
 */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  // Beyond a few dozen df, the normal with a corrected statistic (Abramowitz & Stegun 26.7.8) is as
  // good for a threshold and costs no continued fraction: this runs for every operation and window.
  if (df > T_EXACT_DF) return normalSf((t * (1 - 1 / (4 * df))) / Math.sqrt(1 + (t * t) / (2 * df)));
  const tail = 0.5 * regularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t));
  return t >= 0 ? tail : 1 - tail;
}

/** Standard normal density. */
function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

// Acklam's rational approximation of the normal quantile (relative error 1.15e-9 before refinement).
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549671010862155, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** z with P(Z > z) = p for p ≤ 0.5 (so z ≥ 0). */
function upperQuantile(p: number): number {
  let z: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    z = -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else {
    const q = 0.5 - p;
    const r = q * q;
    z = ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  }
  // One Halley step on normalSf(z) = p brings it to full double precision.
  const u = (normalSf(z) - p) / normalPdf(z);
  return z + u / (1 - (z * u) / 2);
}

/**
 * Inverse upper tail of the standard normal: the z with `normalSf(z) === p` (so `probit(1e-10) ≈ 6.36`,
 * `probit(0.5) = 0`, `probit(0.975) ≈ −1.96`). Tails below 1e-300 (p = 0 included) are treated as
 * 1e-300, so the result saturates at about ±37 instead of reaching ±Infinity. NaN gives NaN.
 */
export function probit(p: number): number {
  if (Number.isNaN(p)) return NaN;
  if (p <= 0.5) return upperQuantile(Math.max(p, P_MIN));
  return -upperQuantile(Math.max(1 - p, P_MIN));
}

/** A one-sided p-value as a z-like score ≥ 0: `probit(p)` for p < 0.5, else 0 (also for NaN). */
export function pToScore(p: number): number {
  return p < 0.5 ? probit(p) : 0;
}
