import { describe, expect, it } from 'vitest';
import { countOrigin, mergeOrigins, type OriginCounts } from '../src/ops/bucket.js';
import type { OpState } from '../src/ops/state.js';
import { rankOrigins } from '../src/rca/attribute.js';
import { opKey } from '../src/keys.js';
import type { Origin } from '../src/trace/analyze.js';

const checkout = { nodeType: 'service', service: 'checkout', operation: 'POST /checkout', key: opKey('checkout', 'POST /checkout') } as OpState;
const at = (kind: Origin['kind']): Origin => ({ service: 'payment', operation: 'POST /charge', key: opKey('payment', 'POST /charge'), kind });

/** Slow requests tracing back to payment: `slow` that waited for its answer, then `hung` given up on (or the other way round). */
function counts(order: ReadonlyArray<Origin['kind']>): OriginCounts {
  const c: OriginCounts = new Map();
  for (const kind of order) countOrigin(c, at(kind));
  return c;
}

describe('rankOrigins', () => {
  it("names an origin a timeout when most of its requests gave up on it, whichever came first in the window", () => {
    const mostlyHung = counts(['latency', 'timeout', 'timeout', 'timeout']);
    expect(rankOrigins(mostlyHung, 4, checkout, 'latency', 40)[0]).toMatchObject({ service: 'payment', kind: 'timeout', count: 4, share: 1 });
    const mostlySlow = counts(['timeout', 'latency', 'latency', 'latency']);
    expect(rankOrigins(mostlySlow, 4, checkout, 'latency', 40)[0]).toMatchObject({ kind: 'latency', count: 4 });
    // Half and half is not most.
    expect(rankOrigins(counts(['timeout', 'latency']), 2, checkout, 'errors', 40)[0].kind).toBe('errors');
  });

  it('sums the requests that gave up over a window of buckets', () => {
    const window: OriginCounts = new Map();
    mergeOrigins(window, counts(['latency', 'latency']));
    mergeOrigins(window, counts(['timeout', 'timeout', 'timeout']));
    expect(window.get(at('latency').key)).toMatchObject({ count: 5, hung: 3 });
    expect(rankOrigins(window, 5, checkout, 'latency', 40)[0].kind).toBe('timeout');
  });
});
