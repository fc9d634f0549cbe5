/**
 * rootspan's data model: plain objects in, plain objects out, so every front end (OTel plugin, OTLP
 * files, a server) feeds the same engine and everything can be persisted as JSON.
 *
 * All times are **epoch milliseconds** (fractional allowed) and are *event time*: the time written in
 * the spans, never the wall clock of the process that analyses them.
 */

/** Span kind as in OpenTelemetry; `undefined` on a {@link Span} means the source did not say. */
export type SpanKind = 'server' | 'client' | 'internal' | 'producer' | 'consumer';

/** Span status; `undefined` on a {@link Span} means unknown (rootspan then infers it from HTTP and gRPC codes). */
export type SpanStatus = 'unset' | 'ok' | 'error';

/** Attribute values rootspan keeps (arrays are dropped by the converters). */
export type AttributeValue = string | number | boolean;

/** A link from one span to another: an OpenTelemetry span link, a Jaeger `FOLLOWS_FROM` reference. */
export interface SpanLink {
  traceId: string;
  spanId: string;
}

/**
 * A finished span, reduced to the fields rootspan analyses. Converters (OTel plugin, OTLP decoder) keep
 * only the attributes listed in {@link ANALYZED_ATTRIBUTES}.
 */
export interface Span {
  /** Lowercase hex trace id (32 chars for W3C; any non-empty id is accepted). */
  traceId: string;
  /** Lowercase hex span id. */
  spanId: string;
  /** Parent span id; absent or empty for a root span. */
  parentSpanId?: string;
  /** Resource `service.name`. */
  service: string;
  /** Resource `service.version`, used to correlate anomalies with deploys. */
  serviceVersion?: string;
  /**
   * The process that recorded the span: resource `service.instance.id`, else `host.name` and
   * `process.pid` (`host/pid`). A process first seen is cold for `instanceWarmupMs`: its requests are
   * counted but their latency is neither judged nor learned, so a restart or a new replica behind a
   * central receiver raises no latency alarm. Absent: no such tracking (one process, see `coldStartUntil`).
   */
  instance?: string;
  /** Span name as recorded (rootspan derives a low-cardinality operation name from it and the attributes). */
  name: string;
  kind?: SpanKind;
  /** Start, epoch ms. */
  startTime: number;
  /** End, epoch ms; must be >= startTime. */
  endTime: number;
  status?: SpanStatus;
  statusMessage?: string;
  attributes?: Record<string, AttributeValue>;
  /**
   * The spans this one is linked to, in the source's order. Read on consumer spans only: a message whose
   * producer span is not its parent (the consumer's span in a trace of its own, or under a batch's `receive`
   * span) names it in a link, and its queue wait is measured from that span's end. Converters keep them on
   * consumer spans, at most `MAX_LINKS` (OpenTelemetry SDKs' own default limit).
   */
  links?: readonly SpanLink[];
}

/**
 * Attribute keys the engine reads. Converters should keep these and may drop the rest: everything else is
 * memory the engine never looks at.
 */
