/**
 * The soak's pass/fail rules, apart from the run so they read as a specification: memory flat over the
 * second half, every fault found once, nothing else opened, every incident notified once.
 */
import { median } from './common.js';

/** Heap (used + external, after a forced GC) at the end may exceed the half-way heap by at most this share. */
export const HEAP_GROWTH_TOLERANCE = 0.1;
/** The same for RSS, which also holds allocator slack that V8 does not return at once. */
export const RSS_GROWTH_TOLERANCE = 0.2;
/** An incident counts for a fault when it opens between the fault's start and this long after its end (event time). */
export const DETECTION_GRACE_MS = 60_000;

export interface MemorySample {
  /** ms since the soak started. */
  t: number;
  rss: number;
  /** heapUsed + external, after a forced GC. */
  heap: number;
  loopMaxMs: number;
  loopP99Ms: number;
  /** How long the server took to answer this sample's memory request, ms (a stall shows here whatever the delay monitor saw). */
  answerMs: number;
}

export interface Growth {
  /** Median over the samples in [50 %, 60 %] of the run. */
  mid: number;
  /** Median over the samples in the last 10 % of the run. */
  end: number;
  /** end / mid − 1. */
  growth: number;
}

/** Growth of `pick` over the second half; medians of a few samples so one sample taken mid-burst does not decide. */
export function secondHalfGrowth(samples: readonly MemorySample[], durationMs: number, pick: (s: MemorySample) => number): Growth | undefined {
  const mids = samples.filter((s) => s.t >= 0.5 * durationMs && s.t <= 0.6 * durationMs).map(pick);
  const ends = samples.filter((s) => s.t >= 0.9 * durationMs).map(pick);
  if (mids.length === 0 || ends.length === 0) return undefined;
  const mid = median(mids);
  const end = median(ends);
  return { mid, end, growth: end / mid - 1 };
}

/** What the soak needs of an incident from `GET /aiops/incidents`. */
export interface SeenIncident {
  id: string;
  title: string;
  severity: string;
  status: string;
  openedAt: string;
  rootCause: { service: string; operation: string | null; kind: string };
}

/** A fault's window in the server's event time (shifted by the clock jump when it comes after it). */
export interface ExpectedIncident {
  label: string;
  service: string;
  from: number;
  to: number;
}

export interface IncidentVerdict {
  /** Per expected incident, the incidents that match it (one is right; none is a miss; more are duplicates). */
  matches: Array<{ expected: ExpectedIncident; incidents: SeenIncident[] }>;
  /** Incidents that match no fault: false alarms. */
  unexpected: SeenIncident[];
}

/** Matches incidents to faults: same root-cause service, opened within the fault's window plus {@link DETECTION_GRACE_MS}. */
export function judgeIncidents(expected: readonly ExpectedIncident[], incidents: readonly SeenIncident[]): IncidentVerdict {
  const used = new Set<string>();
  const matches = expected.map((e) => {
    const hits = incidents.filter((i) => {
      const at = Date.parse(i.openedAt);
      return i.rootCause.service === e.service && at >= e.from && at <= e.to + DETECTION_GRACE_MS;
    });
    for (const h of hits) used.add(h.id);
    return { expected: e, incidents: hits };
  });
  return { matches, unexpected: incidents.filter((i) => !used.has(i.id)) };
}

/** Incident ids notified as opened more than once. */
export function duplicateNotifications(openedIds: readonly string[]): string[] {
  const seen = new Map<string, number>();
  for (const id of openedIds) seen.set(id, (seen.get(id) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}
