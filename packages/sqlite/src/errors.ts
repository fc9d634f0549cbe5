import { RootspanError, type RootspanErrorCode } from '@rootspan/engine';

/**
 * An error about one database file: what is wrong with it, naming the file. A {@link RootspanError} with
 * `code` `ERR_STORE_FILE` (the file cannot be used) or `ERR_STORE_IO` (a read or write failed), plus SQLite's
 * own code when SQLite reported the problem (`SQLITE_FULL`, `SQLITE_READONLY`, ...). Its message is meant for
 * people, without a product prefix: a host prints it with its own.
 */
export class SqliteStoreError extends RootspanError {
  override readonly name: string = 'SqliteStoreError';

  constructor(
    code: Extract<RootspanErrorCode, 'ERR_STORE_FILE' | 'ERR_STORE_IO'>,
    message: string,
    /** The database file. */
    readonly file: string,
    /** SQLite's code, when SQLite reported the problem. */
    readonly sqliteCode?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
