/** Every incident gives the traces to open: a slowdown seen only from its callers' calls too. */
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../src/index.js';
import type { Anomaly, Span } from '../src/types.js';
import { TraceBuilder } from './helpers/spans.js';
import { logNormal, mulberry32 } from './helpers/random.js';

describe('example traces', () => {
  it("of a peer's slowdown are its slow calls", () => {
    const a = createAnalyzer();
    const anomalies: Anomaly[] = [];
    a.onAnomaly((x) => anomalies.push(x));
    const rng = mulberry32(9);
    const t0 = Date.UTC(2026, 0, 1);
    for (let at = t0; at < t0 + 240_000; at += 100) {
      const b = new TraceBuilder();
      const slow = at >= t0 + 180_000 && at < t0 + 210_000 ? 20 : 1;
      const q = logNormal(rng, 2, 0.2) * slow;
      const server = b.server('api', '/orders', at, at + q + 2);
      b.db(server, 'postgresql', 'SELECT', at + 1, at + 1 + q);
      a.ingest(b.spans as Span[]);
    }
    a.flush();
    const peer = anomalies.filter((x) => x.kind === 'latency' && x.service === 'postgresql');
    expect(peer.length).toBeGreaterThan(0);
    for (const x of peer) expect(x.traceIds.length, x.explanation).toBeGreaterThan(0);
    const [incident] = a.incidents();
    expect(incident.rootCause.service).toBe('postgresql');
    expect(incident.traceIds.length).toBeGreaterThan(0);
  });

  it("of a slowdown are its slowest requests, its worst window's, not the mildly slow ones after it (probe 7)", () => {
    const a = createAnalyzer();
    const anomalies = new Map<string, Anomaly>();
    a.onAnomaly((x) => anomalies.set(x.id, x));
    const rng = mulberry32(11);
    const t0 = Date.UTC(2026, 0, 1);
    const held = new Set<string>();
    for (let at = t0, i = 0; at < t0 + 260_000; at += 100, i++) {
      const b = new TraceBuilder();
      // A 15-s hang, then a tail of mildly slow requests (2.5× typical, every fifth) while windows still hold the hang.
      const hang = at >= t0 + 180_000 && at < t0 + 195_000;
      const ms = hang ? 500 + 10 * rng() : at >= t0 + 195_000 && i % 5 === 0 ? 25 : logNormal(rng, 10, 0.2);
      if (hang) held.add(b.traceId);
      b.server('api', '/orders', at, at + ms);
      a.ingest(b.spans as Span[]);
    }
    a.flush();
    const latency = [...anomalies.values()].filter((x) => x.kind === 'latency' && x.operation === 'GET /orders');
    expect(latency.length).toBeGreaterThan(0);
    for (const x of latency) {
      expect(x.traceIds.length, x.explanation).toBeGreaterThan(0);
      for (const t of x.traceIds) expect(held.has(t), `${x.signal}: ${t}`).toBe(true);
    }
    const [incident] = a.incidents();
    for (const t of incident.traceIds) expect(held.has(t)).toBe(true);
  });
});
