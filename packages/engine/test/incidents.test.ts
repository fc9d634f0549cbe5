import { describe, expect, it } from 'vitest';
import { IncidentManager } from '../src/incidents/manager.js';
import { opKey } from '../src/keys.js';
import { INCIDENT_STORY_MAX, type Anomaly, type AnomalyKind, type AnomalySignal, type IncidentEvent, type RankedOrigin } from '../src/types.js';

const SIGNAL: Record<AnomalyKind, AnomalySignal> = { latency: 'latency', errors: 'errors', timeout: 'timeout', traffic: 'traffic.drop', shape: 'shape.missing-call' };

function anomaly(id: string, kind: AnomalyKind, service: string, cause: string, at: number): Anomaly {
  return {
    id,
    kind,
    signal: SIGNAL[kind],
    service,
    operation: 'op',
    at,
    firstAt: at,
    windowStart: at - 5000,
    observed: 1,
    expected: 0.01,
    unit: 'ratio',
    score: 8,
    pValue: 1e-9,
    severity: 'high',
    samples: 50,
    cause: { service: cause, operation: 'op', kind, support: 10, share: 1 },
    traceIds: [],
    explanation: '',
    peak: { at, observed: 1, expected: 0.01, score: 8, explanation: '' },
  };
}

/** Every service its own home, calling nothing; onsets 10 s apart or closer coincide. */
const alone = { coincideMs: 10_000, echoMs: 60_000, renameHoldMs: 0, topology: { homes: (s: string) => new Set([s]), callees: () => new Set<string>(), callers: () => new Set<string>(), samplesLoop: () => false, lateShare: () => 0, isPeer: () => false, heldBacklog: () => undefined, deployedIn: () => false } };

const origin = (service: string, kind: AnomalyKind): RankedOrigin[] => [{ service, operation: 'op', key: opKey(service, 'op'), kind, share: 1, count: 10 }];

