import { describe, expect, it } from 'vitest';
import { inUnit } from '../web/format.js';

describe('inUnit', () => {
  it("shows an anomaly's values in its unit, calls per request (N+1) as such rather than a rate", () => {
    expect([inUnit(140, 'ms'), inUnit(0.45, 'ratio'), inUnit(12, 'rps')]).toEqual(['140 ms', '45%', '12.0/s']);
    expect([inUnit(20, 'per-request'), inUnit(1, 'per-request'), inUnit(NaN, 'per-request')]).toEqual(['20 per request', '1.0 per request', '–']);
  });
});
