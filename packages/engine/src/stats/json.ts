import { RootspanError } from '../errors.js';

/**
 * Reads a serialised state object whose fields are all finite numbers, or throws a {@link RootspanError} naming
 * what is wrong (snapshots come from disk and may be corrupt or from another version).
 */
export function readState<K extends string>(json: unknown, keys: readonly K[], what: string): Record<K, number> {
  if (json === null || typeof json !== 'object') throw new RootspanError('ERR_SNAPSHOT_MALFORMED', `${what} state must be an object`);
  const o = json as Record<string, unknown>;
  for (const k of keys) {
    if (!Number.isFinite(o[k])) throw new RootspanError('ERR_SNAPSHOT_MALFORMED', `${what} state field ${k} must be a finite number`);
  }
  return o as Record<K, number>;
}
