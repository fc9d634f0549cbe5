import { RootspanError } from '../errors.js';
/**
 * A mergeable quantile sketch with a relative-error guarantee (DDSketch): value x > 0 is counted in bin
 * ceil(log_γ x), γ = (1 + a) / (1 − a), and every bin's representative is within a relative error a of
 * all the values it holds. Bins live in one dense Float64Array over the used index range: millisecond
 * latencies from 0.01 ms to an hour span ~650 bins at a = 0.02, so dense storage stays small. The first
 * few values are kept exactly instead (most 5-second buckets of quiet operations hold a handful, and
 * thousands of such operations must fit the memory budget); bins are allocated when more arrive. The
 * first two exact values need no storage of their own: they are the minimum and the maximum.
 */

/** Values below this (and ≤ 0) are counted in the zero bin: their log index would be meaningless. */
const MIN_INDEXABLE = 1e-6;
/** First allocation, in bins; doubled as the used range grows. */
const INITIAL_BINS = 32;
/** Values kept exactly before bins are allocated. */
const RAW_MAX = 12;

/** Per-accuracy constants, shared: three doubles per sketch would each be a boxed number. */
interface Scale {
  a: number;
  gamma: number;
  invLnGamma: number;
}
const scales = new Map<number, Scale>();
function scaleFor(a: number): Scale {
  let s = scales.get(a);
  if (s === undefined) {
    const gamma = (1 + a) / (1 - a);
    s = { a, gamma, invLnGamma: 1 / Math.log(gamma) };
    scales.set(a, s);
  }
  return s;
}

/**
 * The bin of a value whose natural logarithm is `ln`. `|| 0` turns the −0 that ceil gives on (−1, 0] into
 * 0: a −0 is a double, and storing one would box the bin range fields of every sketch.
 */
function binOf(ln: number, scale: Scale): number {
  return Math.ceil(ln * scale.invLnGamma) || 0;
}

/** Plain-JSON form of a {@link LatencySketch}; `counts[i]` is bin `offset + i`. */
export interface LatencySketchJSON {
  a: number;
  offset: number;
  counts: number[];
  zero: number;
  sum: number;
  /** null when empty. */
  min: number | null;
  max: number | null;
}

/** DDSketch-style latency sketch; see the module comment. Not thread-safe, not immutable: a counter. */
export class LatencySketch {
  private readonly scale: Scale;
  /** Bins; null while the values are kept exactly (see {@link exactValue}). */
  private counts: Float64Array | null = null;
  /**
   * The first `n` values, exactly, once there are more than two (and while `counts` is null); dropped
   * when the sketch is cleared or binned. Fewer values are `lowest` and `highest`, in the order `firstHigh` says.
   */
  private raw: number[] | null = null;
  /** With two exact values: whether the first was the larger one. */
  private firstHigh = false;
  /** Bin index of counts[0]. */
  private offset = 0;
  /**
   * Used bin range (inclusive); lo > hi when no bin is used. Small integers, not ±Infinity, so that
   * they are stored unboxed (every double field of a sketch is a heap number of its own).
   */
  private lo = 0;
  private hi = -1;
  private zero = 0;
  private lowest = Infinity;
  private highest = -Infinity;
  private n = 0;
  private total = 0;

