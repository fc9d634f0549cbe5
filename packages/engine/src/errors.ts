/** What went wrong, for code to branch on (the message is for people and may be reworded). */
export type RootspanErrorCode =
  /** An option passed to `createAnalyzer` is unknown or out of range. */
  | 'ERR_OPTION'
  /** `restore` was given something that is not a rootspan analyzer snapshot. */
  | 'ERR_SNAPSHOT_FORMAT'
  /** `restore` was given a snapshot of another format version. */
  | 'ERR_SNAPSHOT_VERSION'
  /** `restore` was given a snapshot with a missing or malformed field. */
  | 'ERR_SNAPSHOT_MALFORMED'
  /** A store's driver cannot be loaded (the message says how to install or rebuild it). */
  | 'ERR_STORE_DRIVER'
  /**
   * A store's file cannot be used: its directory is missing, it is not a database of this store, it is corrupt,
   * it was written by a newer schema (left untouched), it cannot be opened, or it already serves an analyzer.
   */
  | 'ERR_STORE_FILE'
  /** Reading from or writing to a store failed (full disk, read-only file, I/O error) or the store is closed. */
  | 'ERR_STORE_IO';

/**
 * The one error the engine throws, from `createAnalyzer` (bad options) and `restore` (bad snapshot) only;
 * ingesting never throws; stores (`@rootspan/sqlite`) throw it too, with the `ERR_STORE_*` codes. A
 * `TypeError`, as before it had a class, so existing `instanceof TypeError` checks keep working. The message
 * names the problem and nothing else: a host prints it with its own prefix, and `error.name` (`RootspanError`)
 * says where it came from in a log.
 */
export class RootspanError extends TypeError {
  // Typed `string` so a subclass (SqliteStoreError) can name itself.
  override readonly name: string = 'RootspanError';

  constructor(
    readonly code: RootspanErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