describe('IncidentManager grouping', () => {
  const manager = (): { m: IncidentManager; events: IncidentEvent[] } => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), () => ({ explanation: '' }));
    return { m, events };
  };

  it('a timeout seen later in the cascade, on a service the open incident already counts as affected, joins it', () => {
    const { m, events } = manager();
    // db slows; orders (its caller) slows with it: one incident rooted at db, affecting orders.
    const first = m.route(anomaly('a-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    m.route(anomaly('a-2', 'latency', 'orders', 'db', 5000), origin('db', 'latency'), undefined, 5000);
    // db is still slow (its episodes see it in their latest requests) when, 75 s later, web gives up on
    // orders: its evidence points at orders, a symptom of the open incident.
    m.faultSeen(first, 75_000);
    const later = m.route(anomaly('a-3', 'timeout', 'orders', 'orders', 80_000), origin('orders', 'timeout'), undefined, 80_000);
    expect(later).toBe(first);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);
    expect(m.get(first)?.rootCause.service).toBe('db');
  });

  it("an affected service's own trouble of another kind, minutes in, is its own incident; of the kind the incident saw, it joins", () => {
    const { m, events } = manager();
    // db slows; orders slows with it, and its own event loop too (the backlog): one incident rooted at db.
    const first = m.route(anomaly('a-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    m.route(anomaly('a-2', 'latency', 'orders', 'db', 5000), origin('db', 'latency'), undefined, 5000);
    m.route(anomaly('a-3', 'latency', 'orders', 'orders', 10_000), origin('orders', 'latency'), undefined, 10_000);
    m.faultSeen(first, 110_000);
    // Its own code slower still, 2 minutes in: a kind the incident saw there of its own, the incident's.
    expect(m.route({ ...anomaly('a-4', 'latency', 'orders', 'orders', 115_000), signal: 'latency.self' }, origin('orders', 'latency'), undefined, 115_000)).toBe(first);
    // Then orders fails on its own (a bug): news, though orders was slow of its own before.
    const bug = m.route(anomaly('a-5', 'errors', 'orders', 'orders', 120_000), origin('orders', 'errors'), undefined, 120_000);
    expect(bug).not.toBe(first);
    // Within a minute of the onset, errors are the spread (requests given up on with it).
    const { m: m2 } = manager();
    const early = m2.route(anomaly('b-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    m2.route(anomaly('b-2', 'latency', 'orders', 'db', 5000), origin('db', 'latency'), undefined, 5000);
    m2.faultSeen(early, 45_000);
    expect(m2.route(anomaly('b-3', 'errors', 'orders', 'orders', 50_000), origin('orders', 'errors'), undefined, 50_000)).toBe(early);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(2);
  });

  it("a cache slowed by its caller's backlog after a database lock is the lock's, not the cache's own outage of minutes before", () => {
    // api calls two uninstrumented peers, redis and db.
    const callers: Record<string, string[]> = { redis: ['api'], db: ['api'] };
    const topology = { homes: (s: string) => new Set(callers[s] ?? [s]), callees: () => new Set<string>(), callers: () => new Set<string>(), samplesLoop: () => false, lateShare: () => 0, isPeer: () => false, heldBacklog: () => undefined, deployedIn: () => false };
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology }, (e) => events.push(e), () => ({ explanation: '' }));
    // Redis down, api failing with it; back at 150 s, its incident still firing on windows holding the outage.
    const outage = m.route(anomaly('a-1', 'errors', 'redis', 'redis', 0), origin('redis', 'errors'), undefined, 0);
    m.route(anomaly('a-2', 'errors', 'api', 'redis', 5000), origin('redis', 'errors'), undefined, 5000);
    m.faultSeen(outage, 150_000);
    // A row lock from 195 s: db's statements hang, api's requests with them, until its release at 235 s.
    const lock = m.route(anomaly('b-1', 'timeout', 'db', 'db', 198_000), origin('db', 'timeout'), undefined, 198_000);
    m.route(anomaly('b-2', 'latency', 'api', 'db', 203_000), origin('db', 'latency'), undefined, 203_000);
    expect(lock).not.toBe(outage);
    m.faultSeen(lock, 234_000);
    // api answers its backlog at once: its redis calls look slow. The lock's doing.
    expect(m.route(anomaly('b-3', 'latency', 'redis', 'redis', 236_000), origin('redis', 'latency'), undefined, 236_000)).toBe(lock);
    // Redis failing again on its own, with no fault going on elsewhere that reached it: its incident.
    m.faultSeen(outage, 400_000);
    expect(m.route(anomaly('c-1', 'errors', 'redis', 'redis', 401_000), origin('redis', 'errors'), undefined, 401_000)).toBe(outage);
  });

  it("an anomaly caused elsewhere joins an incident only while its fault is still seen, not while its windows still fire after it", () => {
    // A cache outage: redis fails, api with it; when it comes back, the requests it held rush to the
    // database, whose pool waits slow for a moment: the incident's aftermath, counted in it.
    const scene = (seenAt: number) => {
      const { m, events } = manager();
      const id = m.route(anomaly('a-1', 'errors', 'redis', 'redis', 0), origin('redis', 'errors'), undefined, 0);
      m.route(anomaly('a-2', 'latency', 'api', 'redis', 5000), origin('redis', 'latency'), undefined, 5000);
      m.route(anomaly('a-3', 'latency', 'db', 'db', 153_000), origin('db', 'latency'), id, 153_000);
      m.faultSeen(id, seenAt);
      return { m, events, id };
    };
    // Its episodes still fire on windows holding the outage, but nothing has looked wrong since 155 s: 45 s
    // later the database's own lock (its statements hang, api's requests with them) is a fault of its own.
    const over = scene(155_000);
    const lock = over.m.route(anomaly('b-1', 'timeout', 'db', 'db', 198_000), origin('db', 'timeout'), undefined, 198_000);
    expect(lock).not.toBe(over.id);
    expect(over.m.route(anomaly('b-2', 'latency', 'api', 'db', 203_000), origin('db', 'latency'), undefined, 203_000)).toBe(lock);
    // api slow again with no cause its traces show (the outage's symptom, firing anew): the lock's doing, now.
    expect(over.m.route(anomaly('b-3', 'latency', 'api', 'api', 205_000), origin('api', 'latency'), undefined, 205_000)).toBe(lock);
    expect(over.events.filter((e) => e.type === 'opened').map((e) => e.incident.rootCause.service)).toEqual(['redis', 'db']);
    // The same anomalies while the outage is still seen: its spread, in the one incident.
    const on = scene(195_000);
    expect(on.m.route(anomaly('b-1', 'timeout', 'db', 'db', 198_000), origin('db', 'timeout'), undefined, 198_000)).toBe(on.id);
    expect(on.events.filter((e) => e.type === 'opened')).toHaveLength(1);
  });

  it('a symptom firing again joins its live incident, but not one quiet past echoMs: a later fault through the same caller is its own', () => {
    const { m, events } = manager();
    // payment fails; checkout's errors are its symptom.
    const first = m.route(anomaly('a-1', 'errors', 'payment', 'payment', 0), origin('payment', 'errors'), undefined, 0);
    m.route(anomaly('a-2', 'errors', 'checkout', 'payment', 0), origin('payment', 'errors'), undefined, 0);
    m.episodeEnded(first, 'a-1');
    m.episodeEnded(first, 'a-2');
    // checkout's errors again 30 s later, the evidence now naming checkout itself: the same symptom, still live.
    expect(m.route(anomaly('a-3', 'errors', 'checkout', 'checkout', 30_000), origin('checkout', 'errors'), undefined, 30_000)).toBe(first);
    m.episodeEnded(first, 'a-3');
    // Two minutes later (not resolved yet at a 5 min quiet period) checkout fails again, because of fraud.
    const second = m.route(anomaly('a-4', 'errors', 'checkout', 'fraud', 150_000), origin('fraud', 'errors'), undefined, 150_000);
    expect(second).not.toBe(first);
    expect(m.get(second)?.rootCause.service).toBe('fraud');
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(2);
  });

  it("counts the evidence on all of the root cause service's operations into its confidence, not on other services'", () => {
    const { m } = manager();
    const on = (service: string, operation: string): RankedOrigin[] => [{ service, operation, key: opKey(service, operation), kind: 'latency', share: 1, count: 10 }];
    // A slow database: each statement its own anomaly.
    const id = m.route(anomaly('a-1', 'latency', 'db', 'db', 0), on('db', 'SELECT users'), undefined, 0);
    m.route(anomaly('a-2', 'latency', 'db', 'db', 1000), on('db', 'SELECT orders'), undefined, 1000);
    m.route(anomaly('a-3', 'latency', 'db', 'db', 2000), on('db', 'UPDATE carts'), undefined, 2000);
    const db = m.get(id)!.rootCause;
    expect(db.service).toBe('db');
    // 10 requests of support: 10/12 at most.
    expect(db.confidence).toBeCloseTo(10 / 12, 3);
    // Evidence on another service lowers it.
    const other = manager().m;
    const split = other.route(anomaly('b-1', 'latency', 'db', 'db', 0), on('db', 'SELECT users'), undefined, 0);
    other.route(anomaly('b-2', 'latency', 'db', 'api', 1000), on('api', 'GET /x'), split, 1000);
    expect(other.get(split)!.rootCause.confidence).toBeCloseTo(0.5 * (10 / 12), 3);
  });

  it('a traffic change or an unrelated service opens its own incident', () => {
    const { m } = manager();
    const first = m.route(anomaly('a-1', 'latency', 'orders', 'db', 0), origin('db', 'latency'), undefined, 0);
    expect(m.route(anomaly('a-2', 'traffic', 'orders', 'orders', 60_000), origin('orders', 'traffic'), undefined, 60_000)).not.toBe(first);
    expect(m.route(anomaly('a-3', 'errors', 'billing', 'billing', 60_000), origin('billing', 'errors'), undefined, 60_000)).not.toBe(first);
  });

  it('a traffic drop the trace graph does not link is never merged into the same service\'s open incident', () => {
    const { m } = manager();
    const latency = m.route(anomaly('a-1', 'latency', 'billing', 'billing', 0), origin('billing', 'latency'), undefined, 0);
    const drop = m.route(anomaly('a-2', 'traffic', 'billing', 'billing', 60_000), origin('billing', 'traffic'), undefined, 60_000, false);
    expect(drop).not.toBe(latency);
    expect(m.get(latency)?.anomalies.map((a) => a.id)).toEqual(['a-1']);
    // A second unlinked drop of the same service joins the drop incident.
    expect(m.route(anomaly('a-3', 'traffic', 'billing', 'billing', 65_000), origin('billing', 'traffic'), undefined, 65_000, false)).toBe(drop);
  });

  it('an error burst after a slowdown rewrites the kind and title; the earlier story stays, bounded', () => {
    const events: IncidentEvent[] = [];
    let n = 0;
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), (top) => ({ explanation: `${top.kind} story ${++n}` }));
    const id = m.route(anomaly('a-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    expect(m.get(id)).toMatchObject({ title: 'Latency in db op', rootCause: { kind: 'latency' }, story: [] });
    m.episodeEnded(id, 'a-1');
    m.route(anomaly('a-2', 'errors', 'db', 'db', 90_000), origin('db', 'errors'), undefined, 90_000);
    const inc = m.get(id)!;
    expect(inc).toMatchObject({ title: 'Errors in db op', rootCause: { kind: 'errors' } });
    expect(inc.rootCause.explanation).toMatch(/^errors story/);
    expect(inc.story).toEqual([{ until: 90_000, title: 'Latency in db op', kind: 'latency', severity: 'high', explanation: 'latency story 1' }]);
    expect(events.at(-1)).toMatchObject({ type: 'updated', incident: { title: 'Errors in db op' } });
    // Bounded: each new episode keeps the previous story, at most INCIDENT_STORY_MAX, the rest counted.
    for (let i = 3; i < 20; i++) m.route(anomaly(`a-${i}`, 'errors', 'db', 'db', 90_000 + i), origin('db', 'errors'), undefined, 90_000 + i);
    const later = m.get(id)!;
    expect(later.story).toHaveLength(INCIDENT_STORY_MAX);
    expect(later.storyDropped).toBe(18 - INCIDENT_STORY_MAX);
  });

  it('keeps naming errors when only the slowness of their aftermath is left (a cache back after an outage, its backlog drained)', () => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), (top) => ({ explanation: `${top.kind} story` }));
    const id = m.route(anomaly('a-1', 'errors', 'redis', 'redis', 0), origin('redis', 'errors'), undefined, 0);
    expect(m.get(id)).toMatchObject({ title: 'Errors in redis op' });
    m.episodeEnded(id, 'a-1');
    // Back: the commands queued meanwhile answer late, one bucket after another.
    for (let i = 2; i < 6; i++) m.route({ ...anomaly(`a-${i}`, 'latency', 'redis', 'redis', 90_000 + i * 5000), severity: 'critical' }, origin('redis', 'latency'), undefined, 90_000 + i * 5000);
    expect(m.get(id)).toMatchObject({ title: 'Errors in redis op', rootCause: { kind: 'errors' } });
    expect(events.map((e) => e.incident.title)).not.toContain('Latency in redis op');
  });

  it('is not retitled a traffic drop when only the drop is left live after the failure (its effect)', () => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), (top) => ({ explanation: `${top.kind} story` }));
    const id = m.route({ ...anomaly('a-1', 'latency', 'billing', 'billing', 0), severity: 'critical' }, origin('billing', 'latency'), undefined, 0);
    m.episodeEnded(id, 'a-1');
    m.route({ ...anomaly('a-2', 'traffic', 'billing', 'billing', 60_000), severity: 'low' }, origin('billing', 'traffic'), id, 60_000);
    expect(m.get(id)).toMatchObject({ title: 'Latency in billing op', rootCause: { kind: 'latency' } });
    expect(events.map((e) => e.incident.rootCause.kind)).not.toContain('traffic');
  });

  it('keeps naming errors while they last and the commands held through the outage answer late (probe-mq S6)', () => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), (top) => ({ explanation: `${top.kind} story` }));
    const id = m.route(anomaly('a-1', 'errors', 'redis', 'redis', 0), origin('redis', 'errors'), undefined, 0);
    // The error episode is still open (its 60 s window holds the outage) when the held commands answer, critically slow.
    // Its own and its callers' latency, each one symptom, outweigh the errors.
    ['redis', 'api', 'worker'].forEach((service, i) =>
      m.route({ ...anomaly(`a-${i + 2}`, 'latency', service, 'redis', 45_000), severity: 'critical' }, origin('redis', 'latency'), undefined, 45_000),
    );
    expect(m.get(id)).toMatchObject({ title: 'Errors in redis op, affecting api, worker', rootCause: { kind: 'errors' } });
    expect(events.map((e) => e.incident.rootCause.kind)).not.toContain('latency');
  });

  it('discounts evidence resting on few requests: a slow resolver behind a busy and a rare operation is the busy one\'s', () => {
    const { m } = manager();
    const own = (operation: string, share: number, count: number): RankedOrigin[] => [{ service: 'gateway', operation, key: opKey('gateway', operation), kind: 'latency', share, count }];
    // The probe's figures: 101 slow requests, a sliver of whose time went to a call; 13 anonymous ones.
    const id = m.route(anomaly('a-1', 'latency', 'gateway', 'gateway', 0), own('query GetProduct', 0.998, 101), undefined, 0);
    m.route(anomaly('a-2', 'latency', 'gateway', 'gateway', 5000), own('POST /', 1, 13), undefined, 5000);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'gateway', operation: 'query GetProduct' });
    // Equal evidence on equal requests in one bucket: the key decides.
    const { m: m2 } = manager();
    let tie = '';
    m2.coalesced(() => {
      tie = m2.route(anomaly('b-1', 'latency', 'gateway', 'gateway', 0), own('query GetProduct', 1, 50), undefined, 0);
      m2.route(anomaly('b-2', 'latency', 'gateway', 'gateway', 0), own('POST /', 1, 50), undefined, 0);
    }, 0);
    expect(m2.get(tie)!.rootCause.operation).toBe('POST /');
    // Once one is named, an equal one later does not take the name.
    const { m: m3 } = manager();
    const named = m3.route(anomaly('c-1', 'latency', 'gateway', 'gateway', 0), own('query GetProduct', 1, 50), undefined, 0);
    m3.route(anomaly('c-2', 'latency', 'gateway', 'gateway', 5000), own('POST /', 1, 50), undefined, 5000);
    expect(m3.get(named)!.rootCause.operation).toBe('query GetProduct');
  });

  it("weighs the evidence against a peer's operations together (it is seen only from outside), naming its busiest", () => {
    // Seen from frontend: checkout slowed (it calls inventory, unseen), and two paths of inventory slowed.
    const events: IncidentEvent[] = [];
    const at = (service: string, operation: string, share: number): RankedOrigin => ({ service, operation, key: opKey(service, operation), kind: 'latency', share, count: 10 });
    const rank = (isPeer: (key: string) => boolean) => {
      const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer } }, (e) => events.push(e), () => ({ explanation: '' }));
      const id = m.route(anomaly('a-1', 'latency', 'frontend', 'inventory', 0), [at('checkout', 'POST /orders', 0.4), at('inventory', 'GET /stock/:id', 0.35), at('inventory', 'GET /stock', 0.25)], undefined, 0);
      return m.get(id)!.rootCause;
    };
    expect(rank((key) => key.startsWith('inventory') || key.startsWith('checkout'))).toMatchObject({ service: 'inventory', operation: 'GET /stock/:id' });
    // An instrumented service's operations are each their own suspect.
    expect(rank(() => false)).toMatchObject({ service: 'checkout', operation: 'POST /orders' });
  });

  it("names a peer's operation most requests point at, not one a handful of requests point at strongly", () => {
    // A database slow for every statement: a cleanup job's 4 requests all wait on one, the API's 80 on another.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('db') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, share: number, count: number): RankedOrigin => ({ service: 'db', operation, key: opKey('db', operation), kind: 'latency', share, count });
    const id = m.route(anomaly('a-1', 'latency', 'jobs', 'db', 0), [at('SELECT sessions', 1, 4)], undefined, 0);
    m.route(anomaly('a-2', 'latency', 'api', 'db', 0), [at('UPDATE accounts', 0.8, 80), at('SELECT sessions', 0.2, 1)], undefined, 0);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'db', operation: 'UPDATE accounts' });
  });

  it("names a peer's hung statement, not the wait for a pooled connection that queues behind it", () => {
    // A row lock holds ten UPDATEs; the pool's ten connections are theirs, and every other request waits for one.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, count: number): RankedOrigin => ({ service: 'postgresql', operation, key: opKey('postgresql', operation), kind: 'timeout', share: 1, count });
    const id = m.route(anomaly('a-1', 'timeout', 'postgresql', 'postgresql', 0), [at('pg-pool.connect', 200)], undefined, 0);
    expect(m.get(id)!.rootCause.operation).toBe('pg-pool.connect');
    m.route(anomaly('a-2', 'timeout', 'postgresql', 'postgresql', 0), [at('UPDATE orders', 10)], undefined, 0);
    m.route(anomaly('a-3', 'timeout', 'postgresql', 'postgresql', 0), [at('pg-pool.connect', 300)], undefined, 0);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'timeout' });
    // Its own calls only slow (those that ended, 8 s each, as the lock let them go), while requests give up
    // waiting for the connections it holds: the pool's give-ups are its doing, and the title says so. Calls
    // that answer in 250 ms do not hang: the same give-ups are that slowness, and the title says latency.
    const answering = (ms: number) => {
      const n = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
      const held = n.route(anomaly('b-1', 'timeout', 'postgresql', 'postgresql', 0), [at('pg-pool.connect', 200)], undefined, 0);
      // Its 20 calls a second hold the pool's connections (5 at 250 ms each).
      n.route({ ...anomaly('b-2', 'latency', 'postgresql', 'postgresql', 0), operation: 'UPDATE orders', observed: ms, expected: 2, unit: 'ms' }, [{ ...at('UPDATE orders', 100), kind: 'latency' }], undefined, 0);
      return n.get(held)!;
    };
    expect(answering(8000).rootCause).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'timeout' });
    expect(answering(8000).title).toMatch(/^Timeouts in postgresql UPDATE orders/);
    expect(answering(250).rootCause).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'latency' });
    expect(answering(250).title).toMatch(/^Latency in postgresql UPDATE orders/);
  });

  it('a peer slow as a whole keeps its name while its commands\' evidence runs neck and neck; the busier one takes it', () => {
    // Every Redis command slows. EXPIRE fires first; GET, with five times the requests, next; then HGETALL's
    // evidence (its own calls' and a caller route's) edges past GET's on a fifth of its requests.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('redis') } }, (e) => events.push(e), () => ({ explanation: '' }));
    // An anomaly of `operation` (a command's own calls, or a route calling it) pointing at command `cmd`.
    const slow = (id: string, service: string, operation: string, cmd: string, at: number, share: number, count: number): [Anomaly, RankedOrigin[]] => [
      { ...anomaly(id, 'latency', service, 'redis', at), operation },
      [{ service: 'redis', operation: cmd, key: opKey('redis', cmd), kind: 'latency', share, count }],
    ];
    const route = ([a, o]: [Anomaly, RankedOrigin[]], into?: string) => m.route(a, o, into, a.at);
    const id = route(slow('a-1', 'redis', 'expire', 'expire', 0, 1, 50));
    route(slow('a-2', 'redis', 'get', 'get', 0, 1, 250));
    expect(m.get(id)!.rootCause.operation).toBe('get');
    route(slow('a-3', 'redis', 'hgetall', 'hgetall', 5000, 0.7, 50));
    route(slow('a-4', 'api', 'GET /session/:id', 'hgetall', 5000, 0.7, 50));
    expect(m.get(id)!.rootCause.operation).toBe('get');
    expect(events.map((e) => e.incident.title)).not.toContain('Latency in redis hgetall');
    // Evidence well past GET's (1.5×) takes the name even on fewer requests.
    route(slow('a-5', 'api', 'GET /session/:id/full', 'hgetall', 10_000, 1, 50));
    expect(m.get(id)!.rootCause.operation).toBe('hgetall');
  });

  it('keeps the kind it names while another kind\'s live evidence is not clearly more (a hang, then its late answers)', () => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('redis') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const on = (id: string, kind: AnomalyKind, operation: string, at: number, share: number): [Anomaly, RankedOrigin[]] => [
      { ...anomaly(id, kind, 'api', 'redis', at), operation },
      [{ service: 'redis', operation: 'get', key: opKey('redis', 'get'), kind, share, count: 100 }],
    ];
    const route = ([a, o]: [Anomaly, RankedOrigin[]]) => m.route(a, o, undefined, a.at);
    // Redis hangs: callers get no answer from GET.
    const id = route(on('a-1', 'timeout', 'GET /products/:id', 0, 1));
    expect(m.get(id)!.rootCause.kind).toBe('timeout');
    // It comes back: the calls that hung are answered 20 s late, slightly more evidence than the give-ups.
    route(on('a-2', 'latency', 'GET /products/:id', 25_000, 0.6));
    route(on('a-3', 'latency', 'GET /session/:id', 25_000, 0.6));
    expect(m.get(id)!.rootCause.kind).toBe('timeout');
    // Once the give-ups end, the late answers are what is live.
    m.episodeEnded(id, 'a-1');
    route(on('a-4', 'latency', 'GET /cart', 30_000, 0.6));
    expect(m.get(id)!.rootCause.kind).toBe('latency');
    expect(events.map((e) => e.incident.rootCause.kind)).toEqual(['timeout', 'timeout', 'timeout', 'latency']);
  });

  it("holds on to the name and kind it last told, not to a state one bucket's routing passes through on its way", () => {
    // Redis GET's slowness was told. In the next bucket four callers give up on SET first (for a moment it
    // outweighs GET), then three give up on GET: GET has the most evidence in the end, and its give-ups are
    // not clearly more than its slowness, so the incident still reads "Latency in redis get".
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('redis') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const on = (id: string, kind: AnomalyKind, operation: string, cmd: string, at: number): [Anomaly, RankedOrigin[]] => [
      { ...anomaly(id, kind, 'api', 'redis', at), operation, severity: 'critical' },
      [{ service: 'redis', operation: cmd, key: opKey('redis', cmd), kind, share: 1, count: 1000 }],
    ];
    const route = ([a, o]: [Anomaly, RankedOrigin[]]) => m.route(a, o, undefined, a.at);
    const id = route(on('a-1', 'latency', 'GET /a', 'get', 0));
    route(on('a-2', 'latency', 'GET /b', 'get', 0));
    const told = () => events.map((e) => `${e.incident.rootCause.kind} ${e.incident.rootCause.operation}`);
    expect(told()).toEqual(['latency get', 'latency get']);
    m.coalesced(() => {
      for (const op of ['GET /c', 'GET /d', 'GET /e', 'GET /f']) route(on(`set ${op}`, 'timeout', op, 'set', 5000));
      for (const op of ['GET /g', 'GET /h', 'GET /i']) route(on(`get ${op}`, 'timeout', op, 'get', 5000));
    }, 5000);
    expect(m.get(id)!.title).toBe('Latency in redis get, affecting api');
    expect(told()).toEqual(['latency get', 'latency get', 'latency get']);
  });

  it("takes a drop no trace ties to it as its effect when it affects the dropping service and began in the drop's window", () => {
    // inventory's database goes down: GET /stock fails, rooted at postgresql. Its callers, whose spans this
    // process does not see, stop calling POST /reserve after a failed stock read: a drop 40 s later, unlinked.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), () => ({ explanation: '' }));
    const db = (at: number) => m.route({ ...anomaly('a-1', 'errors', 'inventory', 'postgresql', at), operation: 'GET /stock/:id' }, origin('postgresql', 'errors'), undefined, at);
    const drop = (id: string, service: string, at: number) => {
      const a = { ...anomaly(id, 'traffic', service, service, at), operation: 'POST /reserve', severity: 'low' as const, windowStart: at - 60_000 };
      return m.route(a, [{ service, operation: 'POST /reserve', key: opKey(service, 'POST /reserve'), kind: 'traffic', share: 1, count: 100 }], undefined, at, false);
    };
    const id = db(100_000);
    const confidence = m.get(id)!.rootCause.confidence;
    expect(drop('a-2', 'inventory', 140_000)).toBe(id);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', kind: 'errors', confidence });
    expect(m.get(id)!.title).toBe('Errors in postgresql op, affecting inventory');
    // A drop of a service the failure does not affect, or one that began long after the failure did, is its own.
    expect(drop('a-3', 'billing', 140_000)).not.toBe(id);
    expect(drop('a-4', 'inventory', 240_000)).not.toBe(id);
  });

  it('does not flip its kind back within a minute of changing it: requests at their client timeout, given up on and answered late by turns', () => {
    // store's calls to inventory sit at the client's timeout: phases where all are given up on alternate with
    // phases where most are answered late, every 10 s, each phase's evidence all of the live evidence.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), () => ({ explanation: '' }));
    const fire = (n: number, kind: AnomalyKind, at: number, previous?: string) => {
      if (previous !== undefined) m.episodeEnded(id, previous);
      return m.route(anomaly(`a-${n}`, kind, 'store', 'inventory', at), origin('inventory', kind), id, at);
    };
    let id: string | undefined;
    id = fire(1, 'latency', 0);
    for (let n = 2; n <= 7; n++) fire(n, n % 2 === 0 ? 'timeout' : 'latency', (n - 1) * 10_000, `a-${n - 1}`);
    const kinds = () => events.map((e) => e.incident.rootCause.kind).filter((k, i, all) => i === 0 || k !== all[i - 1]);
    // Told: latency, then timeouts at 10 s; the latency phases at 20, 40 and 60 s do not bring it back.
    expect(kinds()).toEqual(['latency', 'timeout']);
    expect(m.get(id)!.title).toBe('Timeouts in inventory op, affecting store');
    // A minute after the change the kind follows the evidence again.
    fire(8, 'latency', 75_000, 'a-7');
    expect(kinds()).toEqual(['latency', 'timeout', 'latency']);
    expect(m.get(id)!.title).toBe('Latency in inventory op, affecting store');
    // A kind it never held shows at once.
    fire(9, 'errors', 80_000, 'a-8');
    expect(kinds()).toEqual(['latency', 'timeout', 'latency', 'errors']);
  });

  it('retitles after another operation of its root service once that one has stayed the pick for the hold; after another service at once', () => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, renameHoldMs: 15_000, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, count: number): RankedOrigin[] => [{ service: 'postgresql', operation, key: opKey('postgresql', operation), kind: 'latency', share: 1, count }];
    const id = m.route(anomaly('a-1', 'latency', 'shop', 'postgresql', 0), at('SELECT products', 20), undefined, 0);
    // Another statement with ten times the requests and worse: the pick from 5 s on.
    for (const t of [5000, 10_000]) {
      m.route({ ...anomaly(`b-${t}`, 'latency', 'shop', 'postgresql', t), severity: 'critical' }, at('SELECT pg_sleep', 200), undefined, t);
      expect(m.get(id)!.title).toBe('Latency in postgresql SELECT products, affecting shop');
    }
    m.route({ ...anomaly('b-20000', 'latency', 'shop', 'postgresql', 20_000), severity: 'critical' }, at('SELECT pg_sleep', 200), undefined, 20_000);
    expect(m.get(id)!.title).toBe('Latency in postgresql SELECT pg_sleep, affecting shop');
    expect(events.map((e) => `${e.type} ${e.incident.rootCause.operation}`)).toEqual(['opened SELECT products', 'updated SELECT products', 'updated SELECT products', 'updated SELECT pg_sleep']);
    // Far more evidence against a service of its own: named at once.
    for (const [i, service] of ['web', 'api', 'cart'].entries()) m.route({ ...anomaly(`c-${i}`, 'errors', service, 'pricing', 25_000), severity: 'critical' }, [{ service: 'pricing', operation: 'POST /quote', key: opKey('pricing', 'POST /quote'), kind: 'errors', share: 1, count: 500 }], id, 25_000);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'pricing', operation: 'POST /quote' });
  });

  it("keeps naming the operation it names while another of its service fails alike, however their windows' request counts turn", () => {
    // A database refuses connections: every request of both routes fails, and the routes' windows hold
    // more or fewer requests as they re-fire (15 s and 5 s windows emptying at different rates once it is back).
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), () => ({ explanation: '' }));
    const on = (operation: string, count: number, kind: AnomalyKind = 'errors'): RankedOrigin[] => [{ service: 'catalog', operation, key: opKey('catalog', operation), kind, share: 1, count }];
    const fire = (id: string, operation: string, count: number, at: number, severity: Anomaly['severity'] = 'critical') =>
      m.route({ ...anomaly(id, 'errors', 'catalog', 'catalog', at), operation, severity }, on(operation, count), undefined, at);
    const inc = fire('a-1', 'GET /products/:id', 144, 0);
    fire('a-2', 'POST /orders', 39, 0);
    expect(m.get(inc)!.title).toBe('Errors in catalog GET /products/:id');
    // The routes' counts cross: POST's window now holds a few more requests than GET's.
    fire('a-2', 'POST /orders', 348, 45_000);
    fire('a-1', 'GET /products/:id', 337, 45_000);
    fire('a-2', 'POST /orders', 309, 50_000);
    expect(m.get(inc)!.title).toBe('Errors in catalog GET /products/:id');
    expect(events.map((e) => e.incident.rootCause.operation)).not.toContain('POST /orders');
    // More evidence against the other route (another anomaly of it: its latency too) still takes the name.
    m.route({ ...anomaly('a-3', 'latency', 'catalog', 'catalog', 55_000), operation: 'POST /orders', severity: 'critical' }, on('POST /orders', 300, 'latency'), undefined, 55_000);
    expect(m.get(inc)!.rootCause.operation).toBe('POST /orders');
  });

  it('keeps naming the service it names while another, slowed alike, runs neck and neck with it; clearly more evidence takes the name', () => {
    // A gateway's own process sees three callees slow at once (catalog, and cart and recs that call it): each
    // route's requests point at the callee it calls, with shares that differ by a request or two per window.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ resolveAfterMs: 300_000, maxExemplars: 10, ...alone }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (service: string, share: number): RankedOrigin[] => [{ service, operation: 'op', key: opKey(service, 'op'), kind: 'latency', share, count: 50 }];
    const fire = (id: string, callee: string, share: number, t: number, incident?: string) =>
      m.route({ ...anomaly(id, 'latency', 'gateway', callee, t), operation: `GET /${callee}` }, at(callee, share), incident, t);
    const inc = fire('a-1', 'catalog', 1, 0);
    fire('a-2', 'recs', 0.98, 0, inc);
    expect(m.get(inc)!.rootCause.service).toBe('catalog');
    // After the fault, windows re-fire with shares a little in recs' favour.
    fire('a-1', 'catalog', 0.94, 45_000, inc);
    fire('a-2', 'recs', 1, 45_000, inc);
    fire('a-1', 'catalog', 0.9, 50_000, inc);
    expect(m.get(inc)!.rootCause.service).toBe('catalog');
    expect(events.map((e) => e.incident.rootCause.service)).not.toContain('recs');
    // Half as much again against recs (another of its anomalies) takes the name.
    m.route({ ...anomaly('a-3', 'latency', 'gateway', 'recs', 55_000), operation: 'GET /recs/tail' }, at('recs', 1), inc, 55_000);
    expect(m.get(inc)!.rootCause.service).toBe('recs');
  });

  it("keeps naming a peer's busy operation while a rarer one's longer window holds more requests", () => {
    // The api sees its catalog only through its calls: both routes fail every call, GET four times as
    // often, judged over 5 s; POST /orders, rarer, over 15 s, so its window holds more calls.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('catalog') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const fire = (id: string, operation: string, count: number, at: number, windowMs: number) =>
      m.route({ ...anomaly(id, 'errors', 'api', 'catalog', at), operation, severity: 'critical', windowStart: at - windowMs }, [{ service: 'catalog', operation, key: opKey('catalog', operation), kind: 'errors', share: 1, count }], undefined, at);
    const inc = fire('a-1', 'GET /products/:id', 160, 0, 5000);
    fire('a-2', 'POST /orders', 40, 0, 5000);
    fire('a-2', 'POST /orders', 115, 10_000, 15_000);
    fire('a-1', 'GET /products/:id', 100, 10_000, 5000);
    expect(m.get(inc)!.rootCause.operation).toBe('GET /products/:id');
    expect(events.map((e) => e.incident.rootCause.operation)).not.toContain('POST /orders');
  });

  it('keeps naming a hung statement when others slow only later, in the rush once it is released (no pool)', () => {
    // A row lock holds the UPDATE for 20 s (callers give up on it); once released, the requests that queued
    // rush in, and the INSERTs run 27× slower for a moment, with far more requests behind them.
    const events: IncidentEvent[] = [];
    const peer = () => new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, kind: AnomalyKind, count: number): RankedOrigin => ({ service: 'postgresql', operation, key: opKey('postgresql', operation), kind, share: 1, count });
    const m = peer();
    const id = m.route(anomaly('a-1', 'timeout', 'shop', 'postgresql', 0), [at('UPDATE orders', 'timeout', 10)], undefined, 0);
    m.route(anomaly('a-2', 'latency', 'postgresql', 'postgresql', 25_000), [at('INSERT items', 'latency', 200)], undefined, 25_000);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders' });
    // Both slowing together, or nothing hung: the one with the most evidence.
    const n = peer();
    const both = n.route(anomaly('b-1', 'timeout', 'shop', 'postgresql', 0), [at('UPDATE orders', 'timeout', 10)], undefined, 0);
    n.route(anomaly('b-2', 'latency', 'postgresql', 'postgresql', 10_000), [at('INSERT items', 'latency', 200)], undefined, 10_000);
    expect(n.get(both)!.rootCause.operation).toBe('INSERT items');
    const o = peer();
    const slow = o.route(anomaly('c-1', 'latency', 'postgresql', 'postgresql', 0), [at('UPDATE orders', 'latency', 10)], undefined, 0);
    o.route(anomaly('c-2', 'latency', 'postgresql', 'postgresql', 25_000), [at('INSERT items', 'latency', 200)], undefined, 25_000);
    expect(o.get(slow)!.rootCause.operation).toBe('INSERT items');
  });

  it("counts a loop seen from outside, busy with the backlog a held statement let through, as that statement's (probe 3)", () => {
    // A table lock holds catalog's INSERTs for 28 s; once released, the 172 requests that queued run at
    // once, catalog reads its requests and answers late, and every statement and cache call it makes
    // looks slow: evidence against its event loop, from far more requests than the INSERTs.
    const loop = (count: number): RankedOrigin[] => [{ service: 'catalog', operation: 'event loop', key: opKey('catalog', 'event loop'), kind: 'latency', share: 1, count }];
    const insert: RankedOrigin[] = [{ service: 'mysql', operation: 'INSERT orders', key: opKey('mysql', 'INSERT orders'), kind: 'latency', share: 1, count: 10 }];
    const run = (heldBacklog: (service: string, since: number) => string | undefined) => {
      const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('mysql') || key.startsWith('redis'), heldBacklog } }, () => {}, () => ({ explanation: '' }));
      const id = m.route(anomaly('a-1', 'latency', 'web', 'mysql', 0), insert, undefined, 0);
      // The incident's symptoms after the release (routed into it, as its episodes were).
      for (const [i, service] of ['catalog', 'redis', 'mysql', 'web'].entries()) m.route(anomaly(`b-${i}`, 'latency', service, 'catalog', 15_000), loop(200), id, 15_000);
      return m.get(id)!.rootCause;
    };
    expect(run((service) => (service === 'catalog' ? opKey('mysql', 'INSERT orders') : undefined))).toMatchObject({ service: 'mysql', operation: 'INSERT orders' });
    // No call of catalog's held a connection for seconds: its loop is what the evidence says.
    expect(run(() => undefined)).toMatchObject({ service: 'catalog', operation: 'event loop' });
  });

  it('names what hangs now, not a statement whose blip ended a minute before (an incident reopened by the hang)', () => {
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, kind: AnomalyKind, count: number): RankedOrigin => ({ service: 'postgresql', operation, key: opKey('postgresql', operation), kind, share: 1, count });
    // BEGIN slowed for 10 s (a busy host), with many requests behind it; a minute later UPDATE orders hangs.
    const blip = anomaly('a-1', 'latency', 'postgresql', 'postgresql', 10_000);
    blip.firstAt = 0;
    const id = m.route(blip, [at('BEGIN', 'latency', 200)], undefined, 10_000);
    m.route(anomaly('a-2', 'timeout', 'shop', 'postgresql', 70_000), [at('UPDATE orders', 'timeout', 10)], id, 70_000);
    // Its kind is what its own calls do (the blip's latency, as much evidence and still firing, is BEGIN's).
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'timeout' });
    expect(m.get(id)!.title).toMatch(/^Timeouts in postgresql UPDATE orders/);
    // Slowing right up to the hang, it is still a suspect: the one with the most evidence.
    const n = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const slow = anomaly('b-1', 'latency', 'postgresql', 'postgresql', 65_000);
    slow.firstAt = 0;
    const other = n.route(slow, [at('BEGIN', 'latency', 200)], undefined, 65_000);
    n.route(anomaly('b-2', 'timeout', 'shop', 'postgresql', 70_000), [at('UPDATE orders', 'timeout', 10)], other, 70_000);
    expect(n.get(other)!.rootCause.operation).toBe('BEGIN');
  });

  it("tells a peer's root by what its own calls did, not by its callers' requests that stopped before reaching it", () => {
    // A row lock: callers give up on the UPDATE (timeouts), and many more requests skip their later calls,
    // whose divergence traces back to the UPDATE (call-pattern evidence, the most of it in one window).
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (kind: AnomalyKind, count: number, share: number): RankedOrigin => ({ service: 'postgresql', operation: 'UPDATE orders', key: opKey('postgresql', 'UPDATE orders'), kind, share, count });
    const id = m.route(anomaly('a-1', 'timeout', 'shop', 'postgresql', 0), [at('timeout', 10, 0.3)], undefined, 0);
    m.route(anomaly('a-2', 'shape', 'shop', 'postgresql', 5000), [at('shape', 80, 1)], undefined, 5000);
    m.route(anomaly('a-3', 'traffic', 'postgresql', 'postgresql', 5000), [at('traffic', 40, 1)], undefined, 5000);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'UPDATE orders', kind: 'timeout' });
    expect(m.get(id)!.title).toBe('Timeouts in postgresql UPDATE orders, affecting shop');
    // An instrumented service's call-pattern evidence is its own: it stays a call-pattern change.
    const own = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10 }, (e) => events.push(e), () => ({ explanation: '' }));
    const api = own.route(anomaly('b-1', 'timeout', 'web', 'api', 0), origin('api', 'timeout').map((o) => ({ ...o, share: 0.3 })), undefined, 0);
    own.route(anomaly('b-2', 'shape', 'web', 'api', 5000), origin('api', 'shape'), undefined, 5000);
    expect(own.get(api)!.rootCause.kind).toBe('shape');
  });

  it("reads a hung statement's pool waits answered late as its hang; a statement only slower keeps its latency", () => {
    // A row lock holds the UPDATEs that took the pool's connections: calls give up on the UPDATE and on the pool.
    // The lock goes: every wait that queued gets its connection at last, 40 s late, and the waits' latency
    // fires, critical, in three callers. The story is still the hang.
    const events: IncidentEvent[] = [];
    const peer = () => new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const on = (id: string, kind: AnomalyKind, operation: string, at: number, caller = 'postgresql'): [Anomaly, RankedOrigin[]] => [
      { ...anomaly(id, kind, caller, 'postgresql', at), severity: 'critical', operation: `${caller} ${id}` },
      [{ service: 'postgresql', operation, key: opKey('postgresql', operation), kind, share: 1, count: 200 }],
    ];
    const m = peer();
    const route = (into: IncidentManager, [a, o]: [Anomaly, RankedOrigin[]]) => into.route(a, o, undefined, a.at);
    const id = route(m, on('a-1', 'timeout', 'UPDATE stock', 0));
    route(m, on('a-2', 'timeout', 'pg-pool.connect', 0));
    expect(m.get(id)!.rootCause).toMatchObject({ operation: 'UPDATE stock', kind: 'timeout' });
    m.episodeEnded(id, 'a-1');
    m.episodeEnded(id, 'a-2');
    for (const caller of ['GET /stock/:id', 'POST /reserve', 'GET /cart']) route(m, on(`late ${caller}`, 'latency', 'pg-pool.connect', 45_000, caller));
    expect(m.get(id)!.rootCause).toMatchObject({ operation: 'UPDATE stock', kind: 'timeout' });
    // A SELECT gone 300× slower fills the pool by itself: some requests give up waiting for a connection, the
    // rest wait long. Nothing hangs: it reads as the latency it is.
    const n = peer();
    // Its own calls, 40 a second at 300 ms: a dozen connections held.
    const [own, at] = on('b-1', 'latency', 'SELECT stock', 0);
    const slow = route(n, [{ ...own, operation: 'SELECT stock', observed: 300, expected: 1, unit: 'ms' }, at]);
    route(n, on('b-2', 'timeout', 'pg-pool.connect', 0));
    for (const caller of ['GET /stock/:id', 'POST /reserve', 'GET /cart']) route(n, on(`wait ${caller}`, 'latency', 'pg-pool.connect', 5000, caller));
    expect(n.get(slow)!.rootCause).toMatchObject({ operation: 'SELECT stock', kind: 'latency' });
  });

  it('keeps naming the wait for a pooled connection when statements slow only later, as the queue drains', () => {
    // The app leaks its pool's connections: requests time out waiting for one while no statement runs. Once
    // connections are back, the queued requests rush in and the statements run a few ms slower for a moment.
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, kind: AnomalyKind, count: number): RankedOrigin => ({ service: 'postgresql', operation, key: opKey('postgresql', operation), kind, share: 1, count });
    const id = m.route(anomaly('a-1', 'timeout', 'postgresql', 'postgresql', 0), [at('pg-pool.connect', 'timeout', 200)], undefined, 0);
    m.route(anomaly('a-2', 'timeout', 'postgresql', 'postgresql', 5000), [at('pg-pool.connect', 'timeout', 300)], undefined, 5000);
    m.route(anomaly('a-3', 'latency', 'postgresql', 'postgresql', 35_000), [at('BEGIN', 'latency', 10)], undefined, 35_000);
    m.route(anomaly('a-4', 'latency', 'postgresql', 'postgresql', 35_000), [at('SELECT orders', 'latency', 49)], undefined, 35_000);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'pg-pool.connect', kind: 'timeout' });
  });

  it('keeps naming the wait for a pooled connection when statements a few ms slower go wrong with the waits: they cannot hold the pool', () => {
    // A route holds the pool's connections in a transaction (app-side waits, no slow statement). 10 s in, the
    // statements' own calls run 3.4× slower (3.7 ms at 20 a second: a tenth of a connection held).
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, kind: AnomalyKind, count: number): RankedOrigin => ({ service: 'postgresql', operation, key: opKey('postgresql', operation), kind, share: 1, count });
    const id = m.route(anomaly('a-1', 'timeout', 'postgresql', 'postgresql', 0), [at('pg-pool.connect', 'timeout', 200)], undefined, 0);
    for (const [i, statement] of ['SELECT articles', 'SELECT follows'].entries()) {
      const own = { ...anomaly(`s-${i}`, 'latency', 'postgresql', 'postgresql', 10_000), operation: statement, observed: 3.7, expected: 1.1, unit: 'ms' as const };
      m.route(own, [at(statement, 'latency', 100)], undefined, 10_000);
    }
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'pg-pool.connect', kind: 'timeout' });
    // The same statements 300 ms slow at that rate hold a dozen connections: they are what fills the pool.
    const n = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const held = n.route(anomaly('b-1', 'timeout', 'postgresql', 'postgresql', 0), [at('pg-pool.connect', 'timeout', 200)], undefined, 0);
    n.route({ ...anomaly('b-2', 'latency', 'postgresql', 'postgresql', 10_000), operation: 'SELECT articles', observed: 300, expected: 1.1, unit: 'ms' }, [at('SELECT articles', 'latency', 100)], undefined, 10_000);
    expect(n.get(held)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'SELECT articles' });
  });

  it("names a statement far slower than usual over a pool's waits that hold a sliver of the evidence", () => {
    // A search query 50× slower at 4 a second holds less than a connection (its window fading as the fault
    // ends: 60 ms); a few of its route's slow requests also waited a moment for a connection. The pool never
    // slowed: the query is the story, not "requests wait longer for a pooled connection".
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology: { ...alone.topology, isPeer: (key) => key.startsWith('postgresql') } }, (e) => events.push(e), () => ({ explanation: '' }));
    const at = (operation: string, share: number, count: number): RankedOrigin => ({ service: 'postgresql', operation, key: opKey('postgresql', operation), kind: 'latency', share, count });
    const own = { ...anomaly('a-1', 'latency', 'postgresql', 'postgresql', 0), operation: 'SELECT product_search', observed: 60, expected: 1.3, unit: 'ms' as const };
    const id = m.route(own, [at('SELECT product_search', 1, 20)], undefined, 0);
    m.route({ ...anomaly('a-2', 'latency', 'shop-api', 'postgresql', 0), operation: 'GET /products/search' }, [at('SELECT product_search', 0.95, 18), at('pg-pool.connect', 0.05, 2)], undefined, 0);
    expect(m.get(id)!.rootCause).toMatchObject({ service: 'postgresql', operation: 'SELECT product_search', kind: 'latency' });
  });

  it("a call pattern change of a service deployed after an incident about it opened is new code's fault: its own incident", () => {
    // api's event loop starved (an incident rooted in api); 20 s later a new api version ships an N+1, whose
    // more calls per request fire 10 s after. Without the deploy, the same firing joins the open incident.
    const run = (deployedAt: number | undefined) => {
      const events: IncidentEvent[] = [];
      const topology = { ...alone.topology, deployedIn: (service: string, from: number, to: number) => service === 'api' && deployedAt !== undefined && deployedAt > from && deployedAt <= to };
      const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology }, (e) => events.push(e), () => ({ explanation: '' }));
      const starved = m.route(anomaly('a-1', 'latency', 'api', 'api', 0), origin('api', 'latency'), undefined, 0);
      const more = { ...anomaly('a-2', 'shape', 'api', 'api', 30_000), signal: 'shape.more-calls' as const };
      // Routed as the callee's incident would route it, and as routing finds it: neither takes it in.
      const viaCallee = m.route(more, origin('api', 'shape'), starved, 30_000);
      m.coalesced(() => undefined, 30_000);
      return { starved, viaCallee, open: m.list().filter((i) => i.status !== 'resolved').map((i) => i.id) };
    };
    const deployed = run(20_000);
    expect(deployed.viaCallee).not.toBe(deployed.starved);
    expect([...deployed.open].sort()).toEqual([deployed.starved, deployed.viaCallee].sort());
    const before = run(-10_000);
    expect(before.viaCallee).toBe(before.starved);
    expect(run(undefined).viaCallee).toBe(run(undefined).starved);
  });

  it('a database and its own service going wrong at the same moment are one fault; minutes apart or in another service, two', () => {
    // db is an uninstrumented peer called by inventory; every other service is its own home.
    const topology = { homes: (s: string) => new Set([s === 'db' ? 'inventory' : s]), callees: () => new Set<string>(), callers: () => new Set<string>(), samplesLoop: () => false, lateShare: () => 0, isPeer: () => false, heldBacklog: () => undefined, deployedIn: () => false };
    const events: IncidentEvent[] = [];
    const withHomes = () => new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology }, (e) => events.push(e), () => ({ explanation: '' }));
    const m = withHomes();
    // A write lock: the writes' database calls slow down, and the same service's reads (no span between them) too.
    const lock = m.route(anomaly('a-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    expect(m.route(anomaly('a-2', 'latency', 'frontend', 'inventory', 5000), origin('inventory', 'latency'), undefined, 5000)).toBe(lock);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);
    // Another service at the same moment, or the same service long after the onset: separate faults.
    expect(m.route(anomaly('a-3', 'errors', 'payment', 'payment', 5000), origin('payment', 'errors'), undefined, 5000)).not.toBe(lock);
    // Without knowing db runs in inventory, nothing ties them.
    const { m: m2 } = manager();
    const first = m2.route(anomaly('b-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    expect(m2.route(anomaly('b-2', 'latency', 'inventory', 'inventory', 5000), origin('inventory', 'latency'), undefined, 5000)).not.toBe(first);
    const m3 = withHomes();
    const early = m3.route(anomaly('c-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    expect(m3.route(anomaly('c-2', 'latency', 'inventory', 'inventory', 60_000), origin('inventory', 'latency'), undefined, 60_000)).not.toBe(early);
  });

  it("a peer's slowness that begins later, while every service calling it is in an open incident, joins it; its errors, or a peer other services call too, do not", () => {
    // api calls two uninstrumented peers, pg and redis; jobs calls queue, and so does api.
    const callers: Record<string, string[]> = { pg: ['api'], redis: ['api'], queue: ['api', 'jobs'] };
    const topology = { homes: (s: string) => new Set(callers[s] ?? [s]), callees: () => new Set<string>(), callers: () => new Set<string>(), samplesLoop: () => false, lateShare: () => 0, isPeer: () => false, heldBacklog: () => undefined, deployedIn: () => false };
    const locked = () => {
      const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology }, () => {}, () => ({ explanation: '' }));
      // A table lock: pg's statements hang, api's requests with them.
      const id = m.route(anomaly('a-1', 'timeout', 'pg', 'pg', 0), origin('pg', 'timeout'), undefined, 0);
      m.route(anomaly('a-2', 'latency', 'api', 'pg', 5000), origin('pg', 'latency'), undefined, 5000);
      // Still hanging (its calls stuck) until the release.
      m.faultSeen(id, 24_000);
      return { m, id };
    };
    // 25 s in, the lock is released and api answers its backlog at once: its redis calls look slow.
    const { m, id } = locked();
    expect(m.route(anomaly('a-3', 'latency', 'redis', 'redis', 25_000), origin('redis', 'latency'), undefined, 25_000)).toBe(id);
    expect(m.get(id)?.rootCause.service).toBe('pg');
    // Redis answering with errors is redis's own doing.
    const errors = locked();
    expect(errors.m.route(anomaly('b-3', 'errors', 'redis', 'redis', 25_000), origin('redis', 'errors'), undefined, 25_000)).not.toBe(errors.id);
    // A queue jobs calls too, outside the incident, slowing: not explained by api's stall.
    const queue = locked();
    expect(queue.m.route(anomaly('c-3', 'latency', 'queue', 'queue', 25_000), origin('queue', 'latency'), undefined, 25_000)).not.toBe(queue.id);
  });

  it('callers giving up on (or calling around) a service whose callee fails join the callee\'s incident, which names the callee', () => {
    // frontend → checkout → payment. The central server judged the callers' half of a trace before the
    // callee's half arrived: frontend "got no answer" from checkout first, payment's errors a bucket later.
    const topology = { homes: (s: string) => new Set([s]), callees: (s: string) => new Set(s === 'frontend' ? ['checkout'] : s === 'checkout' ? ['payment'] : []), callers: () => new Set<string>(), samplesLoop: () => false, lateShare: () => 0, isPeer: () => false, heldBacklog: () => undefined, deployedIn: () => false };
    const events: IncidentEvent[] = [];
    const m = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology }, (e) => events.push(e), () => ({ explanation: '' }));
    const id = m.route(anomaly('a-1', 'timeout', 'checkout', 'checkout', 0), origin('checkout', 'timeout'), undefined, 0);
    expect(m.route(anomaly('a-2', 'errors', 'payment', 'payment', 5000), origin('payment', 'errors'), undefined, 5000)).toBe(id);
    m.route(anomaly('a-3', 'errors', 'checkout', 'payment', 5000), origin('payment', 'errors'), undefined, 5000);
    expect(m.get(id)?.rootCause.service).toBe('payment');
    // Later in the cascade: checkout calls around payment (a call-pattern change), frontend gives up on checkout.
    expect(m.route(anomaly('a-4', 'shape', 'checkout', 'checkout', 40_000), origin('checkout', 'shape'), undefined, 40_000)).toBe(id);
    expect(events.filter((e) => e.type === 'opened')).toHaveLength(1);
    // A slowdown of payment's caller itself, a minute after the onset, is its own fault.
    expect(m.route(anomaly('a-5', 'latency', 'frontend', 'frontend', 60_000), origin('frontend', 'latency'), undefined, 60_000)).not.toBe(id);
    // Nor does a fault in the callee join a caller's give-ups that began a minute earlier.
    const m2 = new IncidentManager({ ...alone, resolveAfterMs: 300_000, maxExemplars: 10, topology }, () => {}, () => ({ explanation: '' }));
    const early = m2.route(anomaly('b-1', 'timeout', 'checkout', 'checkout', 0), origin('checkout', 'timeout'), undefined, 0);
    expect(m2.route(anomaly('b-2', 'errors', 'payment', 'payment', 60_000), origin('payment', 'errors'), undefined, 60_000)).not.toBe(early);
  });

  it('counts one operation\'s symptom once, however many episodes it split into', () => {
    const { m } = manager();
    const shape = (id: string, service: string, cause: string): Anomaly => ({ ...anomaly(id, 'shape', service, cause, 0), severity: 'medium' });
    // Two callers point at currency; checkout points at itself, but through five missing-call episodes.
    const id = m.route(shape('a-1', 'frontend', 'currency'), origin('currency', 'shape'), undefined, 0);
    m.route({ ...shape('a-2', 'frontend', 'currency'), operation: 'other' }, origin('currency', 'shape'), id, 0);
    for (let i = 3; i < 8; i++) m.route(shape(`a-${i}`, 'checkout', 'checkout'), origin('checkout', 'shape'), id, 0);
    expect(m.get(id)?.rootCause.service).toBe('currency');
  });

  // Callers' timeouts first name the caller (inc-1, web); the dead callee opens its own (inc-2, quote); then
  // the callers' evidence names quote too. (The OpenTelemetry Demo's quote service down, at 15 req/s.)
  const retitled = (m: IncidentManager): { web: string; quote: string } => {
    let web = '';
    let quote = '';
    m.coalesced(() => {
      web = m.route(anomaly('a-1', 'timeout', 'web', 'web', 0), origin('web', 'timeout'), undefined, 0);
      quote = m.route(anomaly('a-2', 'timeout', 'quote', 'quote', 0), origin('quote', 'timeout'), undefined, 0);
    }, 0);
    return { web, quote };
  };
  const pointAtQuote = (m: IncidentManager, into: string, at: number) => {
    for (const id of ['a-3', 'a-4']) m.route(anomaly(id, 'timeout', 'web', 'quote', at), origin('quote', 'timeout'), into, at);
  };

  it('merges an announced incident into the earlier one once both name the same root cause; the merged one resolves as merged', () => {
    const { m, events } = manager();
    const { web, quote } = retitled(m);
    expect(web).not.toBe(quote);
    const merged = m.coalesced(() => pointAtQuote(m, web, 5000), 5000);
    expect([...merged]).toEqual([[quote, web]]);
    expect(m.get(web)).toMatchObject({ status: 'active', rootCause: { service: 'quote' } });
    expect(m.get(web)!.anomalies.map((a) => a.id).sort()).toEqual(['a-1', 'a-2', 'a-3', 'a-4']);
    expect(m.get(quote)).toMatchObject({ status: 'resolved', resolvedBy: 'merged', mergedInto: web, resolvedAt: 5000 });
    expect(m.list({ status: ['active', 'acknowledged'] }).map((i) => i.id)).toEqual([web]);
    // One event each: the survivor's update, then the merged one's resolution.
    expect(events.slice(2).map((e) => `${e.type} ${e.incident.id}`)).toEqual([`updated ${web}`, `resolved ${quote}`]);
    // The merged incident's episode still firing keeps the survivor open, and its end lets it resolve.
    for (const id of ['a-1', 'a-3', 'a-4']) m.episodeEnded(web, id);
    m.tick(400_000);
    expect(m.get(web)!.status).toBe('active');
    m.episodeEnded(web, 'a-2');
    m.tick(400_000);
    expect(m.get(web)).toMatchObject({ status: 'resolved', resolvedBy: 'auto' });
    expect(m.get(quote)!.resolvedBy).toBe('merged');
  });

  it('drops an incident opened and merged in the same routing unseen', () => {
    const { m, events } = manager();
    let web = '';
    let quote = '';
    const merged = m.coalesced(() => {
      ({ web, quote } = { web: m.route(anomaly('a-1', 'timeout', 'web', 'web', 0), origin('web', 'timeout'), undefined, 0), quote: m.route(anomaly('a-2', 'timeout', 'quote', 'quote', 0), origin('quote', 'timeout'), undefined, 0) });
      pointAtQuote(m, web, 0);
    }, 0);
    expect(merged.get(quote)).toBe(web);
    expect(m.get(quote)).toBeUndefined();
    expect(events.map((e) => `${e.type} ${e.incident.id} ${e.incident.rootCause.service}`)).toEqual([`opened ${web} quote`]);
    expect(m.get(web)!.anomalies).toHaveLength(4);
  });
});

