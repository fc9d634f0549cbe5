/** Result shapes of the suite, shared by the runner, the table and the results JSON. */
import type { JsonIncident } from 'rootspan';
import type { ScenarioScore } from './score.js';

/** One scenario run through the CLI and scored. */
export interface ScenarioResult {
  name: string;
  /** The table it is scored in. */
  family: 'catalogue' | 'foreign' | 'recorded';
  description: string;
  /** Mean entry request rate the scenario was simulated at. */
  baseRps: number;
  /** Event time simulated, ms. */
  durationMs: number;
  /** Spans written to the OTLP file (and read back by the CLI). */
  spans: number;
  /** Wall-clock time of simulate + encode + analyse, ms. */
  wallMs: number;
  score: ScenarioScore;
  /** The CLI's incidents as reported, for digging into a miss. */
  incidents: JsonIncident[];
  /** Set when the CLI failed (non-zero exit or unparsable output); the score is then of an empty report. */
  error?: string;
}

/** Suite-wide numbers, the "totals" row. */
export interface SuiteTotals {
  scenarios: number;
  faultScenarios: number;
  healthyScenarios: number;
  /** Fault scenarios with AC@1 / AC@3. */
  ac1: number;
  ac3: number;
  /** Median time to detect over the faults of the 6 rps fault scenarios; null when it is a miss (half or more missed) or there are none. */
  medianTtdMs: number | null;
  /** Faults the median is over, and how many of them were missed (counted as never detected). */
  ttdFaults: number;
  ttdMissed: number;
  falseIncidents: number;
  /** Incidents on healthy runs plus incidents opened before the first fault start. */
  earlyIncidents: number;
  /** Healthy scenarios with no incident. */
  healthyClean: number;
  /** Fault scenarios with exactly one incident per truth fault and no others. */
  oneIncidentPerFault: number;
  spans: number;
  wallMs: number;
  errors: number;
}

/** One of the four goals, judged. */
export interface Goal {
  name: string;
  /** What the numbers are, e.g. `18/21 fault scenarios`. */
  actual: string;
  pass: boolean;
}

/** The whole run, as written to `eval/results/latest.json`. */
export interface SuiteResults {
  generatedAt: string;
  /** Wall-clock time of the whole run (parallel), ms. */
  wallMs: number;
  filter: string | null;
  /** Goals and totals of the scenario catalogue. */
  goals: Goal[];
  totals: SuiteTotals;
  /** Each family's own goals and totals (the catalogue's repeated under `catalogue`). */
  families: Record<string, { goals: Goal[]; totals: SuiteTotals }>;
  scenarios: ScenarioResult[];
  /** The example shop's recordings (real SDK traces), scored on their own; absent when none ran. */
  recordings?: RecordingResults;
  /** The same recordings stripped of status, span kind and attributes (as other tracers emit). */
  recordingsForeign?: RecordingResults;
}

/** The recordings' table: same scores, totals and goals as the simulated scenarios, kept apart. */
export interface RecordingResults {
  totals: SuiteTotals;
  goals: Goal[];
  scenarios: ScenarioResult[];
}