export const ANALYZED_ATTRIBUTES = [
  'http.request.method',
  'http.method',
  'http.route',
  'http.response.status_code',
  'http.status_code',
  'server.address',
  'server.port',
  'net.peer.name',
  'net.peer.port',
  'peer.service',
  'db.system',
  'db.system.name',
  'db.name',
  'db.namespace',
  'db.operation',
  'db.operation.name',
  'db.collection.name',
  'db.sql.table',
  'db.mongodb.collection',
  // The statement, for its verb and table only (`SELECT users`) when the span name does not say them.
  'db.query.text',
  'db.statement',
  // The statement as Zipkin's Brave (JDBC, p6spy, MySQL, jOOQ) and Spring Cloud Sleuth's JDBC tag it.
  'sql.query',
  'jdbc.query',
  'rpc.system',
  'rpc.service',
  'rpc.method',
  'rpc.grpc.status_code',
  'messaging.system',
  'messaging.destination.name',
  // BullMQ's own telemetry (bullmq-otel) names its queue here, and no messaging system; a job's attempt
  // after the first waited its retry's backoff, not the queue (see EntryFact.queued): the attempt it is on
  // (`attempts_made` in its newer names), or, in the community instrumentations, the attempts made before
  // it; a delayed job waited its delay (theirs only).
  'bullmq.queue.name',
  'bullmq.job.attempts.made',
  'bullmq.job.attempts_made',
  'messaging.bullmq.job.attempts',
  'messaging.bullmq.job.delay',
  // A batch's message count: its latency is judged per message.
  'messaging.batch.message_count',
  // The queue a message to RabbitMQ's default exchange goes to: stable, then legacy.
  'messaging.rabbitmq.destination.routing_key',
  'messaging.rabbitmq.routing_key',
  // A GraphQL request's operation (its name, `query GetProduct`), and the spans of its execution (a resolver's
  // error is the request's: GraphQL answers it with HTTP 200).
  'graphql.operation.type',
  'graphql.operation.name',
  // An anonymous operation's document: it names the operation by its selections.
  'graphql.source',
  'graphql.field.name',
  'error.type',
  'exception.type',
  'exception.message',
  // A failed gRPC call's message as instrumentation-grpc records it (`14 UNAVAILABLE: …`; no status message).
  'grpc.error_message',
  // A route-less server span's path (the operation of a bare `http` server), an HTTP call's: stable, then legacy.
  'url.path',
  'http.target',
  'url.full',
  'http.url',
  'url.template',
  // The process's CPU time over an event-loop sample's tick (the span processor's `event loop` spans).
  'rootspan.loop.cpu_ms',
] as const;

/** {@link ANALYZED_ATTRIBUTES} as a set: converters walking a span's own attributes test each key against it. */
export const ANALYZED_ATTRIBUTE_KEYS: ReadonlySet<string> = new Set<string>(ANALYZED_ATTRIBUTES);

/** Severity tiers, in increasing order. */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** What kind of misbehaviour an anomaly is. */
export type AnomalyKind = 'latency' | 'errors' | 'timeout' | 'traffic' | 'shape';

/** A service and (where known) one of its operations. */
export interface OperationRef {
  service: string;
  /** e.g. `POST /payment`; `null` when only the service is known (a callee that never answered). */
  operation: string | null;
}

/** Which detector signal fired: the anomaly's kind, refined (a drop or a surge, a missing or a new call). */
export type AnomalySignal =
  | 'latency'
  | 'latency.self'
  /** Some requests only much slower (the p95, not the median): `observed`/`expected` are p95s. */
  | 'latency.tail'
  /**
   * A consumer's messages waited in their queue before it took them (its span's start minus its producer
   * span's end): `observed`/`expected` are the median waits, now and learned.
   */
  | 'latency.queue'
  | 'errors'
  | 'timeout'
  | 'traffic.surge'
  | 'traffic.drop'
  | 'shape.missing-call'
  | 'shape.new-call'
  | 'shape.more-calls';

