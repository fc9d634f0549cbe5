import type { ChangeEvent, VersionsSnapshot } from './types.js';

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
  /** The last sighting matched: spans come in runs of one service (a batch per process). */
  private lastService: string | undefined;
  private last: Seen | undefined;

  constructor(maxServices: number) {
    this.maxServices = maxServices;
  }

  observe(service: string, version: string | undefined, at: number): void {
    if (!version) return;
    const last = this.last;
    if (last !== undefined && last.version === version && this.lastService === service) {
      if (at < last.firstSeen) last.firstSeen = at;
      return;
    }
    let seen = this.services.get(service);
    if (seen === undefined) {
      if (this.services.size >= this.maxServices) return;
      seen = [];
      this.services.set(service, seen);
    }
    this.lastService = service;
    for (const s of seen) {
      if (s.version === version) {
        if (at < s.firstSeen) s.firstSeen = at;
        this.last = s;
        return;
      }
    }
    this.last = { version, firstSeen: at };
    seen.push(this.last);
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

  toJSON(): VersionsSnapshot {
    return [...this.services].map(([k, v]) => [k, v.map((s) => ({ ...s }))]);
  }

  restore(json: VersionsSnapshot): void {
    this.services.clear();
    this.last = undefined;
    this.lastService = undefined;
    for (const [k, v] of json) this.services.set(k, v.map((s) => ({ ...s })));
  }
}
