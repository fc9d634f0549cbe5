/**
 * A request whose handler takes a new path: a GraphQL gateway's loader stops batching, and each list of
 * products, one call to catalog's `GET /products?ids=` before, becomes seven calls to `GET /products/:id`.
 * The request skipped its usual call because its own code chose to: the change is the gateway's, not that
 * of whatever the new calls reached (catalog's cache reads, a little slower under 7× the requests).
 */
import { describe, expect, it } from 'vitest';
import { createAnalyzer, type Anomaly, type Span } from '../src/index.js';
import { TraceBuilder } from './helpers/spans.js';
import { watch } from './helpers/events.js';
import { logNormal, mulberry32 } from './helpers/random.js';

const T0 = Date.UTC(2026, 0, 1);

function list(at: number, rng: () => number, perItem: boolean, items = 7, slowShare = 0.15): Span[] {
  const b = new TraceBuilder();
  const calls = perItem ? items : 1;
  let t = at + 1;
  const server = b.server('gateway', items === 1 ? '/graphql/product' : '/graphql/list', at, at + 2 + calls * 6);
  for (let i = 0; i < calls; i++) {
    // Under 7× the requests, catalog's cache reads now and then take a few times longer than usual.
    const read = perItem && rng() < slowShare ? 2 + rng() : logNormal(rng, 0.5, 0.2);
    const api = b.call(server, 'catalog', perItem ? '/products/:id' : '/products', t, t + read + 3);
    b.db(api, 'redis', 'MGET', t + 1.5, t + 1.5 + read);
    t += read + 4;
  }
  server.endTime = t + 1;
  return b.spans;
}

/**
 * Eight minutes of 4 requests a second through `list` (`items` products each, catalog's reads slow in
 * `slowShare` of per-item calls), per item from 360 s on: the shape anomalies, incidents opened, and the analyzer.
 */
function run(seed: number, items: number, slowShare?: number) {
  const a = createAnalyzer();
  const events = watch(a);
  const shapes: Anomaly[] = [];
  a.onAnomaly((x) => {
    if (x.kind === 'shape') shapes.push(x);
  });
  const rng = mulberry32(seed);
  for (let s = 0; s < 8 * 60; s++) {
    const batch: Span[] = [];
    for (let i = 0; i < 4; i++) batch.push(...list(T0 + s * 1000 + i * 250, rng, s >= 6 * 60, items, slowShare));
    a.ingest(batch);
    a.advanceTo(T0 + (s + 1) * 1000);
  }
  a.flush();
  return { a, shapes, opened: events.filter((e) => e.type === 'opened').map((e) => e.incident) };
}

describe('a request whose handler takes a new path', () => {
  it('is the change of its own operation, not of the operations its new calls reach', () => {
    const { a, shapes, opened } = run(21, 7);
    expect(shapes.length).toBeGreaterThan(0);
    for (const x of shapes) expect(x.cause, x.explanation).toMatchObject({ service: 'gateway' });
    // To its last window, the new calls' detector having been made (and learning nothing) meanwhile.
    const last = a.incidents().flatMap((i) => i.anomalies.filter((x) => x.kind === 'shape'));
    expect(last.length).toBeGreaterThan(0);
    for (const x of last) expect(x.cause, x.explanation).toMatchObject({ service: 'gateway' });
    // How many calls each request makes now is told: the size of the loop.
    expect(shapes.find((x) => x.signal === 'shape.new-call')?.explanation).toMatch(/^gateway GET \/graphql\/list started calling catalog GET \/products\/:id: 100% of requests vs usually 0%, 7\.0 calls per request in the last/);
    expect(opened.map((i) => i.rootCause.service)).toEqual(['gateway']);
  });

  it('calling once, in place of its usual call, a callee its operation never called is its own change too, not what that callee reached', () => {
    // A product query calls catalog's per-item route instead, whose cache reads run slow half the time.
    const { shapes, opened } = run(22, 1, 0.5);
    expect(shapes.length).toBeGreaterThan(0);
    for (const x of shapes) expect(x.cause, x.explanation).toMatchObject({ service: 'gateway' });
    // One call in each request: nothing more to say of it.
    expect(shapes.find((x) => x.signal === 'shape.new-call')?.explanation).toMatch(/started calling catalog GET \/products\/:id: 100% of requests vs usually 0% in the last/);
    expect(opened.map((i) => i.rootCause.service)).toEqual(['gateway']);
  });
});
