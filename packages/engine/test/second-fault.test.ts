/**
 * A second, independent fault soon after a first: a blog API caches in Redis and falls back to PostgreSQL.
 * Redis goes down for 2.5 minutes (its commands fail after a second of retries; PostgreSQL, taking the
 * cache's reads, slows a little: the first incident counts it as affected). Then, `gapMs` after Redis is
 * back, a row lock holds every `UPDATE articles` for 40 s and releases them at once. The lock is a fault of
 * its own, found when the held statements end: an incident rooted in postgresql's UPDATE, whether the
 * Redis incident is still open (the offline quiet period is 5 minutes) or resolved.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { logNormal, mulberry32 } from './helpers/random.js';
import { SHOP_START, batches } from './helpers/shop.js';
import { hexId, span } from './helpers/spans.js';

const SEC = 1000;
const MIN = 60 * SEC;
const REDIS_DOWN = [10 * MIN, 12.5 * MIN] as const;

function blogTraffic(seed: number, gapMs: number): Span[] {
  const rng = mulberry32(seed);
  const ln = (median: number) => logNormal(rng, median, 0.3);
  const lock = [REDIS_DOWN[1] + gapMs, REDIS_DOWN[1] + gapMs + 40 * SEC];
  const within = (t: number, [from, to]: readonly number[]) => t - SHOP_START >= from && t - SHOP_START < to;
  const spans: Span[] = [];
  for (let t = SHOP_START; t < SHOP_START + lock[1] + 3 * MIN; t += (-Math.log(1 - rng()) / 20) * SEC) {
    const traceId = hexId(32);
    const like = rng() < 0.15;
    const route = like ? '/articles/:id/like' : '/articles/:id';
    const server = span({ traceId, service: 'blog-api', name: `${like ? 'POST' : 'GET'} ${route}`, kind: 'server', startTime: t, endTime: t, attributes: { 'http.request.method': like ? 'POST' : 'GET', 'http.route': route, 'http.response.status_code': 200 } });
    const down = within(t, REDIS_DOWN);
    let at = t + ln(0.5);
    const call = (system: 'redis' | 'postgresql', op: string, ms: number, failed = false) => {
      const attributes: Record<string, string> = { 'db.system': system, 'db.operation.name': op, 'server.address': system };
      if (system === 'postgresql') attributes['db.collection.name'] = 'articles';
      spans.push(span({ traceId, service: 'blog-api', name: system === 'redis' ? op : `${op} articles`, kind: 'client', parentSpanId: server.spanId, startTime: at, endTime: at + ms, attributes, ...(failed ? { status: 'error' as const } : {}) }));
      at += ms + 0.2;
    };
    const redis = (op: string) => (down ? call('redis', op, SEC + ln(50), true) : call('redis', op, ln(0.8)));
    if (like) {
      call('postgresql', 'UPDATE', within(at, lock) ? SHOP_START + lock[1] + ln(5) - at : ln(2));
      redis('DEL');
    } else {
      redis('GET');
      if (down || rng() < 0.2) call('postgresql', 'SELECT', ln(down ? 6 : 1.5));
    }
    server.endTime = at + ln(0.5);
    spans.push(server);
  }
  return spans.sort((a, b) => a.endTime - b.endTime);
}

function incidentsOf(seed: number, gapMs: number, options: Parameters<typeof createAnalyzer>[0] = {}) {
  const a = createAnalyzer(options);
  for (const b of batches(blogTraffic(seed, gapMs), 500)) a.ingest(b);
  a.flush();
  return a
    .incidents()
    .filter((i) => i.resolvedBy !== 'merged')
    .map((i) => ({ at: Math.round((i.openedAt - SHOP_START) / SEC), root: `${i.rootCause.service} ${i.rootCause.operation ?? ''}`.trim(), kind: i.rootCause.kind }))
    .sort((x, y) => x.at - y.at);
}

describe('a second fault soon after a first', () => {
  for (const [gapMs, label] of [
    [45 * SEC, 'while the first incident is still open, 45 s after its fault'],
    [150 * SEC, 'after its episodes have all ended, 2.5 minutes after its fault'],
  ] as const) {
    it(`opens its own incident ${label}`, () => {
      for (const [seed, options] of [[2, {}], [3, {}], [3, { resolveAfterMs: 30 * SEC }]] as const) {
        const found = incidentsOf(seed, gapMs, options);
        expect(found).toHaveLength(2);
        // Its commands fail after a second: errors or latency, either is right.
        expect(found[0].root).toBe('redis GET');
        expect(found[0].at).toBeLessThan(REDIS_DOWN[0] / SEC + 15);
        // Found when the held statements end, at the lock's release.
        const released = (REDIS_DOWN[1] + gapMs + 40 * SEC) / SEC;
        expect(found[1]).toMatchObject({ root: 'postgresql UPDATE articles', kind: 'latency' });
        expect(found[1].at).toBeGreaterThanOrEqual(released);
        expect(found[1].at).toBeLessThanOrEqual(released + 10);
      }
    });
  }
});
