/**
 * A drop of the shop's entry traffic to a tenth at a few requests a second: every operation below the entry
 * drops with it, and each one's drop test, over the same few requests, may cross its threshold a bucket
 * before its caller's does.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '@rootspan/engine';
import { scenarioBatches } from './support/scenario-batches.js';

describe('a traffic drop at the entry', () => {
  // shipping GET /estimate (seed 2) and shipping GET /quote with inventory POST /reserve (seed 1) fired
  // before their callers and opened incidents of their own; seed 2's was retitled "Traffic drop in
  // frontend GET /products/:id" a bucket later, beside "Traffic drop in frontend POST /checkout".
  it.each([
    [2, 8],
    [1, 4],
  ])('is one incident rooted at the entry, however its callees fire first (seed %i, %i req/s)', (seed, rps) => {
    const analyzer = createAnalyzer();
    for (const b of scenarioBatches('shop-traffic-drop', rps, { seed, fault: { multiplier: 0.1 } }).batches) analyzer.ingest(b);
    analyzer.flush();
    const incidents = analyzer.incidents();
    expect(incidents.map((i) => `${i.rootCause.kind} ${i.rootCause.service}`)).toEqual(['traffic frontend']);
  });
  // To a quarter: learned as it came, the first minute of the drop pulled the rates down before its window
  // held enough of it to prove it, and nothing opened.
  it('to a quarter is found, with each bucket learned a minute late (seed 2, 8 req/s)', () => {
    const analyzer = createAnalyzer();
    for (const b of scenarioBatches('shop-traffic-drop', 8, { seed: 2, fault: { multiplier: 0.25 } }).batches) analyzer.ingest(b);
    analyzer.flush();
    expect(analyzer.incidents().map((i) => `${i.rootCause.kind} ${i.rootCause.service}`)).toEqual(['traffic frontend']);
  });
});
