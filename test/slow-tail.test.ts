/**
 * A tail that grows while the median does not move: a tenth of payment's requests a second slower for five
 * minutes (shop-payment-slow-tail), no bucket slow enough on its own to be held back from the baseline.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '@rootspan/engine';
import { scenarioBatches } from './support/scenario-batches.js';

describe('a slow tail', () => {
  // Learned as they came, the slow requests lifted payment's slow share before its windows held enough of them
  // to prove it: missed with these seeds at 8 req/s.
  it.each([11, 12])('is found with the slow counts of its windows learned a ring later (seed %i, 8 req/s)', (seed) => {
    const analyzer = createAnalyzer();
    const { scenario, batches } = scenarioBatches('shop-payment-slow-tail', 8, { seed });
    for (const b of batches) analyzer.ingest(b);
    analyzer.flush();
    const fault = scenario.faults[0];
    const start = batches[0][0].startTime;
    const incidents = analyzer.incidents();
    expect(incidents.map((i) => i.title)).toEqual([expect.stringMatching(/^Latency in payment POST \/payment/)]);
    // Opened within two minutes of the fault's start.
    expect(incidents[0].openedAt - start).toBeGreaterThanOrEqual(fault.fromMs);
    expect(incidents[0].openedAt - start).toBeLessThan(fault.fromMs + 120_000);
  });
});