describe('IncidentManager lifecycle, alone, counting its callbacks', () => {
  const RESOLVE_AFTER = 60_000;
  const setup = () => {
    const events: IncidentEvent[] = [];
    const explained: Array<{ top: string; members: string[] }> = [];
    const m = new IncidentManager(
      { resolveAfterMs: RESOLVE_AFTER, maxExemplars: 3, ...alone },
      (e) => events.push(e),
      (top, anomalies) => {
        explained.push({ top: top.service, members: anomalies.map((a) => a.id) });
        return { explanation: `because of ${top.service}` };
      },
    );
    const types = () => events.map((e) => e.type);
    return { m, events, explained, types };
  };

  it('opens once, updates only when membership, severity or root cause change', () => {
    const { m, types, explained } = setup();
    const a1 = anomaly('a-1', 'errors', 'payment', 'payment', 0);
    const id = m.route(a1, origin('payment', 'errors'), undefined, 0);
    expect(types()).toEqual(['opened']);
    expect(explained).toEqual([{ top: 'payment', members: ['a-1'] }]);
    // The same episode firing again, unchanged: nothing to tell.
    expect(m.route({ ...a1, at: 5000 }, origin('payment', 'errors'), id, 5000)).toBe(id);
    expect(types()).toEqual(['opened']);
    // A new member pointing at the same root joins and is announced once.
    m.route(anomaly('a-2', 'errors', 'checkout', 'payment', 5000), origin('payment', 'errors'), undefined, 5000);
    expect(types()).toEqual(['opened', 'updated']);
    // The episode worsening changes the incident's severity: announced.
    m.route({ ...a1, severity: 'critical' }, origin('payment', 'errors'), id, 10_000);
    expect(types()).toEqual(['opened', 'updated', 'updated']);
    const inc = m.get(id);
    expect(inc?.severity).toBe('critical');
    expect(inc?.rootCause.explanation).toBe('because of payment');
    expect(inc?.affected.map((r) => r.service).sort()).toEqual(['checkout', 'payment']);
  });

  it('resolves by itself once every episode ended and the quiet period passed, exactly once', () => {
    const { m, events, types } = setup();
    const id = m.route(anomaly('a-1', 'latency', 'db', 'db', 0), origin('db', 'latency'), undefined, 0);
    m.tick(RESOLVE_AFTER * 2);
    expect(types()).toEqual(['opened']); // an episode still firing keeps it open however long
    m.episodeEnded(id, 'a-1');
    m.tick(RESOLVE_AFTER - 1);
    expect(types()).toEqual(['opened']);
    m.tick(RESOLVE_AFTER);
    m.tick(RESOLVE_AFTER * 3);
    expect(types()).toEqual(['opened', 'resolved']);
    expect(events[1].incident).toMatchObject({ status: 'resolved', resolvedAt: RESOLVE_AFTER, resolvedBy: 'auto' });
    expect(m.counts()).toEqual({ active: 0, total: 1 });
    // The same root cause again, its evidence all after the resolution, is a new incident (a fault injected
    // again): no longer the old one reopened with its old figures.
    const again = m.route(anomaly('a-2', 'latency', 'db', 'db', RESOLVE_AFTER + 20_000), origin('db', 'latency'), undefined, RESOLVE_AFTER + 20_000);
    expect(again).not.toBe(id);
    expect(types()).toEqual(['opened', 'resolved', 'opened']);
    expect(m.get(id)).toMatchObject({ status: 'resolved', resolvedAt: RESOLVE_AFTER });
  });

  it("a resolved incident's sentence dates its figures (when it was last told), and a reopened one's are current again", () => {
    const events: IncidentEvent[] = [];
    let n = 0;
    const m = new IncidentManager({ resolveAfterMs: RESOLVE_AFTER, maxExemplars: 3, ...alone }, (e) => events.push(e), (top) => ({
      explanation: `in the last 5 s: ${top.service} error rate 100% (${++n}/${n}) vs baseline 0%; 100% of failing web requests fail first in ${top.service} (in the last 2 min)`,
    }));
    const id = m.route(anomaly('a-1', 'errors', 'payment', 'payment', 0), origin('payment', 'errors'), undefined, 0);
    m.episodeEnded(id, 'a-1');
    m.tick(RESOLVE_AFTER);
    expect(events.at(-1)).toMatchObject({ type: 'resolved' });
    expect(events.at(-1)!.incident.rootCause.explanation).toBe(
      'in the 5 s to 00:00:00 UTC: payment error rate 100% (1/1) vs baseline 0%; 100% of failing web requests fail first in payment (in the 2 min to 00:00:00 UTC)',
    );
    expect(m.get(id)!.rootCause.explanation).toMatch(/^in the 5 s to 00:00:00 UTC: /);
    // Reopened by a window still holding the failures (it reaches back before the resolution).
    m.route({ ...anomaly('a-2', 'errors', 'payment', 'payment', RESOLVE_AFTER + 10_000), windowStart: RESOLVE_AFTER - 50_000 }, origin('payment', 'errors'), undefined, RESOLVE_AFTER + 10_000);
    expect(m.get(id)!.rootCause.explanation).toMatch(/^in the last 5 s: payment error rate 100% \(2\/2\)/);
  });

  it('late evidence of the same root, moments after it resolved by itself, reopens it; a user\'s resolve stands', () => {
    const { m, events, types } = setup();
    const id = m.route(anomaly('a-1', 'errors', 'payment', 'payment', 0), origin('payment', 'errors'), undefined, 0);
    m.episodeEnded(id, 'a-1');
    m.tick(RESOLVE_AFTER);
    // A caller's window still holding the outage fires 10 s later: no second incident for one outage.
    expect(m.route({ ...anomaly('a-2', 'errors', 'checkout', 'payment', RESOLVE_AFTER + 10_000), windowStart: RESOLVE_AFTER - 50_000 }, origin('payment', 'errors'), undefined, RESOLVE_AFTER + 10_000)).toBe(id);
    expect(types()).toEqual(['opened', 'resolved', 'reopened']);
    expect(events[2].incident).toMatchObject({ id, status: 'active', resolvedAt: null, resolvedBy: null, reopened: { at: RESOLVE_AFTER + 10_000, resolvedAt: RESOLVE_AFTER, times: 1 } });
    // Its next change is an update again.
    m.route({ ...anomaly('a-5', 'errors', 'web', 'payment', RESOLVE_AFTER + 10_500), windowStart: RESOLVE_AFTER - 50_000 }, origin('payment', 'errors'), id, RESOLVE_AFTER + 10_500);
    expect(types()).toEqual(['opened', 'resolved', 'reopened', 'updated']);
    // Nor is a new fault of its root, even in a window reaching back before the resolution: failing after
    // it slowed, or slowing after it failed, or hanging after it failed.
    const reaching = (a: Anomaly): Anomaly => ({ ...a, windowStart: a.at - 60_000 });
    const slowed = setup();
    const first = slowed.m.route(anomaly('b-1', 'latency', 'billing', 'billing', 0), origin('billing', 'latency'), undefined, 0);
    slowed.m.episodeEnded(first, 'b-1');
    slowed.m.tick(RESOLVE_AFTER);
    const failing = slowed.m.route(reaching(anomaly('b-2', 'errors', 'billing', 'billing', RESOLVE_AFTER + 50_000)), origin('billing', 'errors'), undefined, RESOLVE_AFTER + 50_000);
    expect(failing).not.toBe(first);
    slowed.m.episodeEnded(failing, 'b-2');
    slowed.m.tick(2 * RESOLVE_AFTER + 50_000);
    expect(slowed.m.route(reaching(anomaly('b-3', 'latency', 'billing', 'billing', 2 * RESOLVE_AFTER + 60_000)), origin('billing', 'latency'), undefined, 2 * RESOLVE_AFTER + 60_000)).not.toBe(failing);
    expect(slowed.types()).toEqual(['opened', 'resolved', 'opened', 'resolved', 'opened']);
    const failed = setup();
    const outage = failed.m.route(anomaly('c-1', 'errors', 'pricing', 'pricing', 0), origin('pricing', 'errors'), undefined, 0);
    failed.m.episodeEnded(outage, 'c-1');
    failed.m.tick(RESOLVE_AFTER);
    expect(failed.m.route(reaching(anomaly('c-2', 'timeout', 'orders', 'pricing', RESOLVE_AFTER + 30_000)), origin('pricing', 'timeout'), undefined, RESOLVE_AFTER + 30_000)).not.toBe(outage);
    // Another root is not reopened into it; nor is an incident the user resolved.
    expect(m.route(anomaly('a-3', 'errors', 'billing', 'billing', RESOLVE_AFTER + 11_000), origin('billing', 'errors'), undefined, RESOLVE_AFTER + 11_000)).not.toBe(id);
    m.resolve(id, RESOLVE_AFTER + 12_000);
    expect(m.route(anomaly('a-4', 'errors', 'payment', 'payment', RESOLVE_AFTER + 13_000), origin('payment', 'errors'), undefined, RESOLVE_AFTER + 13_000)).not.toBe(id);
  });

  it("tells how many more of the root's service's operations fail on their own, from two", () => {
    const { m } = setup();
    const own = (id: string, operation: string, at: number): Anomaly => {
      const a = anomaly(id, 'errors', 'api', 'api', at);
      return { ...a, operation, cause: { ...a.cause, operation } };
    };
    const from = (operation: string): RankedOrigin[] => [{ service: 'api', operation, key: opKey('api', operation), kind: 'errors', share: 1, count: 10 }];
    const id = m.route(own('a-1', 'GET /a', 0), from('GET /a'), undefined, 0);
    m.route(own('a-2', 'GET /b', 0), from('GET /b'), undefined, 0);
    expect(m.get(id)!.rootCause.explanation).toBe('because of api');
    m.route(own('a-3', 'GET /c', 0), from('GET /c'), undefined, 0);
    expect(m.get(id)!.rootCause.explanation).toBe("because of api; 2 more of api's operations fail the same way on their own");
  });

  it('acknowledge and resolve by hand announce each transition once; unknown ids change nothing', () => {
    const { m, types } = setup();
    const id = m.route(anomaly('a-1', 'errors', 'payment', 'payment', 0), origin('payment', 'errors'), undefined, 0);
    expect(m.acknowledge(id, 1000)?.status).toBe('acknowledged');
    expect(m.acknowledge(id, 2000)?.acknowledgedAt).toBe(1000);
    expect(m.resolve(id, 3000)).toMatchObject({ status: 'resolved', resolvedBy: 'user', resolvedAt: 3000 });
    expect(m.resolve(id, 4000)?.resolvedAt).toBe(3000);
    expect(m.acknowledge('inc-404', 0)).toBeUndefined();
    expect(m.resolve('inc-404', 0)).toBeUndefined();
    expect(types()).toEqual(['opened', 'acknowledged', 'resolved']);
  });

  it('lists newest first through its filters, and hands out copies', () => {
    const { m } = setup();
    const low = { ...anomaly('a-1', 'errors', 'payment', 'payment', 0), severity: 'low' as const };
    const first = m.route(low, origin('payment', 'errors'), undefined, 0);
    const second = m.route(anomaly('a-2', 'latency', 'db', 'db', 1000), origin('db', 'latency'), undefined, 1000);
    m.acknowledge(first, 2000);
    expect(m.list().map((i) => i.id)).toEqual([second, first]);
    expect(m.list({ status: 'acknowledged' }).map((i) => i.id)).toEqual([first]);
    expect(m.list({ status: ['active', 'acknowledged'], severity: 'high' }).map((i) => i.id)).toEqual([second]);
    expect(m.list({ service: 'payment' }).map((i) => i.id)).toEqual([first]);
    expect(m.list({ operation: 'nope' })).toEqual([]);
    const copy = m.get(second);
    if (copy) copy.title = 'changed';
    expect(m.get(second)?.title).not.toBe('changed');
  });

  it('keeps at most maxExemplars trace ids per incident', () => {
    const { m } = setup();
    const a = { ...anomaly('a-1', 'errors', 'payment', 'payment', 0), traceIds: ['t1', 't2', 't3', 't4', 't5'] };
    const id = m.route(a, origin('payment', 'errors'), undefined, 0);
    expect(m.get(id)?.traceIds).toHaveLength(3);
  });

  it('restores from its JSON without announcing anything, and a restored open incident still resolves', () => {
    const { m } = setup();
    const id = m.route(anomaly('a-1', 'errors', 'payment', 'payment', 0), origin('payment', 'errors'), undefined, 0);
    const back = setup();
    back.m.restore(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.events).toEqual([]);
    expect(back.m.list()).toEqual(m.list());
    // Episodes do not survive a restart: the quiet period runs from the last firing.
    back.m.tick(RESOLVE_AFTER);
    expect(back.types()).toEqual(['resolved']);
    expect(back.m.get(id)?.resolvedBy).toBe('auto');
    // Ids continue after the restored ones.
    expect(back.m.route(anomaly('a-9', 'latency', 'db', 'db', 1e6), origin('db', 'latency'), undefined, 1e6)).not.toBe(id);
  });
});
