/**
 * A JSON document too large to hold, read element by element: the elements of its top-level array (a
 * Zipkin span list, an array of OTLP requests) or of the array under its top-level object's `data` key
 * (Jaeger's query answers and UI downloads). Only the element being read is held.
 */
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, NEWLINE, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-bytes.js';
import type { DecodeProblem } from './problems.js';

/** Where the elements go. */
export interface ElementTarget {
  /**
   * One complete element: its bytes (not yet parsed: JSON.parse tells whether it is valid), its 0-based
   * index in the array and the 1-based line it starts on.
   */
  element(bytes: Buffer, index: number, line: number): void;
  /** Something that could not be read; the scan goes on where it can. */
  problem(problem: DecodeProblem): void;
}

/** Longest key of the top-level object remembered: only `data` is looked for. */
const MAX_KEY = 8;

function isSpace(c: number): boolean {
  return c === 32 || c === NEWLINE || c === 13 || c === 9;
}

/**
 * Splits a JSON document pushed in chunks into the elements of its element array (see the module), by
 * its structure alone (brackets outside strings): each element is then parsed on its own, so a broken
 * one is reported and skipped and the scan goes on. An element over `maxElementBytes` is skipped with a
 * problem. Problems name the element (`[3]`, `data[3]`) and the line it starts on.
 */
export class JsonElements {
  /** Whether the document has an element array (else it is some other document, not read). */
  found = false;
  /** Whether the document ended (its top-level value closed). */
  closed = false;
  /** `[` or `data[`: an element's index follows it in problems. */
  prefix = '[';
  private line: number;
  private depth = 0;
  /** Depth inside the element array; 0 while not in it. */
  private elementDepth = 0;
  private inString = false;
  private escaped = false;
  /** Nothing more is read: content after the document, or no JSON array or object at all. */
  private stopped = false;
  /** The top-level value is an object: its keys are looked at for `data`. */
  private topObject = false;
  private expectKey = false;
  private readingKey = false;
  private key = '';
  /** The element being read: open, its index, first line, bytes so far (dropped once over the limit). */
  private open = false;
  private index = 0;
  private elementLine = 0;
  private parts: Buffer[] = [];
  private length = 0;
  /** A `,` was the last thing read in the element array: an element must follow. */
  private afterComma = false;

  /**
   * @param maxElementBytes - largest element held
   * @param firstLine - the line the document starts on
   * @param target - receives the elements and problems
   */
  constructor(
    private readonly maxElementBytes: number,
    firstLine: number,
    private readonly target: ElementTarget,
  ) {
    this.line = firstLine;
  }

  /** Reads the next bytes of the document. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    let from = 0; // where the open element's bytes in this chunk begin
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
        return;
      }
      if (this.depth === 0 && c !== OPEN_ARRAY && c !== OPEN_OBJECT) {
        this.stop('not a JSON array or object, not read');
        return;
      }
      const inArray = this.elementDepth > 0 && this.depth === this.elementDepth;
      if (inArray && (c === COMMA || c === CLOSE_ARRAY)) {
        if (this.open) {
          this.endElement(chunk.subarray(from, i));
        } else if (c === COMMA || this.afterComma) {
          this.problem(this.index, this.line, 'invalid JSON (no element)');
          this.index++;
        }
        this.afterComma = c === COMMA;
        if (c === CLOSE_ARRAY) this.elementDepth = 0;
        else continue;
      } else if (inArray && !this.open) {
        this.open = true;
        this.elementLine = this.line;
        from = i;
      }
      if (c === QUOTE) {
        this.inString = true;
        this.readingKey = this.topObject && this.depth === 1 && this.expectKey;
        if (this.readingKey) this.key = '';
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        if (this.depth === 0) {
          this.topObject = c === OPEN_OBJECT;
          this.expectKey = this.topObject;
          if (!this.topObject) this.enterArray(1, '[');
        } else if (this.depth === 1 && this.topObject && c === OPEN_ARRAY && this.key === 'data' && !this.found) {
          this.enterArray(2, 'data[');
        }
        this.depth++;
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        this.depth--;
        if (this.depth === 0) this.closed = true;
        if (this.depth < 0) {
          this.stop('unbalanced brackets, the rest not read');
          return;
        }
      } else if (this.topObject && this.depth === 1) {
        if (c === COLON) this.expectKey = false;
        else if (c === COMMA) this.expectKey = true;
      }
    }
    if (this.open) this.hold(chunk.subarray(from));
  }

  /**
   * The end of the input: an element or document left open is reported (the input was cut off). Says
   * nothing when there was no element array: the caller knows what such a document is.
   */
  end(): void {
    if (this.stopped || !this.found) return;
    if (this.open) this.problem(this.index, this.elementLine, 'cut off (the input ends inside it)');
    else if (!this.closed) this.target.problem({ line: this.line, message: 'the input ends inside the JSON document (cut off)' });
  }

  private enterArray(depth: number, prefix: string): void {
    this.found = true;
    this.elementDepth = depth;
    this.prefix = prefix;
    this.afterComma = false;
  }

  /** Holds the open element's bytes, up to the limit. */
  private hold(bytes: Buffer): void {
    this.length += bytes.length;
    if (this.length <= this.maxElementBytes) this.parts.push(bytes);
    else this.parts = [];
  }

  private endElement(last: Buffer): void {
    this.hold(last);
    if (this.length > this.maxElementBytes) {
      this.problem(this.index, this.elementLine, `${this.length} bytes, over the ${this.maxElementBytes}-byte record limit, skipped`);
    } else {
      const bytes = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
      this.target.element(bytes, this.index, this.elementLine);
    }
    this.open = false;
    this.parts = [];
    this.length = 0;
    this.index++;
  }

  private problem(index: number, line: number, message: string): void {
    this.target.problem({ line, message: `${this.prefix}${index}]: ${message}` });
  }

  private stop(message: string): void {
    this.stopped = true;
    this.open = false;
    this.parts = [];
    this.target.problem({ line: this.line, message });
  }
}
