/** What went wrong, for code to branch on (the message is for people and may be reworded). */
export type RootspanErrorCode =
  /** An option passed to `createAnalyzer` is unknown or out of range. */
  | 'ERR_OPTION'
  /** `restore` was given something that is not a rootspan analyzer snapshot. */
  | 'ERR_SNAPSHOT_FORMAT'
  /** `restore` was given a snapshot of another format version. */
  | 'ERR_SNAPSHOT_VERSION'
  /** `restore` was given a snapshot with a missing or malformed field. */
  | 'ERR_SNAPSHOT_MALFORMED';

/**
 * The one error the engine throws, from `createAnalyzer` (bad options) and `restore` (bad snapshot) only;
 * ingesting never throws. A `TypeError`, as before it had a class, so existing `instanceof TypeError`
 * checks keep working. The message names the problem and nothing else: a host prints it with its own
 * prefix, and `error.name` (`RootspanError`) says where it came from in a log.
 */
export class RootspanError extends TypeError {
  override readonly name = 'RootspanError';

  constructor(
    readonly code: RootspanErrorCode,
    message: string,
  ) {
    super(message);
  }
}