/** One detection: an operation (or a call edge) that misbehaved over a window of event time. */
export interface Anomaly {
  /** Stable id of this anomaly episode (`a-<n>`): it keeps its id while it stays anomalous. */
  id: string;
  kind: AnomalyKind;
  /** Which signal fired. */
  signal: AnomalySignal;
  /** The operation that misbehaved (for timeouts: the callee that was given up on). */
  service: string;
  operation: string | null;
  /** For timeouts: the caller that gave up on the callee (this anomaly's operation). */
  caller?: OperationRef;
  /** For call-shape anomalies: the callee whose calls changed (this anomaly's operation is the caller). */
  callee?: OperationRef;
  /**
   * For a tail slowdown (`latency.tail`) or an error rate: the one process (`Span.instance`) of several that
   * served most of its slow or failing requests (one bad instance behind a load balancer, a canary), when one did.
   */
  instance?: string;
  /**
   * For a tail of requests held together (`latency.tail`: three or more in flight at once, each 10 s or
   * more, a lock's or a hang's): how many; `observed` is then the longest.
   */
  held?: number;
  /** Event time the anomaly was (last) detected: the end of the evaluated window. */
  at: number;
  /** Event time the episode was first detected. */
  firstAt: number;
  /** Start of the evaluated window. */
  windowStart: number;
  /**
   * Observed value (ms for latency, a fraction for error/timeout rates and call shares, requests/s for
   * traffic, calls per request for `shape.more-calls`).
   */
  observed: number;
  /** Baseline value in the same unit. */
  expected: number;
  /** Unit of observed/expected: `ms`, `ratio` (0..1), `rps`, or `per-request` (calls per request). */
  unit: 'ms' | 'ratio' | 'rps' | 'per-request';
  /** Strength of the evidence (a z-score-like number; larger is stronger). */
  score: number;
  /** One-sided p-value of the test that fired, where the detector has one. */
  pValue?: number;
  severity: Severity;
  /** Requests in the evaluated window. */
  samples: number;
  /** Where the engine traced this anomaly back to (see {@link RootCause}). */
  cause: OperationRef & { kind: AnomalyKind; support: number; share: number };
  /** One sentence with numbers. */
  explanation: string;
  /** The episode at its worst (highest score) so far. */
  peak: { at: number; observed: number; expected: number; score: number; explanation: string };
  /** Exemplar trace ids from the window. */
  traceIds: string[];
  /**
   * For an error anomaly: what the latest failing request in the window said (its status message, else
   * its `exception.message`, `grpc.error_message` or `exception.type`), first line only, when it said anything.
   */
  message?: string;
  /**
   * For an error anomaly whose latest failing request that says so failed in its own code, not in a call:
   * the span it failed in (a GraphQL resolver's `graphql.resolve product.price`, a middleware's), list
   * indices in its path as `*`.
   */
  failedIn?: string;
}

/** A ranked root-cause candidate. */
export interface Candidate extends OperationRef {
  kind: AnomalyKind;
  /** Higher is more likely; comparable within one incident. */
  score: number;
}

/** A deploy (service.version change) seen shortly before an incident. */
export interface ChangeEvent {
  service: string;
  from: string | null;
  to: string;
  /** Event time the new version was deployed: first seen, or seen again after another replaced it (a rollback). */
  at: number;
}

/** The incident's best explanation. */
export interface RootCause extends OperationRef {
  kind: AnomalyKind;
  /**
   * In [0, 1]: how much of the incident's evidence points at the root cause's service (its operations
   * together), discounted when the root cause rests on few requests.
   */
  confidence: number;
  /** One sentence with numbers, e.g. "payment POST /payment self-time p95 912 ms vs baseline 27 ms (34×)...". */
  explanation: string;
  /** A version change of the root-cause service shortly before the anomaly, if any. */
  change?: ChangeEvent;
}

export type IncidentStatus = 'active' | 'acknowledged' | 'resolved';

