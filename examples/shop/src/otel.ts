/**
 * The OpenTelemetry setup every instrumented shop service loads before its code
 * (`node --require ./dist/otel.cjs dist/service.cjs`): the NodeSDK with HTTP, Express and better-sqlite3
 * instrumentation, and rootspan next to the exporter, exactly as @rootspan/otel's README shows.
 *
 *   OTEL_SERVICE_NAME             the service name (the supervisor sets it)
 *   OTEL_RESOURCE_ATTRIBUTES      e.g. `service.version=2.0.0`
 *   OTEL_EXPORTER_OTLP_ENDPOINT   when set, spans are also exported there over OTLP/HTTP
 *   SHOP_ROOTSPAN_OPTIONS         JSON of rootspan options (`resolveAfterMs`, `bucketMs`, ...); default none
 *   SHOP_DATA_DIR                 when set, rootspan keeps its baselines and incident history in
 *                                 `<dir>/rootspan-<service>.db` (@rootspan/sqlite): a restart needs no warm-up
 *
 * Besides the incident lines, each anomaly episode rootspan reports (`onAnomaly`) is logged as one line
 * `rootspan anomaly ... {"event":"rootspan.anomaly", ...}`: the supervisor relays both.
 */
import { join } from 'node:path';
import { type RequestOptions } from 'node:http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Anomaly } from '@rootspan/engine';
import { consoleIncidentLogger, rootspan } from '@rootspan/otel';
import { sqliteStore } from '@rootspan/sqlite';
import { BetterSqlite3Instrumentation } from 'opentelemetry-plugin-better-sqlite3';
import { downstreamUrls } from './env.js';

// Traces only: without these the SDK would start OTLP metrics and logs exporters of its own.
process.env.OTEL_METRICS_EXPORTER ??= 'none';
process.env.OTEL_LOGS_EXPORTER ??= 'none';

/** `host:port` of each service this one calls → its name, for `peer.service` on client spans. */
const peers = new Map<string, string>();
for (const [name, url] of downstreamUrls()) peers.set(new URL(url).host, name);

function peerService(request: RequestOptions): Record<string, string> {
  const host = `${request.hostname ?? request.host ?? ''}:${request.port ?? ''}`;
  const name = peers.get(host);
  return name === undefined ? {} : { 'peer.service': name };
}

// Created (and so enabled) before rootspan opens its store, which loads better-sqlite3: the service's own
// better-sqlite3 is then patched like any module loaded after the hooks.
const instrumentations = [
  new HttpInstrumentation({
    // Chaos and health checks are operator traffic, not the shop's.
    ignoreIncomingRequestHook: (req) => /^\/(simulate|healthz)/.test(req.url ?? ''),
    startOutgoingSpanHook: peerService,
  }),
  new ExpressInstrumentation(),
  new BetterSqlite3Instrumentation(),
];

const options = JSON.parse(process.env.SHOP_ROOTSPAN_OPTIONS ?? '{}') as Record<string, unknown>;
const dataDir = process.env.SHOP_DATA_DIR;
const store = dataDir ? sqliteStore({ path: join(dataDir, `rootspan-${process.env.OTEL_SERVICE_NAME ?? 'service'}.db`) }) : undefined;
/** One line per anomaly episode, the anomaly's own fields (its exemplar traces and cause left out). */
function logAnomaly(a: Anomaly): void {
  const { id, kind, signal, service, operation, firstAt, at, observed, expected, unit, severity, samples, explanation } = a;
  const fields = { event: 'rootspan.anomaly', id, kind, signal, service, operation, firstAt, at, observed, expected, unit, severity, samples, explanation };
  console.info(`rootspan anomaly ${id} ${signal} [${severity}]: ${explanation} ${JSON.stringify(fields)}`);
}

const { processor } = rootspan({ ...options, store, onIncident: consoleIncidentLogger(), onAnomaly: logAnomaly });
const spanProcessors: SpanProcessor[] = [processor];
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) spanProcessors.unshift(new BatchSpanProcessor(new OTLPTraceExporter()));

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME,
  spanProcessors,
  instrumentations,
});
sdk.start();

function shutdown(): void {
  // Flushes the exporter and rootspan (which may still log an incident event), then exits.
  setTimeout(() => process.exit(0), 5000).unref();
  sdk.shutdown().finally(() => process.exit(0));
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
