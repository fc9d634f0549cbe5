/**
 * An error about one database file: what is wrong with it, naming the file, with the SQLite code when
 * there is one (`SQLITE_FULL`, `SQLITE_READONLY`, ...). Its message is meant for people, not a stack trace.
 */
export class SqliteStoreError extends Error {
  override readonly name = 'SqliteStoreError';

  constructor(
    message: string,
    /** The database file. */
    readonly file: string,
    /** SQLite's code, when SQLite reported the problem. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
