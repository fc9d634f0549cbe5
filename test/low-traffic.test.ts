/**
 * Catalogue scenarios at a quarter of their usual traffic (2 req/s at the entry): fewer samples per window,
 * detections later, and the same incidents.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '@rootspan/engine';
import { scenarioBatches } from './support/scenario-batches.js';

describe('low traffic', () => {
  // inventory reads each variant on its own: 20 queries where it made one, each as fast as ever. Its
  // latency rose two minutes after the call-pattern change fired, when that episode had ended, and the
  // slow requests' extra time, spread over 20 queries each a little over their typical time, was read as
  // the database's: "Latency in postgresql SELECT products" opened as a second incident.
  it('shop-inventory-n-plus-one: one incident, named for the caller whose loop of queries it is', () => {
    const analyzer = createAnalyzer();
    for (const b of scenarioBatches('shop-inventory-n-plus-one', 2).batches) analyzer.ingest(b);
    analyzer.flush();
    expect(analyzer.incidents().map((i) => i.title)).toEqual([expect.stringMatching(/ in inventory GET \/products\/:id/)]);
  });
});
