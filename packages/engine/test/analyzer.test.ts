import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_OPERATION, LOOP_CPU_ATTRIBUTE, MAX_OVERFLOW_SERVICES, RootspanError, createAnalyzer, incidentChange, type Analyzer, type IncidentChange, type AnalyzerOptions, type AnalyzerSnapshot, type Anomaly, type IncidentEvent, type Span } from '../src/index.js';
import { SHOP_START, batches, shopTraffic, type ShopFault } from './helpers/shop.js';
import { logNormal, mulberry32, poisson } from './helpers/random.js';
import { span } from './helpers/spans.js';

const MIN = 60_000;
const FAULT_AT = 10 * MIN;

function run(spans: Span[], options: AnalyzerOptions = {}, batchSize = 50): { analyzer: Analyzer; events: IncidentEvent[] } {
  const analyzer = createAnalyzer(options);
  const events: IncidentEvent[] = [];
  analyzer.onIncident((e) => events.push(e));
  for (const b of batches(spans, batchSize)) analyzer.ingest(b);
  analyzer.flush();
  return { analyzer, events };
}

function scenario(faults: ShopFault[], durationMs = 20 * MIN, seed = 7) {
  return run(shopTraffic({ seed, durationMs, faults, noiseErrors: 0.002 }));
}

describe('analyzer on a healthy shop', () => {
  it('raises nothing on 30 minutes of noisy healthy traffic', () => {
    const { analyzer, events } = run(shopTraffic({ seed: 3, durationMs: 30 * MIN, noiseErrors: 0.005 }));
    expect(analyzer.anomalies()).toEqual([]);
    expect(analyzer.stats().anomalies.total).toBe(0);
    expect(events).toEqual([]);
    expect(analyzer.stats().dropped).toBe(0);
  });

  it('learns baselines, metrics and the service graph', () => {
    const { analyzer } = run(shopTraffic({ seed: 3, durationMs: 5 * MIN }));
    const pay = analyzer.baselines().find((b) => b.service === 'payment');
    expect(pay?.ready).toBe(true);
    expect(pay?.latency?.typical).toBeGreaterThan(15);
    expect(pay?.latency?.typical).toBeLessThan(40);
    expect(pay?.errorRate).toBe(0); // observed: no error was seen, whatever prior the tests use
    const graph = analyzer.serviceGraph();
    const edges = graph.edges.map((e) => `${e.from}->${e.to}`).sort();
    expect(edges).toEqual(['checkout->inventory', 'checkout->payment', 'frontend->checkout', 'inventory->postgresql']);
    expect(graph.nodes.find((n) => n.service === 'postgresql')?.type).toBe('peer');
    const m = analyzer.metrics().find((x) => x.service === 'frontend');
    expect(m?.rate).toBeGreaterThan(3);
    expect(m?.latency?.p95).toBeGreaterThan(m?.latency?.p50 ?? Infinity);
  });

  it("counts each edge's calls over the metrics' window, in event time, from its first call", () => {
    const spans = shopTraffic({ seed: 5, durationMs: 5 * MIN });
    const analyzer = createAnalyzer();
    expect(analyzer.serviceGraph().window).toBeNull();
    // Fed in one go (as fast as a replay can be): the counts come from the spans' times, not from the feeding.
    analyzer.ingest(spans);
    analyzer.flush();
    const graph = analyzer.serviceGraph();
    const metrics = analyzer.metrics();
    const pay = metrics.find((x) => x.service === 'payment');
    expect(graph.window).toEqual({ start: pay?.windowStart, end: pay?.windowEnd });
    const edge = graph.edges.find((e) => e.from === 'checkout' && e.to === 'payment');
    // checkout is payment's only caller: its calls in the window are payment's requests in it (give or take
    // a call ending just past a bucket boundary after its answer).
    expect(Math.abs((edge?.recent?.calls ?? 0) - (pay?.requests ?? 0))).toBeLessThanOrEqual(2);
    expect(edge?.recent?.since).toBe(graph.window?.start);
    expect(edge?.recent?.errors).toBe(0);
    // The exact count: client spans of checkout to payment ending in the window.
    const answered = new Set(spans.filter((s) => s.service === 'payment' && s.kind === 'server').map((s) => s.parentSpanId));
    const inWindow = (s: Span) => s.endTime >= (graph.window?.start ?? 0) && s.endTime < (graph.window?.end ?? 0);
    const toPayment = spans.filter((s) => s.service === 'checkout' && s.kind === 'client' && answered.has(s.spanId) && inWindow(s));
    expect(toPayment.length).toBeGreaterThan(100);
    expect(edge?.recent?.calls).toBe(toPayment.length);
  });

  it("an edge first seen inside the window counts from its first bucket", () => {
    const spans = shopTraffic({ seed: 5, durationMs: 30_000 });
    const analyzer = createAnalyzer();
    analyzer.ingest(spans);
    analyzer.flush();
    const graph = analyzer.serviceGraph();
    const edge = graph.edges.find((e) => e.from === 'frontend' && e.to === 'checkout');
    const first = Math.min(...spans.filter((s) => s.service === 'frontend' && s.kind === 'client').map((s) => s.endTime));
    expect(edge?.recent?.since).toBe(Math.floor(first / 5000) * 5000);
    expect(edge?.recent?.since).toBeGreaterThan(graph.window?.start ?? Infinity);
  });
});

/**
 * Feeds an analyzer a second at a time for `minutes`, as the live wrappers drive it: `second(s)` gives the
 * spans of second s (sorted here by end time), then event time advances to the second's end. Returns the
 * incidents opened.
 */
function secondBySecond(minutes: number, second: (s: number) => Span[]): IncidentEvent[] {
  const analyzer = createAnalyzer();
  const opened: IncidentEvent[] = [];
  analyzer.onIncident((e) => e.type === 'opened' && opened.push(e));
  for (let s = 0; s < minutes * 60; s++) {
    analyzer.ingest(second(s).sort((a, b) => a.endTime - b.endTime));
    analyzer.advanceTo(SHOP_START + (s + 1) * 1000);
  }
  analyzer.flush();
  return opened;
}

describe('errors that come a few in a row', () => {
  /**
   * One route at `rate` req/s for `minutes`: from minute `fault.at` it fails `fault.share` of its requests
   * independently, before that `share` of them in runs of `run` (a reset connection failing the requests
   * queued on it).
   */
  function route(seed: number, rate: number, share: number, run: number, minutes: number, fault?: { at: number; share: number }): IncidentEvent[] {
    const rng = mulberry32(seed);
    let left = 0;
    return secondBySecond(minutes, (s) => {
      const batch: Span[] = [];
      const faulty = fault !== undefined && s >= fault.at * 60;
      for (let i = poisson(rng, rate); i > 0; i--) {
        let failed: boolean;
        if (faulty) failed = rng() < fault.share;
        else if (left > 0) failed = left-- > 0;
        else if (rng() < share / run) {
          failed = true;
          left = run - 1;
        } else failed = false;
        const start = SHOP_START + s * 1000 + rng() * 900;
        const code = failed ? 503 : 200;
        batch.push(
          span({ service: 'api', name: 'GET /items/:id', kind: 'server', startTime: start, endTime: start + 10 + rng() * 10, status: failed ? 'error' : 'unset',
            attributes: { 'http.request.method': 'GET', 'http.route': '/items/:id', 'http.response.status_code': code } }),
        );
      }
      return batch;
    });
  }

  it('opens nothing on a quiet route failing 1% of requests in runs of 3, once it has seen a few runs', () => {
    // Before: 3 of 11 requests in 5 s, "27% vs 0.46%", opened a medium incident about 4 times an hour (16 in
    // these 4 hours). In a route's first minutes, before it has seen errors come in runs, two runs within
    // one 15 s window still look like a spike (a run is learned 15 s after it, once it is not a fault's
    // start: one more such early opening in these 4 hours than when runs were learned at once).
    const opened = [1, 2, 3, 4].flatMap((seed) => route(seed, 2, 0.01, 3, 60));
    expect(opened.filter((e) => e.incident.openedAt >= SHOP_START + 10 * MIN).map((e) => e.incident.rootCause.explanation)).toEqual([]);
    expect(opened.length).toBeLessThanOrEqual(3);
  });

  it('still opens at once when that route fails outright, and on a partial failure within a minute', () => {
    const outage = route(5, 2, 0.01, 3, 40, { at: 30, share: 1 });
    expect(outage).toHaveLength(1);
    expect(outage[0].incident.openedAt - SHOP_START - 30 * MIN).toBeLessThanOrEqual(10_000);
    expect(outage[0].incident.severity).toBe('critical');
    const partial = route(5, 2, 0.01, 3, 40, { at: 30, share: 0.3 });
    expect(partial).toHaveLength(1);
    expect(partial[0].incident.openedAt - SHOP_START - 30 * MIN).toBeLessThanOrEqual(MIN);
  });

  it('opens within a minute on a busier route that never failed and starts failing 10% of requests', () => {
    // Learned as they came, its first faulty buckets lifted the 0 % baseline out of the sensitive rule's reach.
    for (const seed of [1, 2, 3]) {
      const opened = route(seed, 5, 0, 1, 12, { at: 8, share: 0.1 });
      expect(opened).toHaveLength(1);
      expect(opened[0].incident.openedAt - SHOP_START - 8 * MIN).toBeLessThanOrEqual(MIN);
    }
  });

  it('still opens on a quiet route that starts failing 10% of requests one at a time', () => {
    const opened = route(4, 2, 0.002, 1, 30, { at: 20, share: 0.1 });
    expect(opened).toHaveLength(1);
    const at = opened[0].incident.openedAt - SHOP_START;
    expect(at).toBeGreaterThanOrEqual(20 * MIN);
    expect(at).toBeLessThanOrEqual(21 * MIN);
    expect(opened[0].incident.title).toBe('Errors in api GET /items/:id');
  });
});

describe('a sparse route with a heavy tail, seen by a fresh analyzer', () => {
  /**
   * Queue jobs at `rate` per second, log-normal (median 12 ms, σ `sigma`) for `minutes`, `slow`× slower
   * from minute `slowFrom` on; the analyzer sees them from the first.
   */
  function jobs(seed: number, sigma: number, minutes: number, slowFrom = Infinity, slow = 1): IncidentEvent[] {
    const rng = mulberry32(seed);
    return secondBySecond(minutes, (s) => {
      const batch: Span[] = [];
      for (let i = poisson(rng, 0.6); i > 0; i--) {
        const start = SHOP_START + s * 1000 + rng() * 900;
        const ms = logNormal(rng, 12, sigma) * (s >= slowFrom * 60 ? slow : 1);
        batch.push(span({ service: 'worker', name: 'jobs process', kind: 'consumer', startTime: start, endTime: start + ms, attributes: { 'messaging.system': 'rabbitmq', 'messaging.operation': 'process' } }));
      }
      return batch;
    });
  }

  it('opens nothing while the tail is still being learned (σ 0.9 and 1.2, 20 seeds each)', () => {
    // Before: four jobs of four "slow" against a spread learned from six (σ̂ 0.54 for a true 0.9), with the
    // slow share's 2 % prior, opened a medium or high latency incident a minute in, in 1 to 3 seeds of 30.
    const opened: string[] = [];
    for (const sigma of [0.9, 1.2]) for (let seed = 1; seed <= 20; seed++) opened.push(...jobs(seed, sigma, 5).map((e) => `σ ${sigma} seed ${seed}: ${e.incident.rootCause.explanation}`));
    expect(opened).toEqual([]);
  });

  it('still opens when the jobs become 10× slower', () => {
    const opened = jobs(3, 0.9, 15, 10, 10);
    expect(opened).toHaveLength(1);
    expect(opened[0].incident.title).toBe('Latency in worker jobs process');
    expect(opened[0].incident.openedAt - SHOP_START - 10 * MIN).toBeLessThanOrEqual(MIN);
  });
});

