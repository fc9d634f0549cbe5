/**
 * @rootspan/sqlite — rootspan's baselines, per-minute rollups and incident history in one SQLite file,
 * so a restarted service keeps what "normal" looks like and what went wrong. node:sqlite where Node has it
 * (22.13+), better-sqlite3 on Node 20.
 */
import { SqliteStore, type SqliteOpenOptions } from './store.js';

export { SqliteStore, DEFAULT_RETENTION, DEFAULT_PAGE, MAX_PAGE, type SqliteOpenOptions, type RetentionOptions } from './store.js';
export {
  attachStore,
  DEFAULT_FLUSH_MS,
  DEFAULT_SNAPSHOT_MS,
  DEFAULT_MAX_PENDING,
  type AttachOptions,
  type StoreAttachment,
  type PersistenceStats,
} from './attach.js';
export { SqliteStoreError } from './errors.js';
export { SqliteDriverError, BETTER_SQLITE3_FIX, type SqliteDriverName } from './driver.js';
export { SCHEMA_VERSION } from './schema.js';

/**
 * Opens (or creates) a rootspan SQLite store. Pass it to `rootspan({ store })`, or `attach()` it to an
 * analyzer yourself; query it for incidents and rollup series.
 *
 * @example
 * const { processor } = rootspan({ store: sqliteStore({ path: 'rootspan.db' }) });
 *
 * @throws SqliteStoreError naming the file when it is not a rootspan database, is corrupt, or was written by
 *   a newer schema (left untouched); SqliteDriverError with the commands that fix a missing SQLite driver.
 */
export function sqliteStore(options: SqliteOpenOptions): SqliteStore {
  return SqliteStore.open(options);
}
