export declare const CLI_GOAL_FLOOR_RATIO = 0.8;
export declare const CLI_STRETCH_FLOOR_RATIO = 1;