describe('slow requests that come a few at a time', () => {
  /**
   * A route at 1.5 req/s, 12 ms typical (σ 0.3), of which `share` of the requests wait 2 s on a callee
   * stalled for a moment, `run` consecutive requests at a time (a client timeout with a fallback answer, a
   * paused process); `slow`× slower from minute `slowFrom` on.
   */
  function stalls(seed: number, minutes: number, share: number, run: number, slowFrom = Infinity, slow = 1): IncidentEvent[] {
    const rng = mulberry32(seed);
    let left = 0;
    return secondBySecond(minutes, (s) => {
      const batch: Span[] = [];
      for (let i = poisson(rng, 1.5); i > 0; i--) {
        let stalled = false;
        if (left > 0) {
          stalled = true;
          left--;
        } else if (rng() < share / run) {
          stalled = true;
          left = run - 1;
        }
        const start = SHOP_START + s * 1000 + rng() * 900;
        const ms = stalled ? 2000 : logNormal(rng, 12, 0.3) * (s >= slowFrom * 60 ? slow : 1);
        batch.push(span({ service: 'api', name: 'POST /api/orders', kind: 'server', startTime: start, endTime: start + ms, attributes: { 'http.request.method': 'POST', 'http.route': '/api/orders', 'http.response.status_code': 200 } }));
      }
      return batch;
    });
  }

  it('opens (almost) nothing on 0.5 % of requests stalled 2 s, two at a time, once it has seen a few', () => {
    // Before: their slow share was never learned (the buckets they slowed were held back as a possible
    // slowdown), so two stalled of five opened "Latency in api POST /api/orders" (6 in these 4 hours).
    // Now at most one, while the first runs are learned (the run length needs a few of them).
    const opened = [1, 2, 3, 4].flatMap((seed) => stalls(seed, 60, 0.005, 2));
    expect(opened.filter((e) => e.incident.openedAt >= SHOP_START + 10 * MIN).length).toBeLessThanOrEqual(1);
  });

  it('still opens when the route becomes 10× slower', () => {
    const opened = stalls(5, 50, 0.005, 2, 40, 10);
    expect(opened.map((e) => e.incident.title)).toContain('Latency in api POST /api/orders');
    const at = opened.find((e) => e.incident.openedAt >= SHOP_START + 40 * MIN)!.incident.openedAt;
    expect(at - SHOP_START - 40 * MIN).toBeLessThanOrEqual(30_000);
  });
});

describe('a paused process', () => {
  /**
   * A route at 1 req/s, 5 ms typical; every 50–70 s its process pauses 300 ms (a GC): every request in
   * flight then, or arriving during it, ends when the pause is over. `slow`× slower from minute `slowFrom`.
   */
  function paused(seed: number, minutes: number, slowFrom = Infinity, slow = 1): IncidentEvent[] {
    const rng = mulberry32(seed);
    let pause = SHOP_START + 60_000;
    return secondBySecond(minutes, (s) => {
      const batch: Span[] = [];
      for (let i = poisson(rng, 1); i > 0; i--) {
        const start = SHOP_START + s * 1000 + rng() * 1000;
        let end = start + logNormal(rng, 5, 0.3) * (s >= slowFrom * 60 ? slow : 1);
        if (end > pause && start < pause + 300) end = pause + 300 + (end - Math.max(start, pause));
        batch.push(span({ service: 'api', name: 'GET /api/prefs', kind: 'server', startTime: start, endTime: end, attributes: { 'http.request.method': 'GET', 'http.route': '/api/prefs', 'http.response.status_code': 200 } }));
      }
      if (SHOP_START + (s + 1) * 1000 > pause + 300) pause += 50_000 + rng() * 20_000;
      return batch;
    });
  }

  it('a pause that slows the requests in flight together is one slow event, not a slowdown', () => {
    // Before: two or three requests released together by one pause, 60× their typical latency, opened
    // "Latency in api GET /api/prefs" now and then (2 in 10 h on a probe's model, 1 in these 12 h).
    const opened = Array.from({ length: 12 }, (_, i) => i + 1).flatMap((seed) => paused(seed, 60));
    expect(opened.map((e) => e.incident.rootCause.explanation)).toEqual([]);
  });

  it('still opens when the route becomes 10× slower', () => {
    const opened = paused(7, 30, 20, 10);
    expect(opened.map((e) => e.incident.title)).toContain('Latency in api GET /api/prefs');
  });
});

describe('a batch consumer', () => {
  /**
   * A Kafka-style consumer: a batch every 2 s of 1–500 messages (a few, or a burst of 150–500 for a
   * minute now and then), each batch a consumer span with `messaging.batch.message_count` and one bulk
   * INSERT of its messages, both taking 1 ms + 0.25 ms per message; `slow`× per message from minute `slowFrom`.
   */
  function batches(seed: number, minutes: number, slowFrom = Infinity, slow = 1): IncidentEvent[] {
    const rng = mulberry32(seed);
    let burst = 0;
    return secondBySecond(minutes, (s) => {
      if (s % 2 !== 0) return [];
      if (burst === 0 && rng() < 1 / 60) burst = 30;
      const n = burst > 0 ? (burst--, 150 + Math.floor(rng() * 350)) : Math.min(500, Math.max(1, Math.round(logNormal(rng, 8, 1))));
      const perMessage = 0.25 * (s >= slowFrom * 60 ? slow : 1);
      const start = SHOP_START + s * 1000 + rng() * 500;
      const insert = (1 + perMessage * n) * logNormal(rng, 1, 0.2);
      const consumer = span({ service: 'ingest', name: 'events process', kind: 'consumer', startTime: start, endTime: start + insert + 1,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'events', 'messaging.batch.message_count': n } });
      const db = span({ traceId: consumer.traceId, parentSpanId: consumer.spanId, service: 'ingest', name: 'INSERT events', kind: 'client', startTime: start + 0.5, endTime: start + 0.5 + insert,
        attributes: { 'db.system': 'postgresql', 'db.query.text': 'INSERT INTO events SELECT * FROM unnest($1)' } });
      return [consumer, db];
    });
  }

  it('is judged per message: bursts of big batches are no slowdown, of it or of its bulk INSERT', () => {
    // Before: whole-batch latency read every burst as "Latency in ingest events process" (critical, 24×),
    // and the INSERT growing with the batch as "Latency in postgresql INSERT events".
    const opened = [1, 2, 3].flatMap((seed) => batches(seed, 60));
    expect(opened.map((e) => e.incident.rootCause.explanation)).toEqual([]);
  });

  it('still opens when each message takes 10× longer, naming the INSERT the time went to', () => {
    const opened = batches(4, 30, 20, 10);
    expect(opened).toHaveLength(1);
    expect(opened[0].incident.title).toBe('Latency in postgresql INSERT events, affecting ingest');
    expect(opened[0].incident.openedAt - SHOP_START - 20 * MIN).toBeLessThanOrEqual(30_000);
  });
});

describe('root cause of single faults', () => {
  it('callee errors: payment, not checkout or frontend, detected within seconds', () => {
    const { analyzer, events } = scenario([{ service: 'payment', from: FAULT_AT, to: FAULT_AT + 2 * MIN, errorRate: 1 }]);
    const incidents = analyzer.incidents();
    expect(incidents).toHaveLength(1);
    const inc = incidents[0];
    expect(inc.rootCause).toMatchObject({ service: 'payment', operation: 'GET /pay', kind: 'errors' });
    expect(inc.rootCause.confidence).toBeGreaterThan(0.7);
    expect(inc.rootCause.explanation).toMatch(/payment GET \/pay error rate 100%/);
    expect(inc.rootCause.explanation).toMatch(/of failing (frontend|checkout) .* requests fail first in payment/);
    expect(inc.openedAt - (SHOP_START + FAULT_AT)).toBeLessThanOrEqual(15_000);
    expect(inc.affected.map((a) => a.service).sort()).toEqual(expect.arrayContaining(['checkout', 'frontend', 'payment']));
    expect(inc.severity).toBe('critical');
    expect(inc.traceIds.length).toBeGreaterThan(0);
    expect(events[0].type).toBe('opened');
    // It resolved itself after the quiet period.
    expect(inc.status).toBe('resolved');
    expect(inc.resolvedBy).toBe('auto');
  });

  it('a cascade reaching several operations in one bucket opens or updates its incident once per bucket, with all of them', () => {
    const { events } = scenario([{ service: 'payment', from: FAULT_AT, to: FAULT_AT + 2 * MIN, errorRate: 1 }]);
    const told = events.filter((e) => e.type === 'opened' || e.type === 'updated');
    const perInstant = new Map<string, number>();
    for (const e of told) perInstant.set(`${e.incident.id}@${e.incident.updatedAt}`, (perInstant.get(`${e.incident.id}@${e.incident.updatedAt}`) ?? 0) + 1);
    expect(Math.max(...perInstant.values())).toBe(1);
    // Opened with the whole bucket's picture: the failing callee and the callers it took down.
    const opened = told.filter((e) => e.type === 'opened');
    expect(opened).toHaveLength(1);
    expect(new Set(opened[0].incident.affected.map((a) => a.service)).size).toBeGreaterThan(1);
  });

  it('callee slow: the operation whose self time grew, not its waiting callers', () => {
    const { analyzer } = scenario([{ service: 'payment', from: FAULT_AT, to: FAULT_AT + 2 * MIN, slow: 12 }]);
    const [inc, ...rest] = analyzer.incidents();
    expect(rest).toHaveLength(0);
    expect(inc.rootCause).toMatchObject({ service: 'payment', kind: 'latency' });
    expect(inc.rootCause.explanation).toMatch(/payment GET \/pay self-time p95 \d+ ms vs baseline \d+ ms/);
  });

  it('slow database under a service: the database node', () => {
    const { analyzer } = scenario([{ service: 'postgresql', from: FAULT_AT, to: FAULT_AT + 2 * MIN, slow: 40 }]);
    const incidents = analyzer.incidents();
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'postgresql', operation: 'SELECT orders', kind: 'latency' });
  });

  it("a caller's own bug: checkout, whose callees are fine", () => {
    const { analyzer } = scenario([{ service: 'checkout', from: FAULT_AT, to: FAULT_AT + 2 * MIN, errorRate: 0.6 }]);
    const incidents = analyzer.incidents();
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'checkout', kind: 'errors' });
  });

  it('a hang: the callee the client gave up on, as a timeout', () => {
    const { analyzer } = scenario([{ service: 'payment', from: FAULT_AT, to: FAULT_AT + 2 * MIN, hangMs: 30_000 }]);
    const incidents = analyzer.incidents();
    expect(incidents).toHaveLength(1);
    expect(incidents[0].rootCause).toMatchObject({ service: 'payment', kind: 'timeout' });
    expect(incidents[0].openedAt - (SHOP_START + FAULT_AT)).toBeLessThanOrEqual(15_000);
  });

  it('names a deploy of the root-cause service seen shortly before', () => {
    const { analyzer } = scenario([{ service: 'payment', from: FAULT_AT, to: FAULT_AT + 2 * MIN, errorRate: 0.5, version: '1.5.0' }]);
    const [inc] = analyzer.incidents();
    expect(inc.rootCause.service).toBe('payment');
    expect(inc.rootCause.change).toMatchObject({ service: 'payment', from: '1.0.0', to: '1.5.0' });
    expect(inc.rootCause.explanation).toMatch(/payment 1\.0\.0 → 1\.5\.0 seen \d+ s before/);
  });

  it('names a deploy first seen just after its restart\'s failures opened the incident', () => {
    // The old process fails its last calls as it stops; the new version's spans come 5 s later, failing too.
    const { analyzer } = scenario([
      { service: 'payment', from: FAULT_AT, to: FAULT_AT + 5000, errorRate: 1 },
      { service: 'payment', from: FAULT_AT + 5000, to: FAULT_AT + 2 * MIN, errorRate: 0.5, version: '1.5.0' },
    ]);
    const [inc] = analyzer.incidents();
    expect(inc.rootCause.service).toBe('payment');
    expect(inc.rootCause.change).toMatchObject({ service: 'payment', from: '1.0.0', to: '1.5.0' });
    expect(inc.rootCause.explanation).toMatch(/payment 1\.0\.0 → 1\.5\.0 seen (as it began|\d+ s after it was detected)/);
  });
});

