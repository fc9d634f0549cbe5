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
/** Growth of `pick` over the second half; medians of a few samples so one sample taken mid-burst does not decide. */
export function secondHalfGrowth(samples, durationMs, pick) {
    const mids = samples.filter((s) => s.t >= 0.5 * durationMs && s.t <= 0.6 * durationMs).map(pick);
    const ends = samples.filter((s) => s.t >= 0.9 * durationMs).map(pick);
    if (mids.length === 0 || ends.length === 0)
        return undefined;
    const mid = median(mids);
    const end = median(ends);
    return { mid, end, growth: end / mid - 1 };
}
/** Matches incidents to faults: same root-cause service, opened within the fault's window plus {@link DETECTION_GRACE_MS}. */
export function judgeIncidents(expected, incidents) {
    const used = new Set();
    const matches = expected.map((e) => {
        const hits = incidents.filter((i) => {
            const at = Date.parse(i.openedAt);
            return i.rootCause.service === e.service && at >= e.from && at <= e.to + DETECTION_GRACE_MS;
        });
        for (const h of hits)
            used.add(h.id);
        return { expected: e, incidents: hits };
    });
    return { matches, unexpected: incidents.filter((i) => !used.has(i.id)) };
}
/** Incident ids notified as opened more than once. */
export function duplicateNotifications(openedIds) {
    const seen = new Map();
    for (const id of openedIds)
        seen.set(id, (seen.get(id) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}
//# sourceMappingURL=soak-verdict.js.map