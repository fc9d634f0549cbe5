/**
 * The engine's fixed limits, in one place: what it refuses or bounds, whatever the options. Each is
 * enforced where spans come in and counted in `stats()` when it applies. (The limits that are options —
 * `latenessMs`, `maxTraceWaitMs`, `maxTraces`, `maxSpansPerTrace`, `maxOperations` — are in `AnalyzerOptions`.)
 */

/**
 * Latest span time accepted, in ms since the epoch: the end of year 9999 UTC, the last instant an
 * ISO-8601 date can show (the same bound as `@rootspan/otlp`'s decoders). A span starting or ending later
 * is dropped as `badTime`.
 */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * How far ahead of event time a span may end (5 minutes): clocks of different hosts disagree by seconds,
 * not minutes. A span further ahead is dropped as `future` and does not move event time. Event time jumps
 * forward only through `advanceTo` or the `clock` option (a live host's wall clock) — or, in a replay
 * (neither used), after {@link FUTURE_RUN} spans in a row were all that far ahead: the stream itself moved on.
 */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/** Spans in a row, all beyond {@link MAX_FUTURE_SKEW_MS}, after which a replay's event time follows them. */
export const FUTURE_RUN = 16;

/**
 * Event time moving forward by more than this at once ({@link MAX_FUTURE_SKEW_MS}: a host resumed from
 * sleep, a stepped clock, a gap in a replay) is a gap in observation, not silence: what came before is
 * finished as at the end of input, open anomalies end, and windows start afresh after the gap (as after a
 * restart), so the gap opens no incident and costs time in proportion to the operations, not the gap.
 */
export const CLOCK_JUMP_MS = MAX_FUTURE_SKEW_MS;

/**
 * Past `maxOperations`, requests of further operations are folded into one operation of this name per
 * service (as OpenTelemetry metrics fold series past their limit into `otel.metric.overflow`), so a
 * service's request, error and latency totals stay true. Overflow operations show in metrics, rollups and
 * the service graph; they are not judged (a mixture has no baseline). `stats().overflow` counts them.
 */
export const OVERFLOW_OPERATION = 'rootspan.overflow';

/** Services with an overflow operation of their own; further services share one, of service {@link OVERFLOW_OPERATION}. */
export const MAX_OVERFLOW_SERVICES = 100;

/**
 * Longest name kept, in UTF-16 code units (1024, as `@rootspan/otlp`'s decoders): span and service names,
 * versions, status messages and string attribute values are cut to it at intake — a raw URL or SQL statement used as a span name must
 * not fill memory. The cut is copied out, so the engine keeps no reference to the long original.
 */
export const MAX_NAME_LENGTH = 1024;

/** Longest trace or span id accepted (128 characters; OpenTelemetry's are 32 and 16): longer is `invalid`. */
export const MAX_ID_LENGTH = 128;

/**
 * Distinct callee operations whose call shape one operation learns, and distinct callers it remembers
 * (for tracing a traffic drop upstream). Further ones are not tracked for that operation.
 */
export const MAX_CALLEES_PER_OPERATION = 128;
export const MAX_CALLERS_PER_OPERATION = 256;

/**
 * Operations a service's route-less HTTP paths may give (`GET /users/:id` from a server span named `GET`
 * with `url.path`); later paths share the method's name, so unbounded paths (`/users/alice`) cannot use
 * up `maxOperations`, which every service shares.
 */
export const MAX_PATH_OPERATIONS = 100;

/**
 * Operations a service's GraphQL requests may give by their operation (`query GetProduct`): the names are
 * the clients' to choose, so later ones keep the HTTP request's name (`POST /graphql`).
 */
export const MAX_GRAPHQL_OPERATIONS = 100;

/**
 * Anonymous GraphQL documents whose name (see `anonymousSelections`) a service keeps at most; others are
 * read again on each request (documents with their literals in them differ by every value).
 */
export const MAX_GRAPHQL_DOCUMENTS = 256;

/**
 * Processes (a span's `instance`) whose start is tracked at most, a large fleet's worth (~150 bytes
 * each). When full, processes not seen for an hour are forgotten (at most once a minute); a process first
 * seen while it stays full is taken as warm, its spans counted (`stats().instances.untrackedSpans`): a flood of ids
 * costs no memory and never keeps latency unjudged.
 */
export const MAX_INSTANCES = 10_000;

/**
 * Producer spans whose send time is kept for consumers that come after their trace was processed (see
 * `SentMessages`): a queue this far behind has its oldest messages' waits unmeasured (`stats().overflow.sent`).
 */
export const MAX_SENT = 16_384;

/** Links of a span read and kept (see `Span.links`): OpenTelemetry SDKs' default `linkCountLimit`. */
export const MAX_LINKS = 128;
