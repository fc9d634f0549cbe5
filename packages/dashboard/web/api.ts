/** Calls to the server's `/aiops` API, with the bearer token the user gave (kept in this browser only). */
import type { ApiGraph, ApiIncident, ApiOperationMetrics, ApiSeries, ServerStatus, TimelineEntry } from '@rootspan/server';

export type { ApiGraph, ApiIncident, ApiOperationMetrics, ApiSeries, ServerStatus, TimelineEntry };
export type IncidentDetail = ApiIncident & { timeline: TimelineEntry[] };

const TOKEN_KEY = 'rootspan.token';

/** An answer other than 2xx, with the server's `{ error }` message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(path, { ...init, headers });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

/** Query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
