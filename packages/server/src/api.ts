/** The `/aiops/*` REST API: JSON in and out, 404 for unknown ids, 400 for bad parameters. */
import type { Analyzer, Incident, IncidentFilter, IncidentNote, IncidentStatus, OperationBaseline, ServiceGraph, Severity } from '@rootspan/engine';
import { ALLOW_READ, HttpError, timeParam } from './http.js';
import { apiGraph, type ApiGraph } from './graph.js';
import { serviceHealth, type ServiceHealth } from './health.js';
import { noteOf } from './incident-note.js';
import type { Intake } from './intake.js';
import type { IncidentSource } from './store.js';
import { anomalyJson, incidentJson, isoOrNull, metricsJson, timeline } from './shapes.js';

export interface ApiContext {
  analyzer: Analyzer;
  intake: Intake;
  /** The `/aiops/status` body. */
  status: () => unknown;
  /** Where incidents are listed from instead of the analyzer: a store shared by several receivers. */
  shared: IncidentSource | undefined;
  /** Called after `POST /aiops/analyze` and changes through a shared store: pending incident changes are written before the answer. */
  afterAnalyze: () => Promise<void>;
  /** The request's body, read when called (only an acknowledgement or resolution reads one: see {@link noteOf}). */
  body: () => Promise<Buffer>;
}

const STATUSES: readonly IncidentStatus[] = ['active', 'acknowledged', 'resolved'];
/** Severities from least to most: a filter's `severity` is a minimum, and metrics list them in this order. */
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
const INCIDENT_PARAMS = new Set(['status', 'severity', 'service', 'operation', 'endpoint', 'since', 'limit', 'offset']);
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * The engine's service graph, with a node typed `service` when any of its operations comes from its own
 * (server) spans: callers' client spans also describe it, as a peer, and may have been seen first.
 */
function serviceGraph(analyzer: Analyzer, baselines: readonly OperationBaseline[]): ServiceGraph {
  const instrumented = new Set(baselines.filter((b) => b.nodeType === 'service').map((b) => b.service));
  const graph = analyzer.serviceGraph();
  return { ...graph, nodes: graph.nodes.map((n) => ({ ...n, type: instrumented.has(n.service) ? 'service' : 'peer' })) };
}

/** Health of every node of the service graph, from the latest window, baselines and open incidents. */
export function healthOf(analyzer: Analyzer): ServiceHealth[] {
  const baselines = analyzer.baselines();
  const nodes = serviceGraph(analyzer, baselines).nodes.map((n) => ({ service: n.service, type: n.type }));
  return serviceHealth(nodes, analyzer.metrics(), baselines, analyzer.incidents({ status: ['active', 'acknowledged'] }));
}

