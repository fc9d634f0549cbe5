/** Heap (used + external, after a forced GC) at the end may exceed the half-way heap by at most this share. */
export declare const HEAP_GROWTH_TOLERANCE = 0.1;
/** The same for RSS, which also holds allocator slack that V8 does not return at once. */
export declare const RSS_GROWTH_TOLERANCE = 0.2;
/** An incident counts for a fault when it opens between the fault's start and this long after its end (event time). */
export declare const DETECTION_GRACE_MS = 60000;
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
export declare function secondHalfGrowth(samples: readonly MemorySample[], durationMs: number, pick: (s: MemorySample) => number): Growth | undefined;
/** What the soak needs of an incident from `GET /aiops/incidents`. */
export interface SeenIncident {
    id: string;
    title: string;
    severity: string;
    status: string;
    openedAt: string;
    rootCause: {
        service: string;
        operation: string | null;
        kind: string;
    };
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
    matches: Array<{
        expected: ExpectedIncident;
        incidents: SeenIncident[];
    }>;
    /** Incidents that match no fault: false alarms. */
    unexpected: SeenIncident[];
}
/** Matches incidents to faults: same root-cause service, opened within the fault's window plus {@link DETECTION_GRACE_MS}. */
export declare function judgeIncidents(expected: readonly ExpectedIncident[], incidents: readonly SeenIncident[]): IncidentVerdict;
/** Incident ids notified as opened more than once. */
export declare function duplicateNotifications(openedIds: readonly string[]): string[];
