import { LIVE_RESOLVE_AFTER_MS, type AnalyzerOptions } from '@rootspan/engine';
import { checkCors, type CorsOptions } from './cors.js';
import type { RedactOptions } from './redact.js';
import type { NotifyOptions } from './notify/notifier.js';
import { checkTarget, type NotificationTarget } from './notify/targets.js';
import type { IncidentSource, ServerStore } from './store.js';

/** Options of {@link createServer}; also the fields of a `rootspan serve --config` JSON file. Defaults in brackets. */
export interface ServerOptions {
  /** [4318, the OTLP/HTTP port]; 0 picks a free port. */
  port?: number;
  /**
   * The OTLP/gRPC port [4317; a free port when `port` is 0]; 0 picks a free port, `false` turns gRPC off.
   * It listens on `host` too and takes the same tokens (metadata `authorization: Bearer <token>`).
   */
  grpcPort?: number | false;
  /** [127.0.0.1]; `0.0.0.0` to accept spans from other hosts (set a token then). */
  host?: string;
  /** Bearer token required on `/v1/traces`, `/aiops/*` and `/metrics` [none: open]. */
  token?: string;
  /** A second token accepted on `/v1/traces` only, for exporters that must not read the API [none]. */
  ingestToken?: string;
  /** Largest request body, compressed and decompressed, in bytes [16 MiB]. */
  maxBodyBytes?: number;
  /** A request (headers and body) must arrive within this time, or gets 408 [30000 ms]. */
  requestTimeoutMs?: number;
  /**
   * Cross-origin requests from web pages (a browser app's OTLP/HTTP exporter, a dashboard elsewhere) on the
   * HTTP port [off: no CORS headers, as before].
   */
  cors?: CorsOptions;
  /** Spans held or waiting for analysis; beyond it `/v1/traces` answers 429 with Retry-After [100000]. */
  maxQueuedSpans?: number;
  /**
   * How long after a span ends the receiver waits for the rest of its trace (other services' exporters send
   * seconds apart) before analysing, in ms; `auto` learns it from the arrival lag (starting at 6 s) [auto].
   */
  traceWaitMs?: number | 'auto';
  /** Removed from spans before anything is stored [query strings]. */
  redact?: RedactOptions;
  /**
   * The address people reach this server at (behind a proxy or a load balancer: `https://rootspan.example.com`,
   * a path prefix allowed), for the links in notifications [the address it listens on, which a reader
   * elsewhere may not reach: `http://0.0.0.0:4318`].
   */
  publicUrl?: string;
  /** Incident notification targets [none]. */
  notifications?: NotificationTarget[];
  /** Notification delivery: queue size, retries, backoff, timeout. */
  notify?: NotifyOptions;
  /**
   * Analyzer options (thresholds, windows, limits), as for `rootspan analyze --config`; the engine's defaults
   * except `resolveAfterMs` [{@link CENTRAL_RESOLVE_AFTER_MS}]: on live traffic an incident then resolves
   * about a minute after its fault stops (its anomalies end after `anomalyEndMs` of normal signal, then this
   * quiet period) instead of five.
   */
  analyzer?: AnalyzerOptions;
  /** Where learned state and incidents persist [memory only]. */
  store?: ServerStore | (ServerStore & IncidentSource);
  /**
   * List and show incidents from the store instead of this receiver's analyzer [false]: with a store shared
   * by several receivers (`@rootspan/postgres`), the API then shows every receiver's incidents, merged.
   */
  sharedIncidents?: boolean;
  /** How often learned state is saved to the store [30000 ms]; it is also saved on close. */
  saveIntervalMs?: number;
  /** Wall clock [Date.now]; injectable for tests. */
  now?: () => number;
  /** One line per operational event (queue full, a notification target failing) [stderr]. */
  log?: (line: string) => void;
}

/** The central server's default quiet period before an incident resolves itself: the engine's live one. */
export const CENTRAL_RESOLVE_AFTER_MS = LIVE_RESOLVE_AFTER_MS;

export interface ResolvedServerOptions {
  port: number;
  /** undefined: no gRPC listener. */
  grpcPort: number | undefined;
  host: string;
  token: string | undefined;
  ingestToken: string | undefined;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  cors: CorsOptions | undefined;
  maxQueuedSpans: number;
  traceWaitMs: number | 'auto';
  redact: RedactOptions;
  /** Without a trailing slash; undefined: the listening address. */
  publicUrl: string | undefined;
  notifications: NotificationTarget[];
  notify: NotifyOptions;
  analyzer: AnalyzerOptions;
  store: ServerStore | undefined;
  shared: IncidentSource | undefined;
  saveIntervalMs: number;
  now: () => number;
  log: (line: string) => void;
}

const KNOWN = new Set([
  'port',
  'grpcPort',
  'host',
  'token',
  'ingestToken',
  'maxBodyBytes',
  'requestTimeoutMs',
  'cors',
  'maxQueuedSpans',
  'traceWaitMs',
  'redact',
  'publicUrl',
  'notifications',
  'notify',
  'analyzer',
  'store',
  'sharedIncidents',
  'saveIntervalMs',
  'now',
  'log',
]);

