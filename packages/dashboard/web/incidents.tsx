/** The incidents list (filters in the URL) and one incident's page with its actions. */
import { useMemo, useState } from 'preact/hooks';
import { api, query, type ApiGraph, type ApiIncident, type ApiSeries, type IncidentDetail } from './api';
import { Severity, Status } from './badges';
import { OperationCharts, type Marker } from './charts';
import { dateTime, duration, inUnit, opName, pct, time } from './format';
import { href, useApi, type Live } from './hooks';

const STATUSES = ['active', 'acknowledged', 'resolved'] as const;
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

export function IncidentsPage({ live, params }: { live: Live; params: URLSearchParams }) {
  const filter = { status: params.get('status') ?? '', severity: params.get('severity') ?? '', service: params.get('service') ?? '' };
  const list = useApi<{ incidents: ApiIncident[]; total: number }>(`/aiops/incidents${query({ ...filter, limit: 500 })}`, live.version);
  const graph = useApi<ApiGraph>('/aiops/graph', live.version);
  const services = [...(graph.data?.services ?? []), ...(graph.data?.peers ?? [])].map((s) => s.name).sort();
  const set = (key: keyof typeof filter, value: string) => (location.hash = href('/incidents', { ...filter, [key]: value }));
  return (
    // The filters the list below answers, as in the URL (`status=active`): it holds nothing of another's.
    <section class="card" data-filter={query(filter).slice(1)}>
      <div class="card-head">
        <h2>Incidents</h2>
        <div class="filters">
          <Filter label="Status" name="status" value={filter.status} options={STATUSES.map((s) => [s, s])} onChange={(v) => set('status', v)} />
          <Filter label="Severity" name="severity" value={filter.severity} options={SEVERITIES.map((s) => [s, `${s} or worse`])} onChange={(v) => set('severity', v)} />
          <Filter label="Service" name="service" value={filter.service} options={services.map((s) => [s, s])} onChange={(v) => set('service', v)} />
        </div>
      </div>
      {list.error && <div class="error">{list.error.message}</div>}
      {list.data && list.data.incidents.length === 0 && <div class="calm">No incidents match these filters.</div>}
      {list.data && list.data.incidents.length > 0 && (
        <table class="table incidents">
          <thead>
            <tr>
              <th>Severity</th>
              <th>Incident</th>
              <th>Root cause</th>
              <th>Confidence</th>
              <th>Status</th>
              <th>Opened</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {list.data.incidents.map((inc) => (
              <tr key={inc.id} data-incident={inc.id} onClick={() => (location.hash = href(`/incidents/${encodeURIComponent(inc.id)}`))}>
                <td>
                  <Severity value={inc.severity} />
                </td>
                <td>
                  <a href={href(`/incidents/${encodeURIComponent(inc.id)}`)}>{inc.title}</a>
                  <div class="muted mono">{inc.id}</div>
                </td>
                <td>{opName(inc.rootCause.service, inc.rootCause.operation)}</td>
                <td>{pct(inc.rootCause.confidence, 0)}</td>
                <td>
                  <Status value={inc.status} />
                </td>
                <td>{dateTime(inc.openedAt)}</td>
                <td>{duration(inc.openedAt, inc.resolvedAt ?? inc.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data && list.data.total > list.data.incidents.length && (
        <div class="foot muted">
          Showing the newest {list.data.incidents.length} of {list.data.total}.
        </div>
      )}
    </section>
  );
}

function Filter(p: { label: string; name: string; value: string; options: Array<[string, string]>; onChange: (value: string) => void }) {
  return (
    <label>
      {p.label}
      <select name={p.name} value={p.value} onChange={(e) => p.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">any</option>
        {p.options.map(([value, text]) => (
          <option value={value}>{text}</option>
        ))}
      </select>
    </label>
  );
}

/** Chart range around an incident: from 30 minutes before it opened to 10 minutes after it ended (or now). */
const BEFORE_MS = 30 * 60_000;
const AFTER_MS = 10 * 60_000;

export function IncidentPage({ live, id }: { live: Live; id: string }) {
  const detail = useApi<IncidentDetail>(`/aiops/incidents/${encodeURIComponent(id)}`, live.version);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const inc = detail.data;
  const opened = inc ? Date.parse(inc.openedAt) : 0;
  const end = inc ? Math.min(inc.resolvedAt ? Date.parse(inc.resolvedAt) + AFTER_MS : Infinity, live.status?.eventTime ? Date.parse(live.status.eventTime) + 60_000 : Infinity) : 0;
  const range: [number, number] = [opened - BEFORE_MS, Number.isFinite(end) ? end : opened + AFTER_MS];
  const seriesPath = inc ? `/aiops/series${query({ service: inc.rootCause.service, operation: inc.rootCause.operation, from: range[0], to: range[1] })}` : null;
  const series = useApi<ApiSeries>(seriesPath, live.version);
  const markers = useMemo<Marker[]>(() => (inc ? [{ at: opened, label: `${inc.id} opened` }] : []), [inc?.id, opened]);

  if (detail.error) return <div class="card error">{detail.error.message}</div>;
  if (inc === undefined) return <div class="card loading">Loading…</div>;
  const act = async (action: 'acknowledge' | 'resolve') => {
    setBusy(true);
    setActionError(null);
    try {
      await api(`/aiops/incidents/${encodeURIComponent(inc.id)}/${action}`, { method: 'POST' });
      live.bump();
    } catch (err) {
      setActionError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const rc = inc.rootCause;
  const chart = series.data?.series[0];
  // Scores are relative (the engine's evidence weights): bars compare candidates with the strongest.
  const topScore = Math.max(...inc.candidates.map((c) => c.score), Number.MIN_VALUE);
  return (
    <div class="incident" data-incident={inc.id}>
      <div class="incident-head card">
        <div>
          <a href="#/incidents" class="muted">
            ← Incidents
          </a>
          <h1>{inc.title}</h1>
          <div class="row">
            <Severity value={inc.severity} />
            <Status value={inc.status} />
            <span class="muted mono">{inc.id}</span>
            <span class="muted">
              opened {dateTime(inc.openedAt)} · {inc.resolvedAt ? `resolved after ${duration(inc.openedAt, inc.resolvedAt)}` : `open for ${duration(inc.openedAt, inc.updatedAt)}`}
              {inc.acknowledgedAt && ` · acknowledged ${time(inc.acknowledgedAt)}${inc.acknowledgement?.by ? ` by ${inc.acknowledgement.by}` : ''}`}
            </span>
            {inc.mergedInto && (
              <span class="muted" data-merged-into={inc.mergedInto}>
                merged into <a href={href(`/incidents/${encodeURIComponent(inc.mergedInto)}`)}>{inc.mergedInto}</a>
              </span>
            )}
          </div>
        </div>
        <div class="actions">
          <button class="primary" data-action="acknowledge" disabled={busy || inc.status !== 'active'} onClick={() => act('acknowledge')}>
            Acknowledge
          </button>
          <button class="danger" data-action="resolve" disabled={busy || inc.status === 'resolved'} onClick={() => act('resolve')}>
            Resolve
          </button>
          {actionError && <div class="error">{actionError}</div>}
        </div>
      </div>
      <div class="grid2">
        <section class="card rootcause" data-root-cause={rc.service}>
          <h2>Root cause</h2>
          <div class="culprit-big">
            <span class="svc">{rc.service}</span>
            {rc.operation && <span class="op mono">{rc.operation}</span>}
            <span class="kind">{rc.kind}</span>
          </div>
          <div class="confidence">
            <span>confidence</span>
            <div class="meter">
              <i style={{ width: `${Math.round(rc.confidence * 100)}%` }} />
            </div>
            <b>{pct(rc.confidence, 0)}</b>
          </div>
          <p class="explanation">{rc.explanation}</p>
          {rc.change && (
            <p class="muted">
              Change: {rc.change.service} deployed {rc.change.to}
              {rc.change.from && ` (was ${rc.change.from})`} at {time(rc.change.at)}
            </p>
          )}
          <h3>Affected</h3>
          <div class="chips">
            {inc.affected.map((a) => (
              <span class="chip" key={`${a.service} ${a.operation}`}>
                {opName(a.service, a.operation)}
              </span>
            ))}
          </div>
        </section>
        <section class="card">
          <h2>Candidates</h2>
          <table class="table compact">
            <thead>
              <tr>
                <th>Service / operation</th>
                <th>Kind</th>
                <th>Score</th>
              </tr>
            </thead>
            <tbody>
              {inc.candidates.map((c, i) => (
                <tr key={i} class={i === 0 ? 'lead' : ''}>
                  <td>{opName(c.service, c.operation)}</td>
                  <td>{c.kind}</td>
                  <td>
                    <div class="score">
                      <div class="meter small">
                        <i style={{ width: `${Math.round((100 * c.score) / topScore)}%` }} />
                      </div>
                      {c.score.toFixed(2)}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Exemplar traces</h3>
          {inc.traceIds.length === 0 ? (
            <div class="muted">none kept</div>
          ) : (
            <ul class="traces">
              {inc.traceIds.map((t) => (
                <li key={t}>
                  <code class="mono" data-trace={t}>
                    {t}
                  </code>
                  <button class="ghost" title="Copy the trace id" onClick={() => void navigator.clipboard?.writeText(t)}>
                    copy
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <section class="card">
        <div class="card-head">
          <h2>{chart ? opName(chart.service, chart.operation) : opName(rc.service, rc.operation)}</h2>
          <a href={href('/operations', { service: rc.service, operation: chart?.operation ?? rc.operation ?? undefined })}>open in operations →</a>
        </div>
        {series.error && <div class="error">{series.error.message}</div>}
        {chart ? <OperationCharts series={chart} markers={markers} range={range} /> : series.data && <div class="muted">No rollups for this operation in the range yet (one per minute of event time).</div>}
      </section>
      <div class="grid2">
        <section class="card">
          <h2>Timeline</h2>
          <ol class="timeline">
            {inc.timeline.map((e, i) => (
              <li key={i} class={`ev-${e.event}`}>
                <span class="when mono">{time(e.at)}</span>
                <span class="what">{e.text}</span>
              </li>
            ))}
          </ol>
        </section>
        <section class="card">
          <h2>Anomalies</h2>
          <table class="table compact">
            <thead>
              <tr>
                <th>Where</th>
                <th>Signal</th>
                <th>Observed</th>
                <th>Expected</th>
                <th>Severity</th>
              </tr>
            </thead>
            <tbody>
              {inc.anomalies.map((a) => (
                <tr key={a.id} title={a.explanation}>
                  <td>{opName(a.service, a.operation)}</td>
                  <td>
                    {a.kind} {a.signal !== a.kind && <span class="muted">{a.signal}</span>}
                  </td>
                  <td>{inUnit(a.observed, a.unit)}</td>
                  <td>{inUnit(a.expected, a.unit)}</td>
                  <td>
                    <Severity value={a.severity} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
    </div>
  );
}
