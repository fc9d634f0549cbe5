import type { ChangeEvent, VersionsSnapshot } from './types.js';

/** Versions kept per service: enough to see a deploy and a rollback. */
const KEEP = 4;
/**
 * A version seen again after this long (event time) unseen, while another was seen meanwhile, is deployed
 * again (a rollback): longer than exporters hold spans, so two versions interleaving in a rolling deploy
 * never count as one.
 */
const RETURN_GAP_MS = 30_000;

interface Seen {
  version: string;
  firstSeen: number;
  lastSeen: number;
  /** When it was (last) deployed: its first sighting, or its return after another version ran (see {@link RETURN_GAP_MS}). */
  since: number;
}

/**
 * Remembers when each service version was deployed (event time), so a root cause can name the deploy
 * that likely triggered it. During a rolling deploy old and new versions interleave: only the first
 * sighting of a version counts, so the interleaving does not look like many deploys. A version that comes
 * back after another replaced it (a rollback) is deployed again then.
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
      seenAt(last, at);
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
        if (at - s.lastSeen >= RETURN_GAP_MS && seen.some((o) => o.lastSeen > s.lastSeen)) s.since = at;
        seenAt(s, at);
        this.last = s;
        return;
      }
    }
    this.last = { version, firstSeen: at, lastSeen: at, since: at };
    seen.push(this.last);
    if (seen.length > KEEP) seen.shift();
  }

  /**
   * The latest deploy of `service` (a version change, not its first ever version) from `windowMs` before
   * `at` to `afterMs` after it.
   */
  changeNear(service: string, at: number, windowMs: number, afterMs = 0): ChangeEvent | undefined {
    const seen = this.services.get(service);
    if (seen === undefined || seen.length < 2) return undefined;
    // Its deploys in order: each version's first, and its return if it came back.
    const deploys: Array<{ version: string; at: number }> = [];
    for (const s of seen) {
      deploys.push({ version: s.version, at: s.firstSeen });
      if (s.since !== s.firstSeen) deploys.push({ version: s.version, at: s.since });
    }
    deploys.sort((a, b) => a.at - b.at);
    for (let i = deploys.length - 1; i >= 1; i--) {
      const d = deploys[i];
      if (d.at <= at + afterMs && at - d.at <= windowMs && deploys[i - 1].version !== d.version) {
        return { service, from: deploys[i - 1].version, to: d.version, at: d.at };
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
    // Snapshots from before rollbacks were told apart have first sightings only.
    for (const [k, v] of json) this.services.set(k, v.map((s) => ({ version: s.version, firstSeen: s.firstSeen, lastSeen: s.lastSeen ?? s.firstSeen, since: s.since ?? s.firstSeen })));
  }
}

/** Notes a sighting at `at`; a late span from before its deploy's time moves that back (not past the gap a return needs). */
function seenAt(s: Seen, at: number): void {
  if (at < s.since && (s.since === s.firstSeen || s.since - at < RETURN_GAP_MS)) s.since = at;
  if (at < s.firstSeen) s.firstSeen = at;
  if (at > s.lastSeen) s.lastSeen = at;
}
