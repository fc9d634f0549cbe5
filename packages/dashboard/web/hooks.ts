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
        const key = [s.eventTime, s.ingest.spansAccepted, s.incidents.total, s.incidents.active, s.anomalies.total, s.anomalies.active].join('|');
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
}

/** GETs `path` and again whenever `version` or `path` changes; the previous data stays shown while loading. */
export function useApi<T>(path: string | null, version: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: null, loading: path !== null });
  const shown = useRef<string | null>(null);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    if (shown.current !== path) setState({ data: undefined, error: null, loading: true });
    api<T>(path).then(
      (data) => {
        if (!current) return;
        shown.current = path;
        setState({ data, error: null, loading: false });
      },
      (error: Error) => current && setState((s) => ({ data: shown.current === path ? s.data : undefined, error, loading: false })),
    );
    return () => {
      current = false;
    };
  }, [path, version]);
  return state;
}