  /** @param relativeAccuracy a in (0, 1): quantiles are within a factor 1 ± a of a true sample value. */
  constructor(relativeAccuracy = 0.02) {
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw new RangeError(`LatencySketch: relative accuracy must be in (0, 1), got ${relativeAccuracy}`);
    }
    this.scale = scaleFor(relativeAccuracy);
  }

  /** Relative accuracy a. */
  get relativeAccuracy(): number {
    return this.scale.a;
  }

  /** Total weight added. */
  get count(): number {
    return this.n;
  }

  /** Sum of the values added (weighted). */
  get sum(): number {
    return this.total;
  }

  /** Whether the values are still kept exactly (never binned; once binned, a sketch stays binned). */
  get exact(): boolean {
    return this.counts === null;
  }

  /** Smallest value added; NaN when empty. */
  get min(): number {
    return this.count > 0 ? this.lowest : NaN;
  }

  /** Largest value added; NaN when empty. */
  get max(): number {
    return this.count > 0 ? this.highest : NaN;
  }

  /** Mean of the values added (exact); NaN when empty. */
  get mean(): number {
    return this.count > 0 ? this.sum / this.count : NaN;
  }

  /** Counts x with weight `count`. Non-finite values and non-positive weights are ignored. */
  add(x: number, count = 1): void {
    if (!(count > 0) || !Number.isFinite(x)) return;
    if (this.counts === null) {
      if (count === 1 && this.n < RAW_MAX) {
        this.keep(x);
      } else {
        this.toBins();
        this.bin(x, count);
      }
    } else {
      this.bin(x, count);
    }
    this.n += count;
    this.total += x * count;
    if (x < this.lowest) this.lowest = x;
    if (x > this.highest) this.highest = x;
  }

  /**
   * {@link add} of one value whose natural logarithm the caller has computed anyway (`ln` must be exactly
   * `Math.log(x)`): a binned sketch then takes no logarithm of its own.
   */
  addWithLog(x: number, ln: number): void {
    if (!Number.isFinite(x)) return;
    const bins = this.counts;
    if (bins === null && this.n < RAW_MAX) {
      this.keep(x);
    } else if (x < MIN_INDEXABLE) {
      this.toBins();
      this.zero++;
    } else {
      const i = binOf(ln, this.scale);
      const at = i - this.offset;
      // The common case, a bin inside the allocated range, without the growth checks of binIndex.
      if (bins !== null && at >= 0 && at < bins.length) {
        bins[at]++;
        this.use(i);
      } else {
        this.toBins();
        this.binIndex(i, 1);
      }
    }
    this.n++;
    this.total += x;
    if (x < this.lowest) this.lowest = x;
    if (x > this.highest) this.highest = x;
  }

  /** Keeps x as exact value number `n` (the caller then counts it into `n` and the extremes). */
  private keep(x: number): void {
    const n = this.n;
    if (n === 1) {
      this.firstHigh = x < this.lowest;
    } else if (n >= 2) {
      let raw = this.raw;
      if (raw === null) {
        raw = new Array<number>(RAW_MAX);
        raw[0] = this.exactValue(0);
        raw[1] = this.exactValue(1);
        this.raw = raw;
      }
      raw[n] = x;
    }
  }

  /** Exact value number k (< n) in the order added, while the sketch is exact. */
  private exactValue(k: number): number {
    if (this.raw !== null) return this.raw[k];
    return (k === 0) === this.firstHigh ? this.highest : this.lowest;
  }

  /** The exact values in the order added (a copy), while the sketch is exact. */
  private exactValues(): number[] {
    const out = new Array<number>(this.n);
    for (let k = 0; k < this.n; k++) out[k] = this.exactValue(k);
    return out;
  }

  /** Widens the used bin range to bin i. */
  private use(i: number): void {
    if (this.lo > this.hi) {
      this.lo = i;
      this.hi = i;
    } else if (i < this.lo) this.lo = i;
    else if (i > this.hi) this.hi = i;
  }

  /** Counts x into its bin (or the zero bin); `n`, the sum and the extremes are the caller's. */
  private bin(x: number, count: number): void {
    if (x < MIN_INDEXABLE) {
      this.zero += count;
      return;
    }
    this.binIndex(binOf(Math.log(x), this.scale), count);
  }

  /** Counts into bin i. */
  private binIndex(i: number, count: number): void {
    this.binsFor(i)[i - this.offset] += count;
    this.use(i);
  }

  /** Moves the exact values into bins (from then on the sketch stays binned, even when cleared). */
  private toBins(): void {
    if (this.counts !== null) return;
    const values = this.n > 0 ? this.exactValues() : null;
    this.raw = null;
    this.counts = new Float64Array(INITIAL_BINS);
    if (values === null) return;
    const first = values[0];
    this.offset = (first < MIN_INDEXABLE ? 0 : binOf(Math.log(first), this.scale)) - INITIAL_BINS / 2;
    for (const x of values) this.bin(x, 1);
  }

  /** Adds everything in `other` (same relative accuracy required; `other` is unchanged). */
  merge(other: LatencySketch): void {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new Error(
        `LatencySketch.merge: relative accuracy differs (${this.relativeAccuracy} vs ${other.relativeAccuracy})`,
      );
    }
    if (other.count === 0) return;
    if (other.counts === null) {
      // Exact values: copied first, as `other` may be this sketch.
      for (const x of other.exactValues()) this.add(x);
      return;
    }
    this.toBins();
    if (other.lo <= other.hi) {
      // Marked used before growing for the other end: growth keeps the used range, and an empty sketch's
      // first growth is centred on one bin, so other's low end fell outside and its counts were lost.
      this.binsFor(other.lo);
      this.use(other.lo);
      const bins = this.binsFor(other.hi);
      this.use(other.hi);
      // Read other's bins after growing: `other` may be this sketch.
      const from = other.counts as Float64Array;
      for (let i = other.lo; i <= other.hi; i++) bins[i - this.offset] += from[i - other.offset];
    }
    this.zero += other.zero;
    this.n += other.n;
    this.total += other.total;
    if (other.lowest < this.lowest) this.lowest = other.lowest;
    if (other.highest > this.highest) this.highest = other.highest;
  }

  /**
   * The q-quantile (0 ≤ q ≤ 1) within the relative accuracy: the representative 2γ^i/(γ+1) of the bin
   * holding rank q·(count − 1), clamped to [min, max]. Exact min and max for q = 0 and 1; NaN when empty.
   */
  quantile(q: number): number {
    if (this.count === 0 || Number.isNaN(q)) return NaN;
    if (q <= 0) return this.lowest;
    if (q >= 1) return this.highest;
    const rank = q * (this.count - 1);
    if (this.counts === null) {
      // Of two values or fewer, every rank below count − 1 is the smaller one.
      if (this.raw === null) return this.lowest;
      return this.raw.slice(0, this.n).sort((a, b) => a - b)[Math.floor(rank)];
    }
    let seen = this.zero;
    if (seen > rank) return this.clamp(0);
    const bins = this.counts as Float64Array;
    for (let i = this.lo; i <= this.hi; i++) {
      seen += bins[i - this.offset];
      if (seen > rank) return this.clamp((2 * Math.pow(this.scale.gamma, i)) / (this.scale.gamma + 1));
    }
    return this.highest;
  }

  /** A bin's representative can lie outside the data at the extremes; the exact min/max are better. */
  private clamp(x: number): number {
    return Math.min(Math.max(x, this.lowest), this.highest);
  }

  /** Empties the sketch, keeping its allocation for reuse. */
  clear(): void {
    if (this.counts !== null && this.lo <= this.hi) this.counts.fill(0, this.lo - this.offset, this.hi - this.offset + 1);
    // Most buckets hold two values or fewer: an array for more is made again when needed.
    this.raw = null;
    this.lo = 0;
    this.hi = -1;
    this.zero = 0;
    this.lowest = Infinity;
    this.highest = -Infinity;
    this.n = 0;
    this.total = 0;
  }

  /** Plain JSON, with the bins trimmed to the used range (exact values are binned first). */
  toJSON(): LatencySketchJSON {
    if (this.counts === null && this.n > 0) {
      const binned = new LatencySketch(this.relativeAccuracy);
      binned.merge(this);
      binned.toBins();
      return binned.toJSON();
    }
    const used = this.counts !== null && this.lo <= this.hi;
    return {
      a: this.relativeAccuracy,
      offset: used ? this.lo : 0,
      counts: used ? Array.from((this.counts as Float64Array).subarray(this.lo - this.offset, this.hi - this.offset + 1)) : [],
      zero: this.zero,
      sum: this.sum,
      min: this.count > 0 ? this.lowest : null,
      max: this.count > 0 ? this.highest : null,
    };
  }

  /** Rebuilds a sketch from {@link toJSON} output; throws a TypeError on anything else. */
  static fromJSON(json: unknown): LatencySketch {
    const j = json as LatencySketchJSON;
    const valid =
      j !== null &&
      typeof j === 'object' &&
      typeof j.a === 'number' &&
      Number.isInteger(j.offset) &&
      Array.isArray(j.counts) &&
      j.counts.every((c) => Number.isFinite(c) && c >= 0) &&
      Number.isFinite(j.zero) &&
      j.zero >= 0 &&
      Number.isFinite(j.sum);
    if (!valid) throw new RootspanError('ERR_SNAPSHOT_MALFORMED', 'LatencySketch.fromJSON: not a serialised LatencySketch');
    const s = new LatencySketch(j.a);
    for (let k = 0; k < j.counts.length; k++) {
      const c = j.counts[k];
      if (c === 0) continue;
      const i = j.offset + k;
      s.binIndex(i, c);
      s.n += c;
    }
    s.zero = j.zero;
    s.n += j.zero;
    s.total = j.sum;
    if (s.count > 0) {
      if (!Number.isFinite(j.min) || !Number.isFinite(j.max)) {
        throw new RootspanError('ERR_SNAPSHOT_MALFORMED', 'LatencySketch.fromJSON: a non-empty sketch needs finite min and max');
      }
      s.lowest = j.min as number;
      s.highest = j.max as number;
    }
    return s;
  }

  /** The bin array, grown (doubling, re-centred on the used range) so that it covers bin i. */
  private binsFor(i: number): Float64Array {
    const bins = this.counts;
    if (bins !== null && i >= this.offset && i < this.offset + bins.length) return bins;
    if (bins === null) {
      this.counts = new Float64Array(INITIAL_BINS);
      this.offset = i - INITIAL_BINS / 2;
      return this.counts;
    }
    const empty = this.lo > this.hi;
    const lo = empty ? i : Math.min(i, this.lo);
    const hi = empty ? i : Math.max(i, this.hi);
    const span = hi - lo + 1;
    let size = bins.length;
    // Keep at least as much headroom as data, so re-centring is rare.
    while (size < 2 * span) size *= 2;
    const offset = lo - Math.floor((size - span) / 2);
    if (size === bins.length) {
      // Room enough: shift the used bins in place (a cleared, reused sketch lands here).
      if (!empty) {
        const from = this.lo - this.offset;
        const to = this.lo - offset;
        const used = this.hi - this.lo + 1;
        bins.copyWithin(to, from, from + used);
        if (to > from) bins.fill(0, from, Math.min(to, from + used));
        else bins.fill(0, Math.max(to + used, from), from + used);
      }
      this.offset = offset;
      return bins;
    }
    const next = new Float64Array(size);
    if (!empty) next.set(bins.subarray(this.lo - this.offset, this.hi - this.offset + 1), this.lo - offset);
    this.counts = next;
    this.offset = offset;
    return next;
  }
}
