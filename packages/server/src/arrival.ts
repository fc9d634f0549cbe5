/**
 * Spans the analyzer is sure to drop, told apart on arrival: the exporter hears of them in its answer's
 * partial success, as of a span it could not decode. Queued, they were dropped after the answer, which had
 * said all was well.
 */
import { MAX_FUTURE_SKEW_MS, type Analyzer, type Span } from '@rootspan/engine';
import { iso } from './shapes.js';

/** The analyzer's drop reasons (its `droppedBy`) a span can be judged by on arrival. */
export type ArrivalDrop = 'late' | 'future';

/** A span refused on arrival, with the analyzer's reason. */
export interface Refusal {
  span: Span;
  reason: ArrivalDrop;
}

/** A request's spans, sorted on arrival by {@link sortArrivals}. */
export interface Arrivals {
  /** The spans to queue. */
  kept: Span[];
  refused: Refusal[];
  /** Why a span was refused, in words for the exporter (made only for the few an answer quotes). */
  explain(refusal: Refusal): string;
}

/**
 * Splits a request's spans into those to queue and those the analyzer would drop whenever they reached it,
 * judged by its own bounds as its `ingest` applies them (`acceptedEnds`): ending more than `MAX_FUTURE_SKEW_MS`
 * past its wall clock (`future`), or more than `maxTraceWaitMs + latenessMs` before its event time (`late`).
 * Both bounds only move forward, so a span refused here would be dropped after the queue too.
 */
export function sortArrivals(spans: readonly Span[], analyzer: Analyzer): Arrivals {
  const { maxTraceWaitMs, latenessMs } = analyzer.options;
  const { from: earliest, to: latest } = analyzer.acceptedEnds();
  const eventTime = analyzer.now();
  const kept: Span[] = [];
  const refused: Refusal[] = [];
  for (const span of spans) {
    if (span.endTime > latest) refused.push({ span, reason: 'future' });
    else if (span.endTime < earliest) refused.push({ span, reason: 'late' });
    else kept.push(span);
  }
  const explain = ({ span, reason }: Refusal): string =>
    reason === 'future'
      ? `span ${span.spanId} ends at ${iso(span.endTime)}, more than ${MAX_FUTURE_SKEW_MS / 60_000} min past the receiver's clock (a clock running ahead?): dropped as future`
      : `span ${span.spanId} ends at ${iso(span.endTime)}, more than ${(maxTraceWaitMs + latenessMs) / 1000} s before the analysis's event time (${iso(eventTime as number)}): dropped as late`;
  return { kept, refused, explain };
}
