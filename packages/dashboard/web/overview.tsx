/** The landing view: the service map beside the open incidents, or how to send spans when there are none. */
import type { ApiGraph, ApiIncident } from './api';
import { Severity, Status } from './badges';
import { opName, pct, time } from './format';
import { href, useApi, type Live } from './hooks';
import { ServiceMap } from './map';

export function Overview({ live }: { live: Live }) {
  const graph = useApi<ApiGraph>('/aiops/graph', live.version);
  const open = useApi<{ incidents: ApiIncident[] }>('/aiops/incidents?status=active,acknowledged', live.version);
  if (graph.error) return <div class="card error">Cannot load the service map: {graph.error.message}</div>;
  if (graph.data === undefined) return <div class="card loading">Loading…</div>;
  if (graph.data.services.length === 0 && graph.data.peers.length === 0) return <EmptyState spans={live.status?.ingest.spansAccepted ?? 0} />;
  const incidents = open.data?.incidents ?? [];
  // The event time the map is up to date with: its graph and incidents were both fetched after the status
  // that reported it (until then it shows the previous ones; a test or a user can tell).
  const current = graph.version === live.version && open.version === live.version;
  return (
    <div class="overview">
      <section class="card map-card" data-event-time={current ? (live.status?.eventTime ?? '') : undefined}>
        <div class="card-head">
          <h2>Service map</h2>
          <Legend />
        </div>
        <ServiceMap graph={graph.data} incidents={incidents} />
        {graph.data.rateWindowMs !== null && <div class="foot muted">Call and error rates over the last {Math.round(graph.data.rateWindowMs / 1000)} s of event time. Click a service for its charts.</div>}
      </section>
      <section class="card side">
        <div class="card-head">
          <h2>Open incidents</h2>
          <a href="#/incidents">all incidents →</a>
        </div>
        {incidents.length === 0 ? (
          <div class="calm">
            <span class="dot on" /> No open incidents. Everything is within its learned baseline.
          </div>
        ) : (
          <ul class="incident-cards">
            {incidents.map((inc) => (
              <li key={inc.id}>
                <a href={href(`/incidents/${encodeURIComponent(inc.id)}`)} class="incident-card" data-incident={inc.id}>
                  <div class="row">
                    <Severity value={inc.severity} />
                    <Status value={inc.status} />
                    <span class="muted right">opened {time(inc.openedAt)}</span>
                  </div>
                  <div class="title">{inc.title}</div>
                  <div class="muted">
                    root cause <b class="culprit-name">{opName(inc.rootCause.service, inc.rootCause.operation)}</b> · {pct(inc.rootCause.confidence, 0)} confidence
                  </div>
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

const LEGEND = [
  ['ok', 'healthy'],
  ['warn', 'degraded'],
  ['bad', 'failing'],
  ['idle', 'peer'],
  ['culprit', 'root cause'],
] as const;

function Legend() {
  return (
    <div class="legend">
      {LEGEND.map(([tone, text]) => (
        <span key={tone}>
          <i class={`sw ${tone}`} /> {text}
        </span>
      ))}
    </div>
  );
}

/** What a new user needs: where to point their exporters. */
function EmptyState({ spans }: { spans: number }) {
  const origin = location.origin;
  return (
    <section class="card empty-state" data-empty="true">
      <h2>No services yet</h2>
      <p>
        rootspan builds the service map, baselines and incidents from OpenTelemetry traces.{' '}
        {spans === 0 ? 'No spans have arrived yet.' : 'Spans are arriving; the map appears once the first traces are analysed.'} Point your services' OTLP exporters at
        this server:
      </p>
      <pre>
        <code>{`export OTEL_EXPORTER_OTLP_ENDPOINT=${origin}
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf   # or http/json
export OTEL_SERVICE_NAME=checkout                  # one name per service
# if rootspan serve runs with --token:
export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20<token>"`}</code>
      </pre>
      <p>From an OpenTelemetry Collector, add an exporter and put it in your traces pipeline:</p>
      <pre>
        <code>{`exporters:
  otlphttp/rootspan:
    endpoint: ${origin}`}</code>
      </pre>
      <p>
        Or replay a recorded OTLP/JSON file: <code>{`curl -H 'content-type: application/json' --data-binary @traces.json ${origin}/v1/traces`}</code>, then{' '}
        <code>{`curl -X POST ${origin}/aiops/analyze`}</code>. This page updates by itself.
      </p>
    </section>
  );
}
