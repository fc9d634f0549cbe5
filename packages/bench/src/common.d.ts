export type BenchName = 'ingest' | 'host' | 'memory' | 'cli';
/** In the order they run. */
export declare const BENCHES: readonly BenchName[];
/** One line of the final table: a goal, what was measured, and the verdict. */
export interface GoalRow {
    benchmark: BenchName;
    metric: string;
    /** The goal in words, e.g. `≥ 1.5 M spans/s`. */
    goal: string;
    /** What was measured, in words with units. */
    measured: string;
    /** The number the goal is judged on, as a ratio (to a baseline, a floor or the goal's threshold); null when not measured. */
    ratio: number | null;
    /** What `ratio` is relative to: `of goal`, `vs floor`, `vs none`, ... */
    ratioOf: string;
    /** null: not judged (n/a). */
    pass: boolean | null;
}
/** What a benchmark child sends back. */
export interface BenchResult {
    name: BenchName;
    wallMs: number;
    rows: GoalRow[];
    /** The benchmark's own report, printed by the orchestrator as it arrives. */
    report: string[];
    /** Every number measured, for the results JSON. */
    details: unknown;
}
/** What run.ts passes to a benchmark child (as JSON in argv[2]). */
export interface ChildOptions {
    quick: boolean;
    /** Absolute path of bench/results/ (created by the orchestrator). */
    resultsDir: string;
}
export type ChildMessage = {
    type: 'result';
    result: BenchResult;
} | {
    type: 'error';
    message: string;
};
/** dist/*.js → <repo>/bench/results/ */
export declare const DEFAULT_RESULTS_DIR: string;
/**
 * Entry point of a benchmark file. Forked by run.ts it reads its options from argv and sends the result
 * over IPC; run directly (`node packages/bench/dist/ingest.js [--quick]`) it prints its report.
 */
export declare function childMain(run: (opts: ChildOptions) => Promise<BenchResult>): void;
/**
 * A command's options from `parse`; on `--help` (parse answers 'help') the usage on stdout and exit code 0,
 * on a bad option (parse throws) the message and the usage on stderr and exit code 2, as a number instead.
 */
export declare function optionsOrExit<T>(command: string, usage: string, parse: () => T | 'help'): T | number;
/** Progress on stderr, so a child's stdout stays free. */
export declare function log(bench: string, message: string): void;
export declare function verdict(pass: boolean | null): string;
export declare function median(xs: readonly number[]): number;
/** Quantile (nearest rank) of values sorted ascending. */
export declare function quantileSorted(sorted: ArrayLike<number>, q: number): number;
/** A number with `digits` significant digits, no exponent for everyday magnitudes. */
export declare function sig(x: number, digits?: number): string;
export declare const MB = 1000000;
export declare function mb(bytes: number): string;
export declare function sleep(ms: number): Promise<void>;
/** Forces a full GC when the process runs with --expose-gc (twice: weak references and finalizers). */
export declare function forceGc(): boolean;
