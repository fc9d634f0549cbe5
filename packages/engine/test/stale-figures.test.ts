/**
 * A root cause's sentence quotes figures of its own incident, never those of an earlier fault of the same
 * operation (probe-fastify S5: a pool starved by a report's slow queries opened with a slow query's
 * figures from 13 minutes before, "in the 5 s to 06:38:25 UTC: … p95 337 ms … (88×)").
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '../src/index.js';
import { TraceBuilder } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const MYSQL = { 'db.system': 'mysql', 'server.address': '127.0.0.1', 'server.port': 3306 };
const T0 = 1_700_000_000_000;
const MIN = 60_000;

function request(at: number, route: string, queryMs: number): Span[] {
  const b = new TraceBuilder();
  const server = b.server('catalog', route, at, at + queryMs + 1);
  b.db(server, 'mysql', 'SELECT', at + 0.5, at + 0.5 + queryMs, { name: 'SELECT products', attributes: { ...MYSQL, 'db.statement': 'SELECT * FROM products WHERE id = ?' } });
  return b.spans;
}

describe('root-cause figures', () => {
  it('of an earlier fault of the same operation are not told for a later one', () => {
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    const told: Array<{ at: number; id: string; explanation: string }> = [];
    analyzer.onIncident((e) => told.push({ at: e.incident.updatedAt, id: e.incident.id, explanation: e.incident.rootCause.explanation }));
    const rng = mulberry32(3);
    // Minute 3–4: every product query 100× slower. Minute 12–14: a report (1 in 10 requests) runs 800 ms queries.
    for (let at = T0, i = 0; at < T0 + 16 * MIN; at += 50, i++) {
      const first = at >= T0 + 3 * MIN && at < T0 + 4 * MIN;
      const report = i % 10 === 0;
      const second = report && at >= T0 + 12 * MIN && at < T0 + 14 * MIN;
      const ms = first ? 100 * logNormal(rng, 2, 0.2) : second ? 800 : logNormal(rng, 2, 0.2);
      analyzer.ingest(request(at, report ? '/report' : '/products/:id', ms));
    }
    analyzer.flush();
    const incidents = analyzer.incidents();
    expect(incidents.length).toBeGreaterThanOrEqual(2);
    const first = incidents.reduce((a, b) => (b.openedAt < a.openedAt ? b : a));
    expect(first.openedAt).toBeLessThan(T0 + 5 * MIN);
    const later = told.filter((t) => t.id !== first.id && t.at >= T0 + 12 * MIN);
    expect(later.length).toBeGreaterThan(0);
    // Every sentence of the later incident is dated within it, or undated ("in the last …").
    for (const t of later) {
      for (const m of t.explanation.matchAll(/to (\d\d):(\d\d):(\d\d) UTC/g)) {
        const d = new Date(T0);
        const at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), Number(m[1]), Number(m[2]), Number(m[3]));
        expect(at, t.explanation).toBeGreaterThanOrEqual(T0 + 12 * MIN);
      }
    }
  });
});

describe('an error root told at its worst over a handful of requests', () => {
  it('tells its latest figures too, once they rest on many more requests', () => {
    const analyzer = createAnalyzer({ resolveAfterMs: 30_000 });
    // One request a second; from minute 3 the first five fail, then every second one for a minute.
    for (let at = T0, i = 0; at < T0 + 5 * MIN; at += 1000, i++) {
      const k = i - 180;
      const fails = k >= 0 && k < 65 && (k < 5 || k % 2 === 0);
      const b = new TraceBuilder();
      b.server('payment', '/charge', at, at + 5, fails ? { status: 'error' } : {});
      analyzer.ingest(b.spans);
    }
    analyzer.flush();
    const [incident] = analyzer.incidents();
    expect(incident.title).toBe('Errors in payment GET /charge');
    expect(incident.rootCause.explanation).toMatch(/error rate 100% \(\d\/\d\) vs baseline 0%; latest: payment GET \/charge error rate [4-6]\d% \(\d+\/\d+\) vs baseline 0% in the /);
  });
});
