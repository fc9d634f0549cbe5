/** Number formatting for explanations: short, human, and with units. */

export function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 10_000) return `${(x / 1000).toFixed(1)} s`;
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  if (x >= 10) return `${Math.round(x)} ms`;
  return `${x.toFixed(1)} ms`;
}

export function pct(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const p = x * 100;
  if (p === 0 || p >= 10) return `${Math.round(p)}%`;
  if (p >= 1) return `${p.toFixed(1)}%`;
  return `${p.toFixed(2)}%`;
}

export function ratio(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 10 ? `${Math.round(x)}×` : `${x.toFixed(1)}×`;
}

export function rps(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 10 ? `${Math.round(x)} req/s` : `${x.toFixed(2)} req/s`;
}

export function seconds(x: number): string {
  const s = Math.max(0, Math.round(x / 1000));
  return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
}

/** `service operation` or just `service`. */
export function label(service: string, operation: string | null | undefined): string {
  return operation ? `${service} ${operation}` : service;
}
