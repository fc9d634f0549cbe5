/**
 * Errors that end a run without a report. Each is shown as one line on stderr, `rootspan: <message>`,
 * never as a stack trace, with exit code 2; callers read their fields, never parse their messages.
 */
import type { RootspanError } from '@rootspan/engine';

/** A problem with what the user gave us (an input file, a config): `subject` names it, `reason` says why. */
export class InputError extends Error {
  constructor(
    /**
     * What could not be used, as the user would look for it: `cannot read traces.jsonl`, `config c.json`;
     * empty when `reason` names it already.
     */
    readonly subject: string,
    /** Why, in a few words. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(subject === '' ? reason : `${subject}: ${reason}`, options);
    this.name = 'InputError';
  }
}

/**
 * `err` (thrown by the engine or a store while using `subject`) as an {@link InputError}, the original kept
 * as the `cause`. A {@link RootspanError}'s message is the bare reason; the CLI prints its own name once,
 * in front of every line.
 */
export function engineInputError(subject: string, err: unknown): InputError {
  const message = err instanceof Error ? err.message : String(err);
  return new InputError(subject, message, { cause: err });
}

/**
 * The line for an error no input check caught (a defect, in rootspan or in how hostile input reached it):
 * one line, not a stack trace, that a user can paste into a bug report.
 */
export function internalErrorLine(err: unknown): string {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return `internal error: ${what} (a bug: please report it with the input)`;
}
