import type { Span } from '@rootspan/engine';
import { scenarioByName, simulateBatches, type Fault, type Scenario } from '@rootspan/sim';

/** A different run of a catalogue scenario: another seed, or its first fault changed. */
export interface Variant {
  seed?: number;
  fault?: Partial<Fault>;
}

/**
 * A catalogue scenario and its spans as its services' exporters send them, one batch per export (empty
 * ones left out), at `baseRps` requests a second at the entry.
 */
export function scenarioBatches(name: string, baseRps = 8, variant: Variant = {}): { scenario: Scenario; batches: Span[][] } {
  const found = scenarioByName(name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  const { seed, fault } = variant;
  const scenario = fault === undefined ? found : ({ ...found, faults: found.faults.map((f, i) => (i === 0 ? { ...f, ...fault } : f)) } as Scenario);
  const batches: Span[][] = [];
  for (const b of simulateBatches(scenario, { baseRps, ...(seed !== undefined ? { seed } : {}) })) if (b.spans.length > 0) batches.push(b.spans);
  return { scenario, batches };
}
