import { createAnalyzer, type Analyzer, type AnalyzerOptions, type Anomaly, type Incident, type IncidentEvent, type Span } from '../../src/index.js';
import { mulberry32, type Rng } from './random.js';
import { batches } from './shop.js';

/** Every incident event `a` emits from now on, in order. */
export function watch(a: Analyzer): IncidentEvent[] {
  const events: IncidentEvent[] = [];
  a.onIncident((e) => events.push(e));
  return events;
}

/**
 * Requests arriving as a Poisson process of `rps` from `start` for `durationMs`, each made into its spans by
 * `request` (given its start), fed in the order their spans end (as exporters send them) to a new analyzer,
 * then flushed: the incident events and anomalies it emitted.
 */
export function replayRequests(
  o: { seed: number; start: number; durationMs: number; rps: number; options?: AnalyzerOptions },
  request: (rng: Rng, at: number) => Span[],
): { events: IncidentEvent[]; anomalies: Anomaly[] } {
  const rng = mulberry32(o.seed);
  const spans: Span[] = [];
  for (let at = o.start; at < o.start + o.durationMs; at += (-Math.log(1 - rng()) / o.rps) * 1000) spans.push(...request(rng, at));
  spans.sort((a, b) => a.endTime - b.endTime);
  const analyzer = createAnalyzer(o.options);
  const events = watch(analyzer);
  const anomalies: Anomaly[] = [];
  analyzer.onAnomaly((a) => anomalies.push(a));
  for (const s of spans) analyzer.ingest(s);
  analyzer.flush();
  return { events, anomalies };
}

/** `spans` fed in batches of `size` (as exporters send them) to a new analyzer, then flushed: the incidents it opened. */
export function openedBy(spans: readonly Span[], size: number): Incident[] {
  const analyzer = createAnalyzer();
  const opened: Incident[] = [];
  analyzer.onIncident((e) => e.type === 'opened' && opened.push(e.incident));
  for (const b of batches(spans, size)) analyzer.ingest(b);
  analyzer.flush();
  return opened;
}