function count(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new TypeError(`option ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

/** Fills in defaults and validates once; throws a TypeError naming the bad option. */
export function resolveServerOptions(o: ServerOptions = {}): ResolvedServerOptions {
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) throw new TypeError(`unknown option ${key}`);
  const port = o.port === undefined ? 4318 : count('port', o.port, 0);
  if (port > 65535) throw new TypeError(`option port must be at most 65535, got ${port}`);
  // A test or a second receiver on a free HTTP port must not clash on 4317: then gRPC takes a free port too.
  const grpcPort = o.grpcPort === false ? undefined : o.grpcPort === undefined ? (port === 0 ? 0 : 4317) : o.grpcPort;
  if (grpcPort !== undefined && (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535)) {
    throw new TypeError(`option grpcPort must be a port from 0 to 65535 or false (no gRPC listener), got ${JSON.stringify(o.grpcPort)}`);
  }
  if (o.traceWaitMs !== undefined && o.traceWaitMs !== 'auto') count('traceWaitMs', o.traceWaitMs, 0);
  for (const name of ['token', 'ingestToken', 'host'] as const) {
    if (o[name] !== undefined && (typeof o[name] !== 'string' || o[name] === '')) throw new TypeError(`option ${name} must be a non-empty string`);
  }
  if (o.analyzer !== undefined && (typeof o.analyzer !== 'object' || o.analyzer === null || Array.isArray(o.analyzer))) throw new TypeError('option analyzer must be an object');
  if (o.notifications !== undefined && !Array.isArray(o.notifications)) throw new TypeError('option notifications must be an array');
  const redact = o.redact ?? {};
  if (redact.attributes !== undefined && (!Array.isArray(redact.attributes) || redact.attributes.some((k) => typeof k !== 'string'))) {
    throw new TypeError('option redact.attributes must be an array of attribute keys');
  }
  return {
    port,
    grpcPort,
    host: o.host ?? '127.0.0.1',
    token: o.token,
    ingestToken: o.ingestToken,
    maxBodyBytes: o.maxBodyBytes === undefined ? 16 * 1024 * 1024 : count('maxBodyBytes', o.maxBodyBytes, 1),
    requestTimeoutMs: o.requestTimeoutMs === undefined ? 30_000 : count('requestTimeoutMs', o.requestTimeoutMs, 1),
    cors: checkCors(o.cors),
    maxQueuedSpans: o.maxQueuedSpans === undefined ? 100_000 : count('maxQueuedSpans', o.maxQueuedSpans, 1),
    traceWaitMs: o.traceWaitMs ?? 'auto',
    redact,
    publicUrl: o.publicUrl === undefined ? undefined : checkPublicUrl(o.publicUrl),
    notifications: (o.notifications ?? []).map((t, i) => checkTarget(t, `notifications[${i}]`)),
    notify: checkNotify(o.notify),
    analyzer: { resolveAfterMs: CENTRAL_RESOLVE_AFTER_MS, ...o.analyzer },
    store: o.store,
    shared: sharedSource(o),
    saveIntervalMs: o.saveIntervalMs === undefined ? 30_000 : count('saveIntervalMs', o.saveIntervalMs, 1),
    now: o.now ?? Date.now,
    log: o.log ?? ((line) => process.stderr.write(`rootspan: ${line}\n`)),
  };
}

/** An absolute http(s) URL with no query or fragment, without its trailing slash. */
function checkPublicUrl(v: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof v === 'string' ? new URL(v) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new TypeError(`option publicUrl must be an absolute http(s) URL without query or fragment (https://rootspan.example.com), got ${JSON.stringify(v)}`);
  }
  return url.href.replace(/\/+$/, '');
}

/** Each `notify` option's least value: a queue of 0 or one attempt would silently send nothing, or never retry by design. */
const NOTIFY_MIN: Record<keyof NotifyOptions, number> = { maxQueue: 1, maxAttempts: 1, backoffMs: 0, maxBackoffMs: 0, timeoutMs: 1, updateIntervalMs: 0 };

function checkNotify(notify: NotifyOptions | undefined): NotifyOptions {
  if (notify === undefined) return {};
  if (typeof notify !== 'object' || notify === null || Array.isArray(notify)) throw new TypeError('option notify must be an object');
  for (const [key, v] of Object.entries(notify)) {
    const min = NOTIFY_MIN[key as keyof NotifyOptions];
    if (min === undefined) throw new TypeError(`unknown option notify.${key} (known: ${Object.keys(NOTIFY_MIN).join(', ')})`);
    if (v !== undefined) count(`notify.${key}`, v, min);
  }
  return notify;
}

function sharedSource(o: ServerOptions): IncidentSource | undefined {
  if (o.sharedIncidents !== true) return undefined;
  const store = o.store as Partial<IncidentSource> | undefined;
  if (typeof store?.incidents !== 'function' || typeof store.incident !== 'function') {
    throw new TypeError('option sharedIncidents needs a store that lists incidents (e.g. @rootspan/postgres)');
  }
  return store as IncidentSource;
}
