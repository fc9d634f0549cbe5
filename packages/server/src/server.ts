import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createAnalyzer, incidentChange, type Analyzer, type AnomalyKind, type OperationRollup } from '@rootspan/engine';
import { ZipkinState } from '@rootspan/otlp';
import { healthOf, routeApi, SEVERITIES } from './api.js';
import { BearerAuth, UNAUTHORIZED_HEADERS, UNAUTHORIZED_MESSAGE } from './auth.js';
import { ALLOW_READ, HttpError, sendError, sendJson } from './http.js';
import { Intake } from './intake.js';
import { Notifier, type TargetStatus } from './notify/notifier.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import { BodyBudget, BodyError, readBody, tooLarge } from './body.js';
import { NOTE_BODY_MAX } from './incident-note.js';
import { Exposition, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
import { GrpcReceiver } from './grpc-receiver.js';
import { countAnswer, otlpFailure, receiveTraces, type ReceiverContext, type ReceiverCounters } from './receiver.js';
import { answerClientErrors } from './client-errors.js';
import { receiveZipkin, ZIPKIN_PATH } from './zipkin-receiver.js';
import { createRedactor } from './redact.js';
import { DashboardFiles } from './dashboard.js';
import { Cors } from './cors.js';
import { SeriesHistory } from './series.js';
import { spanCounts } from './span-counts.js';
import { iso, isoOrNull, operationCounts, type OperationCounts } from './shapes.js';
import type { IncidentChange } from './store.js';
import type { ServiceHealth } from './health.js';

/** Requests one connection may have sent whose answers are not all sent yet (see Server.pipelinedTooFar). */
const MAX_PIPELINED = 16;

/** Wall-clock period of the intake's release and event-time step. */
const TICK_MS = 500;
/** How long close() waits for in-flight requests and notifications. */
const CLOSE_DEADLINE_MS = 5000;
/** Rollups held for the store at most (a minute of 50,000 operations). */
export const MAX_PENDING_ROLLUPS = 50_000;
/** Incident changes held while store writes fail; past it the oldest updates (never a lifecycle change) are dropped. */
export const MAX_PENDING_CHANGES = 10_000;

const ANOMALY_KINDS: readonly AnomalyKind[] = ['latency', 'errors', 'timeout', 'traffic', 'shape'];

/** Store health, as shown in `/aiops/status`. */
export interface StoreStatus {
  kind: 'memory' | 'store';
  location: string | null;
  writes: number;
  failures: number;
  lastWriteAt: string | null;
  lastError: string | null;
  healthy: boolean;
  /** Rollups dropped because the store fell too far behind ({@link MAX_PENDING_ROLLUPS}). */
  rollupsDropped: number;
  /** Incident updates dropped because writes kept failing ({@link MAX_PENDING_CHANGES}; openings and resolutions are kept). */
  changesDropped: number;
  /** What the start restored from the store (null: nothing, a new store or none): a restart is seen here. */
  restored: RestoredState | null;
}

/** The state a start restored from its store. */
export interface RestoredState {
  /** Event time the saved analyzer had reached. */
  eventTime: string | null;
  /** Operations with a learned baseline. */
  operations: number;
  /** Incidents open (active or acknowledged) when it was saved, going on under the same ids. */
  openIncidents: number;
}

/** The `/aiops/status` body. */
export interface ServerStatus {
  startedAt: string;
  uptimeSeconds: number;
  /** Whether spans arrive live (then event time follows the wall clock, minus the trace wait). */
  live: boolean;
  /** Analyzer event time and the time up to which windows are closed. */
  eventTime: string | null;
  watermark: string | null;
  /** Where OTLP arrives: the HTTP URL and the gRPC `host:port` (null when gRPC is off). */
  listeners: { otlpHttp: string; otlpGrpc: string | null };
  ingest: {
    /**
     * OTLP/HTTP requests answered, by HTTP status; with the answers Node.js gives itself on the HTTP port
     * (408 past `requestTimeoutMs`, 400 broken framing, 431 headers too large).
     */
    requests: Record<string, number>;
    /** OTLP/gRPC calls answered, by gRPC status name (`OK`, `INVALID_ARGUMENT`, ...), grpc-js's own refusals included. */
    grpcRequests: Record<string, number>;
    bytes: number;
    /**
     * Every span that arrived since the server started: `spansAccepted + spansDropped + queue.spans`
     * (malformed and refused ones included).
     */
    spansReceived: number;
    spansAccepted: number;
    /** The sum of `drops`. */
    spansDropped: number;
    /** Accepted spans whose host's clock was fast: placed at the live event time (see the analyzer's `clockAhead`). */
    spansFromFastClocks: number;
  };
  /**
   * Everything not analysed since the server started, by reason: the analyzer's (with the spans refused on
   * arrival because it would have dropped them, under its reason), `malformed` (undecodable) and
   * `queueFull` (refused with 429).
   */
  drops: Record<string, number>;
  queue: { spans: number; capacity: number; traceWaitMs: number; traceWaitMode: 'auto' | 'fixed'; bufferedTraces: number };
  /** See {@link OperationCounts}. */
  operations: OperationCounts;
  /**
   * Processes seen (spans whose resource names one: `service.instance.id`, or `host.name` and
   * `process.pid`), whose first seconds are a warm-up whose latency is not judged (the engine's
   * `instanceWarmupMs`); `untrackedSpans`: spans of processes first seen while the engine's
   * `MAX_INSTANCES` were tracked, taken as warm.
   */
  processes: { tracked: number; untrackedSpans: number };
  store: StoreStatus;
  notifications: { healthy: boolean; targets: TargetStatus[] };
  incidents: { active: number; total: number };
  anomalies: { active: number; total: number };
  /** Health 0–100 per service and uninstrumented peer (formula in the README). */
  services: ServiceHealth[];
}

/** A running server. */
export interface RootspanServer {
  /** `http://host:port`, e.g. to print or to point exporters at (`${url}/v1/traces`). */
  readonly url: string;
  readonly port: number;
  /** The OTLP/gRPC port, or undefined when gRPC is off. */
  readonly grpcPort: number | undefined;
  /** `host:port` of the OTLP/gRPC listener, e.g. for an exporter's endpoint; undefined when gRPC is off. */
  readonly grpcAddress: string | undefined;
  /** The analyzer behind the API (read-only use: the server feeds it). */
  readonly analyzer: Analyzer;
  status(): ServerStatus;
  /** Stops accepting, analyses what is queued, saves to the store, sends pending notifications (up to 5 s), and closes. */
  close(): Promise<void>;
}

/**
 * Starts the central rootspan: loads learned state from the store (if any), listens, and returns once
 * listening. Throws a clear error for bad options or a port in use.
 *
 * @example
 * const server = await startServer({ port: 4318, token: process.env.ROOTSPAN_TOKEN });
 * console.log(`listening on ${server.url}`);
 */
export async function startServer(options: ServerOptions = {}): Promise<RootspanServer> {
  const opts = resolveServerOptions(options);
  // The wall clock bounds event time: a span from a host whose clock is far ahead is dropped as `future`
  // instead of moving event time past every other span (which would then all be late).
  const analyzer = createAnalyzer({ wallClock: opts.now, ...opts.analyzer });
  let restored: RestoredState | null = null;
  if (opts.store !== undefined) {
    const snapshot = await opts.store.loadSnapshot();
    if (snapshot !== undefined) {
      analyzer.restore(snapshot);
      restored = { eventTime: isoOrNull(snapshot.clock), operations: snapshot.operations.length, openIncidents: analyzer.incidents({ status: ['active', 'acknowledged'] }).length };
      opts.log(`restored from ${opts.store.location}: ${restored.operations} baselines, ${restored.openIncidents} open incidents, analysed up to ${restored.eventTime ?? 'no span'}`);
    }
  }
  const server = new CentralServer(opts, analyzer, restored);
  await server.listen();
  return server;
}

class CentralServer implements RootspanServer {
  private readonly http: Server;
  /** Per connection, its requests whose answers are not all sent yet (see {@link pipelinedTooFar}). */
  private readonly unanswered = new WeakMap<Socket, number>();
  private readonly intake: Intake;
  private readonly notifier: Notifier;
  private readonly apiAuth: BearerAuth;
  private readonly ingestAuth: BearerAuth;
  private readonly counters: ReceiverCounters = { requests: new Map(), malformedSpans: 0, refusedOnArrival: { late: 0, future: 0 }, bytes: 0 };
  private readonly grpcAnswers = new Map<string, number>();
  private readonly receiverContext: ReceiverContext;
  private readonly grpc: GrpcReceiver | undefined;
  private readonly anomaliesByKind = new Map<AnomalyKind, number>();
  /** Number of the latest anomaly id counted in {@link anomaliesByKind}. */
  private lastAnomaly = 0;
  private readonly redact;
  private readonly dashboard = new DashboardFiles();
  /** Cross-origin requests, when origins are allowed (`cors`). */
  private readonly cors: Cors | undefined;
  private readonly series: SeriesHistory;
  private readonly startedAt: number;
  private ticker: NodeJS.Timeout | undefined;
  private lastSnapshotAt: number;
  private closing = false;
  private closed: Promise<void> | undefined;
  /** Incident changes not yet written to the store. */
  private pendingChanges: IncidentChange[] = [];
  /** Closed per-minute rollups not yet written (a store that keeps them serves the dashboard's charts after a restart). */
  private pendingRollups: OperationRollup[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly storeStatus: StoreStatus;
  url = '';
  port = 0;
  grpcPort: number | undefined;
  grpcAddress: string | undefined;

  constructor(
    private readonly opts: ResolvedServerOptions,
    readonly analyzer: Analyzer,
    restored: RestoredState | null = null,
  ) {
    this.startedAt = opts.now();
    this.lastSnapshotAt = this.startedAt;
    this.intake = new Intake(analyzer, { maxQueuedSpans: opts.maxQueuedSpans, traceWaitMs: opts.traceWaitMs }, opts.now);
    this.redact = createRedactor(opts.redact);
    this.apiAuth = new BearerAuth([opts.token]);
    this.ingestAuth = new BearerAuth([opts.token, opts.ingestToken]);
    this.receiverContext = {
      intake: this.intake,
      analyzer,
      maxBodyBytes: opts.maxBodyBytes,
      // Four of the largest bodies at once, and at least 64 MiB.
      bodies: new BodyBudget(Math.max(4 * opts.maxBodyBytes, 64 * 1024 * 1024)),
      redact: this.redact,
      counters: this.counters,
      closing: () => this.closing,
      zipkin: new ZipkinState(),
    };
    this.grpc = opts.grpcPort === undefined ? undefined : new GrpcReceiver(this.receiverContext, this.ingestAuth, this.grpcAnswers, opts.requestTimeoutMs);
    this.series = new SeriesHistory(analyzer, opts.store);
    this.cors = opts.cors === undefined ? undefined : new Cors(opts.cors);
    this.notifier = new Notifier(opts.notifications, opts.notify, () => opts.publicUrl ?? (this.url || undefined), opts.log, opts.now);
    this.storeStatus = { kind: opts.store ? 'store' : 'memory', location: opts.store?.location ?? null, writes: 0, failures: 0, lastWriteAt: null, lastError: null, healthy: true, rollupsDropped: 0, changesDropped: 0, restored };
    analyzer.onAnomaly((a) => {
      // An episode that got worse is reported again under its id: counted once. Ids (`a-<n>`) only grow.
      const n = Number(a.id.slice(2));
      if (n <= this.lastAnomaly) return;
      this.lastAnomaly = n;
      this.anomaliesByKind.set(a.kind, (this.anomaliesByKind.get(a.kind) ?? 0) + 1);
    });
    if (opts.store !== undefined) {
      analyzer.onRollup((rollups) => {
        for (const r of rollups) this.pendingRollups.push(r);
        this.boundPending();
      });
    }
    analyzer.onIncident((event) => {
      this.notifier.notify(event);
      if (opts.store !== undefined) {
        this.pendingChanges.push(incidentChange(event));
      }
    });
    this.http = createHttpServer(
      {
        requestTimeout: opts.requestTimeoutMs,
        headersTimeout: opts.requestTimeoutMs,
        // Node checks the timeouts above on this period (default 30 s): slow bodies are cut close to their deadline.
        connectionsCheckingInterval: Math.min(1000, opts.requestTimeoutMs),
      },
      (req, res) => {
        if (this.pipelinedTooFar(req, res)) return;
        this.handle(req, res).catch((err: Error) => {
          opts.log(`internal error on ${req.method} ${req.url}: ${err.stack ?? err.message}`);
          if (!res.headersSent) sendError(res, 500, 'internal error');
          else res.destroy();
        });
      },
    );
    answerClientErrors(this.http, (status) => countAnswer(this.receiverContext, status));
    // Node answers `Expect: 100-continue` itself, asking for the body whatever its size: one declared over
    // the limit gets its 413 instead, before it is sent.
    this.http.on('checkContinue', (req, res) => {
      if (Number(req.headers['content-length']) > opts.maxBodyBytes) {
        const message = tooLarge(opts.maxBodyBytes).message;
        // OTLP/HTTP answers in the request's encoding, as when the body is refused while read.
        if (routeOf(req.url ?? '/')?.path === '/v1/traces') return otlpFailure(req, res, this.receiverContext)(413, message, { connection: 'close' });
        countAnswer(this.receiverContext, 413);
        return sendError(res, 413, message, { connection: 'close' });
      }
      res.writeContinue();
      this.http.emit('request', req, res);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const address = this.http.address() as AddressInfo;
    this.port = address.port;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${address.port}`;
    if (this.grpc !== undefined) {
      try {
        await this.grpc.listen(this.opts.host, this.opts.grpcPort!);
      } catch (err) {
        await new Promise<void>((resolve) => this.http.close(() => resolve()));
        throw err;
      }
      this.grpcPort = this.grpc.port;
      this.grpcAddress = this.grpc.address;
    }
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
  }

  private tick(): void {
    this.intake.tick();
    const now = this.opts.now();
    const snapshotDue = now - this.lastSnapshotAt >= this.opts.saveIntervalMs;
    if (snapshotDue) this.lastSnapshotAt = now;
    if (this.pendingChanges.length > 0 || this.pendingRollups.length > 0 || snapshotDue) void this.save(snapshotDue);
  }

  /** Writes pending incident changes (and the snapshot when asked) to the store, one write at a time. */
  private save(withSnapshot: boolean): Promise<void> {
    const store = this.opts.store;
    if (store === undefined) return Promise.resolve();
    const incidents = this.pendingChanges;
    this.pendingChanges = [];
    const rollups = this.pendingRollups;
    this.pendingRollups = [];
    // An incident opened, acknowledged or resolved is saved with the analyzer's state in the same write (as
    // @rootspan/sqlite's attach does): a crash between snapshots lost incidents the API had shown, and the
    // restored analyzer gave their ids to new ones (probe 12: kill -9 within 30 s of an opening).
    const lifecycle = incidents.some((c) => c.type !== 'updated');
    if (lifecycle) this.lastSnapshotAt = this.opts.now();
    const snapshot = withSnapshot || lifecycle ? this.analyzer.snapshot() : undefined;
    this.writing = this.writing.then(async () => {
      try {
        await store.write({ ...(snapshot ? { snapshot } : {}), rollups, incidents });
        this.storeStatus.writes++;
        this.storeStatus.lastWriteAt = iso(this.opts.now());
        this.storeStatus.healthy = true;
      } catch (err) {
        // Kept for the next write, ahead of what came since: a full disk lost an incident's opening and a
        // minute of charts for good (probe 12).
        this.pendingRollups = rollups.concat(this.pendingRollups);
        this.pendingChanges = incidents.concat(this.pendingChanges);
        this.boundPending();
        if (this.storeStatus.failures++ === 0) this.opts.log(`store write to ${store.location} failed: ${(err as Error).message}`);
        this.storeStatus.lastError = (err as Error).message;
        this.storeStatus.healthy = false;
      }
    });
    return this.writing;
  }

  /**
   * A store that cannot keep up loses its oldest rollups, then its oldest incident updates (an incident's
   * opening, acknowledgement and resolution are kept), counted: never the server's memory.
   */
  private boundPending(): void {
    const over = this.pendingRollups.length - MAX_PENDING_ROLLUPS;
    if (over > 0) {
      this.pendingRollups.splice(0, over);
      this.storeStatus.rollupsDropped += over;
    }
    const excess = this.pendingChanges.length - MAX_PENDING_CHANGES;
    if (excess <= 0) return;
    let drop = excess;
    this.pendingChanges = this.pendingChanges.filter((c) => c.type !== 'updated' || drop-- <= 0);
    this.storeStatus.changesDropped += excess - Math.max(0, drop);
  }

  /**
   * Whether `req` is one more of {@link MAX_PIPELINED} requests its connection sent without reading the
   * answers (each answer waits in memory for the ones before it): the connection is closed. A client that
   * pipelined 20,000 `GET /aiops/graph` and read none held 3.4 GB of answers (probe 10); exporters and
   * browsers wait for each answer.
   */
  private pipelinedTooFar(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = req.socket;
    const unanswered = (this.unanswered.get(socket) ?? 0) + 1;
    if (unanswered > MAX_PIPELINED) {
      socket.destroy();
      return true;
    }
    this.unanswered.set(socket, unanswered);
    res.once('close', () => this.unanswered.set(socket, (this.unanswered.get(socket) ?? 1) - 1));
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before authentication: a browser's preflight carries no credentials.
    if (this.cors?.handle(req, res)) return;
    const route = routeOf(req.url ?? '/');
    if (route === undefined) {
      req.resume();
      return sendError(res, 400, 'bad request target');
    }
    const { url, path } = route;
    if (path === '/v1/traces') return receiveTraces(req, res, this.receiverContext, this.ingestAuth.allows(req.headers));
    if (path === ZIPKIN_PATH) return receiveZipkin(req, res, this.receiverContext, this.ingestAuth.allows(req.headers));
    if (path === '/aiops' || path.startsWith('/aiops/')) return this.api(req, res, path, url);
    // Nothing else reads a body; an unread one must not stall the connection.
    req.resume();
    if ((path === '/healthz' || path === '/metrics') && req.method !== 'GET' && req.method !== 'HEAD') {
      return sendError(res, 405, `use GET for ${path}`, { allow: ALLOW_READ });
    }
    if (path === '/healthz') return sendJson(res, 200, { status: this.closing ? 'closing' : 'ok' });
    if (path === '/metrics') {
      if (!this.apiAuth.allows(req.headers)) return unauthorized(res);
      const text = this.prometheus();
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    if (this.dashboard.handle(req, res, path)) return;
    sendError(res, 404, `no such endpoint: ${path} (OTLP at /v1/traces, Zipkin at ${ZIPKIN_PATH}, the API under /aiops, Prometheus at /metrics)`);
  }

  /** Answers one `/aiops/...` request (see routeApi); a body is read only where the route asks for it. */
  private async api(req: IncomingMessage, res: ServerResponse, path: string, url: URL): Promise<void> {
    let read: Promise<Buffer> | undefined;
    try {
      if (!this.apiAuth.allows(req.headers)) return unauthorized(res);
      if (path === '/aiops/series') return this.series.serve(req.method ?? 'GET', url.searchParams, res);
      const body = await routeApi(req.method ?? 'GET', path.slice('/aiops'.length), url.searchParams, {
        analyzer: this.analyzer,
        intake: this.intake,
        status: () => this.status(),
        shared: this.opts.shared,
        afterAnalyze: () => this.save(false),
        body: () => (read ??= readBody(req, NOTE_BODY_MAX)),
      });
      return sendJson(res, 200, body);
    } catch (err) {
      if (err instanceof HttpError || err instanceof BodyError) return sendError(res, err.status, err.message, err instanceof HttpError ? err.headers : {});
      throw err;
    } finally {
      // An unread body must not stall the connection.
      if (read === undefined) req.resume();
    }
  }

  status(): ServerStatus {
    const stats = this.analyzer.stats();
    const spans = spanCounts(this.intake.analyzed(stats), this.intake.counters, this.counters);
    const notifications = this.notifier.status();
    return {
      startedAt: iso(this.startedAt),
      uptimeSeconds: Math.round((this.opts.now() - this.startedAt) / 1000),
      live: this.intake.live,
      listeners: { otlpHttp: this.url, otlpGrpc: this.grpcAddress ?? null },
      eventTime: isoOrNull(stats.now),
      watermark: isoOrNull(stats.watermark),
      ingest: {
        requests: Object.fromEntries([...this.counters.requests].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
        grpcRequests: Object.fromEntries([...this.grpcAnswers].sort((a, b) => a[0].localeCompare(b[0]))),
        bytes: this.counters.bytes,
        spansReceived: spans.received,
        spansAccepted: spans.accepted,
        spansDropped: spans.dropped,
        spansFromFastClocks: stats.clockAhead,
      },
      drops: spans.drops,
      queue: {
        spans: this.intake.queued,
        capacity: this.intake.capacity,
        traceWaitMs: this.intake.traceWaitMs,
        traceWaitMode: this.opts.traceWaitMs === 'auto' ? 'auto' : 'fixed',
        bufferedTraces: stats.traces.buffered,
      },
      operations: operationCounts(stats),
      processes: stats.instances,
      store: { ...this.storeStatus },
      notifications: { healthy: notifications.every((t) => t.healthy), targets: notifications },
      incidents: stats.incidents,
      anomalies: stats.anomalies,
      services: healthOf(this.analyzer),
    };
  }

  private prometheus(): string {
    const s = this.status();
    const open = this.analyzer.incidents({ status: ['active', 'acknowledged'] });
    const active = this.analyzer.anomalies();
    const targets = s.notifications.targets;
    const byTarget = (pick: (t: TargetStatus) => number): Array<[Record<string, string>, number]> => targets.map((t) => [{ target: t.name, type: t.type }, pick(t)]);
    return new Exposition()
      .family('rootspan_otlp_requests_total', 'counter', 'OTLP/HTTP export requests answered, by HTTP status code (Node.js\'s own 400/408/431 on the HTTP port included).', Object.entries(s.ingest.requests).map(([code, n]) => [{ code }, n]))
      .family('rootspan_otlp_grpc_requests_total', 'counter', 'OTLP/gRPC export calls answered, by gRPC status.', Object.entries(s.ingest.grpcRequests).map(([code, n]) => [{ code }, n]))
      .family('rootspan_spans_received_total', 'counter', 'Spans that arrived: accepted, dropped (malformed and refused ones included) or still queued.', s.ingest.spansReceived)
      .family('rootspan_spans_accepted_total', 'counter', 'Spans the analyzer accepted.', s.ingest.spansAccepted)
      .family('rootspan_spans_dropped_total', 'counter', 'Spans not analysed, by reason.', Object.entries(s.drops).map(([reason, n]) => [{ reason }, n]))
      .family('rootspan_intake_queue_spans', 'gauge', 'Spans held for their traces or waiting for the analyzer.', s.queue.spans)
      .family('rootspan_intake_queue_capacity_spans', 'gauge', 'Spans the intake queue holds at most (then 429).', s.queue.capacity)
      .family('rootspan_trace_wait_seconds', 'gauge', 'How long spans are held for the rest of their trace.', s.queue.traceWaitMs / 1000)
      .family('rootspan_operations_tracked', 'gauge', 'Operations the analyzer tracks (at most maxOperations).', s.operations.tracked)
      .family('rootspan_overflow_requests_total', 'counter', 'Requests past maxOperations, folded into their service\'s rootspan.overflow operation (counted, not judged).', s.operations.overflowRequests)
      .family('rootspan_operations_evicted_total', 'counter', 'Operations forgotten at maxOperations to make room for new ones (quiet or not yet learned ones).', s.operations.evicted)
      .family('rootspan_messages_forgotten_total', 'counter', 'Messages whose send time was let go before a consumer took them (a consumer not traced here, or a queue over 16,384 messages behind): their wait is not measured.', s.operations.messagesForgotten)
      .family('rootspan_processes_tracked', 'gauge', 'Processes seen whose start is tracked (their first seconds are a warm-up whose latency is not judged).', s.processes.tracked)
      .family('rootspan_process_untracked_spans_total', 'counter', 'Spans of processes first seen while the process table was full (taken as warm).', s.processes.untrackedSpans)
      .family('rootspan_incidents_open', 'gauge', 'Active or acknowledged incidents, by severity.', SEVERITIES.map((sev) => [{ severity: sev }, open.filter((i) => i.severity === sev).length]))
      .family('rootspan_incidents_total', 'counter', 'Incidents opened.', s.incidents.total)
      .family('rootspan_anomalies_total', 'counter', 'Anomalies detected (each once, however often its severity rose), by kind.', ANOMALY_KINDS.map((kind) => [{ kind }, this.anomaliesByKind.get(kind) ?? 0]))
      .family('rootspan_anomalies_active', 'gauge', 'Anomaly episodes in progress, by kind.', ANOMALY_KINDS.map((kind) => [{ kind }, active.filter((a) => a.kind === kind).length]))
      .family('rootspan_notifications_delivered_total', 'counter', 'Incident notifications delivered, by target.', byTarget((t) => t.delivered))
      .family('rootspan_notifications_failed_total', 'counter', 'Incident notifications given up on, by target.', byTarget((t) => t.failed))
      .family('rootspan_notifications_retries_total', 'counter', 'Notification attempts retried, by target.', byTarget((t) => t.retries))
      .family('rootspan_notifications_dropped_total', 'counter', 'Notifications refused by a full queue, by target.', byTarget((t) => t.dropped))
      .family('rootspan_notifications_coalesced_total', 'counter', 'Unsent incident updates replaced by a newer update of the same incident, by target.', byTarget((t) => t.coalesced))
      .family('rootspan_notifications_queued', 'gauge', 'Notifications waiting, by target.', byTarget((t) => t.queued))
      .family('rootspan_store_write_failures_total', 'counter', 'Failed writes to the store.', s.store.failures)
      .family('rootspan_service_health', 'gauge', 'Health score 0-100 per service (see the README).', s.services.map((h) => [{ service: h.name, type: h.type }, h.health]))
      .text();
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.ticker);
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    const deadline = setTimeout(() => this.http.closeAllConnections(), CLOSE_DEADLINE_MS);
    await Promise.all([stopped, this.grpc?.close(CLOSE_DEADLINE_MS)]);
    clearTimeout(deadline);
    // What was accepted is analysed, saved and notified before the process goes.
    this.intake.releaseAll();
    this.analyzer.flush();
    await this.save(true);
    await this.notifier.close(CLOSE_DEADLINE_MS);
    await this.opts.store?.close();
  }
}

function unauthorized(res: ServerResponse): void {
  sendError(res, 401, UNAUTHORIZED_MESSAGE, UNAUTHORIZED_HEADERS);
}

/**
 * The request target as a URL (an origin-form target is all path: `//x` too, never a host) and the path it
 * is routed by, without trailing slashes; undefined when unreadable.
 */
function routeOf(target: string): { url: URL; path: string } | undefined {
  let url: URL;
  try {
    url = new URL(target.startsWith('/') ? `http://rootspan${target}` : target);
  } catch {
    return undefined;
  }
  return { url, path: url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname };
}