/** Anomalies sharing one root cause, deduplicated, with a lifecycle. */
export interface Incident {
  /** `inc-<n>`, unique per analyzer (and kept across snapshot/restore). */
  id: string;
  status: IncidentStatus;
  severity: Severity;
  title: string;
  /** Event time of the detection that opened it. */
  openedAt: number;
  /** Event time of the last anomaly attached. */
  updatedAt: number;
  acknowledgedAt: number | null;
  resolvedAt: number | null;
  /**
   * `auto` after the quiet period, `user` through {@link Analyzer.resolve}, `adapted` when what was left
   * of it lasted `adaptAfterMs` and became its operations' new normal (see `AnalyzerOptions.adaptAfterMs`),
   * `merged` when its root cause turned out to be another open incident's: its anomalies went on in that
   * one ({@link Incident.mergedInto}).
   */
  resolvedBy: 'auto' | 'user' | 'adapted' | 'merged' | null;
  /** With `resolvedBy: 'merged'`: the id of the incident it was merged into, which goes on. */
  mergedInto?: string;
  /**
   * Set when it resolved by itself and became active again: evidence of the same fault that came late (a
   * caller's window still holding the outage, reaching back before the resolution). `at`: the latest
   * reopening; `resolvedAt`: the resolution it undid; `times`: how often it was reopened.
   */
  reopened?: { at: number; resolvedAt: number; times: number };
  /** Who acknowledged it and why, when given to {@link Analyzer.acknowledge}. */
  acknowledgement?: IncidentNote;
  /** Who resolved it by hand and how, when given to {@link Analyzer.resolve}. */
  resolution?: IncidentNote;
  rootCause: RootCause;
  /** Best first. */
  candidates: Candidate[];
  /** Operations that showed anomalies in this incident, once each: the first to fire first, then the more severe, then by name. */
  affected: OperationRef[];
  /** Latest state of each anomaly episode in the incident (one entry per episode). */
  anomalies: Anomaly[];
  /** Exemplar trace ids (bounded). */
  traceIds: string[];
  /**
   * Earlier root-cause stories, oldest first: the title, kind and sentence the incident had before a new
   * episode joined it or its root cause or kind changed. At most {@link INCIDENT_STORY_MAX}; older
   * entries are dropped (counted in `storyDropped`).
   */
  story?: IncidentStoryEntry[];
  /** Story entries dropped beyond {@link INCIDENT_STORY_MAX}. */
  storyDropped?: number;
}

/** Who acknowledged or resolved an incident by hand, and a word on it (each optional, as given). */
export interface IncidentNote {
  /** A person or system, as they name themselves (`alice`, `pagerduty`). */
  by?: string;
  /** Why, or what was done (`rolled back payment 2.4.1`). */
  note?: string;
}

/** One past state of an incident's story (see {@link Incident.story}). */
export interface IncidentStoryEntry {
  /** Event time this story was current until. */
  until: number;
  title: string;
  kind: AnomalyKind;
  severity: Severity;
  explanation: string;
}

/** Story entries an incident keeps. */
export const INCIDENT_STORY_MAX = 10;

/** Delivered to {@link Analyzer.onIncident} listeners. */
export interface IncidentEvent {
  /**
   * `reopened`: an incident that had resolved by itself is active again, evidence of the same fault having
   * come late (see {@link Incident.reopened}); every other change of an open incident is `updated`.
   */
  type: 'opened' | 'updated' | 'reopened' | 'resolved' | 'acknowledged';
  incident: Incident;
}

/** Per-operation RED metrics over the most recent window. */
export interface OperationMetrics extends OperationRef {
  operation: string;
  /** `service` for instrumented servers, `peer` for uninstrumented dependencies seen from client spans. */
  nodeType: 'service' | 'peer';
  windowStart: number;
  windowEnd: number;
  requests: number;
  errors: number;
  /** Requests per second over the window. */
  rate: number;
  errorRate: number;
  /**
   * Latency of the window's successful requests (ms), as baselines learn it: a failed request's time (a
   * 2 s deadline given up on) is in `errors`, not here. Null without one.
   */
  latency: { p50: number; p95: number; p99: number; mean: number } | null;
  /** Self time (duration minus waiting on calls) of the same requests. */
  selfTime: { p50: number; p95: number; p99: number } | null;
  /** Whether any anomaly episode is active on this operation. */
  anomalous: boolean;
}

/** What the engine has learned as "normal" for one operation. */
export interface OperationBaseline extends OperationRef {
  operation: string;
  nodeType: 'service' | 'peer';
  /** Successful requests learned from (after outlier exclusion). */
  samples: number;
  /** Whether enough has been learned to judge (>= minSamples). */
  ready: boolean;
  latency: { typical: number; p95: number; stddevLog: number } | null;
  selfTime: { typical: number; p95: number } | null;
  /** Error rate observed over the baseline's memory (0 after no errors; the tests' prior is internal). */
  errorRate: number;
  /** Requests per second. */
  rate: number;
  /** Usual child calls: callee operation key and the share of this operation's requests making it. */
  calls: Array<{ callee: string; share: number }>;
}

