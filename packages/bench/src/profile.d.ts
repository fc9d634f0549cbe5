/** The subset of a `.cpuprofile` we read. */
export interface CpuProfile {
    nodes: Array<{
        id: number;
        callFrame: {
            functionName: string;
            url: string;
            lineNumber: number;
            columnNumber: number;
        };
        children?: number[];
    }>;
    startTime: number;
    endTime: number;
    samples: number[];
    timeDeltas: number[];
}
/** Runs `fn` under the sampling profiler (`intervalUs` between samples) and returns its profile. */
export declare function profile<T>(fn: () => T, intervalUs?: number): Promise<{
    value: T;
    profile: CpuProfile;
}>;
export interface SelfTimeEntry {
    /** Function name, `(anonymous)`, or a V8 pseudo-frame: `(garbage collector)`, `(program)`, `(idle)`. */
    name: string;
    /** Source position, mapped to the TypeScript source when a source map says where (`packages/engine/src/...:line`). */
    where: string;
    selfMs: number;
    /** Share of all sampled time. */
    share: number;
}
/**
 * Self time per function (summed over call sites), largest first. `root` makes paths relative.
 * Also returns totals per area: GC, the engine, everything else.
 */
export declare function selfTime(p: CpuProfile, root: string): {
    top: SelfTimeEntry[];
    totalMs: number;
    areas: Record<string, number>;
};
