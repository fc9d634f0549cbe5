/**
 * Requests that fail before the router names their route: a CMS whose load-shedding middleware answers 503
 * (its database pool saturated) on every path. Each such span has no `http.route`; named by its raw path,
 * each collection's items were an operation of their own, first seen failing, with no baseline to judge.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { logNormal, mulberry32 } from './helpers/random.js';
import { SHOP_START, batches } from './helpers/shop.js';
import { span } from './helpers/spans.js';

const SEC = 1000;
const MIN = 60 * SEC;
const SHED = [8 * MIN, 11 * MIN] as const;

function cmsTraffic(seed: number): Span[] {
  const rng = mulberry32(seed);
  const spans: Span[] = [];
  const collections = ['articles', 'pages', 'authors', 'tags', 'comments', 'media', 'events', 'products'];
  for (let t = SHOP_START; t < SHOP_START + 14 * MIN; t += (-Math.log(1 - rng()) / 15) * SEC) {
    const collection = collections[Math.floor(rng() * collections.length)];
    const path = `/items/${collection}/${1 + Math.floor(rng() * 5000)}`;
    const shed = t - SHOP_START >= SHED[0] && t - SHOP_START < SHED[1] && rng() < 0.6;
    const ms = shed ? logNormal(rng, 1, 0.3) : logNormal(rng, 12, 0.3);
    const attributes: Record<string, string | number> = { 'http.request.method': 'GET', 'url.path': path, 'http.response.status_code': shed ? 503 : 200 };
    if (!shed) attributes['http.route'] = '/items/:collection/:id';
    spans.push(span({ service: 'cms', name: shed ? 'GET' : 'GET /items/:collection/:id', kind: 'server', startTime: t, endTime: t + ms, attributes, ...(shed ? { status: 'error' as const } : {}) }));
  }
  return spans.sort((a, b) => a.endTime - b.endTime);
}

describe('requests failing before the router', () => {
  it("count as the errors of the route their path fits, judged against its baseline", () => {
    for (const seed of [1, 2]) {
      const a = createAnalyzer();
      for (const b of batches(cmsTraffic(seed), 200)) a.ingest(b);
      a.flush();
      const found = a.incidents().filter((i) => i.resolvedBy !== 'merged');
      expect(found).toHaveLength(1);
      expect(found[0].rootCause).toMatchObject({ service: 'cms', operation: 'GET /items/:collection/:id', kind: 'errors' });
      expect((found[0].openedAt - SHOP_START) / SEC).toBeGreaterThanOrEqual(SHED[0] / SEC);
      expect((found[0].openedAt - SHOP_START) / SEC).toBeLessThan(SHED[0] / SEC + 20);
      // No operation of raw paths.
      expect(a.metrics().map((m) => m.operation)).toEqual(['GET /items/:collection/:id']);
    }
  });
});
