import type { Span } from '@rootspan/engine';
import { shopTopology, SIM_EPOCH, type Fault, type Scenario } from '@rootspan/sim';

export const MIN = 60_000;

/** A small shop scenario for tests; no swell unless asked, so rates are flat. */
export function shop(overrides: Partial<Scenario> = {}): Scenario {
  return {
    name: 'test-shop',
    description: 'test',
    topology: shopTopology(),
    durationMs: 10 * MIN,
    seed: 42,
    baseRps: 6,
    faults: [] as Fault[],
    truth: { faults: [], expectedIncidents: 0 },
    swell: { amplitude: 0, periodMs: MIN },
    ...overrides,
  };
}

export const at = (min: number): number => SIM_EPOCH + min * MIN;

export function byTrace(spans: readonly Span[]): Map<string, Span[]> {
  const m = new Map<string, Span[]>();
  for (const s of spans) {
    const list = m.get(s.traceId);
    if (list) list.push(s);
    else m.set(s.traceId, [s]);
  }
  return m;
}

export const isDb = (s: Span): boolean => s.attributes?.['db.system'] !== undefined;
export const isTimeout = (s: Span): boolean => s.attributes?.['error.type'] === 'timeout';

/** Server spans of one service/operation (optionally starting within [from, to)). */
export function serverSpans(spans: readonly Span[], service: string, operation: string, from = -Infinity, to = Infinity): Span[] {
  return spans.filter((s) => s.kind === 'server' && s.service === service && s.name === operation && s.startTime >= from && s.startTime < to);
}

export function errorRate(spans: readonly Span[]): number {
  return spans.filter((s) => s.status === 'error').length / spans.length;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

export const duration = (s: Span): number => s.endTime - s.startTime;

/**
 * Structural checks; returns a list of problems (empty when valid): ids, one root per trace, parents
 * present, times ordered, children inside parents (except the server under a timed-out client), HTTP
 * client spans with a server child, database spans without children.
 */
export function structuralProblems(spans: readonly Span[]): string[] {
  const problems: string[] = [];
  const add = (msg: string) => {
    if (problems.length < 20) problems.push(msg);
  };
  for (const [traceId, list] of byTrace(spans)) {
    if (!/^[0-9a-f]{32}$/.test(traceId)) add(`bad trace id ${traceId}`);
    const byId = new Map<string, Span>();
    const children = new Map<string, Span[]>();
    for (const s of list) {
      if (!/^[0-9a-f]{16}$/.test(s.spanId)) add(`bad span id ${s.spanId}`);
      if (byId.has(s.spanId)) add(`duplicate span id ${s.spanId}`);
      byId.set(s.spanId, s);
      if (!(s.endTime >= s.startTime)) add(`end before start ${s.spanId}`);
      if (s.parentSpanId) {
        const c = children.get(s.parentSpanId);
        if (c) c.push(s);
        else children.set(s.parentSpanId, [s]);
      }
    }
    const roots = list.filter((s) => !s.parentSpanId);
    if (roots.length !== 1 || roots[0].kind !== 'server') add(`trace ${traceId} has ${roots.length} roots`);
    for (const s of list) {
      if (s.parentSpanId) {
        const p = byId.get(s.parentSpanId);
        if (!p) {
          add(`missing parent of ${s.spanId}`);
          continue;
        }
        if (s.kind === 'server' && p.kind !== 'client') add(`server ${s.spanId} under a ${p.kind}`);
        if (s.kind === 'client' && p.kind !== 'server') add(`client ${s.spanId} under a ${p.kind}`);
        if (s.startTime < p.startTime) add(`child ${s.spanId} starts before its parent`);
        if (s.endTime > p.endTime && !(p.kind === 'client' && isTimeout(p))) add(`child ${s.spanId} ends after its parent ${p.name}`);
      }
      const kids = children.get(s.spanId) ?? [];
      if (s.kind === 'client') {
        if (isDb(s) && kids.length > 0) add(`db span ${s.spanId} has children`);
        if (!isDb(s) && (kids.length !== 1 || kids[0].kind !== 'server')) add(`http client ${s.spanId} has ${kids.length} children`);
      }
    }
  }
  return problems;
}
