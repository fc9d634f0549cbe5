import type { Analyzer, IncidentEvent } from '../../src/index.js';

/** Every incident event `a` emits from now on, in order. */
export function watch(a: Analyzer): IncidentEvent[] {
  const events: IncidentEvent[] = [];
  a.onIncident((e) => events.push(e));
  return events;
}
