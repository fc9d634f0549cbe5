import type { Span } from './types.js';
import { FUTURE_RUN } from './limits.js';

/** Spans an ahead run holds at most before it is taken as the stream having moved on (memory stays bounded). */
const MAX_AHEAD_HELD = 10_000;
/** Fast services remembered at most. */
const MAX_FAST_SERVICES = 64;

/**
 * A replay's spans that started well past event time, held until what comes next tells why. Either the
 * stream moved on (a gap in the recording: spans of several services come ahead together, or, in a
 * one-service stream, {@link FUTURE_RUN} in a row), and event time follows them; or one host's clock is
 * fast (an on-time span of another host comes next), and its spans move back to event time. Followed, a
 * host 60 s fast that sent a span every 10 s made event time jump ahead each time, and 94 % of every other
 * host's spans were dropped as late (a fault in them missed).
 */
export class AheadRun {
  readonly spans: Span[] = [];
  /** Services whose spans were moved back (bounded: a few fast hosts, not every service). */
  private readonly fast = new Set<string>();

  /** Whether the run's spans come from a service already found fast: at the end of input, nothing follows to tell. */
  knownFast(): boolean {
    return this.spans.length > 0 && this.fast.has(this.spans[0].service);
  }

  /**
   * Holds `span`; true when the run now shows the stream moved on: spans of two services, `FUTURE_RUN`
   * spans of a stream that has only ever had one service, or more than can be held.
   */
  add(span: Span, oneService: boolean): boolean {
    const spans = this.spans;
    spans.push(span);
    if (spans.length > 1 && span.service !== spans[0].service) return true;
    return spans.length >= MAX_AHEAD_HELD || (oneService && spans.length >= FUTURE_RUN);
  }

  /**
   * The run's spans, one fast host's, moved back together so that the earliest starts at `clock`: its
   * spans keep their order and durations (a trace's parents still enclose their children).
   */
  shifted(clock: number): Span[] {
    if (this.fast.size < MAX_FAST_SERVICES) this.fast.add(this.spans[0].service);
    let first = Infinity;
    for (const s of this.spans) if (s.startTime < first) first = s.startTime;
    const by = first - clock;
    return this.spans.map((s) => ({ ...s, startTime: s.startTime - by, endTime: s.endTime - by }));
  }
}
