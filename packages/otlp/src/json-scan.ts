/**
 * A JSON document too large to hold, scanned by its structure alone (brackets, keys and commas outside
 * strings) as it streams: its target says of each value whether to descend into it (an array or object),
 * hold it whole (then parsed on its own, so a broken one is reported and skipped and the scan goes on)
 * or pass over it. Only the value being held is held.
 */
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, isSpace, NEWLINE, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-bytes.js';
import type { DecodeProblem } from './problems.js';

/** Where a value stands: the keys and array indexes from the document's top-level value down. */
export type JsonPath = ReadonlyArray<string | number>;

/** What a scan does with a value: descend into it (an array or object only), hold it whole, or pass over it. */
export type Take = 'descend' | 'hold' | 'skip';

/** Where a held value's bytes go once it is over the limit (instead of being skipped). */
export interface ValueSink {
  push(bytes: Buffer): void;
  /** The value's end (`cutOff`: the input ended inside it); says whether it was read (else it is reported as over the limit). */
  end(cutOff: boolean): boolean;
}

/** What a {@link JsonScan} reports to, and asks. The `path` it is given is live: read it, do not keep it. */
export interface ScanTarget {
  /** What to do with the value starting at `path`, whose first byte is `first` (the top-level value is always descended). */
  take(path: JsonPath, first: number): Take;
  /**
   * One complete held value: its bytes (not yet parsed) and the 1-based line it starts on. `path` is the
   * value's.
   */
  value(bytes: Buffer, path: JsonPath, line: number): void;
  /** A value descended into has ended. */
  leave(path: JsonPath): void;
  /** A held value grew over the limit: where its bytes go (all of them, from its first), or undefined to skip it. */
  overflow(path: JsonPath, first: number, line: number): ValueSink | undefined;
  /** The value at `path` as problems name it (`[3]`, `data[3]`, `resourceSpans[0].scopeSpans[0].spans[7]`). */
  label(path: JsonPath): string;
  /** Something that could not be read; the scan goes on where it can. */
  problem(problem: DecodeProblem): void;
}

/** Longest key remembered: the keys looked for are field names (`instrumentation_library_spans`). */
const MAX_KEY = 32;

/** An array or object descended into. */
interface Frame {
  object: boolean;
  /** A value may start here: in an array after `[` or `,`, in an object after `:`. */
  awaiting: boolean;
  /** In an array, a `,` was the last thing read: a value must follow. */
  afterComma: boolean;
  /** The index of the array's next value. */
  index: number;
  /** The object's key being read or last read. */
  key: string;
}

/**
 * Scans a JSON document pushed in chunks (see the module) for a {@link ScanTarget}. A held value over
 * `maxValueBytes` goes to the target's {@link ScanTarget.overflow} sink, or is skipped with a problem.
 * Problems name the value (by the target's label) and the line it starts on.
 */
export class JsonScan {
  /** Whether the document ended (its top-level value closed). */
  closed = false;
  private line: number;
  private readonly frames: Frame[] = [];
  private readonly path: Array<string | number> = [];
  private inString = false;
  private escaped = false;
  private readingKey = false;
  private key = '';
  /** Nothing more is read: content after the document, or no JSON array or object at all. */
  private stopped = false;
  /** The value held or passed over (null: none), bracket depth inside it, first byte and line. */
  private open: 'hold' | 'skip' | null = null;
  private inner = 0;
  private first = 0;
  private valueLine = 0;
  /** The held value's bytes so far (dropped once over the limit), or where they go instead. */
  private parts: Buffer[] = [];
  private length = 0;
  private sink: ValueSink | null | undefined;
  /** Asked to stop after the byte being read: see {@link pause}. */
  private pausing = false;

  /**
   * @param maxValueBytes - largest value held
   * @param firstLine - the line the document starts on
   * @param target - says what to read, receives the values and problems
   */
  constructor(
    private readonly maxValueBytes: number,
    firstLine: number,
    private readonly target: ScanTarget,
  ) {
    this.line = firstLine;
  }

