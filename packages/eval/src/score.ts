/**
 * Pure scoring of one scenario: the simulator's ground truth against the CLI's `--json` report.
 * No I/O, so every rule here is unit-tested on hand-made reports.
 */
import type { GroundTruth, TruthFault } from '@rootspan/sim';
import type { JsonIncident, JsonReport } from 'rootspan';

/**
 * How long after a fault ends an incident may still open and count for it. Detection works on closed
 * windows of event time, so a short or late-detected fault can legitimately open its incident after
 * the fault window itself.
 */
export const DETECTION_GRACE_MS = 2 * 60_000;

/** How many ranked candidates AC@3 looks at. */
const TOP_K = 3;

/** A service and (where known) one of its operations, as both truth and report name them. */
export interface Ref {
  service: string;
  operation: string | null;
}

/** The score of one ground-truth fault. */
export interface FaultScore {
  /** `service operation` (or just `service`) the engine should name. */
  expected: string;
  service: string;
  operation: string | null;
  kind: TruthFault['kind'];
  /** Fault window, epoch ms of event time. */
  startMs: number;
  endMs: number;
  /** An incident opened in the window names this fault as its root cause. */
  ac1: boolean;
  /** An incident opened in the window has this fault among its top-3 candidates (implied by `ac1`). */
  ac3: boolean;
  /** Event time from fault start to the first matching incident's `openedAt`; null when none matched. */
  ttdMs: number | null;
  /** Ids of the incidents whose root cause is this fault (ideally exactly one). */
  incidentIds: string[];
  /**
   * Top-3 candidates of the incident judged for this fault (the first match; else the first incident
   * with it in its top 3; else the first incident opened in the window); empty when none opened.
   */
  got: string[];
}

/** The score of one scenario. */
export interface ScenarioScore {
  /** Nothing is wrong in this scenario: every incident is false. */
  healthy: boolean;
  /** One label per truth fault. */
  expected: string[];
  faults: FaultScore[];
  /** Every truth fault named as a root cause (null on healthy scenarios, where there is nothing to name). */
  ac1: boolean | null;
  /** Every truth fault among the top 3 of an incident (null on healthy scenarios). */
  ac3: boolean | null;
  /** Incidents in the report. */
  incidents: number;
  expectedIncidents: number;
  /** Incidents whose root cause matched a truth fault. */
  matchedIncidents: number;
  /** Incidents matching no truth fault (wrong root cause, outside every window, or on a healthy run). */
  falseIncidents: number;
  falseIncidentIds: string[];
  /** Incidents opened before the first fault started (all of them on healthy runs); a subset of the false ones. */
  earlyIncidents: number;
  /**
   * Exactly one incident per truth fault and no others (null on healthy scenarios): an intermittent
   * fault must not open one incident per burst, two independent faults must not merge.
   */
  oneIncidentPerFault: boolean | null;
}

/**
 * A truth fault as scored. In a copy stripped of attributes (another tracer's spans), a peer that records
 * no spans of its own (an uninstrumented service, a database) is named nowhere: only its callers' calls
 * to it show it, so naming one of those calls names the fault (see `peerCalls` in recordings.ts).
 */
export interface ScoredFault extends TruthFault {
  /** The calls (calling service, call span name) that are all a trace without attributes shows of this peer. */
  via?: Ref[];
}

/** `service operation`, or `service` alone when the operation is unknown or irrelevant. */
export function label(ref: Ref): string {
  return ref.operation ? `${ref.service} ${ref.operation}` : ref.service;
}

/** The expected answer as the table shows it: the fault, and the first call that shows it when it can only be named so. */
function expectedLabel(fault: ScoredFault): string {
  const via = fault.via ?? [];
  if (via.length === 0) return label(fault);
  return via.length === 1 ? `${label(fault)} via ${label(via[0])}` : `${label(fault)} via a call to it (${via.length} call names)`;
}

