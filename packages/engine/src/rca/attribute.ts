import { opKey } from '../keys.js';
import type { AnomalyKind, RankedOrigin } from '../types.js';
import type { OriginCounts } from '../ops/bucket.js';
import type { OpState } from '../ops/state.js';

/** Origins shown per anomaly (and fed into incident candidates). */
const TOP = 3;

/** An origin at an operation another fault's evidence settled on (an incident's root cause, an anomaly's cause). */
export function originAt(at: { service: string; operation: string | null; kind: AnomalyKind }, share: number, count: number): RankedOrigin {
  return { service: at.service, operation: at.operation, key: opKey(at.service, at.operation ?? ''), kind: at.kind, share, count };
}

/** The operation itself as the only origin. */
export function selfOrigins(op: OpState, kind: AnomalyKind, count: number): RankedOrigin[] {
  return [{ service: op.service, operation: op.operation, key: op.key, kind, share: 1, count }];
}

/**
 * Ranks where an anomaly's failing (or slow) requests started going wrong, from per-trace origins:
 * the error origin is the deepest failing span whose children did not fail; the latency origin is the
 * operation whose own time grew most over its baseline. Callers that only wait are never the origin.
 */
export function rankOrigins(counts: OriginCounts, total: number, op: OpState, kind: AnomalyKind, requests: number): RankedOrigin[] {
  if (total === 0 || counts.size === 0) return selfOrigins(op, kind, requests);
  // A peer is its own origin, with all its requests as evidence, unless its caller's loop read some of its
  // slow calls late (see the recorder's slowCallOrigin).
  if (op.nodeType === 'peer' && (kind !== 'latency' || (counts.size === 1 && counts.has(op.key)))) return selfOrigins(op, kind, requests);
  return [...counts.values()]
    .sort((a, b) => b.count - a.count || a.origin.key.localeCompare(b.origin.key))
    .slice(0, TOP)
    .map(({ origin, count, hung }) => ({
      service: origin.service,
      operation: origin.operation,
      key: origin.key,
      // Requests whose origin is a callee the caller gave up on are timeouts, whatever the symptom: the
      // origin is one when most of its requests are (not as its first request was, which would flip the
      // kind, and the incident's title, from window to window while a callee is slow for some and hung for others).
      kind: 2 * hung > count ? 'timeout' : kind,
      share: count / total,
      count,
    }));
}

/**
 * A traffic drop seen on an operation whose caller also dropped is the caller's drop passing through:
 * follow callers that `dropped` says dropped too, up to the topmost one.
 */
export function dropOrigin(op: OpState, ops: ReadonlyMap<string, OpState>, dropped: (caller: OpState) => boolean): OpState {
  let cur = op;
  const seen = new Set<string>([op.key]);
  for (;;) {
    let up: OpState | undefined;
    for (const key of cur.callers) {
      if (seen.has(key)) continue;
      const caller = ops.get(key);
      if (caller !== undefined && dropped(caller)) {
        up = caller;
        break;
      }
    }
    if (up === undefined) return cur;
    seen.add(up.key);
    cur = up;
  }
}
