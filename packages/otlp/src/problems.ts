import type { Span } from '@rootspan/engine';

/**
 * Something in the input that could not be decoded. Decoding never throws on bad data: the bad part is
 * skipped and described here, and the rest of the input still decodes.
 */
export interface DecodeProblem {
  /** 1-based line of the input the problem is on (JSONL, and JSON read line by line); absent when unknown. */
  line?: number;
  /**
   * What went wrong and where inside the request, e.g.
   * `resourceSpans[0].scopeSpans[0].spans[3]: bad startTimeUnixNano ("abc")` or `invalid JSON (...)`.
   * It never repeats the line number: print it with {@link formatProblem}.
   */
  message: string;
  /**
   * `decompression`: the compressed input itself (gzip or zstd) does not inflate whole — cut off, corrupt,
   * trailing bytes that are no stream. How much was lost with it no one can tell, unlike a bad record.
   */
  kind?: 'decompression';
}

/** What every problem of one span names in its path (`resourceSpans[0].scopeSpans[0].spans[3]: …`). */
const SPAN_PATH = '.spans[';

/** Whether `message` is a problem of one span, not of the whole request or line (see {@link isSpanProblem}). */
export function namesSpan(message: string): boolean {
  return message.includes(SPAN_PATH);
}

/** Whether `problem` is one span's (the rest of its request was read), not the whole request's (not JSON, not OTLP). */
export function isSpanProblem(problem: DecodeProblem): boolean {
  return namesSpan(problem.message);
}

/** Spans decoded from one input, plus what was skipped and why. */
export interface DecodeResult {
  spans: Span[];
  problems: DecodeProblem[];
}

/**
 * One line of text for a problem: `name:line: message`, `line N: message` without a name, or just the
 * message when the line is unknown.
 *
 * @param problem - the problem to describe
 * @param name - the input's name (a file path, `-` for stdin), if any
 */
export function formatProblem(problem: DecodeProblem, name?: string): string {
  if (name !== undefined && name !== '') {
    return problem.line !== undefined ? `${name}:${problem.line}: ${problem.message}` : `${name}: ${problem.message}`;
  }
  return problem.line !== undefined ? `line ${problem.line}: ${problem.message}` : problem.message;
}

/**
 * Thrown by the readers in `strict` mode on the first {@link DecodeProblem}, instead of collecting it.
 * Its message is {@link formatProblem}'s, so it can be shown to a user as is.
 */
export class OtlpDecodeError extends Error {
  /** 1-based line of the input, when known. */
  readonly line: number | undefined;
  /** The input's name as given to the reader (`name` option or file path), when known. */
  readonly file: string | undefined;
  /** The problem that stopped decoding. */
  readonly problem: DecodeProblem;

  constructor(problem: DecodeProblem, file?: string) {
    super(formatProblem(problem, file));
    this.name = 'OtlpDecodeError';
    this.line = problem.line;
    this.file = file;
    this.problem = problem;
  }
}
