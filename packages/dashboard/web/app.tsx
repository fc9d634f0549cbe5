/** The shell: header with live status, navigation, and the view the URL hash names. */
import { useState } from 'preact/hooks';
import { ApiError, setToken } from './api';
import { count, dateTime } from './format';
import { useLive, useRoute, type Live } from './hooks';
import { IncidentPage, IncidentsPage } from './incidents';
import { OperationsPage } from './operations';
import { Overview } from './overview';

export function App() {
  const route = useRoute();
  const live = useLive();
  const [section, id] = route.parts;
  if (live.error instanceof ApiError && live.error.status === 401) return <TokenPrompt onSaved={live.bump} />;
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">
          <span class="logo" aria-hidden="true" />
          rootspan
        </a>
        <nav>
          <a class={section === undefined ? 'on' : ''} href="#/">
            Service map
          </a>
          <a class={section === 'incidents' ? 'on' : ''} href="#/incidents">
            Incidents
            {live.status && live.status.incidents.active > 0 && <span class="count bad">{live.status.incidents.active}</span>}
          </a>
          <a class={section === 'operations' ? 'on' : ''} href="#/operations">
            Operations
          </a>
        </nav>
        <LiveBadge live={live} />
      </header>
      <main>
        {section === undefined && <Overview live={live} />}
        {section === 'incidents' && id === undefined && <IncidentsPage live={live} params={route.params} />}
        {section === 'incidents' && id !== undefined && <IncidentPage live={live} id={id} />}
        {section === 'operations' && <OperationsPage live={live} params={route.params} />}
        {section !== undefined && !['incidents', 'operations'].includes(section) && (
          <div class="card empty">
            Nothing here. <a href="#/">Back to the service map</a>
          </div>
        )}
      </main>
    </div>
  );
}

function LiveBadge({ live }: { live: Live }) {
  const s = live.status;
  if (live.error) return <div class="live down" title={live.error.message}>disconnected: {live.error.message}</div>;
  if (s === null) return <div class="live">connecting…</div>;
  return (
    <div class="live" data-live={s.live ? 'live' : 'idle'} data-event-time={s.eventTime ?? ''}>
      <span class={`dot${s.live ? ' on' : ''}`} />
      <span title={s.live ? 'Spans are arriving: event time follows the clock' : 'No spans arriving now: event time stands at the last span analysed'}>{s.live ? 'Live' : 'Idle'}</span>
      <span class="muted">event time {dateTime(s.eventTime)}</span>
      <span class="muted">{count(s.ingest.spansAccepted)} spans</span>
    </div>
  );
}

function TokenPrompt({ onSaved }: { onSaved: () => void }) {
  const [value, setValue] = useState('');
  return (
    <div class="shell">
      <form
        class="card token"
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value.trim());
          onSaved();
          location.reload();
        }}
      >
        <h2>This server needs a token</h2>
        <p class="muted">
          It was started with <code>--token</code> (or <code>ROOTSPAN_TOKEN</code>). Paste it here; it is kept in this browser only and sent as{' '}
          <code>Authorization: Bearer</code>.
        </p>
        <input type="password" autoFocus value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="token" />
        <button type="submit" class="primary" disabled={value.trim() === ''}>
          Open the dashboard
        </button>
      </form>
    </div>
  );
}
