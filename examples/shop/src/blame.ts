/**
 * Reading the embedded processors' incidents together. Each process's rootspan sees its own spans: the
 * frontend sees checkout fail, checkout sees payment fail, payment sees itself fail. Following each
 * service's verdict to the service it blames, until one blames itself or something it calls that has no
 * rootspan of its own (a database, the fraud service), gives the root cause of the cascade.
 */
import type { IncidentLog } from './shop.js';
import { SERVICES, type ProcessName } from './topology.js';

export interface Blame {
  /** The services visited, ending with the root cause. */
  chain: string[];
  /** The root cause: the last service of the chain. */
  rootCause: string;
}

/** The services an incident blames, by reporter: the latest opened, updated or reopened root cause of each. */
function verdicts(incidents: readonly IncidentLog[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of incidents) if (e.type === 'opened' || e.type === 'updated' || e.type === 'reopened') out.set(e.reporter, e.rootCause.service);
  return out;
}

/**
 * Follows the blame from the service furthest up the call chain that has an incident. Returns null when
 * no process has opened an incident.
 */
export function followBlame(incidents: readonly IncidentLog[]): Blame | null {
  const blamed = verdicts(incidents);
  const start = SERVICES.find((s) => blamed.has(s));
  if (start === undefined) return null;
  const chain: string[] = [start];
  let at: string = start;
  for (;;) {
    const next = blamed.get(at);
    // A service with no incident of its own, or one blaming itself, ends the chain.
    if (next === undefined || next === at) break;
    chain.push(next);
    if (chain.indexOf(next) !== chain.length - 1 || !(SERVICES as readonly string[]).includes(next)) break;
    at = next as ProcessName;
  }
  return { chain, rootCause: chain[chain.length - 1] };
}
