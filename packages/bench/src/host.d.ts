export declare const HOST_GOAL_THROUGHPUT_RATIO = 0.97;
export declare const HOST_GOAL_P99_RATIO = 1.05;