/** Answers one `/aiops/...` request; `path` is without the `/aiops` prefix. Throws {@link HttpError} for refusals. */
export async function routeApi(method: string, path: string, query: URLSearchParams, ctx: ApiContext): Promise<unknown> {
  const parts = path.split('/').filter((p) => p !== '').map(decodeSegment);
  const [head, id, action] = parts;
  const get = method === 'GET' || method === 'HEAD';
  if (head === 'incidents' && parts.length === 1) return need(get, 'GET') && listIncidents(ctx, query);
  if (head === 'incidents' && parts.length === 2) {
    need(get, 'GET');
    const inc = found(ctx.shared ? (await ctx.shared.incident(id))?.incident : ctx.analyzer.incident(id), id);
    return { ...incidentJson(inc), timeline: timeline(inc) };
  }
  if (head === 'incidents' && parts.length === 3 && (action === 'acknowledge' || action === 'resolve')) {
    need(method === 'POST', 'POST');
    const note = noteOf(await ctx.body(), action);
    return ctx.shared ? changeShared(ctx, ctx.shared, id, action, note) : incidentJson(change(ctx.analyzer, id, action, note));
  }
  if (parts.length === 1 && head === 'analyze') {
    need(method === 'POST', 'POST');
    ctx.intake.releaseAll();
    ctx.analyzer.flush();
    await ctx.afterAnalyze();
    const stats = ctx.analyzer.stats();
    return {
      analyzedAt: isoOrNull(stats.now),
      spans: { ingested: stats.ingested, accepted: stats.accepted, dropped: stats.dropped },
      anomalies: ctx.analyzer.anomalies().map(anomalyJson),
      incidents: ctx.analyzer.incidents({ status: ['active', 'acknowledged'] }).map(incidentJson),
    };
  }
  if (!get) throw new HttpError(405, `use GET for /aiops/${parts.join('/')}`, { allow: ALLOW_READ });
  if (parts.length === 1 && head === 'metrics') return metrics(ctx.analyzer, serviceParam(query), false);
  if (parts.length === 2 && head === 'metrics') {
    checkParams(query, NO_PARAMS);
    return metrics(ctx.analyzer, id, true);
  }
  if (parts.length === 1 && head === 'baselines') {
    const service = serviceParam(query);
    return { baselines: ctx.analyzer.baselines().filter((b) => service === undefined || b.service === service) };
  }
  if (parts.length === 1 && head === 'anomalies') {
    const service = serviceParam(query);
    return { anomalies: ctx.analyzer.anomalies().filter((a) => service === undefined || a.service === service).map(anomalyJson) };
  }
  if (parts.length === 1 && head === 'graph') {
    checkParams(query, NO_PARAMS);
    return graph(ctx);
  }
  if (parts.length === 1 && head === 'status') {
    checkParams(query, NO_PARAMS);
    return ctx.status();
  }
  throw new HttpError(404, `no such endpoint: /aiops/${parts.join('/')}`);
}

/** Acknowledges or resolves one of this receiver's incidents. */
function change(analyzer: Analyzer, id: string, action: 'acknowledge' | 'resolve', note: IncidentNote | undefined): Incident {
  const before = found(analyzer.incident(id), id);
  if (action === 'acknowledge' && before.status === 'resolved') throw new HttpError(409, `incident ${id} is already resolved`);
  return found(action === 'acknowledge' ? analyzer.acknowledge(id, note) : analyzer.resolve(id, note), id);
}

/**
 * With a shared store the id is a merged incident's: the change applies to this receiver's members of it
 * (each receiver owns its analyzer's incidents), is written, and the merged incident is answered.
 */
async function changeShared(ctx: ApiContext, shared: IncidentSource, id: string, action: 'acknowledge' | 'resolve', note: IncidentNote | undefined) {
  const merged = found((await shared.incident(id))?.incident, id) as Incident & { members?: string[] };
  const own = (merged.members ?? [id]).map((m) => shared.localId?.(m)).filter((m): m is string => m !== undefined && ctx.analyzer.incident(m) !== undefined);
  if (own.length === 0) throw new HttpError(409, `incident ${id} was detected by other receivers only (${(merged.members ?? []).join(', ')}): change it there`);
  for (const m of own) if (!(action === 'acknowledge' && ctx.analyzer.incident(m)!.status === 'resolved')) change(ctx.analyzer, m, action, note);
  await ctx.afterAnalyze();
  return incidentJson(found((await shared.incident(id))?.incident, id));
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `bad URL encoding in '${s}'`);
  }
}

function need(ok: boolean, method: 'GET' | 'POST'): true {
  if (!ok) throw new HttpError(405, `use ${method}`, { allow: method === 'GET' ? ALLOW_READ : method });
  return true;
}

function found(inc: Incident | undefined, id: string): Incident {
  if (inc === undefined) throw new HttpError(404, `no incident '${id}'`);
  return inc;
}

