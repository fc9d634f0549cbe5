/**
 * Checks on rootspan's explanation sentences, for end-to-end tests: does a sentence say over which window
 * its figures were taken, and do its latency ratio and severity agree with the severity tiers the root
 * README states (which must be the ones the engine applies).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { timeoutSeverity, type LatencyTiers, type Severity } from '@rootspan/engine';

/** "in the last 60 s", "over the past 2 min", "in the 5 s to 14:02:07 UTC" (figures told later), ... */
const WINDOW = /\b(?:in|over|during) the (?:(?:last|past) )?\d+(?:\.\d+)? ?(?:ms|s|sec|seconds?|min|minutes?)\b/gi;

/** Whether a sentence with figures names the window they come from (sentences without a digit need none). */
export function statesWindow(sentence: string): boolean {
  return !/\d/.test(sentence) || sentence.search(WINDOW) >= 0;
}

/** Latency severity tiers, in the engine's shape: each is [from, to) in multiples of the baseline; critical also above `criticalMs`. */
export type Tiers = LatencyTiers;

const NUM = '(\\d+(?:\\.\\d+)?)';

/** The tiers a text states in the root README's words ("severity low 3–5×, medium 5–10×, high 10–20×, critical > 20× or > 10 s"). */
export function parseTiers(text: string): Tiers {
  const m = new RegExp(`low ${NUM}–${NUM}×, medium ${NUM}–${NUM}×, high ${NUM}–${NUM}×, critical > ?${NUM}× or > ?${NUM} s`).exec(text.replace(/\s+/g, ' '));
  if (m === null) throw new Error('no latency severity tiers stated in the form "low A–B×, medium B–C×, high C–D×, critical > D× or > S s"');
  const n = m.slice(1).map(Number);
  return { low: [n[0], n[1]], medium: [n[2], n[3]], high: [n[4], n[5]], critical: n[6], criticalMs: n[7] * 1000 };
}

/** The tiers the root README states. */
export function readmeTiers(): Tiers {
  return parseTiers(readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8'));
}

/** The severity a latency ratio (and typical latency, ms) has under `tiers`; null below the lowest tier. */
export function tierOf(tiers: Tiers, ratio: number, observedMs = 0): Severity | null {
  if (observedMs > tiers.criticalMs || ratio >= tiers.critical) return 'critical';
  if (ratio >= tiers.high[0]) return 'high';
  if (ratio >= tiers.medium[0]) return 'medium';
  if (ratio >= tiers.low[0]) return 'low';
  return null;
}

/** The "(2.4×)" ratios a sentence states. */
export function ratiosIn(sentence: string): number[] {
  return [...sentence.matchAll(/(\d+(?:\.\d+)?)×/g)].map((m) => Number(m[1]));
}

/** Durations a sentence states, in ms ("3.00 s", "429 ms"), not counting its window. */
export function durationsIn(sentence: string): number[] {
  return [...sentence.replace(WINDOW, '').matchAll(/(\d+(?:\.\d+)?) (ms|s)\b/g)].map((m) => Number(m[1]) * (m[2] === 's' ? 1000 : 1));
}

/** The severities of the give-up figures a sentence states ("got no answer from … in 155 of 155 calls"), by the engine's timeout rule. */
export function giveUpSeveritiesIn(sentence: string): Severity[] {
  return [...sentence.matchAll(/got no (?:answer|connection) from .*? in (\d+) of (\d+) calls/g)].map((m) => timeoutSeverity(Number(m[2]), Number(m[1])));
}

/**
 * Whether a latency sentence's severity is one the tiers give to a figure it states: the tier of one of
 * its ratios, critical for a duration above the absolute bound, or the severity of a give-up figure it
 * states (a hang). A sentence with no ratio passes.
 */
export function onTier(tiers: Tiers, sentence: string, severity: Severity): boolean {
  const ratios = ratiosIn(sentence);
  if (ratios.length === 0) return true;
  const allowed = new Set<Severity | null>(ratios.map((r) => tierOf(tiers, r)));
  if (durationsIn(sentence).some((d) => d > tiers.criticalMs)) allowed.add('critical');
  for (const s of giveUpSeveritiesIn(sentence)) allowed.add(s);
  return allowed.has(severity);
}

/** What {@link offTier} reads of an anomaly and of an incident event. */
export interface AnomalySentence {
  kind: string;
  observed: number;
  expected: number;
  severity: Severity;
  explanation: string;
}
export interface IncidentSentence {
  type: string;
  kind: string;
  severity: Severity;
  explanation: string;
}

/**
 * The latency sentences of a run whose severity disagrees with `tiers`, each once: an anomaly's own ratio
 * (observed / expected) and severity, and an incident event's stated ratios and severity.
 */
export function offTier(tiers: Tiers, anomalies: readonly AnomalySentence[], incidents: readonly IncidentSentence[]): string[] {
  const off = [
    ...anomalies
      .filter((a) => a.kind === 'latency' && tierOf(tiers, a.observed / a.expected, a.observed) !== a.severity)
      .map((a) => `anomaly [${a.severity}] ${(a.observed / a.expected).toFixed(2)}×: ${a.explanation}`),
    ...incidents
      .filter((e) => e.type !== 'resolved' && e.kind === 'latency' && !onTier(tiers, e.explanation, e.severity))
      .map((e) => `incident [${e.severity}]: ${e.explanation}`),
  ];
  return [...new Set(off)];
}