/** Dependency graph derived from parent/child links. */
export interface ServiceGraph {
  nodes: Array<{ service: string; type: 'service' | 'peer'; operations: string[]; anomalous: boolean }>;
  /**
   * Caller → callee service edges. `calls`/`errors` are totals since start; `recent` counts the calls that
   * ended in {@link ServiceGraph.window}, from `since` (the window's start, or the edge's first bucket if
   * later), so `recent.calls / ((window.end - recent.since) / 1000)` is its rate in event time.
   */
  edges: Array<{ from: string; to: string; calls: number; errors: number; anomalous: boolean; recent: { calls: number; errors: number; since: number } | null }>;
  /** The closed buckets `recent` covers (the same window as {@link OperationMetrics}), or null before one closed. */
  window: { start: number; end: number } | null;
}

/** Why spans were dropped, counted (never silently). */
export interface DropCounters {
  /** Missing/invalid ids, service or name. */
  invalid: number;
  /** NaN, infinite, negative or beyond `MAX_TIME_MS` durations or timestamps. */
  badTime: number;
  /**
   * Ended more than `maxTraceWaitMs + latenessMs` (32 s at the defaults) before event time: their windows
   * are closed and judged.
   */
  late: number;
  /** Ended more than `MAX_FUTURE_SKEW_MS` (5 min) after event time: a wrong clock, not data. */
  future: number;
  /** A trace exceeded maxSpansPerTrace. */
  traceTooLarge: number;
  /** Same spanId seen twice in a trace, also after the trace was processed (while its ids are remembered: the last 65,536 spans released). */
  duplicate: number;
}

/** Filter for {@link Analyzer.incidents}. */
export interface IncidentFilter {
  status?: IncidentStatus | IncidentStatus[];
  /** Minimum severity. */
  severity?: Severity;
  /** Incidents whose root cause or affected operations involve this service. */
  service?: string;
  /** Incidents whose root cause or affected operations involve this operation (`METHOD /route`). */
  operation?: string;
}

/** Counters for observability of rootspan itself. */
export interface AnalyzerStats {
  /** Spans passed to `ingest`: always `accepted + dropped`. */
  ingested: number;
  accepted: number;
  /** Spans refused, each counted once, under its reason in `droppedBy`. */
  dropped: number;
  droppedBy: DropCounters;
  traces: { buffered: number; processed: number; evictedEarly: number };
  /** Operations tracked (at most `maxOperations`), not counting overflow operations. */
  operations: number;
  /**
   * Past `maxOperations`: overflow operations (`rootspan.overflow`, one per service) and the requests
   * folded into them, and calls whose service-to-service edge was past the cap (not tracked). Folded
   * spans are accepted, not dropped: they count in their service's totals. `evicted`: operations forgotten
   * to make room for new ones at the cap (which go first: see `maxOperations` in the README's limits).
   * `sent`: messages whose send time was let go before a consumer span of theirs came, the oldest of more
   * than `MAX_SENT` (16,384) in flight: their waits in the queue, if taken later, are not measured (a
   * consumer not traced here lets every message go; none are kept before a consumer span is recorded).
   */
  overflow: { operations: number; requests: number; calls: number; evicted: number; sent: number };
  /**
   * Processes seen (spans naming their `instance`), whose first seconds are cold (`instanceWarmupMs`);
   * `untrackedSpans`: spans of processes first seen while `MAX_INSTANCES` were tracked, taken as warm.
   */
  instances: { tracked: number; untrackedSpans: number };
  /** Listener exceptions caught (they never propagate). */
  listenerErrors: number;
  /**
   * Spans accepted with their times moved back to the driven event time (live use: `advanceTo` or the
   * `clock` option): they ended more than `maxTraceWaitMs / 2` past it, from a host whose clock is fast.
   */
  clockAhead: number;
  anomalies: { active: number; total: number };
  incidents: { active: number; total: number };
  /** Current event time (ms), or null before any span. */
  now: number | null;
  /** Event time up to which windows are closed. */
  watermark: number | null;
}

/** Result of one {@link Analyzer.ingest} call. */
export interface IngestResult {
  accepted: number;
  dropped: number;
}

