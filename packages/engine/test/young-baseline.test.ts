/**
 * An operation whose first requests were all of one kind. A table's statements are one operation
 * (`SELECT order_items`, as OpenTelemetry names database spans): a category page's fast query, which runs only
 * on a cache miss, and a sales report's slow one. While the cache is cold, the fast query is all there is;
 * then the reports (mostly) and a few misses are the operation's usual mix. Found live (a probe of an
 * Express + PostgreSQL app at a steady load): the baseline learned from the first 20 samples (ln-spread 0.36)
 * took the reports for a 5× slowdown, held them back from learning, and fired every few minutes for half
 * an hour.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type IncidentEvent, type Span } from '../src/index.js';
import { logNormal, mulberry32 } from './helpers/random.js';
import { span } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const TABLE_OP = 'SELECT order_items';

/**
 * `seconds` of traffic: category pages (2/s), whose cache misses every category until `warmFrom` s and one in
 * ten after, and, from `reportsFrom` s on, sales reports (1/s).
 */
function run(warmFrom: number, reportsFrom: number, seconds: number): { anomalies: Anomaly[]; events: IncidentEvent[] } {
  const a = createAnalyzer();
  const anomalies: Anomaly[] = [];
  const events: IncidentEvent[] = [];
  a.onAnomaly((x) => anomalies.push(x));
  a.onIncident((e) => events.push(e));
  const rng = mulberry32(21);
  let id = 0;
  const request = (start: number, route: string, query: string | undefined, queryMs: number): Span[] => {
    const traceId = (++id).toString(16).padStart(32, '0');
    const [method, path] = route.split(' ');
    const server = span({ traceId, service: 'store', name: route, kind: 'server', startTime: start, endTime: start, attributes: { 'http.request.method': method, 'http.route': path } });
    const out = [server];
    let end = start + 1 + rng();
    if (query !== undefined) {
      const db = span({ traceId, service: 'store', name: 'pg.query:SELECT store', kind: 'client', parentSpanId: server.spanId, startTime: end, endTime: end + queryMs, attributes: { 'db.system.name': 'postgresql', 'db.query.text': query } });
      out.push(db);
      end = db.endTime + 0.5;
    }
    server.endTime = end + 0.5;
    return out;
  };
  for (let s = 0; s < seconds; s++) {
    const batch: Span[] = [];
    for (let i = 0; i < 2; i++) {
      // A cold cache misses every category; a warm one, one request in ten.
      const miss = s < warmFrom || rng() < 0.1;
      const query = miss ? 'SELECT product_id, sum(qty) FROM order_items WHERE category = $1 GROUP BY product_id' : undefined;
      batch.push(...request(T0 + s * 1000 + i * 500 + rng() * 100, 'GET /categories/:cat/top', query, logNormal(rng, 20, 0.3)));
    }
    if (s >= reportsFrom) batch.push(...request(T0 + s * 1000 + 250, 'GET /reports/sales', 'SELECT status, sum(qty * price) FROM order_items JOIN orders ON orders.id = order_id GROUP BY status', logNormal(rng, 120, 0.3)));
    a.ingest(batch);
    a.advanceTo(T0 + (s + 1) * 1000);
  }
  a.flush();
  return { anomalies, events };
}

describe('a latency baseline learned from requests of one kind', () => {
  it('takes the usual mix for normal although its first samples were all fast: no alarm', () => {
    // The first five seconds: ten fast statements (a cold cache's misses), then the reports too; ten seconds
    // in, the cache is warm and the reports are most of the calls.
    const { anomalies, events } = run(10, 5, 10 * 60);
    expect(anomalies.filter((x) => x.operation === TABLE_OP)).toEqual([]);
    expect(events.map((e) => `${e.type}: ${e.incident.rootCause.explanation}`)).toEqual([]);
  });

  it('takes a mix that changed after minutes for news, then for the new normal once it outlasted what came before', () => {
    // Two minutes of the fast statement alone (its baseline well learned), then the reports for 40 minutes.
    const { events } = run(0, 120, 42 * 60);
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.length).toBeGreaterThan(0);
    const first = opened[0].incident;
    expect(first.rootCause.operation).toBe(TABLE_OP);
    // It resolves as the new normal minutes later, not after adaptAfterMs (30 min), and nothing opens after it.
    const adapted = events.find((e) => e.type === 'resolved' && e.incident.resolvedBy === 'adapted');
    expect(adapted).toBeDefined();
    expect(adapted!.incident.resolvedAt! - first.openedAt).toBeLessThan(12 * MIN);
    expect(opened.filter((e) => e.incident.openedAt > adapted!.incident.resolvedAt!)).toEqual([]);
  });
});