  /**
   * Reads the next bytes of the document; says how many it read: all of them, unless the target asked
   * it to {@link pause} (the rest are to be pushed again).
   */
  push(chunk: Buffer): number {
    if (this.stopped) return chunk.length;
    let from = 0; // where the held value's bytes in this chunk begin
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        else if (this.readingKey && this.key.length <= MAX_KEY) this.key += String.fromCharCode(c);
        if (c === NEWLINE) this.line++;
        continue;
      }
      if (isSpace(c)) {
        if (c === NEWLINE) this.line++;
        continue;
      }
      if (this.closed) {
        this.stop(`unexpected content after the JSON document's end, not read`);
        return chunk.length;
      }
      if (this.open !== null) {
        if (this.inner > 0 || (c !== COMMA && c !== CLOSE_ARRAY && c !== CLOSE_OBJECT)) {
          if (c === QUOTE) this.inString = true;
          else if (c === OPEN_ARRAY || c === OPEN_OBJECT) this.inner++;
          else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) this.inner--;
          continue;
        }
        // The value ends at its container's next `,` or closing bracket, read below.
        this.endValue(chunk.subarray(from, i));
      }
      const frame = this.frames.length === 0 ? undefined : this.frames[this.frames.length - 1];
      if (frame === undefined) {
        if (c !== OPEN_ARRAY && c !== OPEN_OBJECT) {
          this.stop('not a JSON array or object, not read');
          return chunk.length;
        }
        this.frames.push({ object: c === OPEN_OBJECT, awaiting: c === OPEN_ARRAY, afterComma: false, index: 0, key: '' });
      } else if (c === QUOTE && frame.object && !frame.awaiting) {
        this.inString = true;
        this.readingKey = true;
        this.key = '';
      } else if (c === COLON && frame.object) {
        this.readingKey = false;
        frame.key = this.key;
        frame.awaiting = true;
      } else if (c === COMMA) {
        if (!frame.object && frame.awaiting) this.noValue(frame);
        frame.awaiting = !frame.object;
        frame.afterComma = true;
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        if (!frame.object && frame.awaiting && frame.afterComma) this.noValue(frame);
        this.frames.pop();
        if (this.frames.length === 0) {
          this.closed = true;
        } else {
          this.target.leave(this.path);
          this.ended();
        }
      } else {
        this.path.push(frame.object ? frame.key : frame.index);
        frame.awaiting = false;
        const take = this.target.take(this.path, c);
        if (take === 'descend' && (c === OPEN_ARRAY || c === OPEN_OBJECT)) {
          this.frames.push({ object: c === OPEN_OBJECT, awaiting: c === OPEN_ARRAY, afterComma: false, index: 0, key: '' });
          continue;
        }
        this.open = take === 'skip' ? 'skip' : 'hold';
        this.inner = c === OPEN_ARRAY || c === OPEN_OBJECT ? 1 : 0;
        this.inString = c === QUOTE;
        this.first = c;
        this.valueLine = this.line;
        from = i;
      }
      if (this.pausing) {
        // Asked as a value ended: none is open.
        this.pausing = false;
        return i + 1;
      }
    }
    if (this.open === 'hold') this.hold(chunk.subarray(from));
    return chunk.length;
  }

  /**
   * Stops {@link push} after the byte being read (asked from a target's callback, as a value ends), so the
   * caller can act before the scan reads on.
   */
  pause(): void {
    this.pausing = true;
  }

  /**
   * The end of the input: a value or document left open is reported (the input was cut off); a value
   * going to an overflow sink is ended there.
   */
  end(): void {
    if (this.stopped) return;
    if (this.open === 'hold') {
      this.sink?.end(true);
      this.problem(this.valueLine, 'cut off (the input ends inside it)');
    } else if (!this.closed) {
      this.target.problem({ line: this.line, message: 'the input ends inside the JSON document (cut off)' });
    }
  }

  /** An array's `,` or `]` with no value before it. */
  private noValue(frame: Frame): void {
    this.path.push(frame.index);
    this.problem(this.line, 'invalid JSON (no element)');
    this.path.pop();
    frame.index++;
  }

  /** A value of the innermost container has ended. */
  private ended(): void {
    this.path.pop();
    const frame = this.frames[this.frames.length - 1];
    if (!frame.object) frame.index++;
    frame.afterComma = false;
  }

  /** Holds the open value's bytes, up to the limit; past it they go to the target's overflow sink, if any. */
  private hold(bytes: Buffer): void {
    this.length += bytes.length;
    if (this.sink === undefined && this.length > this.maxValueBytes) {
      this.sink = this.target.overflow(this.path, this.first, this.valueLine) ?? null;
      if (this.sink !== null) for (const part of this.parts) this.sink.push(part);
      this.parts = [];
    }
    if (this.sink === undefined) this.parts.push(bytes);
    else this.sink?.push(bytes);
  }

  private endValue(last: Buffer): void {
    if (this.open === 'hold') {
      this.hold(last);
      if (this.sink === undefined) {
        this.target.value(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts), this.path, this.valueLine);
      } else if (this.sink === null || !this.sink.end(false)) {
        this.problem(this.valueLine, `${this.length} bytes, over the ${this.maxValueBytes}-byte record limit, skipped`);
      }
    }
    this.open = null;
    this.parts = [];
    this.length = 0;
    this.sink = undefined;
    this.ended();
  }

  private problem(line: number, message: string): void {
    this.target.problem({ line, message: `${this.target.label(this.path)}: ${message}` });
  }

  private stop(message: string): void {
    this.stopped = true;
    this.open = null;
    this.parts = [];
    this.target.problem({ line: this.line, message });
  }
}

/**
 * `path` as problems name it: keys joined by `.`, indexes in brackets (`resourceSpans[0].scopeSpans[1]`),
 * each key first passed through `name`.
 */
export function pathLabel(path: JsonPath, name: (key: string) => string = (key) => key): string {
  let label = '';
  for (const step of path) {
    label += typeof step === 'number' ? `[${step}]` : label === '' ? name(step) : `.${name(step)}`;
  }
  return label;
}
