import type { Anomaly, Incident } from '@rootspan/engine';

/** Traffic summary of one analysis run. */
export interface Summary {
  /** Spans decoded from the input. */
  spans: number;
  traces: number;
  services: string[];
  /** Earliest span start and latest span end (epoch ms), null without spans. */
  from: number | null;
  to: number | null;
  /** Decoded spans the analyzer dropped (see its `droppedBy`). */
  dropped: number;
  /** Malformed input records skipped (invalid JSON lines, undecodable spans). */
  problems: number;
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
  };
  incidents: JsonIncident[];
}

export interface JsonIncident {
  id: string;
  status: Incident['status'];
  severity: Incident['severity'];
  title: string;
  openedAt: string;
  resolvedAt: string | null;
  rootCause: {
    service: string;
    operation: string | null;
    kind: Incident['rootCause']['kind'];
    confidence: number;
    explanation: string;
    change?: { service: string; from: string | null; to: string; at: string };
  };
  candidates: Array<{ service: string; operation: string | null; score: number }>;
  affected: Array<{ service: string; operation: string | null }>;
  anomalies: Array<{
    service: string;
    operation: string | null;
    kind: Anomaly['kind'];
    signal: string;
    at: string;
    observed: number;
    expected: number;
    unit: Anomaly['unit'];
    severity: Anomaly['severity'];
    explanation: string;
  }>;
  traceIds: string[];
}

/** Latest epoch ms a `Date` holds (±100,000,000 days). */
const MAX_DATE_MS = 8.64e15;

/**
 * An event time as ISO-8601; a time no `Date` can hold (not finite, beyond ±275,000 years: only reachable
 * by a defect upstream, as the decoders drop such spans) as its number, so a report never fails to print.
 */
const iso = (t: number): string => (Math.abs(t) <= MAX_DATE_MS ? new Date(t).toISOString() : `${t} ms`);
const isoOrNull = (t: number | null): string | null => (t === null ? null : iso(t));

/** One incident in the `--json` shape: times as ISO strings, engine-internal fields left out. */
export function toJsonIncident(inc: Incident): JsonIncident {
  const rc = inc.rootCause;
  return {
    id: inc.id,
    status: inc.status,
    severity: inc.severity,
    title: inc.title,
    openedAt: iso(inc.openedAt),
    resolvedAt: isoOrNull(inc.resolvedAt),
    rootCause: {
      service: rc.service,
      operation: rc.operation,
      kind: rc.kind,
      confidence: rc.confidence,
      explanation: rc.explanation,
      ...(rc.change ? { change: { ...rc.change, at: iso(rc.change.at) } } : {}),
    },
    candidates: inc.candidates.map((c) => ({ service: c.service, operation: c.operation, score: c.score })),
    affected: inc.affected.map((a) => ({ service: a.service, operation: a.operation })),
    anomalies: inc.anomalies.map((a) => ({
      service: a.service,
      operation: a.operation,
      kind: a.kind,
      signal: a.signal,
      at: iso(a.firstAt),
      observed: a.observed,
      expected: a.expected,
      unit: a.unit,
      severity: a.severity,
      explanation: a.explanation,
    })),
    traceIds: inc.traceIds,
  };
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
    },
    incidents: [...incidents].sort((a, b) => a.openedAt - b.openedAt).map(toJsonIncident),
  };
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${(m / 60).toFixed(1)} h`;
}

const SEVERITY_MARK: Record<Incident['severity'], string> = { low: 'LOW', medium: 'MEDIUM', high: 'HIGH', critical: 'CRITICAL' };

/** The human report: a traffic summary line, then each incident with its root cause. */
export function humanReport(summary: Summary, incidents: readonly Incident[]): string {
  const lines: string[] = [];
  const span = summary.from !== null && summary.to !== null ? ` over ${duration(summary.to - summary.from)} (${iso(summary.from)} → ${iso(summary.to)})` : '';
  lines.push(
    `${plural(summary.spans, 'span')}, ${plural(summary.traces, 'trace')}, ${plural(summary.services.length, 'service')}${span}` +
      (summary.dropped + summary.problems > 0 ? `; ${plural(summary.dropped, 'span')} dropped, ${plural(summary.problems, 'malformed record')} skipped` : ''),
  );
  if (incidents.length === 0) {
    lines.push('', 'No incidents.');
    return lines.join('\n');
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
  return lines.join('\n');
}
