/**
 * The JSON shapes of incidents and anomalies, shared by the API, the notifications and `rootspan analyze
 * --json` (the CLI imports this module alone, as `@rootspan/server/shapes`, without the server): times as
 * ISO strings, engine-internal fields left out.
 */
import { operationLabel, type AnalyzerStats, type Anomaly, type AnomalySignal, type Incident, type IncidentNote, type OperationBaseline, type OperationMetrics } from '@rootspan/engine';

/** Latest epoch ms a `Date` holds (±100,000,000 days). */
const MAX_DATE_MS = 8.64e15;

/**
 * An event time as ISO-8601; a time no `Date` can hold (not finite, beyond ±275,000 years: only reachable
 * by a defect upstream, as the decoders drop such spans) as its number, so an answer never fails to print.
 */
export const iso = (t: number): string => (Math.abs(t) <= MAX_DATE_MS ? new Date(t).toISOString() : `${t} ms`);
export const isoOrNull = (t: number | null): string | null => (t === null ? null : iso(t));

export interface ApiAnomaly {
  id: string;
  service: string;
  operation: string | null;
  /** Timeouts: the caller that gave up. */
  caller?: { service: string; operation: string | null };
  /** Call-pattern changes: the callee whose calls changed (the anomaly's operation is the caller). */
  callee?: { service: string; operation: string | null };
  kind: Anomaly['kind'];
  signal: string;
  /** When the episode was first detected (as in `rootspan analyze --json`). */
  at: string;
  /** When it was last detected. */
  lastAt: string;
  observed: number;
  expected: number;
  unit: Anomaly['unit'];
  score: number;
  samples: number;
  severity: Anomaly['severity'];
  /** As it was last detected: once its fault is over, windows fading with it (see `peak`). */
  explanation: string;
  /** Its worst detection: when, its figures and its sentence then (what a post-mortem quotes). */
  peak: { at: string; observed: number; expected: number; explanation: string };
  traceIds: string[];
  /** Errors: what the latest failing request said (first line), when it said anything. */
  message?: string;
}

export interface ApiIncident {
  id: string;
  status: Incident['status'];
  severity: Incident['severity'];
  title: string;
  openedAt: string;
  updatedAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  resolvedBy: Incident['resolvedBy'];
  /** With `resolvedBy: 'merged'`: the incident it goes on in. */
  mergedInto?: string;
  /** Set once it resolved by itself and became active again (late evidence of the same fault): the latest reopening, the resolution it undid, how often. */
  reopened?: { at: string; resolvedAt: string; times: number };
  /** Who acknowledged it and why, when they said (the body of `POST .../acknowledge`). */
  acknowledgement?: IncidentNote;
  /** Who resolved it by hand and how, when they said (the body of `POST .../resolve`). */
  resolution?: IncidentNote;
  rootCause: {
    service: string;
    operation: string | null;
    kind: Incident['rootCause']['kind'];
    confidence: number;
    explanation: string;
    change?: { service: string; from: string | null; to: string; at: string };
  };
  candidates: Array<{ service: string; operation: string | null; kind: Incident['rootCause']['kind']; score: number }>;
  affected: Array<{ service: string; operation: string | null }>;
  anomalies: ApiAnomaly[];
  traceIds: string[];
  /** With a shared store: the receivers that detected it and their own incident ids (`<receiver>:<id>`). */
  receivers?: string[];
  members?: string[];
}

/** One step in an incident's history, oldest first. */
export interface TimelineEntry {
  at: string;
  event: 'opened' | 'updated' | 'anomaly' | 'acknowledged' | 'resolved' | 'reopened';
  text: string;
}

export function anomalyJson(a: Anomaly): ApiAnomaly {
  return {
    id: a.id,
    service: a.service,
    operation: a.operation,
    ...(a.caller ? { caller: { service: a.caller.service, operation: a.caller.operation } } : {}),
    ...(a.callee ? { callee: { service: a.callee.service, operation: a.callee.operation } } : {}),
    kind: a.kind,
    signal: a.signal,
    at: iso(a.firstAt),
    lastAt: iso(a.at),
    observed: a.observed,
    expected: a.expected,
    unit: a.unit,
    score: a.score,
    samples: a.samples,
    severity: a.severity,
    explanation: a.explanation,
    peak: { at: iso(a.peak.at), observed: a.peak.observed, expected: a.peak.expected, explanation: a.peak.explanation },
    traceIds: a.traceIds,
    ...(a.message !== undefined ? { message: a.message } : {}),
  };
}

