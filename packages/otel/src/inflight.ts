import { SpanKind, trace, type Context } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { IN_FLIGHT_MIN_MS, type InFlightCall } from '@rootspan/engine';
import { toEngineSpan } from './map.js';
import type { PeerNames } from './peers.js';
import type { FinishedSpan } from './sdk.js';

/** A span as `onStart` receives it: the SDK's live span (both lines), whose `ended` turns true at its end. */
type OpenSpan = FinishedSpan & { readonly ended?: boolean };

/** Counters of the in-flight table, in the processor's `stats().inFlight`. */
export interface InFlightStats {
  /** Calls open right now (at most `inFlightSize`). */
  open: number;
  /** Calls not tracked because the table was full (total since start): a hang among them is seen only when it ends. */
  dropped: number;
  /** Calls reported to the analyzer as open for over a second at the last tick. */
  reported: number;
}

/**
 * Calls the host is waiting on right now: the client spans (and producer spans, and internal spans that
 * name a database) that have started and not ended, each with the span of the request it was made for.
 * A capped table, so a hang that leaves thousands of calls open costs bounded memory (calls beyond it are
 * counted in `dropped`). `add` and `release` are O(1) and allocate nothing but the table entry; every
 * tick, {@link InFlightTable.report} lists the calls open for over {@link IN_FLIGHT_MIN_MS}, oldest first,
 * for the analyzer to judge (`analyzer.inFlight`). No timer per call.
 */
export class InFlightTable {
  /** Open span → its local parent span, when the parent is a live span of this process (else null). Insertion order is start order. */
  private readonly open = new Map<OpenSpan, OpenSpan | null>();
  dropped = 0;
  reported = 0;

  constructor(private readonly capacity: number) {}

  /** From `onStart`: tracks the span if it is a call (returns whether it is one, tracked or counted as dropped). */
  add(span: OpenSpan, parentContext: Context): boolean {
    const kind = span.kind;
    if (kind !== SpanKind.CLIENT && kind !== SpanKind.PRODUCER && !(kind === SpanKind.INTERNAL && namesDatabase(span))) return false;
    if (this.open.size >= this.capacity) {
      this.dropped++;
      return true;
    }
    // A remote parent (or none) is a non-recording span without `ended`: nobody here waits on its end.
    const parent = trace.getSpan(parentContext) as OpenSpan | undefined;
    this.open.set(span, parent !== undefined && typeof parent.ended === 'boolean' ? parent : null);
    return true;
  }

  /** From `onEnd`: the call answered (or failed); a miss costs one lookup, an empty table none. */
  release(span: object): void {
    if (this.open.size > 0) this.open.delete(span as OpenSpan);
  }

  /**
   * The calls open since before `now - IN_FLIGHT_MIN_MS` (epoch ms), as the analyzer takes them: the span
   * as it stands, ending now, and when its parent ended if it has. Walks from the oldest and stops at the
   * first younger call, so a tick costs in proportion to the calls that are late, not to the table.
   */
  report(now: number, peers: PeerNames | undefined): InFlightCall[] {
    const out: InFlightCall[] = [];
    const before = now - IN_FLIGHT_MIN_MS;
    for (const [span, parent] of this.open) {
      if (hrTimeToMilliseconds(span.startTime) > before) break;
      const mapped = toEngineSpan(span, peers);
      if (mapped === undefined) continue;
      mapped.endTime = now;
      const call: InFlightCall = { span: mapped };
      if (parent !== null && parent.ended === true) call.parentEndedAt = Math.min(now, hrTimeToMilliseconds(parent.endTime));
      out.push(call);
    }
    this.reported = out.length;
    return out;
  }

  /** Forgets every call (shutdown: calls cut by the exit are no evidence). */
  clear(): void {
    this.open.clear();
    this.reported = 0;
  }

  stats(): InFlightStats {
    return { open: this.open.size, dropped: this.dropped, reported: this.reported };
  }
}

function namesDatabase(span: OpenSpan): boolean {
  const a = span.attributes;
  return a !== undefined && (a['db.system'] !== undefined || a['db.system.name'] !== undefined);
}