describe('grouping', () => {
  it('two independent faults at once are two incidents', () => {
    const { analyzer } = scenario([
      { service: 'payment', from: FAULT_AT, to: FAULT_AT + 2 * MIN, errorRate: 1 },
      { service: 'postgresql', from: FAULT_AT, to: FAULT_AT + 2 * MIN, slow: 40 },
    ]);
    const roots = analyzer.incidents().map((i) => `${i.rootCause.service}:${i.rootCause.kind}`).sort();
    expect(roots).toEqual(['payment:errors', 'postgresql:latency']);
  });

  it('the same input in other batchings and shuffled within batches gives the same incidents', () => {
    const spans = shopTraffic({ seed: 11, durationMs: 13 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: FAULT_AT + MIN, errorRate: 1 }] });
    const summary = (a: Analyzer) => a.incidents().map((i) => [i.rootCause.service, i.rootCause.kind, i.openedAt]);
    const base = run(spans, {}, 50).analyzer;
    const shuffled = batches(spans, 200).flatMap((b) => [...b].reverse());
    const other = run(shuffled, {}, 200).analyzer;
    expect(summary(other)).toEqual(summary(base));
    expect(summary(base)).toHaveLength(1);
  });
});

describe('lifecycle', () => {
  it('acknowledge and resolve by hand, with events', () => {
    const spans = shopTraffic({ seed: 5, durationMs: 12 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: 12 * MIN, errorRate: 1 }] });
    const analyzer = createAnalyzer();
    const events: string[] = [];
    analyzer.onIncident((e) => events.push(`${e.type}:${e.incident.status}`));
    analyzer.ingest(spans);
    const [inc] = analyzer.incidents({ status: 'active' });
    expect(inc).toBeDefined();
    expect(analyzer.acknowledge(inc.id)?.status).toBe('acknowledged');
    expect(analyzer.incidents({ status: 'acknowledged', service: 'payment' })).toHaveLength(1);
    expect(analyzer.resolve(inc.id)).toMatchObject({ status: 'resolved', resolvedBy: 'user' });
    expect(analyzer.acknowledge('inc-999')).toBeUndefined();
    expect(events).toContain('opened:active');
    expect(events).toContain('acknowledged:acknowledged');
    expect(events).toContain('resolved:resolved');
  });

  it('keeps who acknowledged and resolved, and why, on the incident and in the change a store writes', () => {
    const spans = shopTraffic({ seed: 5, durationMs: 12 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: 12 * MIN, errorRate: 1 }] });
    const analyzer = createAnalyzer();
    const changes: IncidentChange[] = [];
    analyzer.onIncident((e) => changes.push(incidentChange(e)));
    analyzer.ingest(spans);
    const [inc] = analyzer.incidents({ status: 'active' });
    const note = { by: 'alice', note: 'looking at payment' };
    expect(analyzer.acknowledge(inc.id, note)?.acknowledgement).toEqual(note);
    note.by = 'mallory';
    expect(analyzer.incident(inc.id)?.acknowledgement).toEqual({ by: 'alice', note: 'looking at payment' });
    expect(analyzer.resolve(inc.id, { note: 'rolled back' })).toMatchObject({ resolvedBy: 'user', resolution: { note: 'rolled back' } });
    const opened = changes.find((c) => c.type === 'opened');
    expect(opened).toMatchObject({ at: inc.openedAt });
    expect(opened).not.toHaveProperty('by');
    expect(changes.find((c) => c.type === 'acknowledged')).toMatchObject({ by: 'alice', at: analyzer.incident(inc.id)?.acknowledgedAt });
    expect(changes.at(-1)).toMatchObject({ type: 'resolved', at: analyzer.incident(inc.id)?.resolvedAt });
    expect(changes.at(-1)).not.toHaveProperty('by');
    // An empty note is none.
    const other = createAnalyzer();
    other.ingest(spans);
    expect(other.acknowledge(inc.id, {})).not.toHaveProperty('acknowledgement');
  });

  it('advanceTo with no new spans resolves a quiet incident', () => {
    const spans = shopTraffic({ seed: 5, durationMs: 12 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: 11 * MIN, errorRate: 1 }] });
    const analyzer = createAnalyzer({ resolveAfterMs: 60_000 });
    analyzer.ingest(spans);
    expect(analyzer.incidents({ status: 'active' })).toHaveLength(1);
    analyzer.advanceTo(SHOP_START + 20 * MIN);
    expect(analyzer.incidents({ status: 'resolved' })).toHaveLength(1);
  });
});

describe('robustness', () => {
  it('counts and skips bad spans without throwing', () => {
    const analyzer = createAnalyzer();
    const good = span({ service: 'a', name: 'GET /', kind: 'server', startTime: SHOP_START, endTime: SHOP_START + 5 });
    const bad = [
      { ...good, spanId: '' },
      { ...good, spanId: 'b1', endTime: Number.NaN },
      { ...good, spanId: 'b2', endTime: SHOP_START - 10 },
      null,
      42,
      { ...good, spanId: 'b3', service: undefined },
    ] as unknown as Span[];
    expect(() => analyzer.ingest([good, ...bad, good])).not.toThrow();
    const s = analyzer.stats();
    expect(s.ingested).toBe(8);
    expect(s.accepted).toBe(1);
    expect(s.droppedBy).toMatchObject({ invalid: 4, badTime: 2, duplicate: 1 });
  });

  it('drops spans far older than the watermark as late, and counts them', () => {
    const analyzer = createAnalyzer();
    analyzer.ingest(span({ service: 'a', name: 'x', kind: 'server', startTime: SHOP_START + 10 * MIN, endTime: SHOP_START + 10 * MIN + 5 }));
    analyzer.ingest(span({ service: 'a', name: 'x', kind: 'server', startTime: SHOP_START, endTime: SHOP_START + 5 }));
    expect(analyzer.stats().droppedBy.late).toBe(1);
  });

  it('past maxOperations folds spans into one overflow operation per service: totals stay true, nothing counted twice', () => {
    const analyzer = createAnalyzer({ maxOperations: 10 });
    const spans: Span[] = [];
    for (let i = 0; i < 50; i++) {
      spans.push(span({ service: 'a', name: `op${i}`, kind: 'server', startTime: SHOP_START + i, endTime: SHOP_START + i + 3 }));
    }
    analyzer.ingest(spans);
    analyzer.flush();
    const stats = analyzer.stats();
    expect(stats).toMatchObject({ ingested: 50, accepted: 50, dropped: 0, operations: 10, overflow: { operations: 1, requests: 40, calls: 0 } });
    const overflow = analyzer.metrics().filter((m) => m.operation === 'rootspan.overflow');
    expect(overflow.map((m) => [m.service, m.requests])).toEqual([['a', 40]]);
    expect(analyzer.metrics().reduce((n, m) => n + m.requests, 0)).toBe(50);
    // Past MAX_OVERFLOW_SERVICES services with overflow, the rest share one.
    const many = createAnalyzer({ maxOperations: 1 });
    const spread: Span[] = [];
    for (let i = 0; i < MAX_OVERFLOW_SERVICES + 20; i++) {
      spread.push(span({ service: `s${i}`, name: 'GET /', kind: 'server', startTime: SHOP_START + i, endTime: SHOP_START + i + 3 }));
    }
    many.ingest(spread);
    many.flush();
    expect(many.stats().overflow).toEqual({ operations: MAX_OVERFLOW_SERVICES + 1, requests: MAX_OVERFLOW_SERVICES + 19, calls: 0, evicted: 0, sent: 0 });
    expect(many.metrics().find((m) => m.service === 'rootspan.overflow')?.requests).toBe(19);
  });

  it('a burst of one-off names fills the table only until it goes quiet: services seen later are tracked and judged', () => {
    // 300 services named once each (a service per pod, a span per raw URL), then the shop, whose payment fails from 10 min.
    const flood: Span[] = [];
    for (let i = 0; i < 300; i++) flood.push(span({ service: `pod-${i}`, name: 'GET /', kind: 'server', startTime: SHOP_START + i, endTime: SHOP_START + i + 3 }));
    const shop = shopTraffic({ seed: 7, durationMs: 20 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: 20 * MIN, errorRate: 0.6 }], noiseErrors: 0.002 });
    const { analyzer, events } = run([...flood, ...shop], { maxOperations: 100 });
    const opened = events.filter((e) => e.type === 'opened');
    expect(opened.map((e) => e.incident.rootCause.service)).toContain('payment');
    const stats = analyzer.stats();
    expect(stats.overflow.evicted).toBeGreaterThan(0);
    expect(stats.operations).toBeLessThanOrEqual(100);
    // The shop's operations are tracked, none folded away.
    expect(analyzer.metrics().filter((m) => m.service === 'payment' && m.operation !== 'rootspan.overflow').length).toBeGreaterThan(0);
  });

  it('listener exceptions are caught and counted', () => {
    const analyzer = createAnalyzer();
    analyzer.onIncident(() => {
      throw new Error('boom');
    });
    analyzer.onAnomaly(() => {
      throw new Error('boom');
    });
    const spans = shopTraffic({ seed: 5, durationMs: 12 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: 12 * MIN, errorRate: 1 }] });
    expect(() => analyzer.ingest(spans)).not.toThrow();
    expect(analyzer.stats().listenerErrors).toBeGreaterThan(0);
  });

  it('gives every listener its own copy: one mutating or throwing never affects the others', () => {
    const analyzer = createAnalyzer();
    const seen = { incidents: [] as IncidentEvent[], anomalies: [] as Anomaly[], incidentCalls: 0, anomalyCalls: 0 };
    analyzer.onIncident((e) => {
      seen.incidentCalls++;
      e.incident.title = 'mutated';
      e.incident.anomalies.length = 0;
      throw new Error('boom');
    });
    analyzer.onIncident((e) => void seen.incidents.push(e));
    analyzer.onAnomaly((a) => {
      seen.anomalyCalls++;
      a.service = 'mutated';
      throw new Error('boom');
    });
    analyzer.onAnomaly((a) => void seen.anomalies.push(a));
    analyzer.ingest(shopTraffic({ seed: 5, durationMs: 12 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: 12 * MIN, errorRate: 1 }] }));
    analyzer.flush();
    expect(seen.incidents.length).toBeGreaterThan(0);
    expect(seen.incidents).toHaveLength(seen.incidentCalls);
    expect(seen.anomalies).toHaveLength(seen.anomalyCalls);
    expect(analyzer.stats().listenerErrors).toBe(seen.incidentCalls + seen.anomalyCalls);
    for (const e of seen.incidents) {
      expect(e.incident.title).not.toBe('mutated');
      expect(e.incident.anomalies.length).toBeGreaterThan(0);
    }
    for (const a of seen.anomalies) expect(a.service).not.toBe('mutated');
    expect(analyzer.incidents()[0].title).not.toBe('mutated');
  });

  it('throws only RootspanError, with a code and a bare message', () => {
    const caught = (f: () => unknown): RootspanError => {
      try {
        f();
      } catch (err) {
        return err as RootspanError;
      }
      throw new Error('did not throw');
    };
    const bad = caught(() => createAnalyzer({ bucketMs: -1 }));
    expect(bad).toBeInstanceOf(RootspanError);
    expect(bad).toBeInstanceOf(TypeError);
    expect([bad.name, bad.code, bad.message]).toEqual(['RootspanError', 'ERR_OPTION', 'option bucketMs must be a positive finite number, got -1']);
    const analyzer = createAnalyzer();
    const good = analyzer.snapshot();
    expect(caught(() => analyzer.restore({} as AnalyzerSnapshot)).code).toBe('ERR_SNAPSHOT_FORMAT');
    expect(caught(() => analyzer.restore({ ...good, version: 99 })).code).toBe('ERR_SNAPSHOT_VERSION');
    const malformed = caught(() => analyzer.restore({ ...good, edges: 'x' } as unknown as AnalyzerSnapshot));
    expect([malformed.code, malformed.message]).toEqual(['ERR_SNAPSHOT_MALFORMED', 'malformed snapshot: edges must be an array']);
  });

  it('rejects bad options with a clear error', () => {
    expect(() => createAnalyzer({ bucketMs: -1 })).toThrow(/bucketMs must be a positive finite number/);
    expect(() => createAnalyzer({ latency: { ratio: Number.NaN } })).toThrow(/latency.ratio/);
    expect(() => createAnalyzer({ nope: 1 } as AnalyzerOptions)).toThrow(/unknown option nope/);
  });
});

