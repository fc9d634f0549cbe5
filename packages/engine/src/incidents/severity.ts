import type { Severity } from '../types.js';

/** Severities in increasing order, as numbers to compare. */
export const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };
