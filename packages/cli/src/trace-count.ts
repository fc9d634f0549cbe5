/**
 * Distinct trace ids of a run (the report's `traces`), counted without keeping the strings: each id as a
 * 53-bit number in an open-addressing table of doubles. A `Set<number>` of the same keys cost the CLI's
 * analysing thread ~0.3 µs a span in a CPU profile (a boxed number per key, rehashing as it grew).
 */
export class TraceCount {
  private keys = new Float64Array(1 << 12).fill(EMPTY);
  private mask = (1 << 12) - 1;
  /** Distinct ids added. */
  size = 0;

  /** Counts `id` once. */
  add(id: string): void {
    const key = traceKey(id);
    let i = slot(key) & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === key) return;
      if (k === EMPTY) break;
      i = (i + 1) & this.mask;
    }
    this.keys[i] = key;
    if (++this.size * 2 > this.keys.length) this.grow();
  }

  /** Forgets every id. */
  clear(): void {
    this.keys.fill(EMPTY);
    this.size = 0;
  }

  private grow(): void {
    const old = this.keys;
    this.keys = new Float64Array(2 * old.length).fill(EMPTY);
    this.mask = this.keys.length - 1;
    for (const key of old) {
      if (key === EMPTY) continue;
      let i = slot(key) & this.mask;
      while (this.keys[i] !== EMPTY) i = (i + 1) & this.mask;
      this.keys[i] = key;
    }
  }
}

/** Keys are non-negative: a free slot. */
const EMPTY = -1;

/** A well-mixed 32-bit hash of a key below 2^53. */
function slot(key: number): number {
  const lo = key >>> 0;
  const hi = (key / 4294967296) | 0;
  return Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) ^ (hi >>> 7);
}

/**
 * Trace ids are hex: their last 13 digits (52 bits) identify a trace (`parseInt(last13, 16)`); anything
 * else by a hash of the whole id, above 2^52 so the two never meet.
 */
export function traceKey(id: string): number {
  // The value parseInt gives when all 13 are hex digits, without slicing a string: exact below 2^53.
  let x = 0;
  for (let i = Math.max(0, id.length - 13); i < id.length; i++) {
    const c = id.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) return slowKey(id);
    x = x * 16 + d;
  }
  return id.length === 0 ? slowKey(id) : x;
}

function slowKey(id: string): number {
  const n = parseInt(id.slice(-13), 16);
  return Number.isNaN(n) ? hashString(id) : n;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) + 2 ** 52;
}
