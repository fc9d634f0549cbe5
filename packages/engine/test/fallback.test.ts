/**
 * A cache in front of a database: a request reads the cache and, on a miss, the database, then fills the
 * cache. While the cache misses everything (flushed, or down) requests succeed through the database; when it
 * is back, they call the database as rarely as before. That return is no change in what the service does.
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type Span } from '../src/index.js';
import { watch } from './helpers/events.js';
import { mulberry32 } from './helpers/random.js';
import { TraceBuilder } from './helpers/spans.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const RPS = 20;
/** Share of reads the cache misses when healthy. */
const MISS = 0.3;

type CacheFault = 'flushed' | 'down';

/** 14 minutes of reads, the cache `fault` from minute 10 to 11, streamed live second by second. */
function run(fault: CacheFault) {
  const a = createAnalyzer({ resolveAfterMs: 30_000 });
  const events = watch(a);
  const anomalies: Anomaly[] = [];
  a.onAnomaly((x) => anomalies.push(x));
  const rng = mulberry32(7);
  for (let s = 0; s < 14 * 60; s++) {
    const faulty = s >= 10 * 60 && s < 11 * 60;
    const batch: Span[] = [];
    for (let i = 0; i < RPS; i++) {
      const start = T0 + s * 1000 + i * (1000 / RPS);
      const t = new TraceBuilder();
      const server = t.server('orders', '/orders/:id', start, start + 12);
      const down = faulty && fault === 'down';
      t.db(server, 'redis', 'GET', start + 1, start + 2, down ? { status: 'error', statusMessage: 'connect ECONNREFUSED 10.0.0.7:6379' } : {});
      if (faulty || rng() < MISS) {
        t.db(server, 'postgresql', 'SELECT', start + 3, start + 8 + rng() * 2);
        t.db(server, 'redis', 'SET', start + 9, start + 10, down ? { status: 'error', statusMessage: 'connect ECONNREFUSED 10.0.0.7:6379' } : {});
      }
      batch.push(...t.spans);
    }
    a.ingest(batch);
    a.advanceTo(T0 + (s + 1) * 1000);
  }
  return { events, anomalies, incidents: a.incidents() };
}

describe('requests that fall back from a cache to the database', () => {
  it('a minute of a flushed cache (every read a miss, nothing failing) raises nothing when the misses return to normal', () => {
    const { incidents, anomalies } = run('flushed');
    expect(anomalies.map((x) => x.explanation)).toEqual([]);
    expect(incidents).toEqual([]);
  });

  it('the cache down for a minute is one incident about the cache, resolved after it is back: the fallback is not learned as normal', () => {
    const { incidents, anomalies } = run('down');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ status: 'resolved', rootCause: { service: 'redis', kind: 'errors' } });
    expect(anomalies.filter((x) => x.kind === 'shape').map((x) => x.explanation)).toEqual([]);
  });
});