// ---- snapshot ------------------------------------------------------------------------------------

/** A detector's learned state: plain JSON owned by that detector, checked by it on restore. */
export type DetectorState = unknown;

/** One operation an anomaly was traced back to, with the share of the evidence pointing there. */
export interface RankedOrigin extends OperationRef {
  /** The operation's map key. */
  key: string;
  kind: AnomalyKind;
  /** Share of the anomaly's evidence (failing or slow requests) pointing here, 0..1. */
  share: number;
  /** Requests (or detections) behind the share. */
  count: number;
}

/** A latency series' learned state: its baseline, slow anchor, heavy-tail share and usual p95. */
export interface LatencySignalSnapshot {
  detector: DetectorState;
  anchor: DetectorState;
  slowShare: DetectorState;
  p95: number | null;
}

/** What was learned about one operation. */
export interface OperationSnapshot {
  service: string;
  operation: string;
  nodeType: 'service' | 'peer';
  latency: LatencySignalSnapshot;
  self: LatencySignalSnapshot;
  errors: DetectorState;
  traffic: DetectorState | null;
  shapeSamples: number;
  /** Call-shape detector state per callee operation key. */
  shapes: Array<[string, DetectorState]>;
  /** Keys of the operations seen calling this one. */
  callers: string[];
  /** Has answered a request with anything but a 4xx (absent in older snapshots: taken as true). */
  served?: boolean;
  /** For a consumer: its messages' learned wait in their queue (absent: none measured). */
  queue?: QueueWaitSnapshot;
}

/** A consumer's learned wait in its queue: EWMAs of buckets' median and p95 wait (ms), over `samples` messages (0: none yet). */
export interface QueueWaitSnapshot {
  typical: number;
  p95: number;
  samples: number;
}

/** What was learned about one caller → callee service edge. */
export interface EdgeSnapshot {
  caller: string;
  callee: string;
  /** The callee is an uninstrumented peer (a database), known only from client spans. */
  virtual: boolean;
  calls: number;
  errors: number;
  timeout: DetectorState;
}

/** The instrumented service behind a peer name, and which of its operations each call name reaches. */
export interface PeerSnapshot {
  peer: string;
  service: string;
  /** `[call name, operation]`, or `[calling operation key + U+0003 + call name, operation]`. */
  calls: Array<[string, string]>;
}

/** The versions first seen per service, with when (event time). */
export type VersionsSnapshot = Array<[string, Array<{ version: string; firstSeen: number; lastSeen?: number; since?: number }>]>;

/** One incident with the evidence behind its ranking. */
export interface IncidentRecordSnapshot {
  incident: Incident;
  /** Ranked origins per member anomaly id. */
  origins: Array<[string, RankedOrigin[]]>;
  /** Event time an anomaly of the incident last fired. */
  lastFiredAt: number;
}

/** The incidents, and the next id to hand out. */
export interface IncidentsSnapshot {
  nextId: number;
  records: IncidentRecordSnapshot[];
}

/**
 * Everything the analyzer has learned, as plain JSON: write it anywhere (a file, SQLite) and
 * {@link Analyzer.restore} it after a restart. Traces still buffered and the current windows are not
 * included: a restored analyzer starts its windows afresh with its baselines intact.
 */
export interface AnalyzerSnapshot {
  /** Always `rootspan.analyzer` ({@link SNAPSHOT_FORMAT}). */
  format: 'rootspan.analyzer';
  /** {@link SNAPSHOT_VERSION} of the engine that wrote it; restore refuses other versions. */
  version: number;
  /** Event time (ms), or null before any span. */
  clock: number | null;
  /** Last closed bucket index, or null. */
  closed: number | null;
  nextAnomaly: number;
  anomaliesTotal: number;
  operations: OperationSnapshot[];
  edges: EdgeSnapshot[];
  peers: PeerSnapshot[];
  versions: VersionsSnapshot;
  incidents: IncidentsSnapshot;
  counters: { ingested: number; accepted: number; tracesProcessed: number; drops: DropCounters };
}
