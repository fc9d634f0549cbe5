export declare const MEMORY_GOAL_RSS_BYTES: number;
/** Heap after GC at the end may exceed the heap at the half-way checkpoint by at most this share. */
export declare const MEMORY_GOAL_PLATEAU_GROWTH = 0.1;
