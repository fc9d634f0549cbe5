import type { Severity } from '../types.js';

/** What a detector concluded about one window. */
export interface Verdict {
  anomalous: boolean;
  /** z-like strength (≥ 0); for count tests pToScore(pValue). */
  score: number;
  /** One-sided p-value of the detector's test; 1 when not computable. */
  pValue: number;
  /** Observed value, in the detector's unit. */
  observed: number;
  /** Baseline value, same unit. */
  expected: number;
  /** null when not anomalous. */
  severity: Severity | null;
  /** Whether the baseline had enough samples to judge. */
  ready: boolean;
}

/** A not-anomalous verdict; score and p-value default to "no evidence". */
export function quiet(observed: number, expected: number, ready: boolean, score = 0, pValue = 1): Verdict {
  return { anomalous: false, score, pValue, observed, expected, severity: null, ready };
}
