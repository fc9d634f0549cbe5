/** Numbers and times as the dashboard shows them. */

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${Math.round(v)} ms`;
  return `${v.toFixed(1)} ms`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const p = v * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(digits)}%`;
}

export function rate(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v >= 100 ? `${Math.round(v)}/s` : v >= 10 ? `${v.toFixed(1)}/s` : `${v.toFixed(2)}/s`;
}

/** An anomaly's observed or expected value in its unit: `140 ms`, `45%`, `12.0/s`, `20 per request` (N+1 calls). */
export function inUnit(v: number, unit: 'ms' | 'ratio' | 'rps' | 'per-request'): string {
  if (unit === 'ms') return ms(v);
  if (unit === 'ratio') return pct(v);
  if (unit === 'per-request') return Number.isFinite(v) ? `${v >= 10 ? Math.round(v) : v.toFixed(1)} per request` : '–';
  return rate(v);
}

export function count(v: number): string {
  return v.toLocaleString('en-US');
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-01-01 12:04:05` in the browser's time zone. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time(iso)}`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "4m 10s" between two ISO times. */
export function duration(fromIso: string, toIso: string): string {
  const s = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** `METHOD /route` or the service alone. */
export function opName(service: string, operation: string | null): string {
  return operation ? `${service} · ${operation}` : service;
}
