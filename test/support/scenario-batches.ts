import type { Span } from '@rootspan/engine';
import { scenarioByName, simulateBatches, type Scenario } from '@rootspan/sim';

/**
 * A catalogue scenario and its spans as its services' exporters send them, one batch per export (empty
 * ones left out), at `baseRps` requests a second at the entry.
 */
export function scenarioBatches(name: string, baseRps = 8): { scenario: Scenario; batches: Span[][] } {
  const scenario = scenarioByName(name);
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  const batches: Span[][] = [];
  for (const b of simulateBatches(scenario, { baseRps })) if (b.spans.length > 0) batches.push(b.spans);
  return { scenario, batches };
}
