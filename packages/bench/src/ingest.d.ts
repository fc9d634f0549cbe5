/** Goal: spans/s through `ingest` on one core. */
export declare const INGEST_GOAL_SPANS_PER_S = 1500000;
/** Goal: ingest ns/span at most this multiple of the floor's. */
export declare const INGEST_GOAL_FLOOR_RATIO = 3;
