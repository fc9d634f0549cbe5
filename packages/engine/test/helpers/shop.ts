import type { Span } from '../../src/types.js';
import { logNormal, mulberry32 } from './random.js';
import { TraceBuilder } from './spans.js';

/** A fault applied to a service between `from` and `to` (ms of event time since the start). */
export interface ShopFault {
  service: 'checkout' | 'payment' | 'inventory' | 'postgresql';
  from: number;
  to: number;
  /** Share of requests that fail. */
  errorRate?: number;
  /** Multiplier of the service's own time. */
  slow?: number;
  /** The service hangs this long; checkout's client gives up after 2 s. */
  hangMs?: number;
  /** Share of the requests that hang (`hangMs`, payment only); default all of them. */
  hangShare?: number;
  /** serviceVersion from `from` on. */
  version?: string;
}

export interface ShopOptions {
  seed?: number;
  /** Requests per second at the frontend. */
  rps?: number;
  durationMs: number;
  start?: number;
  faults?: ShopFault[];
  /** Background error probability per service call. */
  noiseErrors?: number;
}

export const SHOP_START = Date.UTC(2026, 0, 1);

/**
 * A small deterministic shop for engine tests: frontend → checkout → (inventory → postgresql, payment).
 * Returns spans sorted by end time, as a collector would see them.
 */
export function shopTraffic(o: ShopOptions): Span[] {
  const rng = mulberry32(o.seed ?? 1);
  const start = o.start ?? SHOP_START;
  const rps = o.rps ?? 6;
  const spans: Span[] = [];
  const active = (svc: ShopFault['service'], t: number) =>
    (o.faults ?? []).find((f) => f.service === svc && t - start >= f.from && t - start < f.to);
  const version = (svc: ShopFault['service'], t: number) =>
    (o.faults ?? []).find((f) => f.service === svc && f.version && t - start >= f.from)?.version ?? '1.0.0';
  let t = start;
  for (;;) {
    t += (-Math.log(1 - rng()) / rps) * 1000;
    if (t - start >= o.durationMs) break;
    const b = new TraceBuilder();
    const self = (svc: ShopFault['service'], median: number) => logNormal(rng, median, 0.3) * (active(svc, t)?.slow ?? 1);
    const fails = (svc: ShopFault['service']) => rng() < (active(svc, t)?.errorRate ?? o.noiseErrors ?? 0);
    // Build bottom-up in time: each callee's duration determines its caller's.
    const feStart = t;
    let cur = feStart + self('checkout', 2);
    const coStart = cur;
    // inventory: own time + db query
    const invStart = coStart + 1 + self('checkout', 3);
    const dbStart = invStart + 1 + self('inventory', 3);
    const dbEnd = dbStart + self('postgresql', 4);
    const invEnd = dbEnd + 1 + self('inventory', 2);
    const invFail = fails('inventory');
    const payStart = invEnd + 2;
    const payFault = active('payment', t);
    const hang = payFault?.hangShare === undefined || rng() < payFault.hangShare ? payFault?.hangMs : undefined;
    const payServerEnd = payStart + 1 + (hang ?? self('payment', 25));
    const payFail = hang === undefined && fails('payment');
    const gaveUp = hang !== undefined && hang > 2000;
    const payClientEnd = gaveUp ? payStart + 2000 : payServerEnd + 1;
    const coOwnFail = fails('checkout');
    const coFail = invFail || payFail || gaveUp || coOwnFail;
    const coEnd = payClientEnd + self('checkout', 4);
    cur = coEnd + 1;
    const feEnd = cur + self('checkout', 1);
    const fe = b.server('frontend', '/', feStart, feEnd, { status: coFail ? 'error' : 'unset', serviceVersion: '1.0.0' });
    const co = b.call(fe, 'checkout', '/checkout', coStart - 1, coEnd + 1, { error: coFail });
    co.serviceVersion = version('checkout', t);
    const inv = b.call(co, 'inventory', '/stock', invStart - 1, invEnd + 1, { error: invFail });
    inv.serviceVersion = version('inventory', t);
    b.db(inv, 'postgresql', 'SELECT', dbStart, dbEnd);
    const pc = b.client(co, 'payment', payStart, payClientEnd, gaveUp ? { status: 'error', statusMessage: 'timeout' } : payFail ? { status: 'error' } : {});
    b.server('payment', '/pay', payStart + 1, payServerEnd, { status: payFail ? 'error' : 'unset', serviceVersion: version('payment', t) }, pc);
    for (const s of b.spans) if (!s.serviceVersion) s.serviceVersion = '1.0.0';
    spans.push(...b.spans);
  }
  // The capture ends at durationMs: spans still running then (a hang) are not in it.
  return spans.filter((s) => s.endTime - start < o.durationMs).sort((a, b) => a.endTime - b.endTime);
}

/** Splits spans into batches of `size`, as exporters deliver them. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
