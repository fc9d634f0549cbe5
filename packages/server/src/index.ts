/**
 * @rootspan/server — central rootspan: OTLP trace receivers (HTTP `POST /v1/traces`, gRPC on 4317), the `/aiops` REST
 * API, Prometheus metrics and incident notifications, over one analyzer of every service's spans.
 */
export { startServer } from './server.js';
export type { RestoredState, RootspanServer, ServerStatus, StoreStatus } from './server.js';
export { CENTRAL_RESOLVE_AFTER_MS, resolveServerOptions } from './options.js';
export type { ServerOptions, ResolvedServerOptions } from './options.js';
export { FileStore, ensureDir } from './store.js';
export type { ServerStore, StoreWrite, IncidentChange, IncidentSource } from './store.js';
export type { RedactOptions } from './redact.js';
export type { CorsOptions } from './cors.js';
export type { NotifyOptions, TargetStatus } from './notify/notifier.js';
export { sign as signWebhook } from './notify/targets.js';
export type { NotificationTarget, WebhookTarget, SlackTarget, PagerDutyTarget, NotifyEvent } from './notify/targets.js';
export type { ApiIncident, ApiAnomaly, ApiOperationMetrics, TimelineEntry } from './shapes.js';
export type { ApiGraph } from './graph.js';
export type { ApiSeries, ApiSeriesPoint, SeriesBaseline } from './series.js';
export type { ServiceHealth } from './health.js';