describe('snapshot and restore', () => {
  it('a restored analyzer keeps its baselines and detects without re-learning', () => {
    const spans = shopTraffic({ seed: 9, durationMs: 14 * MIN, faults: [{ service: 'payment', from: FAULT_AT, to: 12 * MIN, errorRate: 1 }] });
    const warm = spans.filter((s) => s.endTime < SHOP_START + 9 * MIN);
    const rest = spans.filter((s) => s.endTime >= SHOP_START + 9 * MIN);
    const first = createAnalyzer();
    first.ingest(warm);
    const snap = JSON.parse(JSON.stringify(first.snapshot()));
    const second = createAnalyzer();
    second.restore(snap);
    expect(second.baselines()).toEqual(first.baselines());
    second.ingest(rest);
    second.flush();
    expect(second.incidents()[0]?.rootCause.service).toBe('payment');
    expect(() => second.restore({ ...snap, version: 99 })).toThrow(/version 99/);
  });
});

/** The plugin's setting: a trace is analysed 100 ms after it ends, before the event-loop sample of its tick comes. */
const IN_PROCESS: AnalyzerOptions = { traceIdleMs: 100 };

/**
 * `seconds` of `perSecond` requests each, fed a second at a time: `request(traceId, start, s, i)` gives the
 * spans of request `i` of second `s`. Returns the anomalies raised.
 */

function requests(a: Analyzer, seconds: number, perSecond: number, request: (traceId: string, start: number, s: number, i: number) => Span[]): Anomaly[] {
  const anomalies: Anomaly[] = [];
  a.onAnomaly((x) => anomalies.push(x));
  const T0 = Date.UTC(2026, 0, 1);
  for (let s = 0; s < seconds; s++) {
    const batch: Span[] = [];
    for (let i = 0; i < perSecond; i++) {
      batch.push(...request(`${(s * perSecond + i + 1).toString(16).padStart(32, '0')}`, T0 + s * 1000 + Math.floor((i * 1000) / perSecond), s, i));
    }
    a.ingest(batch);
    a.advanceTo(T0 + (s + 1) * 1000);
  }
  return anomalies;
}

