/** Every operation's latest window, and the charts of the one picked over a chosen time range. */
import { useMemo } from 'preact/hooks';
import { query, type ApiIncident, type ApiOperationMetrics, type ApiSeries } from './api';
import { OperationCharts, type Marker } from './charts';
import { ms, pct, rate } from './format';
import { href, useApi, type Live } from './hooks';

const RANGES: Record<string, number> = { '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 };

export function OperationsPage({ live, params }: { live: Live; params: URLSearchParams }) {
  const service = params.get('service') ?? undefined;
  const rangeName = params.get('range') && RANGES[params.get('range')!] ? params.get('range')! : '1h';
  const metrics = useApi<{ metrics: ApiOperationMetrics[] }>('/aiops/metrics', live.version);
  const ops = (metrics.data?.metrics ?? []).filter((m) => service === undefined || m.service === service);
  const operation = params.get('operation') ?? ops[0]?.operation;
  const selected = ops.find((m) => m.operation === operation) ?? ops[0];
  // Ranges end at the analyzer's event time: a replayed file shows its own hours, not the wall clock's.
  const now = live.status?.eventTime ? Date.parse(live.status.eventTime) : null;
  const range: [number, number] | null = now === null ? null : [now - RANGES[rangeName], now + 60_000];
  const seriesPath = selected && range ? `/aiops/series${query({ service: selected.service, operation: selected.operation, from: range[0], to: range[1] })}` : null;
  const series = useApi<ApiSeries>(seriesPath, live.version);
  const incidents = useApi<{ incidents: ApiIncident[] }>(selected ? `/aiops/incidents${query({ service: selected.service, limit: 100 })}` : null, live.version);
  const markers = useMemo<Marker[]>(() => (incidents.data?.incidents ?? []).map((i) => ({ at: Date.parse(i.openedAt), label: i.id })), [incidents.data]);
  const link = (p: Record<string, string | undefined>) => href('/operations', { service, operation: selected?.operation, range: rangeName, ...p });
  const chart = series.data?.series[0];
  return (
    <div class="operations">
      <section class="card ops-list">
        <div class="card-head">
          <h2>{service ? `Operations of ${service}` : 'Operations'}</h2>
          {service && <a href={href('/operations')}>all services</a>}
        </div>
        {metrics.error && <div class="error">{metrics.error.message}</div>}
        {metrics.data && ops.length === 0 && <div class="muted">No operations yet{service ? ` for ${service}` : ''}.</div>}
        <table class="table compact">
          <thead>
            <tr>
              <th>Operation</th>
              <th>Rate</th>
              <th>Errors</th>
              <th>p95</th>
            </tr>
          </thead>
          <tbody>
            {ops.map((m) => (
              <tr key={`${m.service} ${m.operation}`} class={`${m === selected ? 'on' : ''}${m.anomalous ? ' anomalous' : ''}`} onClick={() => (location.hash = link({ service: m.service, operation: m.operation }))}>
                <td>
                  <div>{m.operation}</div>
                  <div class="muted">{m.service}</div>
                </td>
                <td>{rate(m.rate)}</td>
                <td class={m.errorRate > 0.05 ? 'bad-text' : ''}>{pct(m.errorRate)}</td>
                <td>{ms(m.latency?.p95)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <div class="card-head">
          <h2>{selected ? `${selected.service} · ${selected.operation}` : 'Charts'}</h2>
          <div class="segmented">
            {Object.keys(RANGES).map((r) => (
              <a key={r} class={r === rangeName ? 'on' : ''} href={link({ range: r, service: selected?.service })}>
                {r}
              </a>
            ))}
          </div>
        </div>
        {series.error && <div class="error">{series.error.message}</div>}
        {chart && range && <OperationCharts series={chart} markers={markers} range={range} stacked />}
        {series.data && !chart && <div class="muted">No rollups in this range yet: points appear once per minute of event time.</div>}
        <div class="foot muted">Per-minute rollups. The shaded band is the learned normal (typical to p95 latency); dashed lines are baselines; red lines mark incidents.</div>
      </section>
    </div>
  );
}