async function listIncidents(ctx: ApiContext, query: URLSearchParams) {
  // Statuses may be listed either way.
  checkParams(query, INCIDENT_PARAMS, 'status');
  const filter: IncidentFilter = {};
  const status = query.has('status') ? query.getAll('status').join(',') : null;
  if (status !== null) {
    const list = status.split(',').map((s) => s.trim().toLowerCase());
    for (const s of list) if (!STATUSES.includes(s as IncidentStatus)) throw new HttpError(400, `bad status '${s}' (use ${STATUSES.join(', ')}, comma-separated)`);
    filter.status = list as IncidentStatus[];
  }
  const severity = query.get('severity');
  if (severity !== null) {
    if (!SEVERITIES.includes(severity.toLowerCase() as Severity)) throw new HttpError(400, `bad severity '${severity}' (use ${SEVERITIES.join(', ')}: the minimum)`);
    filter.severity = severity.toLowerCase() as Severity;
  }
  const service = query.get('service');
  if (service !== null) filter.service = service;
  const operation = query.get('operation');
  if (operation !== null) filter.operation = operation;
  const since = timeParam(query, 'since');
  const from = since ?? -Infinity;
  const limitText = query.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new HttpError(400, `bad limit '${limitText}' (1 to ${MAX_LIMIT})`);
  // Pages past the newest `limit`: `total` says how many match.
  const offsetText = query.get('offset');
  const offset = offsetText === null ? 0 : Number(offsetText);
  if (offsetText === '' || !Number.isSafeInteger(offset) || offset < 0) throw new HttpError(400, `bad offset '${offsetText}' (0 or more)`);
  // The prototype's `endpoint=/payment` matches an operation by its route, whatever the method.
  const endpoint = query.get('endpoint');
  const onEndpoint = (inc: Incident) =>
    endpoint === null || [inc.rootCause, ...inc.affected].some((o) => o.operation !== null && (o.operation === endpoint || o.operation.endsWith(` ${endpoint}`)));
  const listed = ctx.shared ? (await ctx.shared.incidents({ ...filter, ...(since !== undefined ? { from } : {}) })).incidents : ctx.analyzer.incidents(filter);
  const matching = listed.filter((inc) => inc.updatedAt >= from && onEndpoint(inc));
  return { incidents: matching.slice(offset, offset + limit).map(incidentJson), total: matching.length };
}

/**
 * Refuses a parameter the endpoint does not take (ignored, a mistyped filter would answer everything) and
 * one given twice (half ignored), unless it is `repeatable`.
 */
function checkParams(query: URLSearchParams, accepted: ReadonlySet<string>, repeatable?: string): void {
  for (const key of query.keys()) {
    if (!accepted.has(key)) {
      throw new HttpError(400, `unknown parameter '${key}' (${accepted.size === 0 ? 'this endpoint takes none' : `accepted: ${[...accepted].join(', ')}`})`);
    }
    if (key !== repeatable && query.getAll(key).length > 1) throw new HttpError(400, `parameter '${key}' given more than once`);
  }
}

const SERVICE_PARAM: ReadonlySet<string> = new Set(['service']);
const NO_PARAMS: ReadonlySet<string> = new Set();

/** The one filter the lists of operations take, `service`. */
function serviceParam(query: URLSearchParams): string | undefined {
  checkParams(query, SERVICE_PARAM);
  return query.get('service') ?? undefined;
}

/** `/aiops/metrics` (`service` filters the list) or, `perService`, `/aiops/metrics/:service` with the service's health. */
function metrics(analyzer: Analyzer, service: string | undefined, perService: boolean) {
  const baselines = new Map(analyzer.baselines().map((b) => [`${b.service}\u0000${b.operation}`, b]));
  const all = analyzer.metrics().filter((m) => service === undefined || m.service === service);
  const operations = all.map((m) => metricsJson(m, baselines.get(`${m.service}\u0000${m.operation}`)));
  if (!perService || service === undefined) return { at: isoOrNull(analyzer.now()), metrics: operations };
  const health = healthOf(analyzer).find((h) => h.name === service);
  if (health === undefined) throw new HttpError(404, `no service '${service}'`);
  return { service, at: isoOrNull(analyzer.now()), health, operations };
}

function graph(ctx: ApiContext): ApiGraph {
  return apiGraph(serviceGraph(ctx.analyzer, ctx.analyzer.baselines()), healthOf(ctx.analyzer));
}
