export type HostConfig = 'none' | 'rootspan' | 'sqlite';
export interface HostStats {
    config: HostConfig;
    exported: number;
    /** rootspan processor counters (config `rootspan` only). */
    rootspan?: {
        ingested: number;
        pruned: number;
        dropped: number;
        queued: number;
        internalErrors: number;
        operations: number;
        incidents: number;
    };
    cpu: NodeJS.CpuUsage;
    rss: number;
    /** CPU time (µs) of the main thread and of all others (V8's GC and compiler threads, libuv's pool); Linux only. */
    threads: {
        main: number;
        helpers: number;
    } | undefined;
}
