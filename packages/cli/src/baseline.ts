import { createAnalyzer, type Analyzer, type AnalyzerOptions } from '@rootspan/engine';

/**
 * A fresh analyzer that knows what `trained` learned (baselines, usual call shapes, peers, versions)
 * but none of its history: no clock, no open windows, no anomalies or incidents. The files judged next
 * start their own event time, whenever they were recorded.
 */
export function learnedFrom(trained: Analyzer, options: AnalyzerOptions): Analyzer {
  trained.flush();
  const next = createAnalyzer(options);
  const fresh = next.snapshot();
  next.restore({
    ...trained.snapshot(),
    clock: null,
    closed: null,
    nextAnomaly: fresh.nextAnomaly,
    anomaliesTotal: 0,
    incidents: fresh.incidents,
    counters: fresh.counters,
  });
  return next;
}
