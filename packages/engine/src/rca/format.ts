/** Number formatting for explanations: short, human, and with units. */

export function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 10_000) return `${(x / 1000).toFixed(1)} s`;
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  if (x >= 10) return `${Math.round(x)} ms`;
  return `${x.toFixed(1)} ms`;
}

/** `n` and its noun, plural unless one: "1 tick", "5 requests". */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function pct(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const p = x * 100;
  if (p === 0 || p >= 10) return `${Math.round(p)}%`;
  if (p >= 1) return `${p.toFixed(1)}%`;
  return `${p.toFixed(2)}%`;
}

/**
 * A ratio, rounded down: the severity tiers start at whole and one-decimal ratios (1.5×, 5×, 20×), so a
 * printed ratio always sits in the tier of the exact one (4.97× is "4.9×" and low, never "5.0×" and low).
 */
export function ratio(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 10 ? `${Math.floor(x)}×` : `${(Math.floor(x * 10) / 10).toFixed(1)}×`;
}

export function rps(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 10 ? `${Math.round(x)} req/s` : `${x.toFixed(2)} req/s`;
}

export function seconds(x: number): string {
  const s = Math.max(0, Math.round(x / 1000));
  return s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
}

/** The window a sentence's figures come from: "in the last 5 s" (see {@link seconds}). */
export function inTheLast(ms: number): string {
  return `in the last ${seconds(ms)}`;
}

/**
 * `words` (figures with their {@link inTheLast} windows) dated as taken at event time `at`: "in the 5 s to
 * 14:02:07 UTC". For figures told after they were taken (an episode's worst moment, a fault gone quiet, a
 * resolved incident's last sentence), which "the last 5 s" would pass off as current.
 */
export function datedTo(words: string, at: number): string {
  return words.replace(IN_THE_LAST, `in the $1 to ${new Date(at).toISOString().slice(11, 19)} UTC`);
}

/** {@link inTheLast}'s words. */
const IN_THE_LAST = /\bin the last (\d+ (?:s|min))\b/g;

/** `service operation` or just `service`. */
export function label(service: string, operation: string | null | undefined): string {
  return operation ? `${service} ${operation}` : service;
}

/** Longest message a sentence quotes (characters). */
const QUOTE_MAX = 120;

/** The first line of a message, trimmed (a stack trace's first line is its message). */
export function firstLine(message: string): string {
  const nl = message.search(/[\r\n]/);
  return (nl < 0 ? message : message.slice(0, nl)).trim();
}

/** A message in double quotes, cut to {@link QUOTE_MAX} characters. */
export function quote(message: string): string {
  return `"${message.length > QUOTE_MAX ? `${message.slice(0, QUOTE_MAX - 1)}…` : message}"`;
}