/**
 * Whether a reported service/operation names a truth fault. Operations must agree only when both sides
 * give one: a truth of `null` means "the service is the answer" (a database, a traffic change), and a
 * reported `null` is the engine saying only the service is known (a callee that never answered).
 */
export function namesFault(ref: Ref, fault: ScoredFault): boolean {
  if (fault.via?.some((v) => v.service === ref.service && v.operation === ref.operation)) return true;
  if (ref.service !== fault.service) return false;
  return fault.operation === null || ref.operation === null || ref.operation === fault.operation;
}

function openedIn(openedAt: number, fault: TruthFault): boolean {
  return openedAt >= fault.startMs && openedAt <= fault.endMs + DETECTION_GRACE_MS;
}

/** Root cause first, then the other candidates, so a report whose candidates omit the root cause still ranks it. */
function ranked(inc: JsonIncident): Ref[] {
  const rc = inc.rootCause;
  const rest = inc.candidates.filter((c) => !(c.service === rc.service && c.operation === rc.operation));
  return [rc, ...rest].slice(0, TOP_K);
}

interface Opened {
  inc: JsonIncident;
  at: number;
}

function scoreFault(fault: ScoredFault, incidents: readonly Opened[]): FaultScore {
  const inWindow = incidents.filter((o) => openedIn(o.at, fault));
  const matched = inWindow.filter((o) => namesFault(o.inc.rootCause, fault));
  const inTop3 = inWindow.filter((o) => ranked(o.inc).some((r) => namesFault(r, fault)));
  const judged = matched[0] ?? inTop3[0] ?? inWindow[0];
  return {
    expected: expectedLabel(fault),
    service: fault.service,
    operation: fault.operation,
    kind: fault.kind,
    startMs: fault.startMs,
    endMs: fault.endMs,
    ac1: matched.length > 0,
    ac3: inTop3.length > 0,
    ttdMs: matched.length > 0 ? matched[0].at - fault.startMs : null,
    incidentIds: matched.map((o) => o.inc.id),
    got: judged ? ranked(judged.inc).map(label) : [],
  };
}

/**
 * Scores one scenario's report against its ground truth.
 *
 * An incident matches a truth fault when its root cause names the fault (see {@link namesFault}) and it
 * opened within [fault start, fault end + {@link DETECTION_GRACE_MS}]. Every other incident is false,
 * including one with the right answer only in its top 3: on-call reads the root cause, not the runners-up.
 */
export function scoreScenario(truth: GroundTruth & { faults: readonly ScoredFault[] }, report: JsonReport): ScenarioScore {
  const healthy = truth.healthy === true || truth.faults.length === 0;
  const incidents: Opened[] = report.incidents
    .map((inc) => ({ inc, at: Date.parse(inc.openedAt) }))
    .sort((a, b) => a.at - b.at);
  const faults = truth.faults.map((f) => scoreFault(f, incidents));
  const matchedIds = new Set(faults.flatMap((f) => f.incidentIds));
  const falseIds = incidents.filter((o) => !matchedIds.has(o.inc.id)).map((o) => o.inc.id);
  const firstStart = Math.min(...truth.faults.map((f) => f.startMs));
  const early = healthy ? incidents.length : incidents.filter((o) => o.at < firstStart).length;
  return {
    healthy,
    expected: faults.map((f) => f.expected),
    faults,
    ac1: healthy ? null : faults.every((f) => f.ac1),
    ac3: healthy ? null : faults.every((f) => f.ac3),
    incidents: incidents.length,
    expectedIncidents: truth.expectedIncidents,
    matchedIncidents: matchedIds.size,
    falseIncidents: falseIds.length,
    falseIncidentIds: falseIds,
    earlyIncidents: early,
    oneIncidentPerFault: healthy
      ? null
      : faults.every((f) => f.incidentIds.length === 1) && incidents.length === truth.expectedIncidents,
  };
}
