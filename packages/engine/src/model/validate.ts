import type { DropCounters } from '../types.js';
import { MAX_ID_LENGTH, MAX_TIME_MS } from '../limits.js';

/** Why a span is rejected at the door. */
export type RejectReason = Extract<keyof DropCounters, 'invalid' | 'badTime'>;

function nonEmpty(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0;
}

function isId(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
}

/**
 * Checks the fields the engine relies on. Input comes from other people's tracers and files, so the
 * value is typed `unknown`: nothing is trusted, and nothing here throws.
 */
export function rejectReason(span: unknown): RejectReason | null {
  if (typeof span !== 'object' || span === null) return 'invalid';
  const s = span as Record<string, unknown>;
  if (!isId(s.traceId) || !isId(s.spanId) || !nonEmpty(s.service) || typeof s.name !== 'string') {
    return 'invalid';
  }
  if (s.parentSpanId !== undefined && s.parentSpanId !== null && (typeof s.parentSpanId !== 'string' || s.parentSpanId.length > MAX_ID_LENGTH)) return 'invalid';
  const start = s.startTime;
  const end = s.endTime;
  if (typeof start !== 'number' || typeof end !== 'number' || !Number.isFinite(start) || !Number.isFinite(end)) {
    return 'badTime';
  }
  if (end < start || start <= 0 || end > MAX_TIME_MS) return 'badTime';
  return null;
}
