import { describe, expect, it } from 'vitest';
import type { Incident } from '../src/index.js';
import { openedBy, replayRequests } from './helpers/events.js';
import { logNormal } from './helpers/random.js';
import { TraceBuilder } from './helpers/spans.js';
import { SHOP_START, shopTraffic, type ShopFault } from './helpers/shop.js';

const MIN = 60_000;
const FROM = 3 * MIN;

/** Shop traffic at 30 requests a second for 5 minutes with `faults` (from FROM on): the incidents opened. */
function opened(faults: Omit<ShopFault, 'from' | 'to'>[], lastsMs: number): Incident[] {
  const spans = shopTraffic({ seed: 31, rps: 30, durationMs: 5 * MIN, faults: faults.map((f) => ({ ...f, from: FROM, to: FROM + lastsMs })) });
  return openedBy(spans, 100);
}

/** Every service's own time and the database, `slow`× at once: the host they share short of CPU. */
const everything = (slow: number) => (['checkout', 'inventory', 'payment', 'postgresql'] as const).map((service) => ({ service, slow }));

describe('a slowdown of everything at once (a shared host short of CPU)', () => {
  it('opens no incident for a spell of seconds', () => {
    // Before: "Latency in payment GET /pay" and "Latency in postgresql SELECT orders", each naming one node of many.
    expect(opened(everything(2.5), 10_000).map((i) => i.title)).toEqual([]);
  });

  it('a slowdown of one backend, as large, still opens its incident: the others did not slow', () => {
    const [incident] = opened([{ service: 'postgresql', slow: 2.5 }], 10_000);
    expect(incident?.rootCause).toMatchObject({ service: 'postgresql' });
  });

  it('nor does it hide a host so starved that everything is ten times slower', () => {
    expect(opened(everything(12), 10_000)).not.toEqual([]);
  });
});

describe('a host short of CPU where one service does not slow (probe 13: a Go service beside Python ones)', () => {
  /** Five services, each its own requests and a query, 40 a second; for 20 s from minute 4, `slowed` 4× slower (their own time, or the database's calls). */
  function opened(slowed: readonly string[]): string[] {
    const services = ['a', 'b', 'c', 'd', 'e'];
    const T0 = Date.UTC(2026, 0, 1);
    const { events } = replayRequests({ seed: 5, start: T0, durationMs: 6 * MIN, rps: 40 }, (rng, at) => {
      const b = new TraceBuilder();
      const service = services[Math.floor(rng() * services.length)];
      const hot = at >= T0 + 4 * MIN && at < T0 + 4 * MIN + 20_000;
      const own = logNormal(rng, Math.log(5), 0.2) * (hot && slowed.includes(service) ? 4 : 1);
      const db = logNormal(rng, Math.log(2), 0.2) * (hot && slowed.includes('postgresql') ? 4 : 1);
      const server = b.server(service, '/work', at, at + own + db + 1);
      b.db(server, 'postgresql', 'SELECT', at + own, at + own + db);
      return b.spans;
    });
    return events.filter((e) => e.type === 'opened').map((e) => e.incident.title);
  }

  it('four of six nodes slowed at once are the host: no incident (each of them was one)', () => {
    expect(opened(['a', 'b', 'c', 'postgresql'])).toEqual([]);
  });

  it('the database alone slowed as much is its incident', () => {
    expect(opened(['postgresql'])).toEqual([expect.stringMatching(/^Latency in postgresql SELECT orders/)]);
  });
});