describe('call patterns at start-up', () => {
  it("a call only a pool's first requests make (a connection's SET) is not a usual call that went missing", () => {
    const a = createAnalyzer();
    const anomalies = requests(a, 300, 8, (traceId, start, s, i) => {
      const server = span({ traceId, service: 'orders', name: 'GET /orders', kind: 'server', startTime: start, endTime: start + 10, attributes: { 'http.request.method': 'GET', 'http.route': '/orders' } });
      const out = [server];
      // The first six seconds: every other request opens a pool connection, which sets its session up.
      if (s < 6 && i % 2 === 0) out.push(span({ traceId, service: 'orders', name: 'SET', kind: 'client', parentSpanId: server.spanId, startTime: start + 1, endTime: start + 2, attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SET client_min_messages TO warning' } }));
      out.push(span({ traceId, service: 'orders', name: 'SELECT orders', kind: 'client', parentSpanId: server.spanId, startTime: start + 3, endTime: start + 8, attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM orders' } }));
      return out;
    });
    a.flush();
    expect(anomalies).toEqual([]);
    expect(a.incidents()).toEqual([]);
  });

  it('a cache warming up after a start (each minute fewer requests miss it and write the entry) is no usual call that went missing', () => {
    // A cart per user in Redis, written with its expiry on the user's first view and again after a checkout
    // clears it: of 300 users at 5 requests/s, the share of requests writing falls from all to about a fifth
    // over two minutes (cache-aside, as the in-process probe's cart service did).
    const rng = mulberry32(8);
    const cached = new Set<number>();
    const writes: number[] = [];
    const a = createAnalyzer(IN_PROCESS);
    const anomalies = requests(a, 300, 5, (traceId, start, s) => {
      const user = Math.floor(rng() * 300);
      const redis = (name: string, at: number) => span({ traceId, service: 'cart', name, kind: 'client', parentSpanId: server.spanId, startTime: start + at, endTime: start + at + 0.3, attributes: { 'db.system.name': 'redis' } });
      const server = span({ traceId, service: 'cart', name: 'GET /cart/:user', kind: 'server', startTime: start, endTime: start + 6, attributes: { 'http.request.method': 'GET', 'http.route': '/cart/:user' } });
      const out = [server, redis('hgetall', 0.5)];
      if (!cached.has(user)) {
        out.push(redis('hset', 1), redis('expire', 1.5));
        cached.add(user);
        writes[s >> 4] = (writes[s >> 4] ?? 0) + 1;
      }
      if (rng() < 0.1) cached.delete(user);
      return out;
    });
    a.flush();
    // The fall the baseline learned: most of the first 16 s wrote, a fifth or so of the last 16 s.
    expect(writes[0]).toBeGreaterThan(60);
    expect(writes[18]).toBeLessThan(25);
    expect(anomalies.filter((x) => x.kind === 'shape')).toEqual([]);
    expect(a.incidents()).toEqual([]);
  });
});

describe('anomaly fields', () => {
  it('a call-pattern anomaly names the callee whose calls changed as `callee` (its operation is the caller)', () => {
    const a = createAnalyzer();
    const anomalies = requests(a, 150, 20, (traceId, start, s) => {
      const server = span({ traceId, service: 'api', name: 'GET /items', kind: 'server', startTime: start, endTime: start + 8, attributes: { 'http.request.method': 'GET', 'http.route': '/items' } });
      const out = [server];
      // From 120 s on, the requests stop reading the cache (and still succeed).
      if (s < 120) out.push(span({ traceId, service: 'api', name: 'get', kind: 'client', parentSpanId: server.spanId, startTime: start + 1, endTime: start + 2, attributes: { 'db.system': 'redis' } }));
      out.push(span({ traceId, service: 'api', name: 'SELECT items', kind: 'client', parentSpanId: server.spanId, startTime: start + 3, endTime: start + 7, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'items' } }));
      return out;
    });
    const shape = anomalies.find((x) => x.kind === 'shape');
    expect(shape).toMatchObject({ service: 'api', operation: 'GET /items', signal: 'shape.missing-call', callee: { service: 'redis', operation: 'GET' } });
    expect(shape?.caller).toBeUndefined();
    expect(shape?.explanation).toMatch(/^api GET \/items stopped calling redis GET: 0% of requests vs usually 100%/);
  });

  it('a call many requests still make, fewer than usual, is made less often; made by a tenth of them or fewer, it stopped', () => {
    // From 120 s on, all but `kept` in 20 requests skip the cache read (an exception thrown before it, no status).
    const said = (kept: number) => {
      const a = createAnalyzer();
      const anomalies = requests(a, 150, 20, (traceId, start, s, i) => {
        const server = span({ traceId, service: 'api', name: 'GET /items', kind: 'server', startTime: start, endTime: start + 8, attributes: { 'http.request.method': 'GET', 'http.route': '/items' } });
        const out = [server];
        if (s < 120 || i % 20 < kept) out.push(span({ traceId, service: 'api', name: 'get', kind: 'client', parentSpanId: server.spanId, startTime: start + 1, endTime: start + 2, attributes: { 'db.system': 'redis' } }));
        return out;
      });
      const shape = anomalies.find((x) => x.kind === 'shape');
      expect(shape).toMatchObject({ signal: 'shape.missing-call', callee: { service: 'redis', operation: 'GET' } });
      return shape?.explanation;
    };
    expect(said(8)).toMatch(/^api GET \/items called redis GET less often: 40% of requests vs usually 100%/);
    expect(said(1)).toMatch(/^api GET \/items stopped calling redis GET: 5\.0% of requests vs usually 100%/);
  });
});

describe('calls per request (N+1 queries)', () => {
  /** A summary route reading a customer, then its orders' items one query each (`times(s, i)` queries). */
  function summary(times: (s: number, i: number) => number, failing?: (s: number, attempt: number) => boolean) {
    return (traceId: string, start: number, s: number, i: number): Span[] => {
      const db = { 'db.system': 'postgresql', 'db.operation.name': 'SELECT' };
      const n = times(s, i);
      const server = span({ traceId, service: 'shop', name: 'GET /customers/:id/summary', kind: 'server', startTime: start, endTime: start + 3 + n * 1.5, attributes: { 'http.request.method': 'GET', 'http.route': '/customers/:id/summary' } });
      const out = [server];
      out.push(span({ traceId, service: 'shop', name: 'SELECT customers', kind: 'client', parentSpanId: server.spanId, startTime: start + 0.5, endTime: start + 1.5, attributes: { ...db, 'db.collection.name': 'customers' } }));
      for (let k = 0; k < n; k++) {
        const at = start + 2 + k * 1.5;
        const error = failing?.(s, k) ?? false;
        // Each query checks a connection out of the pool first (node-postgres' pg-pool.connect span).
        out.push(span({ traceId, service: 'shop', name: 'pg-pool.connect', kind: 'client', parentSpanId: server.spanId, startTime: at, endTime: at + 0.1, attributes: { 'db.system': 'postgresql' } }));
        out.push(span({ traceId, service: 'shop', name: 'SELECT items', kind: 'client', parentSpanId: server.spanId, startTime: at + 0.1, endTime: at + 1, status: error ? 'error' : 'ok', attributes: { ...db, 'db.collection.name': 'items' } }));
      }
      return out;
    };
  }

  it('a route that now queries a callee many more times per request is a call-pattern change of the route, with both counts', () => {
    const a = createAnalyzer();
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    // 1–5 item queries per request, then 20–40 from 120 s on (a page size gone from 5 to 60).
    const anomalies = requests(a, 150, 10, summary((s, i) => (s < 120 ? 1 + (i % 5) : 20 + (i % 5) * 5)));
    const T0 = Date.UTC(2026, 0, 1);
    const more = anomalies.filter((x) => x.signal === 'shape.more-calls' && x.callee?.operation === 'SELECT items');
    expect(more.length).toBeGreaterThan(0);
    expect(more[0]).toMatchObject({ kind: 'shape', service: 'shop', operation: 'GET /customers/:id/summary', callee: { service: 'postgresql', operation: 'SELECT items' }, unit: 'per-request', severity: 'medium' });
    expect(more[0].firstAt - T0).toBeGreaterThanOrEqual(120_000);
    expect(more[0].firstAt - T0).toBeLessThanOrEqual(130_000);
    expect(more[0].expected).toBeCloseTo(3, 0);
    expect(more[0].observed).toBeCloseTo(30, 0);
    expect(more[0].explanation).toMatch(/^shop GET \/customers\/:id\/summary calls postgresql SELECT items 30 times per request vs usually 3\.0 \(10×\) over \d+ requests in the last \d+ s/);
    // The route is the root (its code changed), and its sentence says why, in its queries rather than the pool
    // waits each of them also makes (as many more, and first seen): from the incident's opening on.
    expect(anomalies.some((x) => x.signal === 'shape.more-calls' && x.callee?.operation === 'pg-pool.connect')).toBe(true);
    const told = events.map((e) => e.incident.rootCause.explanation).filter((x) => x.includes('times per request'));
    expect(told.length).toBeGreaterThan(0);
    expect(told.filter((x) => x.includes('calls postgresql pg-pool.connect'))).toEqual([]);
    const inc = a.incidents().find((x) => x.rootCause.service === 'shop');
    expect(inc?.rootCause).toMatchObject({ service: 'shop', operation: 'GET /customers/:id/summary' });
    expect(inc?.rootCause.explanation).toMatch(/calls postgresql SELECT items 30 times per request vs usually 3\.0/);
    expect(a.incidents().filter((x) => x.rootCause.service === 'postgresql')).toEqual([]);
  });

  it('an incident opened by an N+1 alone is told in its queries, not in the pool waits each one makes', () => {
    const a = createAnalyzer();
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    // The item queries run in parallel (Promise.all): the route takes as long with 30 as with 3.
    requests(a, 150, 10, (traceId, start, s, i) => {
      const n = s < 120 ? 1 + (i % 5) : 20 + (i % 5) * 5;
      const server = span({ traceId, service: 'shop', name: 'GET /customers/:id/summary', kind: 'server', startTime: start, endTime: start + 6, attributes: { 'http.request.method': 'GET', 'http.route': '/customers/:id/summary' } });
      const out = [server];
      for (let k = 0; k < n; k++) {
        out.push(span({ traceId, service: 'shop', name: 'pg-pool.connect', kind: 'client', parentSpanId: server.spanId, startTime: start + 1, endTime: start + 1.1, attributes: { 'db.system': 'postgresql' } }));
        out.push(span({ traceId, service: 'shop', name: 'SELECT items', kind: 'client', parentSpanId: server.spanId, startTime: start + 1.1, endTime: start + 5, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'items' } }));
      }
      return out;
    });
    expect(events[0]).toMatchObject({ type: 'opened', incident: { title: 'Call pattern change in shop GET /customers/:id/summary' } });
    expect(events[0].incident.rootCause.explanation).toMatch(/^shop GET \/customers\/:id\/summary calls postgresql SELECT items \d+ times per request/);
  });

  it("the statements an N+1 calls, slowing under its load once it is told, are told in its incident", () => {
    const a = createAnalyzer();
    // 20–40 item queries per request from 120 s on; from 200 s the database, busier, answers each in 5 ms, not 0.9.
    const anomalies = requests(a, 400, 10, (traceId, start, s, i) => {
      const n = s < 120 ? 1 + (i % 5) : 20 + (i % 5) * 5;
      const statement = s < 200 ? 0.9 : 5;
      const server = span({ traceId, service: 'shop', name: 'GET /customers/:id/summary', kind: 'server', startTime: start, endTime: start + 2 + statement, attributes: { 'http.request.method': 'GET', 'http.route': '/customers/:id/summary' } });
      const out = [server];
      for (let k = 0; k < n; k++) out.push(span({ traceId, service: 'shop', name: 'SELECT items', kind: 'client', parentSpanId: server.spanId, startTime: start + 1, endTime: start + 1 + statement, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'items' } }));
      return out;
    });
    a.flush();
    expect(anomalies.some((x) => x.kind === 'latency' && x.service === 'postgresql' && x.operation === 'SELECT items')).toBe(true);
    expect(a.incidents().map((x) => x.title)).toEqual(['Call pattern change in shop GET /customers/:id/summary, affecting postgresql']);
  });

  it('requests that differ widely in how many queries they make (1 to 40, skewed) raise nothing', () => {
    const a = createAnalyzer();
    const rnd = mulberry32(7);
    const anomalies = requests(a, 300, 10, summary(() => Math.min(40, Math.max(1, Math.round(Math.exp(rnd() * rnd() * 3.7))))));
    a.flush();
    expect(anomalies.filter((x) => x.kind === 'shape')).toEqual([]);
    expect(a.incidents()).toEqual([]);
  });

  it('a consumer handling bigger batches makes more calls per batch, not per message: no change', () => {
    const a = createAnalyzer();
    // One INSERT per message; batches of 5–10 messages, then of 25–50 from 120 s on (a backlog).
    const anomalies = requests(a, 150, 4, (traceId, start, s, i) => {
      const size = (s < 120 ? 5 : 25) * (1 + (i % 2));
      const batch = span({ traceId, service: 'worker', name: 'orders process', kind: 'consumer', startTime: start, endTime: start + 2 + size, attributes: { 'messaging.system': 'kafka', 'messaging.operation': 'process', 'messaging.batch.message_count': size } });
      const out = [batch];
      for (let k = 0; k < size; k++) out.push(span({ traceId, service: 'worker', name: 'INSERT orders', kind: 'client', parentSpanId: batch.spanId, startTime: start + 1 + k, endTime: start + 1.8 + k, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'INSERT', 'db.collection.name': 'orders' } }));
      return out;
    });
    expect(anomalies.filter((x) => x.signal === 'shape.more-calls')).toEqual([]);
  });

  it('retries of a failing callee are its failure, not a route calling it more often', () => {
    const a = createAnalyzer();
    // From 120 s each item query fails twice before it succeeds: three calls where there was one.
    const anomalies = requests(a, 150, 10, (traceId, start, s, i) => {
      const spans = summary(() => (s < 120 ? 1 + (i % 5) : 3 * (1 + (i % 5))), (t, k) => t >= 120 && k % 3 !== 2)(traceId, start, s, i);
      return spans;
    });
    expect(anomalies.some((x) => x.kind === 'errors' && x.operation === 'SELECT items')).toBe(true);
    expect(anomalies.filter((x) => x.signal === 'shape.more-calls')).toEqual([]);
  });
});

describe('lasting changes', () => {
  it('a call that stays gone is the new normal after adaptAfterMs: its incident resolves as adapted, and the call coming back is new', () => {
    const a = createAnalyzer({ adaptAfterMs: 5 * 60_000 });
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    const anomalies = requests(a, 15 * 60, 5, (traceId, start, s) => {
      const server = span({ traceId, service: 'api', name: 'GET /items', kind: 'server', startTime: start, endTime: start + 8, attributes: { 'http.request.method': 'GET', 'http.route': '/items' } });
      const out = [server];
      // From 2 min on the requests stop reading the cache (a deploy removed it); from 13 min they read it again.
      if (s < 120 || s >= 13 * 60) out.push(span({ traceId, service: 'api', name: 'get', kind: 'client', parentSpanId: server.spanId, startTime: start + 1, endTime: start + 2, attributes: { 'db.system': 'redis' } }));
      out.push(span({ traceId, service: 'api', name: 'SELECT items', kind: 'client', parentSpanId: server.spanId, startTime: start + 3, endTime: start + 7, attributes: { 'db.system': 'postgresql', 'db.operation.name': 'SELECT', 'db.collection.name': 'items' } }));
      return out;
    });
    const T0 = Date.UTC(2026, 0, 1);
    expect(anomalies.map((x) => [x.signal, Math.floor((x.firstAt - T0) / 60_000)])).toEqual([
      ['shape.missing-call', 2],
      ['shape.new-call', 13],
    ]);
    const missing = events.filter((e) => e.incident.rootCause.kind === 'shape' && e.incident.openedAt < T0 + 3 * 60_000);
    const resolved = missing.find((e) => e.type === 'resolved')?.incident;
    expect(resolved?.resolvedBy).toBe('adapted');
    expect(resolved!.resolvedAt! - anomalies[0].firstAt).toBeGreaterThanOrEqual(5 * 60_000);
    expect(resolved!.resolvedAt! - anomalies[0].firstAt).toBeLessThan(6 * 60_000);
  });

  it('adaptAfterMs must be a positive duration', () => {
    expect(() => createAnalyzer({ adaptAfterMs: 0 })).toThrow('option adaptAfterMs must be a positive finite number, got 0');
  });
});

describe('a failure joining a traffic drop', () => {
  it("becomes the incident's root cause: a drop is a failure's effect, never the other way round", () => {
    const a = createAnalyzer();
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    const T0 = Date.UTC(2026, 0, 1);
    // web GET /page at 8 req/s drops to one request in two seconds at 5 min (its clients went away): a
    // medium drop. At 6.5 min GET /api becomes 6× slower (medium too): a failure of the same service,
    // while the drop is still open.
    requests(a, 8 * 60, 12, (traceId, start, s, i) => {
      if (i < 8 && s >= 300 && (i > 0 || s % 2 === 1)) return [];
      const route = i < 8 ? '/page' : '/api';
      const ms = route === '/api' && s >= 390 ? 60 + (i % 3) : 10 + (i % 3);
      return [span({ traceId, service: 'web', name: `GET ${route}`, kind: 'server', startTime: start, endTime: start + ms, attributes: { 'http.request.method': 'GET', 'http.route': route } })];
    });
    const drop = events.find((e) => e.type === 'opened')?.incident;
    expect(drop?.rootCause).toMatchObject({ operation: 'GET /page', kind: 'traffic' });
    const later = events.filter((e) => e.incident.id === drop!.id && e.incident.updatedAt >= T0 + 390_000 && e.incident.updatedAt < T0 + 420_000);
    expect(later.at(-1)?.incident).toMatchObject({ title: 'Latency in web GET /api', rootCause: { operation: 'GET /api', kind: 'latency' } });
  });
});

describe('the event loop operation', () => {
  it('held tens of milliseconds longer (CPU-heavy requests in more ticks as traffic grows) is load, not an anomaly', () => {
    const a = createAnalyzer();
    // A server-side rendering service: a render holds the loop ~80 ms. At first one tick in ten has one;
    // from 5 min on, every tick does.
    const anomalies = requests(a, 8 * 60, 2, (traceId, start, s, i) => {
      const out = [span({ traceId, service: 'web', name: 'GET /page', kind: 'server', startTime: start, endTime: start + 90, attributes: { 'http.request.method': 'GET', 'http.route': '/page' } })];
      if (i === 0) {
        const held = s >= 300 || s % 10 === 0 ? 95 + (s % 3) * 5 : 20.2 + (s % 5) * 0.3;
        out.push(span({ traceId: `loop-${s}`, service: 'web', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - held, endTime: start }));
      }
      return out;
    });
    expect(anomalies.filter((x) => x.operation === EVENT_LOOP_OPERATION)).toEqual([]);
  });

  it('held 300 ms every other tick (a job every 2 s) is a tail of its holds: the typical one barely moves', () => {
    const a = createAnalyzer();
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    // Ordinary requests; one sample a second, 20–30 ms when free (a GC now and then: 60 ms); from 5 min
    // on, a job holds the loop ~300 ms every two seconds.
    const from = 300;
    const anomalies = requests(a, 7 * 60, 10, (traceId, start, s, i) => {
      const out = [span({ traceId, service: 'api', name: 'GET /products', kind: 'server', startTime: start, endTime: start + 6 + (i % 4), attributes: { 'http.request.method': 'GET', 'http.route': '/products' } })];
      if (i === 0) {
        const held = s >= from && s % 2 === 0 ? 300 + (s % 7) * 3 : s % 37 === 0 ? 60 : 20.2 + (s % 11);
        out.push(span({ traceId: `loop-${s}`, service: 'api', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - held, endTime: start }));
      }
      return out;
    });
    const before = anomalies.filter((x) => x.at <= Date.UTC(2026, 0, 1) + from * 1000);
    expect(before).toEqual([]);
    const loop = anomalies.find((x) => x.operation === EVENT_LOOP_OPERATION);
    expect(loop).toMatchObject({ kind: 'latency', signal: 'latency.tail' });
    expect(loop?.explanation).toMatch(/^api event loop p95 3\d\d ms vs baseline \d+ ms \(\d+×\), \d+ of \d+ ticks \(\d+%\) over 3× typical in the last \d+ s$/);
    const incident = events.find((e) => e.type === 'opened')?.incident;
    expect(incident).toMatchObject({ title: 'Latency in api event loop', rootCause: { service: 'api', operation: EVENT_LOOP_OPERATION, kind: 'latency' } });
    expect(incident!.openedAt).toBeLessThan(Date.UTC(2026, 0, 1) + (from + 30) * 1000);
    expect(incident!.rootCause.explanation).toMatch(/; CPU work is holding the event loop of api: a request that comes while it is held waits up to that long before it is read$/);
  });

  it('a loop held longer at every tick is one latency anomaly, not also one of its self time (the same samples)', () => {
    const a = createAnalyzer();
    const anomalies = requests(a, 7 * 60, 10, (traceId, start, s, i) => {
      const out = [span({ traceId, service: 'api', name: 'GET /products', kind: 'server', startTime: start, endTime: start + 6 + (i % 4), attributes: { 'http.request.method': 'GET', 'http.route': '/products' } })];
      if (i === 0) {
        const held = s >= 300 ? 200 + (s % 7) * 3 : 20.2 + (s % 11);
        out.push(span({ traceId: `loop-${s}`, service: 'api', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - held, endTime: start }));
      }
      return out;
    });
    const loop = anomalies.filter((x) => x.operation === EVENT_LOOP_OPERATION).map((x) => x.signal);
    expect(loop).toContain('latency');
    expect(loop).not.toContain('latency.self');
  });

  it("is explained as the loop held, not as requests: the plugin's samples of a blocked loop", () => {
    const a = createAnalyzer();
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    // One sample a second (the longest the loop took to come round: 20 ms when free), beside ordinary requests;
    // from 5 min on, CPU work holds the loop ~310 ms at a time.
    const anomalies = requests(a, 6 * 60, 10, (traceId, start, s, i) => {
      const out = [span({ traceId, service: 'orders', name: 'GET /orders', kind: 'server', startTime: start, endTime: start + 9 + (i % 4), attributes: { 'http.request.method': 'GET', 'http.route': '/orders' } })];
      // What holds it: a report computed for 300 ms, twice a second.
      if (s >= 300 && i % 5 === 1) out.push(span({ traceId: `report-${s}-${i}`, service: 'orders', name: 'GET /report', kind: 'server', startTime: start, endTime: start + 300, attributes: { 'http.request.method': 'GET', 'http.route': '/report' } }));
      if (i === 0) {
        const held = s >= 300 ? 300 + (s % 3) * 10 : 20.2 + (s % 5) * 0.3;
        out.push(span({ traceId: `loop-${s}`, service: 'orders', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - held, endTime: start }));
      }
      return out;
    });
    const loop = anomalies.find((x) => x.operation === EVENT_LOOP_OPERATION && x.signal === 'latency');
    expect(loop?.explanation).toMatch(/^orders event loop held for \d+ ms at a time vs baseline 2\d ms \(\d+×\) over \d+ ticks in the last \d+ s$/);
    const incident = events.find((e) => e.type === 'opened')?.incident;
    expect(incident).toMatchObject({ title: 'Latency in orders event loop', rootCause: { service: 'orders', operation: EVENT_LOOP_OPERATION, kind: 'latency' } });
    expect(incident!.openedAt).toBeLessThan(Date.UTC(2026, 0, 1) + 5 * 60_000 + 15_000);
    expect(incident!.rootCause.explanation).toMatch(
      /^orders event loop held for \d+ ms at a time vs baseline 2\d ms \(\d+×\) over \d+ ticks in the last \d+ s; CPU work is holding the event loop of orders: every request waits that long before it is read; longest own time: orders GET \/report, self-time p95 300 ms over \d+ requests in the last 15 s$/,
    );
  });

  it('held by work every request does (a middleware) is the loop, not whichever route was slowest by itself', () => {
    // Three routes; from 5 min on, a middleware burns `burn` ms of CPU in every request, holding the loop
    // `held` ms (requests queue behind each other's burns); each route adds a few ms of its own.
    const run = (burn: number, held: number, routes = ['GET /orders', 'GET /report', 'POST /cart']) => {
      const a = createAnalyzer();
      const events: IncidentEvent[] = [];
      a.onIncident((e) => events.push(e));
      requests(a, 6 * 60, 6, (traceId, start, s, i) => {
        const [method, route] = routes[i % routes.length].split(' ');
        const own = (s >= 300 ? burn : 0) + 9 + (i % routes.length) * 8 + (s % 2);
        const out = [span({ traceId, service: 'orders', name: routes[i % routes.length], kind: 'server', startTime: start, endTime: start + own, attributes: { 'http.request.method': method, 'http.route': route } })];
        if (i === 0) {
          const hold = s >= 300 ? held + (s % 3) * 10 : 20.2 + (s % 5) * 0.3;
          out.push(span({ traceId: `loop-${s}`, service: 'orders', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - hold, endTime: start }));
        }
        return out;
      });
      return events;
    };
    // A burn held twice as long as one request's own time (each waits behind another's): no one route,
    // once the loop's holds fired.
    const queued = run(60, 125).filter((e) => e.type === 'updated').at(-1)?.incident;
    expect(queued?.title).toBe('Latency in orders event loop');
    expect(queued?.rootCause.explanation).toMatch(/all 3 of its operations spend [6-9]\d ms or more of their own time at p95/);
    const two = run(60, 125, ['GET /orders', 'POST /cart']).filter((e) => e.type === 'updated').at(-1)?.incident;
    expect(two?.rootCause.explanation).toMatch(/both its operations spend [6-9]\d ms or more of their own time at p95/);
    const opened = run(200, 300).filter((e) => e.type === 'opened').map((e) => e.incident);
    expect(opened.map((x) => [x.title, x.rootCause.kind])).toEqual([['Latency in orders event loop', 'latency']]);
    // No one route is the lead: all of them spend that long of their own.
    expect(opened[0].rootCause.explanation).toMatch(
      /^orders event loop held for 3\d\d ms at a time .*; CPU work is holding the event loop of orders: every request waits that long before it is read; all 3 of its operations spend 2\d\d ms or more of their own time at p95 in the last 15 s: work every request does \(a middleware, a hook\)/,
    );
    expect(opened[0].rootCause.explanation).not.toContain('longest own time');
  });

  /**
   * A pricing service frozen `frozenMs` from 300 s; `cpuMs`: the CPU its process used over each sample's tick
   * (the hold's own, then 150 ms a tick), when the samples say; `waiting`: a request waited synchronously
   * through the hold (a shell command run with `execSync`); `backlogMs`: how much slower the requests it held
   * are served for 3 s after it (0: read only after it, as a gRPC server's are).
   */
  const frozenRun = (frozenMs: number, cpuMs?: number, waiting = false, backlogMs = 60) => {
    const a = createAnalyzer({ resolveAfterMs: 30_000 });
    const events: IncidentEvent[] = [];
    a.onIncident((e) => events.push(e));
    // From 300 s the process answers nothing for `frozenMs`: no span at all, then the tick that came round late.
    const frozenFrom = 300;
    const frozenTo = frozenFrom + frozenMs / 1000;
    const anomalies = requests(a, 420, 10, (traceId, start, s, i) => {
      if (s >= frozenFrom && s < frozenTo) return [];
      // Then the requests held meanwhile are served at once, each slowed by the others for a few seconds.
      const backlog = s >= frozenTo && s < frozenTo + 3 ? backlogMs : 0;
      const out = [span({ traceId, service: 'pricing', name: 'GET /quote', kind: 'server', startTime: start, endTime: start + 3 + (i % 4) + backlog, attributes: { 'http.request.method': 'GET', 'http.route': '/quote' } })];
      if (i === 0) {
        // The sampler's tick that came round late reports the hold a second after the backlog began.
        const held = s === frozenTo + 1 ? frozenMs : 20.2 + (s % 5) * 0.3;
        const attributes: Record<string, number> = cpuMs === undefined ? {} : { [LOOP_CPU_ATTRIBUTE]: held === frozenMs ? cpuMs : 150 };
        out.push(span({ traceId: `loop-${s}`, service: 'pricing', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - held, endTime: start, attributes }));
        if (waiting && held === frozenMs) out.push(span({ traceId: `wait-${s}`, service: 'pricing', name: 'GET /quote', kind: 'server', startTime: start - held - 5, endTime: start - 900, attributes: { 'http.request.method': 'GET', 'http.route': '/quote' } }));
      }
      return out;
    });
    return { anomalies: anomalies.filter((x) => x.operation === EVENT_LOOP_OPERATION), drain: anomalies.filter((x) => x.operation === 'GET /quote'), events };
  };

  it('held once for seconds (a synchronous block, a paused process) is an anomaly, critical past 10 s, though its other ticks are free', () => {
    const frozen = frozenRun(30_000);
    expect(frozen.anomalies).toHaveLength(1);
    expect(frozen.anomalies[0]).toMatchObject({ signal: 'latency', severity: 'critical', observed: 30_000 });
    expect(frozen.anomalies[0].explanation).toMatch(/^pricing event loop held for 30\.0 s at a time vs baseline 2\d ms \(\d+×\) over \d+ ticks in the last 5 s$/);
    expect(frozen.events.find((e) => e.type === 'opened')?.incident.title).toBe('Latency in pricing event loop');
    expect(frozen.events.at(-1)?.type).toBe('resolved');
    // The backlog's slow requests are the hold's: the incident keeps its name.
    expect(frozen.drain.length).toBeGreaterThan(0);
    for (const x of frozen.drain) expect(x.cause).toMatchObject({ service: 'pricing', operation: EVENT_LOOP_OPERATION });
    expect(new Set(frozen.events.map((e) => e.incident.title))).toEqual(new Set(['Latency in pricing event loop']));
    // Held once for seconds: an anomaly too, by how long (a caller's deadline of a second or two gave up on
    // all of it); under 2 s (a long GC pause at worst), one tick is none.
    expect(frozenRun(5_000).anomalies.map((x) => [x.severity, x.observed])).toEqual([['high', 5_000]]);
    const stalled = frozenRun(3_000, 20);
    expect(stalled.anomalies.map((x) => [x.severity, x.observed])).toEqual([['medium', 3_000]]);
    expect(stalled.events.find((e) => e.type === 'opened')?.incident.rootCause.explanation).toMatch(
      /^pricing event loop held for 3\.00 s at a time vs baseline 2\d ms \(\d+×\) over \d+ ticks in the last 5 s; the process used 20 ms of CPU while its event loop was held 3\.00 s: not CPU work/,
    );
    // One sample, but as sure as the turns of the loop it took (3 s of 21 ms turns), also where the requests
    // it held were read only after it and answered at their usual speed (a gRPC server's): not a guess on one.
    const unseen = frozenRun(3_000, 20, false, 0).events.find((e) => e.type === 'opened')?.incident;
    expect(unseen?.title).toBe('Latency in pricing event loop');
    expect(unseen?.rootCause.confidence).toBeGreaterThan(0.95);
    expect(frozenRun(1_900).anomalies).toEqual([]);
    // Samples without the CPU used say nothing of what held the loop: CPU work, as before.
    expect(frozen.events.find((e) => e.type === 'opened')?.incident.rootCause.explanation).toContain('CPU work is holding the event loop of pricing');
  });

  it('saturated by work in every request is the root, not the database its late calls seemed to wait on', () => {
    // From 480 s to 540 s every statement's answer is read 100–380 ms late: the process works 150 ms in
    // each request and its loop comes round 400 ms late (`saturated`), or the database is slow and the loop free.
    const run = (saturated: boolean, options: AnalyzerOptions = {}) => {
      const a = createAnalyzer(options);
      const events: IncidentEvent[] = [];
      a.onIncident((e) => events.push(e));
      const rng = mulberry32(11);
      const slow = (s: number) => s >= 480 && s < 540;
      requests(a, 600, 8, (traceId, start, s, i) => {
        const work = slow(s) && saturated ? 150 : 2;
        const late = () => (slow(s) ? 100 + rng() * 280 : 0);
        const select = 1 + rng() + late();
        const insert = 1 + rng() + late();
        const server = span({ traceId, service: 'orders', name: 'POST /orders', kind: 'server', startTime: start, endTime: start + work + select + insert + 2, attributes: { 'http.request.method': 'POST', 'http.route': '/orders' } });
        const db = (name: string, from: number, ms: number) => span({ traceId, service: 'orders', name, kind: 'client', parentSpanId: server.spanId, startTime: from, endTime: from + ms, attributes: { 'db.system.name': 'postgresql', 'db.query.text': name } });
        const out = [server, db('SELECT products', start + work, select), db('INSERT orders', start + work + select + 1, insert)];
        if (i === 0) {
          const held = slow(s) && saturated ? 400 + (s % 3) * 10 : 20.2 + (s % 5) * 0.3;
          out.push(span({ traceId: `loop-${s}`, service: 'orders', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - held, endTime: start, attributes: { [LOOP_CPU_ATTRIBUTE]: held } }));
        }
        return out;
      });
      a.flush();
      return events.filter((e) => e.type === 'opened').map((e) => e.incident);
    };
    const busy = run(true);
    expect(busy.map((x) => [x.rootCause.service, x.rootCause.operation])).toEqual([['orders', EVENT_LOOP_OPERATION]]);
    expect(busy[0].rootCause.explanation).toMatch(/^orders event loop held for 4\d\d ms at a time .*; \d+% of slow postgresql (SELECT|INSERT) calls spend the extra time in orders .*CPU work is holding the event loop of orders/);
    // The database slow, the loop free: the database.
    expect(run(false).map((x) => x.rootCause.service)).toEqual(['postgresql']);
    // In-process (the plugin analyses a trace 100 ms after it ends, before the sample of its tick comes):
    // the sample before stands for the tick in progress.
    expect(run(true, IN_PROCESS).map((x) => [x.rootCause.service, x.rootCause.operation])).toEqual([['orders', EVENT_LOOP_OPERATION]]);
    expect(run(false, IN_PROCESS).map((x) => x.rootCause.service)).toEqual(['postgresql']);
  });

  it('held by GC pauses (a few tens of ms each, a longer one now and then) is the root, not the database its calls waited on', () => {
    // From 480 s to 540 s the process retains millions of objects: every tick its loop is held 60–75 ms
    // (25 ms before), every fourth one 160–200 ms, and each database answer is read 5–45 ms late (the
    // statements take 1–2 ms). The database is fine.
    const run = (gc: boolean, options: AnalyzerOptions = {}) => {
      const a = createAnalyzer(options);
      const events: IncidentEvent[] = [];
      a.onIncident((e) => events.push(e));
      const rng = mulberry32(13);
      const slow = (s: number) => s >= 480 && s < 540;
      requests(a, 600, 8, (traceId, start, s, i) => {
        const late = () => (slow(s) ? 5 + rng() * 40 : 0);
        const connect = 0.3 + (gc ? late() : 0);
        const select = 1 + rng() + (gc ? late() : slow(s) ? 20 + rng() * 30 : 0);
        const server = span({ traceId, service: 'orders', name: 'GET /orders', kind: 'server', startTime: start, endTime: start + connect + select + 2, attributes: { 'http.request.method': 'GET', 'http.route': '/orders' } });
        const db = (name: string, from: number, ms: number) => span({ traceId, service: 'orders', name, kind: 'client', parentSpanId: server.spanId, startTime: from, endTime: from + ms, attributes: { 'db.system.name': 'postgresql', 'db.query.text': name } });
        const out = [server, db('pg-pool.connect', start, connect), db('SELECT orders', start + connect, select)];
        if (i === 0) {
          const held = slow(s) && gc ? (s % 4 === 0 ? 160 + rng() * 40 : 60 + rng() * 15) : 20 + rng() * 10;
          out.push(span({ traceId: `loop-${s}`, service: 'orders', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - held, endTime: start, attributes: { [LOOP_CPU_ATTRIBUTE]: held } }));
        }
        return out;
      });
      a.flush();
      return events.filter((e) => e.type === 'opened').map((e) => e.incident);
    };
    expect(run(true).map((x) => [x.rootCause.service, x.rootCause.operation])).toEqual([['orders', EVENT_LOOP_OPERATION]]);
    // The database slow, the loop free: the database.
    expect(run(false).map((x) => x.rootCause.service)).toEqual(['postgresql']);
    expect(run(true, IN_PROCESS).map((x) => [x.rootCause.service, x.rootCause.operation])).toEqual([['orders', EVENT_LOOP_OPERATION]]);
    expect(run(false, IN_PROCESS).map((x) => x.rootCause.service)).toEqual(['postgresql']);
  });

  it('saturated, seen without loop samples (a central view), is told by the answers it read late', () => {
    // From 480 s to 540 s: orders works 150 ms in each request and reads every answer late (`busy`), or only
    // pricing's answers come late (its network), or only the database is slow. Pricing is traced: its own
    // span says when it answered; the database is not.
    const run = (fault: 'busy' | 'network' | 'db') => {
      const a = createAnalyzer();
      const events: IncidentEvent[] = [];
      a.onIncident((e) => events.push(e));
      const rng = mulberry32(12);
      const slow = (s: number) => s >= 480 && s < 540;
      requests(a, 600, 8, (traceId, start, s, i) => {
        const late = (when: boolean) => (slow(s) && when ? 100 + rng() * 280 : 0);
        const work = slow(s) && fault === 'busy' ? 150 : 2;
        const select = 1 + rng() + late(fault !== 'network');
        const call = start + work + select + 1;
        const answered = call + 4 + late(fault !== 'db');
        const server = span({ traceId, service: 'orders', name: 'POST /orders', kind: 'server', startTime: start, endTime: answered + 2, attributes: { 'http.request.method': 'POST', 'http.route': '/orders' } });
        const db = span({ traceId, service: 'orders', name: 'SELECT products', kind: 'client', parentSpanId: server.spanId, startTime: start + work, endTime: start + work + select, attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT products' } });
        const client = span({ traceId, service: 'orders', name: 'GET', kind: 'client', parentSpanId: server.spanId, startTime: call, endTime: answered, attributes: { 'http.request.method': 'GET', 'server.address': 'pricing', 'server.port': 80 } });
        const priced = span({ traceId, service: 'pricing', name: 'GET /price', kind: 'server', parentSpanId: client.spanId, startTime: call + 0.5, endTime: call + 3.5 + (i % 3) * 0.1, attributes: { 'http.request.method': 'GET', 'http.route': '/price' } });
        return [server, db, client, priced];
      });
      a.flush();
      return events.filter((e) => e.type === 'opened').map((e) => e.incident);
    };
    const busy = run('busy');
    expect(busy.map((x) => [x.rootCause.service, x.rootCause.operation])).toEqual([['orders', EVENT_LOOP_OPERATION]]);
    expect(busy[0].rootCause.explanation).toMatch(
      /^orders reads its answers late: its calls to pricing GET \/price ended up to \d+ ms after the answer was sent \(\d+ calls in the last 15 s\); .*its event loop is held \(CPU work, or a process starved of CPU\): every call it makes ends late, whatever its callee does; longest own time: orders POST \/orders/,
    );
    // Late answers from one callee only are its network's; the database slow alone is the database.
    expect(run('network').map((x) => x.rootCause.service)).toEqual(['pricing']);
    expect(run('db').map((x) => x.rootCause.service)).toEqual(['postgresql']);
  });

  it('held, seen without loop samples, is told by a share of answers read late when its own time and its database calls slowed with them', () => {
    // From 480 s to 540 s, seen centrally: api burns 50 ms in every request (`cpu`), so each answer is read up
    // to ~150 ms late, pricing's (traced) mostly under 100 ms late; or the database is slow and requests wait
    // for its pooled connections as own time, while a GC pause now and then reads one answer 120 ms late (`db`).
    const run = (fault: 'cpu' | 'db') => {
      const a = createAnalyzer();
      const events: IncidentEvent[] = [];
      a.onIncident((e) => events.push(e));
      const rng = mulberry32(16);
      const routes = ['GET /products/:id', 'GET /products', 'POST /orders'];
      requests(a, 600, 10, (traceId, start, s, i) => {
        const slow = s >= 480 && s < 540;
        const late = () => (slow && fault === 'cpu' ? rng() * rng() * 150 : slow && i === 0 && s % 10 === 0 ? 120 : 0);
        const route = routes[i % 3];
        const [method, path] = route.split(' ');
        const server = span({ traceId, service: 'api', name: route, kind: 'server', startTime: start, endTime: start, attributes: { 'http.request.method': method, 'http.route': path } });
        const out = [server];
        let t = start + 0.5 + rng() + (slow && fault === 'cpu' ? 50 : 0) + (slow && fault === 'db' ? 50 + rng() * 100 : 0);
        const select = (name: string) => {
          const ms = 0.8 + rng() + late() + (slow && fault === 'db' ? 100 + rng() * 100 : 0);
          out.push(span({ traceId, service: 'api', name, kind: 'client', parentSpanId: server.spanId, startTime: t, endTime: t + ms, attributes: { 'db.system.name': 'mysql', 'db.query.text': name } }));
          t += ms + 0.2;
        };
        const price = () => {
          const client = span({ traceId, service: 'api', name: 'GET', kind: 'client', parentSpanId: server.spanId, startTime: t, endTime: t, attributes: { 'http.request.method': 'GET', 'server.address': 'pricing', 'server.port': 80 } });
          const priced = span({ traceId, service: 'pricing', name: 'GET /price/:id', kind: 'server', parentSpanId: client.spanId, startTime: t + 0.5, endTime: t + 4 + rng(), attributes: { 'http.request.method': 'GET', 'http.route': '/price/:id' } });
          client.endTime = priced.endTime + 0.5 + late();
          out.push(client, priced);
          t = client.endTime + 0.2;
        };
        if (i % 3 === 0) {
          select('SELECT products');
          price();
        } else if (i % 3 === 1) select('SELECT products');
        else for (const q of ['START TRANSACTION', 'SELECT stock', 'COMMIT']) select(q);
        server.endTime = t + 0.5;
        return out;
      });
      a.flush();
      return events;
    };
    // One incident, named by the loop once the share's window is in (its first 5 s name the database).
    const cpu = run('cpu');
    expect(new Set(cpu.map((e) => e.incident.id)).size).toBe(1);
    const told = cpu.find((e) => e.incident.rootCause.operation === EVENT_LOOP_OPERATION)?.incident;
    expect(told?.updatedAt).toBeLessThanOrEqual(cpu[0].incident.openedAt + 5_000);
    expect(told?.title).toBe('Latency in api event loop');
    expect(cpu.at(-1)?.incident.title).toBe('Latency in api event loop');
    // The database slow, requests waiting for its connections: the database, whatever a GC pause read late.
    expect(new Set(run('db').map((e) => e.incident.rootCause.service))).toEqual(new Set(['mysql']));
  });

  it('held, seen without loop samples, is told by the requests it read late when its database calls overlap', () => {
    // From 480 s to 540 s, seen centrally (no loop samples; orders calls no traced callee): orders' loop comes
    // round only every 250 ms (GC, CPU work), so web's requests are read late and every statement's answer
    // waits for the next turn (`held`); or the database is slow and the loop free (`db`); or a synchronous
    // driver's statements take 80–100 ms, holding the loop themselves (`sync`): the requests queue and are
    // read late, seconds late by the end, but its statements never overlap.
    const T0 = Date.UTC(2026, 0, 1);
    const run = (fault: 'held' | 'db' | 'sync') => {
      const a = createAnalyzer();
      const events: IncidentEvent[] = [];
      a.onIncident((e) => events.push(e));
      const rng = mulberry32(14);
      const slow = (t: number) => t >= T0 + 480_000 && t < T0 + 540_000;
      const turn = (t: number) => (fault === 'held' && slow(t) ? Math.ceil(t / 250) * 250 : t);
      let free = -Infinity;
      requests(a, 600, 16, (traceId, start, _s, i) => {
        const sent = start + (i % 2) * 20;
        let read = turn(sent + 0.5);
        if (fault === 'sync') read = Math.max(read, free);
        const from = read + 0.3;
        let answered = from + 1 + rng() + (fault === 'db' && slow(from) ? 200 + rng() * 100 : 0);
        if (fault === 'sync' && slow(from)) answered += 80 + rng() * 20;
        const done = turn(answered);
        if (fault === 'sync') free = done;
        const call = span({ traceId, service: 'web', name: 'GET', kind: 'client', startTime: sent, endTime: done + 1.5, attributes: { 'http.request.method': 'GET', 'server.address': 'orders', 'server.port': 80 } });
        const server = span({ traceId, service: 'orders', name: 'GET /orders', kind: 'server', parentSpanId: call.spanId, startTime: read, endTime: done + 0.5, attributes: { 'http.request.method': 'GET', 'http.route': '/orders' } });
        const db = span({ traceId, service: 'orders', name: 'SELECT orders', kind: 'client', parentSpanId: server.spanId, startTime: from, endTime: done, attributes: { 'db.system.name': fault === 'sync' ? 'sqlite' : 'postgresql', 'db.query.text': 'SELECT orders' } });
        const page = span({ traceId, service: 'web', name: 'GET /home', kind: 'server', startTime: sent - 1, endTime: done + 2, attributes: { 'http.request.method': 'GET', 'http.route': '/home' } });
        call.parentSpanId = page.spanId;
        return [page, call, server, db];
      });
      a.flush();
      return events.filter((e) => e.type === 'opened').map((e) => e.incident);
    };
    const held = run('held');
    expect(held.map((x) => [x.rootCause.service, x.rootCause.operation])).toEqual([['orders', EVENT_LOOP_OPERATION]]);
    // The database, timed only by orders' own calls whose slowness is its loop's, is not affected: its callers are.
    expect(held.map((x) => x.title)).toEqual(['Latency in orders event loop, affecting web']);
    expect(held[0].rootCause.explanation).toMatch(
      /^orders reads its requests late: calls to it from web GET \/home waited up to 2\d\d ms before it began them \(\d+ requests in the last 15 s\); .*its event loop is held \(CPU work, or a process starved of CPU\): requests wait to be read, and every call it makes ends late, whatever its callee does/,
    );
    // The database slow, the loop free: the database; a synchronous driver's statements held the loop themselves.
    expect(run('db').map((x) => x.rootCause.service)).toEqual(['postgresql']);
    expect(run('sync').map((x) => x.rootCause.service)).toEqual(['sqlite']);
  });

  it('held, seen without loop samples, is told by its own time and its calls to its database and its cache slowing at once', () => {
    // Seen centrally, from 480 s to 540 s: api (called by no traced service, calling only a database and a
    // cache) burns 60 ms of CPU in a middleware of every request, and every call's answer is read up to
    // 120 ms late (`cpu`); or the database is slow (`db`); or the database is slow and requests also wait
    // for one of its pooled connections, outside any span (`pool`); or both callees answer late and api's
    // own time is unchanged (`network`).
    const run = (fault: 'cpu' | 'db' | 'pool' | 'network', sampled = false) => {
      const a = createAnalyzer();
      const events: IncidentEvent[] = [];
      a.onIncident((e) => events.push(e));
      const rng = mulberry32(15);
      const routes = ['GET /books/:id', 'GET /books', 'POST /orders'];
      requests(a, 600, 12, (traceId, start, s, i) => {
        const slow = s >= 480 && s < 540;
        const route = routes[i % 3];
        const [method, path] = route.split(' ');
        const server = span({ traceId, service: 'api', name: route, kind: 'server', startTime: start, endTime: start, attributes: { 'http.request.method': method, 'http.route': path } });
        const out = [server];
        let t = start + 0.5 + rng() + (slow && fault === 'cpu' ? 60 : 0) + (slow && fault === 'pool' ? 50 + rng() * 100 : 0);
        const call = (system: string, name: string) => {
          // Read late (a held loop, the network), or the database slow.
          const late = !slow ? 0 : fault === 'cpu' || fault === 'network' ? rng() * 120 : system === 'postgresql' ? 100 + rng() * 100 : 0;
          const ms = 0.8 + rng() + late;
          const attributes: Record<string, string> = system === 'redis' ? { 'db.system.name': 'redis', 'db.operation.name': name } : { 'db.system.name': 'postgresql', 'db.query.text': name };
          out.push(span({ traceId, service: 'api', name, kind: 'client', parentSpanId: server.spanId, startTime: t, endTime: t + ms, attributes }));
          t += ms + 0.2;
        };
        if (i % 3 === 0) {
          call('redis', 'GET');
          if (i % 2 === 0) {
            call('postgresql', 'SELECT books');
            call('redis', 'SET');
          }
        } else if (i % 3 === 1) call('postgresql', 'SELECT books');
        else for (const q of ['BEGIN', 'INSERT orders', 'COMMIT']) call('postgresql', q);
        server.endTime = t + 0.5;
        // The plugin's samples of a loop that stays free.
        if (sampled && i === 0) out.push(span({ traceId: `loop-${s}`, service: 'api', name: EVENT_LOOP_OPERATION, kind: 'internal', startTime: start - 20 - rng(), endTime: start }));
        return out;
      });
      a.flush();
      return events.filter((e) => e.type === 'opened').map((e) => e.incident);
    };
    const cpu = run('cpu');
    expect(cpu.map((x) => [x.title, x.rootCause.service, x.rootCause.operation])).toEqual([['Latency in api event loop', 'api', EVENT_LOOP_OPERATION]]);
    expect(cpu[0].rootCause.explanation).toMatch(
      /^api's own time and its calls to postgresql and redis slowed at once: api [A-Z]+ \/\S+ typical self time 6\d ms vs baseline \d\.\d ms \(\d+×\) over \d+ requests in the last 5 s; (redis|postgresql) [A-Z]+ typical latency \d+ ms vs baseline \d\.\d ms \(\d+×\) over \d+ calls in the last 5 s; its event loop is held \(CPU work, or a process starved of CPU\): every call it makes ends late, whatever its callee does/,
    );
    expect(cpu[0].rootCause.confidence).toBeGreaterThan(0.8);
    // The database slow, the loop free: the database, also where requests queue for its connections.
    expect(run('db').map((x) => x.rootCause.service)).toEqual(['postgresql']);
    expect(run('pool').map((x) => x.rootCause.service)).toEqual(['postgresql']);
    // Late answers, api's own work as before: not api's loop.
    expect(run('network').map((x) => x.rootCause.operation)).not.toContain(EVENT_LOOP_OPERATION);
    // Its loop sampled and free all along (in its own process): the samples tell, not what slowed with it.
    expect(run('cpu', true).map((x) => x.rootCause.operation)).not.toContain(EVENT_LOOP_OPERATION);
  });

  it('held while the process used little CPU is told as a stopped or starved process, not CPU work', () => {
    const paused = frozenRun(30_000, 40).events.find((e) => e.type === 'opened')?.incident;
    expect(paused?.title).toBe('Latency in pricing event loop');
    // Led by the hold, not by the p95 of a window of ticks (44 ms: one long hold among free ones).
    expect(paused?.rootCause.explanation).toMatch(
      /^pricing event loop held for 30\.0 s at a time vs baseline 2\d ms \(\d+×\) over \d+ ticks in the last 5 s; the process used 40 ms of CPU while its event loop was held 30\.0 s: not CPU work but a synchronous wait or a process stopped or starved of CPU/,
    );
    // The backlog's requests (60 ms of own time each) held nothing: 30 s is what holds to look for.
    expect(paused?.rootCause.explanation).not.toMatch(/CPU work is holding|longest own time/);
    // The one request that waited synchronously through it is the lead, though its route's p95 is short.
    const waited = frozenRun(30_000, 40, true).events.find((e) => e.type === 'opened')?.incident;
    expect(waited?.rootCause.explanation).toMatch(/: not CPU work but a synchronous wait .*; longest own time: pricing GET \/quote, 29\.\d s in one of its \d+ requests in the last 15 s$/);
    // Held by 30 s of work: CPU work.
    const busy = frozenRun(30_000, 29_500).events.find((e) => e.type === 'opened')?.incident;
    expect(busy?.rootCause.explanation).toContain('CPU work is holding the event loop of pricing');
  });
});
