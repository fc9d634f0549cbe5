/**
 * The server's span counts since it started, for `/aiops/status` and `/metrics`, put together from where
 * the spans went: the analyzer's own counts of the spans the intake gave it, and the spans that never
 * reached it (undecodable, refused by a full queue, or refused on arrival as the analyzer would have).
 */
import type { DropCounters } from '@rootspan/engine';
import type { Intake } from './intake.js';
import type { ReceiverCounters } from './receiver.js';

export interface SpanCounts {
  /** Every span that arrived: `accepted + dropped` and those still queued. */
  received: number;
  accepted: number;
  /** The sum of `drops`. */
  dropped: number;
  /** By reason: the analyzer's (spans refused on arrival under the reason it would have dropped them for), `malformed` and `queueFull`. */
  drops: Record<keyof DropCounters | 'malformed' | 'queueFull', number>;
}

/** The counts from the analyzer's part ({@link Intake.analyzed}), the intake's counters and the receivers'. */
export function spanCounts(analyzed: { accepted: number; droppedBy: DropCounters }, intake: Intake['counters'], receiver: ReceiverCounters): SpanCounts {
  const { late, future } = receiver.refusedOnArrival;
  const drops = {
    ...analyzed.droppedBy,
    late: analyzed.droppedBy.late + late,
    future: analyzed.droppedBy.future + future,
    malformed: receiver.malformedSpans,
    queueFull: intake.queueFullSpans,
  };
  let dropped = 0;
  for (const n of Object.values(drops)) dropped += n;
  return { received: intake.received + receiver.malformedSpans + intake.queueFullSpans + late + future, accepted: analyzed.accepted, dropped, drops };
}
