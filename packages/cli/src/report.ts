import { OVERFLOW_OPERATION, type Incident } from '@rootspan/engine';
import { incidentJson, iso, isoOrNull, type ApiIncident, type OperationCounts } from '@rootspan/server/shapes';
import { printable } from './printable.js';

/** Traffic summary of one analysis run. */
export interface Summary {
  /** Spans decoded from the input. */
  spans: number;
  traces: number;
  services: string[];
  /**
   * Earliest start and latest end (epoch ms) of the spans the analyzer took, null while it took none: a
   * span it dropped (from a clock years off, or late) says nothing of the time analysed.
   */
  from: number | null;
  to: number | null;
  /** Decoded spans the analyzer dropped (see its `droppedBy`). */
  dropped: number;
  /** Malformed input records skipped (invalid JSON lines, undecodable spans). */
  problems: number;
  /** The analyzer's operation table and what did not fit in it; absent when not known. */
  operations?: OperationCounts;
}

/** The `--json` report: the documented shape (extra fields are additive). */
export interface JsonReport {
  summary: {
    spans: number;
    traces: number;
    services: string[];
    from: string | null;
    to: string | null;
    /** Everything not analysed: spans the analyzer dropped plus malformed input records skipped. */
    dropped: number;
    /** `dropped` by reason: the analyzer's counters, and `malformed`. */
    droppedBy: Record<string, number>;
    /** Malformed input records skipped (also in `dropped` and `droppedBy.malformed`). */
    malformed: number;
    /** See {@link OperationCounts}. */
    operations?: OperationCounts;
  };
  incidents: JsonIncident[];
}

/**
 * One incident of the `--json` report: the API's incident shape (`GET /aiops/incidents`), so a report and
 * a live server answer alike.
 */
export type JsonIncident = ApiIncident;

/** One incident in the `--json` shape (the server's `incidentJson`). */
export { incidentJson as toJsonIncident };

/**
 * The incidents a report lists: each fault once. One merged into another (`resolvedBy: 'merged'`) is part of
 * that one now, its anomalies with it.
 */
export function reportedIncidents(incidents: readonly Incident[]): Incident[] {
  return incidents.filter((i) => i.resolvedBy !== 'merged');
}

/** The `--json` report; incidents in the order they opened. */
export function toJsonReport(summary: Summary, incidents: readonly Incident[], droppedBy: Record<string, number>): JsonReport {
  return {
    summary: {
      spans: summary.spans,
      traces: summary.traces,
      services: summary.services,
      from: isoOrNull(summary.from),
      to: isoOrNull(summary.to),
      // The documented shape has only `dropped`: skipped records count there too, or a consumer reading
      // just that field would take a file with bad lines for one fully analysed.
      dropped: summary.dropped + summary.problems,
      droppedBy: { ...droppedBy, malformed: summary.problems },
      malformed: summary.problems,
      ...(summary.operations === undefined ? {} : { operations: summary.operations }),
    },
    incidents: [...incidents].sort((a, b) => a.openedAt - b.openedAt).map((inc) => incidentJson(inc)),
  };
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

/** What did not fit in the operation table, if anything: those requests and calls were not judged. */
function overflowLine(ops: OperationCounts): string | undefined {
  const past = [
    ops.overflowRequests > 0 ? `${plural(ops.overflowRequests, 'request')} folded into ${OVERFLOW_OPERATION} (counted, not judged)` : '',
    ops.overflowCalls > 0 ? `${plural(ops.overflowCalls, 'call')} on service-to-service edges not tracked` : '',
    ops.evicted > 0 ? `${plural(ops.evicted, 'operation')} evicted to make room for new ones` : '',
  ].filter((part) => part !== '');
  return past.length === 0 ? undefined : `Operations at the cap (maxOperations): ${ops.tracked} tracked; ${past.join(', ')}.`;
}

const SEVERITY_MARK: Record<Incident['severity'], string> = { low: 'LOW', medium: 'MEDIUM', high: 'HIGH', critical: 'CRITICAL' };

/**
 * The human report: a traffic summary line, then each incident with its root cause. Control characters in
 * it (from names and messages in the input) are shown escaped: see {@link printable}.
 */
export function humanReport(summary: Summary, incidents: readonly Incident[]): string {
  return reportLines(summary, incidents).map(printable).join('\n');
}

function reportLines(summary: Summary, incidents: readonly Incident[]): string[] {
  const lines: string[] = [];
  const span = summary.from !== null && summary.to !== null ? ` over ${duration(summary.to - summary.from)} (${iso(summary.from)} → ${iso(summary.to)})` : '';
  lines.push(
    `${plural(summary.spans, 'span')}, ${plural(summary.traces, 'trace')}, ${plural(summary.services.length, 'service')}${span}` +
      (summary.dropped + summary.problems > 0 ? `; ${plural(summary.dropped, 'span')} dropped, ${plural(summary.problems, 'malformed record')} skipped` : ''),
  );
  const overflow = summary.operations === undefined ? undefined : overflowLine(summary.operations);
  if (overflow !== undefined) lines.push(overflow);
  if (incidents.length === 0) {
    lines.push('', 'No incidents.');
    return lines;
  }
  lines.push('', `${incidents.length} incident${incidents.length === 1 ? '' : 's'}:`);
  for (const inc of [...incidents].sort((a, b) => a.openedAt - b.openedAt)) {
    const rc = inc.rootCause;
    lines.push('');
    lines.push(`[${SEVERITY_MARK[inc.severity]}] ${inc.id} ${inc.title}`);
    lines.push(`  opened ${iso(inc.openedAt)}${inc.resolvedAt !== null ? `, resolved ${iso(inc.resolvedAt)} (after ${duration(inc.resolvedAt - inc.openedAt)})` : ', still active'}`);
    lines.push(`  root cause: ${rc.service}${rc.operation ? ` ${rc.operation}` : ''} (${rc.kind}, confidence ${Math.round(rc.confidence * 100)}%)`);
    lines.push(`  why: ${rc.explanation}`);
    const others = inc.candidates.slice(1, 3).map((c) => `${c.service}${c.operation ? ` ${c.operation}` : ''}`);
    if (others.length > 0) lines.push(`  other candidates: ${others.join(', ')}`);
    lines.push(`  affected: ${inc.affected.map((a) => `${a.service}${a.operation ? ` ${a.operation}` : ''}`).join(', ')}`);
    if (inc.traceIds.length > 0) lines.push(`  example traces: ${inc.traceIds.slice(0, 3).join(', ')}`);
  }
  return lines;
}
