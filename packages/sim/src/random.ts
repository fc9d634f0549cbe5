/**
 * Seeded randomness. xoshiro128** (128-bit state, period 2^128 - 1) rather than a 32-bit generator
 * because every request gets its own stream: with millions of requests, 32-bit states would make
 * streams overlap and repeat ids. Everything is integer arithmetic, so output is identical on every
 * platform and run.
 */

const TWO_POW_32 = 4294967296;

/** MurmurHash3's 32-bit finaliser: a bijection with good avalanche, used to derive seeds. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** 32-bit FNV-1a hash of a string, for deriving seeds from names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Char codes of the hex digits. Ids are built with one `String.fromCharCode` call: about 5× faster than
 * `toString(16).padStart`, and the result is a flat string (no rope to flatten when hashed). */
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

function hex16(a: number, b: number): string {
  const h = HEX;
  return String.fromCharCode(
    h[a >>> 28], h[(a >>> 24) & 15], h[(a >>> 20) & 15], h[(a >>> 16) & 15], h[(a >>> 12) & 15], h[(a >>> 8) & 15], h[(a >>> 4) & 15], h[a & 15],
    h[b >>> 28], h[(b >>> 24) & 15], h[(b >>> 20) & 15], h[(b >>> 16) & 15], h[(b >>> 12) & 15], h[(b >>> 8) & 15], h[(b >>> 4) & 15], h[b & 15],
  );
}

/**
 * A reseedable xoshiro128** generator. One instance is reused for all requests ({@link Rng.reseed}),
 * so the hot path allocates nothing.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Second Box–Muller deviate, kept for the next {@link normal} call. */
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number, stream = 0) {
    this.reseed(seed, stream);
  }

  /**
   * Resets to the stream `(seed, stream)`. Distinct streams of one seed get distinct states (the
   * derivation is a bijection of `stream`), so per-request streams never coincide.
   */
  reseed(seed: number, stream: number): void {
    // splitmix32-style expansion of one 32-bit key into four state words.
    let x = mix32((mix32(seed >>> 0) ^ (stream >>> 0)) >>> 0) ^ Math.floor(stream / TWO_POW_32);
    x = (x + 0x9e3779b9) | 0;
    this.s0 = mix32(x);
    x = (x + 0x9e3779b9) | 0;
    this.s1 = mix32(x);
    x = (x + 0x9e3779b9) | 0;
    this.s2 = mix32(x);
    x = (x + 0x9e3779b9) | 0;
    this.s3 = mix32(x) | 1; // never the all-zero state
    this.hasSpare = false;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Standard normal deviate (Box–Muller, pairs cached). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u = 1 - this.next(); // (0, 1]: log(0) never happens
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Exponential deviate with mean `mean`. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** 32 lowercase hex chars (W3C trace id). */
  traceId(): string {
    // Two flat halves joined once: V8 keeps a 32-char concatenation as a short rope, flattened on first hash.
    return hex16(this.nextU32(), this.nextU32()) + hex16(this.nextU32(), this.nextU32());
  }

  /** 16 lowercase hex chars (W3C span id). */
  spanId(): string {
    return hex16(this.nextU32(), this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
