/**
 * A JSON document over the record limit, decoded as it streams: the elements of its array
 * (json-elements.ts), Zipkin spans, Jaeger traces or OTLP requests, decoded in groups of consecutive
 * elements as if each group were the whole document. Memory is bounded by two groups (one is read ahead),
 * not by the document.
 */
import { decodeRequestInto, type Sink } from './convert.js';
import { decodeForeignInto, noteSharedServers } from './foreign.js';
import { JsonElements } from './json-elements.js';
import type { DecodeProblem } from './problems.js';

/**
 * Raw bytes of the elements decoded together. A group is what the decoders see at once. Zipkin's B3
 * shared server spans of the next group are noted before a group is decoded, so a child finds its server
 * span up to a group after it (the server span ends, and is written, after its children).
 */
export const GROUP_BYTES = 4 * 1024 * 1024;
/** Most elements in a group (tiny elements parse to far more memory than their bytes). */
const GROUP_ELEMENTS = 16_384;

/** Reads one document element by element into `sink`. */
export class DocumentStream {
  private readonly scanner: JsonElements;
  private group: unknown[] = [];
  private groupBytes = 0;
  /** Index of the group's first element in the array. */
  private first = 0;
  /** The complete group before it, decoded once the next one is read (or at a problem, or the end). */
  private held: unknown[] = [];
  private heldFirst = 0;
  private readonly groupLimit: number;

  /**
   * @param maxRecord - the record limit: the largest element read, and at most a group's bytes
   * @param firstLine - the line the document starts on
   * @param sink - where spans and the decoders' problems go
   * @param report - where the reader's problems go (with their lines)
   */
  constructor(
    maxRecord: number,
    firstLine: number,
    private readonly sink: Sink,
    private readonly report: (problem: DecodeProblem) => void,
  ) {
    this.groupLimit = Math.min(maxRecord, GROUP_BYTES);
    this.scanner = new JsonElements(maxRecord, firstLine, {
      element: (bytes, index, line) => this.element(bytes, index, line),
      problem: (p) => {
        // Problems in input order: the group before it is decoded first.
        this.flush();
        report(p);
      },
    });
  }

  /** Whether the document has an array read element by element (so far). */
  get found(): boolean {
    return this.scanner.found;
  }

  /** Reads the next bytes of the document, decoding each group once it is complete. */
  push(bytes: Buffer): void {
    this.scanner.push(bytes);
  }

  /** The end of the input: the last group decoded, a cut-off document reported. */
  end(): void {
    this.scanner.end();
    this.flush();
  }

  private element(bytes: Buffer, index: number, line: number): void {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      this.flush();
      this.report({ line, message: `${this.label(index)}: invalid JSON (${(err as Error).message})` });
      return;
    }
    if (this.group.length === 0) this.first = index;
    this.group.push(value);
    this.groupBytes += bytes.length;
    if (this.groupBytes >= this.groupLimit || this.group.length >= GROUP_ELEMENTS) this.complete();
  }

  private label(index: number): string {
    return `${this.scanner.prefix}${index}]`;
  }

  /** Whether the elements are a Jaeger answer's `data` (else a top-level array's). */
  private get inData(): boolean {
    return this.scanner.prefix === 'data[';
  }

  /** The group being read is complete: its shared spans noted, the group before it decoded. */
  private complete(): void {
    if (!this.inData) noteSharedServers(this.group, this.sink);
    this.decodeHeld();
    this.held = this.group;
    this.heldFirst = this.first;
    this.group = [];
    this.groupBytes = 0;
  }

  /** Decodes all that is read (before a problem is reported: problems stay in input order). */
  private flush(): void {
    this.complete();
    this.decodeHeld();
  }

  /** Decodes the held group, as the whole document is decoded when it is small enough to hold. */
  private decodeHeld(): void {
    const group = this.held;
    if (group.length === 0) return;
    this.held = [];
    this.sink.line = undefined;
    if (decodeForeignInto(this.inData ? { data: group } : group, this.sink, this.heldFirst)) return;
    group.forEach((request, i) => decodeRequestInto(request, this.sink, this.label(this.heldFirst + i)));
  }
}
