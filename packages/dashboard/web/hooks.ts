import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, type ServerStatus } from './api';

/** The page is routed by the URL hash (`#/incidents/INC-1?x=y`): links work offline and on reload. */
export interface Route {
  parts: string[];
  params: URLSearchParams;
}

function parseHash(): Route {
  const [path, q] = location.hash.replace(/^#/, '').split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function href(path: string, params: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** How often the page asks the server whether anything changed. */
const POLL_MS = 2000;

export interface Live {
  status: ServerStatus | null;
  error: ApiError | Error | null;
  /** Changes whenever the server's data changed: views refetch on it. */
  version: number;
  /** Asks every view to refetch now (after an action). */
  bump: () => void;
}

/**
 * Live updates by polling `/aiops/status`: when event time, accepted spans, incidents or anomalies moved,
 * `version` changes and the views refetch. Polling (not a stream) keeps working through proxies and with
 * the bearer token in a header.
 */
export function useLive(): Live {
  const [status, setStatus] = useState<ServerStatus | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [version, setVersion] = useState(0);
  const last = useRef('');
  const bump = useCallback(() => setVersion((v) => v + 1), []);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const s = await api<ServerStatus>('/aiops/status');
        if (stopped) return;
        // Held traces analysed (a flush, `POST /aiops/analyze`) move the map's rates and health without
        // moving event time or the counts: the buffered-trace count tells.
        const key = [s.eventTime, s.ingest.spansAccepted, s.queue.bufferedTraces, s.incidents.total, s.incidents.active, s.anomalies.total, s.anomalies.active].join('|');
        if (key !== last.current) {
          last.current = key;
          bump();
        }
        setStatus(s);
        setError(null);
      } catch (err) {
        if (!stopped) setError(err as Error);
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [bump]);
  return { status, error, version, bump };
}

export interface Loaded<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
  /** The live `version` {@link data} was fetched at (undefined before any): it is current when equal to `live.version`. */
  version: number | undefined;
}

/**
 * GETs `path` and again whenever `version` or `path` changes; the previous data stays shown while it
 * reloads, but never under another path (a changed filter shows nothing of the old list, not even for the
 * render before its fetch starts).
 */
export function useApi<T>(path: string | null, version: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T> & { path: string | null }>({ path: null, data: undefined, error: null, loading: false, version: undefined });
  useEffect(() => {
    if (path === null) return;
    let current = true;
    const fresh = { path, data: undefined, error: null, loading: true, version: undefined };
    setState((s) => (s.path === path ? s : fresh));
    api<T>(path).then(
      (data) => current && setState({ path, data, error: null, loading: false, version }),
      (error: Error) => current && setState((s) => ({ ...(s.path === path ? s : fresh), error, loading: false })),
    );
    return () => {
      current = false;
    };
  }, [path, version]);
  return state.path === path ? state : { data: undefined, error: null, loading: path !== null, version: undefined };
}
