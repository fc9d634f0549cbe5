export type ClockCommand = {
    type: 'jump';
    ms: number;
} | {
    type: 'memory';
};
export interface MemoryReport {
    type: 'memory';
    rss: number;
    heapUsed: number;
    external: number;
    /** Longest event-loop delay since the previous report, ms. */
    loopMaxMs: number;
    loopP99Ms: number;
}