/** One incident as the API, the webhooks and `rootspan analyze --json` show it. */
export function incidentJson(inc: Incident & { receivers?: string[]; members?: string[] }): ApiIncident {
  const rc = inc.rootCause;
  return {
    id: inc.id,
    status: inc.status,
    severity: inc.severity,
    title: inc.title,
    openedAt: iso(inc.openedAt),
    updatedAt: iso(inc.updatedAt),
    acknowledgedAt: isoOrNull(inc.acknowledgedAt),
    resolvedAt: isoOrNull(inc.resolvedAt),
    resolvedBy: inc.resolvedBy,
    ...(inc.mergedInto !== undefined ? { mergedInto: inc.mergedInto } : {}),
    ...(inc.reopened !== undefined ? { reopened: { at: iso(inc.reopened.at), resolvedAt: iso(inc.reopened.resolvedAt), times: inc.reopened.times } } : {}),
    ...(inc.acknowledgement !== undefined ? { acknowledgement: { ...inc.acknowledgement } } : {}),
    ...(inc.resolution !== undefined ? { resolution: { ...inc.resolution } } : {}),
    rootCause: {
      service: rc.service,
      operation: rc.operation,
      kind: rc.kind,
      confidence: rc.confidence,
      explanation: rc.explanation,
      ...(rc.change ? { change: { ...rc.change, at: iso(rc.change.at) } } : {}),
    },
    candidates: inc.candidates.map((c) => ({ service: c.service, operation: c.operation, kind: c.kind, score: c.score })),
    affected: inc.affected.map((a) => ({ service: a.service, operation: a.operation })),
    anomalies: inc.anomalies.map(anomalyJson),
    traceIds: inc.traceIds,
    ...(inc.members ? { receivers: inc.receivers, members: inc.members } : {}),
  };
}

/**
 * The incident's history from its own fields, each step as it stood then: the opening and each change of
 * its head (its `story`), each anomaly's start and its peak, a deploy named as trigger, acknowledgement and
 * resolution. An anomaly's latest numbers are in its own entry, not stamped with its start.
 */
export function timeline(inc: Incident): TimelineEntry[] {
  const head = (h: { title: string; severity: string }) => `${h.title} (${h.severity})`;
  const story = inc.story ?? [];
  // Heads in order: the story's (each current until its change), then today's.
  const heads = [...story.map(head), head(inc)];
  const steps: Array<{ t: number; event: TimelineEntry['event']; text: string }> = [
    // Changes beyond the story's length are not kept: then the opening head is not known.
    { t: inc.openedAt, event: 'opened', text: (inc.storyDropped ?? 0) > 0 ? `opened (its first ${inc.storyDropped} changes are not kept)` : heads[0] },
  ];
  for (let i = 0; i < story.length; i++) {
    if (heads[i + 1] !== heads[i]) steps.push({ t: story[i].until, event: 'updated', text: heads[i + 1] });
  }
  for (const a of inc.anomalies) {
    steps.push({ t: a.firstAt, event: 'anomaly', text: `${SIGNAL_WORDS[a.signal]} anomaly began in ${operationLabel(a.service, a.operation)}` });
    steps.push({ t: a.peak.at, event: 'anomaly', text: `at its worst: ${a.peak.explanation}` });
  }
  if (inc.rootCause.change) {
    const c = inc.rootCause.change;
    steps.push({ t: c.at, event: 'anomaly', text: `${c.service} deployed ${c.to}${c.from ? ` (was ${c.from})` : ''}` });
  }
  if (inc.reopened !== undefined) {
    // The resolution it undid (only the latest is kept), then the reopening.
    const r = inc.reopened;
    steps.push({ t: r.resolvedAt, event: 'resolved', text: RESOLVED_TEXT.auto });
    steps.push({ t: r.at, event: 'reopened', text: `reopened: late evidence of the same fault${r.times > 1 ? ` (reopened ${r.times} times)` : ''}` });
  }
  if (inc.acknowledgedAt !== null) steps.push({ t: inc.acknowledgedAt, event: 'acknowledged', text: `acknowledged${noteText(inc.acknowledgement)}` });
  if (inc.resolvedAt !== null) {
    const by = inc.resolvedBy ?? 'auto';
    // By itself: since when nothing fired (its anomalies' latest firing).
    const text =
      by === 'merged' && inc.mergedInto !== undefined
        ? `merged into ${inc.mergedInto}, which has the same root cause`
        : by === 'auto' && inc.anomalies.length > 0
          ? `resolved: no anomaly since ${iso(Math.max(...inc.anomalies.map((a) => a.at)))}`
          : by === 'user'
            ? `${RESOLVED_TEXT.user}${noteText(inc.resolution)}`
            : RESOLVED_TEXT[by];
    steps.push({ t: inc.resolvedAt, event: 'resolved', text });
  }
  // Stable sort: at equal times the order above (opened before its first anomaly) is kept.
  return steps.sort((a, b) => a.t - b.t).map((s) => ({ at: iso(s.t), event: s.event, text: s.text }));
}

