/** Deterministic randomness for tests: a seeded PRNG and the distributions the detectors meet. */

/** A random source: uniform in [0, 1). */
export type Rng = () => number;

/** mulberry32: a tiny, fast, seeded 32-bit PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function normal(rng: Rng): number {
  const u = 1 - rng(); // (0, 1]: keeps the log finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A log-normal latency (ms) with the given median and log-space sd. */
export function logNormal(rng: Rng, medianMs: number, sigma: number): number {
  return medianMs * Math.exp(sigma * normal(rng));
}

/** A Poisson count (Knuth's method, in chunks of mean ≤ 500 so e^-λ never underflows). */
export function poisson(rng: Rng, lambda: number): number {
  let k = 0;
  let rest = lambda;
  while (rest > 0) {
    const l = Math.min(rest, 500);
    rest -= l;
    const limit = Math.exp(-l);
    let p = rng();
    while (p > limit) {
      k++;
      p *= rng();
    }
  }
  return k;
}

/** 1 with probability p, else 0. */
export function bernoulli(rng: Rng, p: number): number {
  return rng() < p ? 1 : 0;
}

/** A Binomial(n, p) count, by n Bernoulli draws (tests use small n). */
export function binomial(rng: Rng, n: number, p: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) k += bernoulli(rng, p);
  return k;
}
