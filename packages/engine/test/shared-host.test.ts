import { describe, expect, it } from 'vitest';
import type { Incident } from '../src/index.js';
import { openedBy } from './helpers/events.js';
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