/** Each signal in a timeline's words: an operation's latency and its self time are two anomalies, told apart. */
const SIGNAL_WORDS: Record<AnomalySignal, string> = {
  latency: 'latency',
  'latency.self': 'self-time',
  'latency.tail': 'tail latency',
  'latency.queue': 'queue wait',
  errors: 'errors',
  timeout: 'timeout',
  'traffic.surge': 'traffic surge',
  'traffic.drop': 'traffic drop',
  'shape.missing-call': 'missing call',
  'shape.new-call': 'new call',
  'shape.more-calls': 'more calls',
};

/** ` by alice: rolled back 2.4.1`, from what was given (empty for nothing). */
export function noteText(note: IncidentNote | undefined): string {
  if (note === undefined) return '';
  return `${note.by !== undefined ? ` by ${note.by}` : ''}${note.note !== undefined ? `: ${note.note}` : ''}`;
}

const RESOLVED_TEXT: Record<NonNullable<Incident['resolvedBy']>, string> = {
  auto: 'resolved by itself after its quiet period',
  user: 'resolved by hand',
  adapted: 'resolved: the change lasted long enough to become the new baseline',
  merged: 'merged into another incident with the same root cause',
};

/** An operation's metrics as the engine reports them, with ISO window times and its baseline beside them. */
export type ApiOperationMetrics = Omit<OperationMetrics, 'windowStart' | 'windowEnd'> & {
  windowStart: string;
  windowEnd: string;
  /** Null before anything was learned. */
  baseline: { ready: boolean; samples: number; latency: { typical: number; p95: number } | null; errorRate: number; rate: number } | null;
};

export function metricsJson(m: OperationMetrics, b: OperationBaseline | undefined): ApiOperationMetrics {
  return {
    ...m,
    windowStart: iso(m.windowStart),
    windowEnd: iso(m.windowEnd),
    baseline:
      b === undefined
        ? null
        : {
            ready: b.ready,
            samples: b.samples,
            latency: b.latency ? { typical: b.latency.typical, p95: b.latency.p95 } : null,
            errorRate: b.errorRate,
            rate: b.rate,
          },
  };
}

/**
 * Operations tracked (at most the analyzer's `maxOperations`), and past that cap: requests folded into a
 * service's `rootspan.overflow` operation (counted, not judged), calls on untracked edges, and operations
 * forgotten to make room for new ones (quiet or not yet learned ones: see the engine's `maxOperations`);
 * `messagesForgotten`: messages whose send time was let go before a consumer took them (a consumer not
 * traced here, or a queue over 16,384 messages behind: their wait in the queue is not measured).
 * `GET /aiops/status`'s `operations`, and `rootspan analyze --json`'s `summary.operations`.
 */
export interface OperationCounts {
  tracked: number;
  overflowRequests: number;
  overflowCalls: number;
  evicted: number;
  messagesForgotten: number;
}

/** {@link OperationCounts} from the analyzer's stats. */
export function operationCounts(stats: AnalyzerStats): OperationCounts {
  return { tracked: stats.operations, overflowRequests: stats.overflow.requests, overflowCalls: stats.overflow.calls, evicted: stats.overflow.evicted, messagesForgotten: stats.overflow.sent };
}
