/**
 * @rootspan/eval: the scored fault-scenario suite (`npm run eval`). Each scenario of `@rootspan/sim` is
 * written as an OTLP/JSON lines file, analysed by the `rootspan` CLI and scored against ground truth.
 */
export { scoreScenario, namesFault, label, DETECTION_GRACE_MS, type ScenarioScore, type FaultScore, type ScoredFault } from './score.js';
export { runScenario, analyzeFile, writeScenarioFile } from './runner.js';
export { summarize, judgeGoals, judgeForeignGoals, medianTtd, TTD_GOAL_MS, TTD_GOAL_RPS } from './goals.js';
export { formatMarkdown, formatTable } from './table.js';
export { runRecording, runRecordings, listRecordings, selectRecordings, readTruth, stripOtlpLines, peerCalls, RECORDINGS_DIR, type RecordingTruth } from './recordings.js';
export type { ScenarioResult, SuiteTotals, SuiteResults, RecordingResults, Goal } from './types.js';
