import { RootspanError } from '../errors.js';

/** z of a fitted slope needed before it counts as a fall, under binomial noise of the shares. */
const FALL_Z = 3;

/** JSON state of a {@link ShareTrend}: its five sums (absent from snapshots written before it: no trend). */
export type ShareTrendJSON = [number, number, number, number, number];

/**
 * A straight line fitted to a call's share of parent requests, window by window, by least squares in which
 * each window weighs its parent requests and older windows fade by `discount` per window. Its value at the
 * latest window follows a steady fall (a cache warming up: fewer requests miss and write it each minute),
 * where an EWMA lags it by about 1/α windows of the fall and reads the next window's share as a drop.
 * Kept as discounted sums over the windows' ages (0 = latest), so a window costs five multiply-adds.
 */
export class ShareTrend {
  private w = 0;
  private wa = 0;
  private waa = 0;
  private wy = 0;
  private way = 0;

  /** @param discount weight an older window keeps per window learned after it (1 − α). */
  constructor(private readonly discount: number) {}

  /** Adds a window of `requests` parent requests in which `share` of them made the call. */
  add(requests: number, share: number): void {
    const d = this.discount;
    // A share over 1 (calls counted from requests the window's total left out) would void the binomial test.
    const y = Math.min(1, Math.max(0, share));
    // Every window learned so far ages by one: Σw(a+1)² = Σwa² + 2Σwa + Σw.
    this.waa = d * (this.waa + 2 * this.wa + this.w);
    this.wa = d * (this.wa + this.w);
    this.way = d * (this.way + this.wy);
    this.w = d * this.w + requests;
    this.wy = d * this.wy + requests * y;
  }

  /**
   * The line's share at the latest window when the share has been falling beyond what binomial noise
   * explains (slope z ≥ {@link FALL_Z}); undefined when it has not (flat, rising or too little history).
   */
  fallingLevel(): number | undefined {
    const { w, wa, waa, wy, way } = this;
    if (!(w > 0)) return undefined;
    const age = wa / w;
    const mean = wy / w;
    const sxx = waa - wa * age;
    if (!(sxx > 0)) return undefined;
    // Share per window of age: positive when older windows made the call more often.
    const slope = (way - wa * mean) / sxx;
    if (!(slope > 0) || slope * slope * sxx < FALL_Z * FALL_Z * mean * (1 - mean)) return undefined;
    return Math.max(0, mean - slope * age);
  }

  toJSON(): ShareTrendJSON {
    return [this.w, this.wa, this.waa, this.wy, this.way];
  }

  /** Restores from {@link toJSON} output; throws a {@link RootspanError} on anything else. */
  restore(json: unknown): void {
    if (!Array.isArray(json) || json.length !== 5 || !json.every((v) => Number.isFinite(v))) {
      throw new RootspanError('ERR_SNAPSHOT_MALFORMED', 'ShareTrend state must be an array of five finite numbers');
    }
    [this.w, this.wa, this.waa, this.wy, this.way] = json as ShareTrendJSON;
  }
}
