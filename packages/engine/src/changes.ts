import type { ChangeEvent } from './types.js';

/** Versions kept per service: enough to see a deploy and a rollback. */
const KEEP = 4;

interface Seen {
  version: string;
  firstSeen: number;
}

/**
 * Remembers when each service version was first seen (event time), so a root cause can name the deploy
 * that likely triggered it. During a rolling deploy old and new versions interleave: only the first
 * sighting of a version counts, so the interleaving does not look like many deploys.
 */
export class ChangeTracker {
  private readonly services = new Map<string, Seen[]>();
  private readonly maxServices: number;

  constructor(maxServices: number) {
    this.maxServices = maxServices;
  }

  observe(service: string, version: string | undefined, at: number): void {
    if (!version) return;
    let seen = this.services.get(service);
    if (seen === undefined) {
      if (this.services.size >= this.maxServices) return;
      seen = [];
      this.services.set(service, seen);
    }
    for (const s of seen) {
      if (s.version === version) {
        if (at < s.firstSeen) s.firstSeen = at;
        return;
      }
    }
    seen.push({ version, firstSeen: at });
    if (seen.length > KEEP) seen.shift();
  }

  /** The latest version change of `service` within `windowMs` before `at` (not its first ever version). */
  changeBefore(service: string, at: number, windowMs: number): ChangeEvent | undefined {
    const seen = this.services.get(service);
    if (seen === undefined || seen.length < 2) return undefined;
    const sorted = [...seen].sort((a, b) => a.firstSeen - b.firstSeen);
    for (let i = sorted.length - 1; i >= 1; i--) {
      const s = sorted[i];
      if (s.firstSeen <= at && at - s.firstSeen <= windowMs) {
        return { service, from: sorted[i - 1].version, to: s.version, at: s.firstSeen };
      }
    }
    return undefined;
  }

  toJSON(): Array<[string, Seen[]]> {
    return [...this.services].map(([k, v]) => [k, v.map((s) => ({ ...s }))]);
  }

  restore(json: Array<[string, Seen[]]>): void {
    this.services.clear();
    for (const [k, v] of json) this.services.set(k, v.map((s) => ({ ...s })));
  }
}
