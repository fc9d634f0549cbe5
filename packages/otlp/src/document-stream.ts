/**
 * A JSON document over the record limit, decoded as it streams (json-scan.ts): the elements of its
 * top-level array (Zipkin spans, OTLP requests) or of a Jaeger answer's `data` (traces), decoded in groups
 * of consecutive elements as if each group were the whole document; an OTLP request, the document itself
 * or an element over the limit, span by span (request-spans.ts), and so a Jaeger trace over the limit
 * (jaeger-spans.ts). Memory is bounded by two groups (one is
 * read ahead) and the record limit, not by the document.
 */
import { decodeRequestInto, type Sink } from './convert.js';
import { decodeForeignInto, noteSharedServers } from './foreign.js';
import { OPEN_ARRAY, OPEN_OBJECT } from './json-bytes.js';
import { JsonScan, pathLabel, type JsonPath, type ScanTarget, type Take, type ValueSink } from './json-scan.js';
import { JaegerTraceSpans, type SpansAgain } from './jaeger-spans.js';
import type { DecodeProblem } from './problems.js';
import { RequestSpans } from './request-spans.js';

/**
 * Raw bytes of the elements decoded together. A group is what the decoders see at once. Zipkin's B3
 * shared server spans of the next group are noted before a group is decoded, so a child finds its server
 * span up to a group after it (the server span ends, and is written, after its children).
 */
export const GROUP_BYTES = 4 * 1024 * 1024;
/** Most elements in a group (tiny elements parse to far more memory than their bytes). */
const GROUP_ELEMENTS = 16_384;

/** Reads one document element by element, or span by span, into `sink`. */
export class DocumentStream implements ScanTarget {
  private readonly scanner: JsonScan;
  /** The top-level object read as an OTLP request (unless only arrays of elements are read). */
  private readonly request: RequestSpans | undefined;
  /** Whether the document has an array of elements: a top-level one, or Jaeger's `data`. */
  private elements = false;
  private inData = false;
  private group: unknown[] = [];
  private groupBytes = 0;
  /** Index of the group's first element in the array. */
  private first = 0;
  /** The complete group before it, decoded once the next one is read (or at a problem, or the end). */
  private held: unknown[] = [];
  private heldFirst = 0;
  private readonly groupLimit: number;
  /** A trace's spans past the limit, to be read again before the scan reads on. */
  private again: SpansAgain | undefined;

  /**
   * @param maxRecord - the record limit: the largest element (or span) read, and at most a group's bytes
   * @param firstLine - the line the document starts on
   * @param sink - where spans and the decoders' problems go
   * @param report - where the reader's problems go (with their lines)
   * @param requests - whether OTLP requests are read span by span (else only arrays of elements are read)
   * @param rereadable - whether the document can be read again (a file), for a Jaeger trace's spans past the
   *   limit ({@link takeAgain}); else they are reported
   */
  constructor(
    private readonly maxRecord: number,
    firstLine: number,
    private readonly sink: Sink,
    private readonly report: (problem: DecodeProblem) => void,
    requests = true,
    private readonly rereadable = false,
  ) {
    this.groupLimit = Math.min(maxRecord, GROUP_BYTES);
    this.scanner = new JsonScan(maxRecord, firstLine, this);
    this.request = requests ? new RequestSpans(maxRecord, '', sink, (p) => this.problem(p)) : undefined;
  }

  /** Whether the document has an array read element by element, or an OTLP request read span by span (so far). */
  get found(): boolean {
    return this.elements || this.request?.found === true;
  }

  /**
   * Reads the next bytes of the document, decoding each group once it is complete. Says how many it read:
   * all, unless a trace's spans are to be read again first ({@link takeAgain}; then the rest are pushed again).
   */
  push(bytes: Buffer): number {
    return this.scanner.push(bytes);
  }

  /** The spans of a trace to be read again from the document's start, if any: asked after each {@link push}. */
  takeAgain(): SpansAgain | undefined {
    const again = this.again;
    this.again = undefined;
    return again;
  }

  /** The end of the input: the last group decoded, a cut-off document reported. */
  end(): void {
    this.request?.end();
    if (this.found) this.scanner.end();
    this.flush();
  }

  take(path: JsonPath, first: number): Take {
    if (this.isElement(path)) {
      this.elements = true;
      return 'hold';
    }
    if (path.length === 1 && path[0] === 'data' && first === OPEN_ARRAY && !this.found) {
      this.elements = true;
      this.inData = true;
      return 'descend';
    }
    return this.request?.take(path, first) ?? 'skip';
  }

  value(bytes: Buffer, path: JsonPath, line: number): void {
    if (this.isElement(path)) this.element(bytes, path[path.length - 1] as number, line);
    else this.request?.value(bytes, path, line);
  }

  leave(path: JsonPath): void {
    if (!this.isElement(path)) this.request?.leave(path);
  }

  /**
   * An element over the limit that is an object is read span by span: a Jaeger trace of `data`, or an OTLP
   * request of the top-level array.
   */
  overflow(path: JsonPath, first: number, line: number): ValueSink | undefined {
    if (first !== OPEN_OBJECT) return undefined;
    if (this.inData && path.length === 2) {
      const readAgain = (again: SpansAgain) => {
        this.again = again;
        this.scanner.pause();
      };
      const trace = new JaegerTraceSpans(this.maxRecord, path[1] as number, this.sink, (p) => this.problem(p), this.rereadable ? readAgain : undefined);
      return this.scanned(trace, line, (cutOff) => trace.end(cutOff));
    }
    if (typeof path[0] !== 'number' || this.request === undefined) return undefined;
    const request = new RequestSpans(this.maxRecord, this.label(path), this.sink, (p) => this.problem(p));
    return this.scanned(request, line, (cutOff) => {
      if (cutOff) request.end();
    });
  }

  /** The bytes of an element starting on `line`, scanned for `target`; `end` is told whether the input ended inside it. */
  private scanned(target: ScanTarget & { found: boolean }, line: number, end: (cutOff: boolean) => void): ValueSink {
    // Its spans in input order: after the elements before it.
    this.flush();
    const scanner = new JsonScan(this.maxRecord, line, target);
    return {
      push: (bytes) => scanner.push(bytes),
      end: (cutOff) => {
        end(cutOff);
        return target.found;
      },
    };
  }

  label(path: JsonPath): string {
    return this.isElement(path) ? pathLabel(path) : (this.request?.label(path) ?? pathLabel(path));
  }

  problem(problem: DecodeProblem): void {
    // Problems in input order: the group before it is decoded first.
    this.flush();
    this.report(problem);
  }

  /** Whether `path` is in the array of elements (or is one). */
  private isElement(path: JsonPath): boolean {
    return typeof path[0] === 'number' || (this.inData && path[0] === 'data');
  }

  private element(bytes: Buffer, index: number, line: number): void {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      this.problem({ line, message: `${this.elementLabel(index)}: invalid JSON (${(err as Error).message})` });
      return;
    }
    if (this.group.length === 0) this.first = index;
    this.group.push(value);
    this.groupBytes += bytes.length;
    if (this.groupBytes >= this.groupLimit || this.group.length >= GROUP_ELEMENTS) this.complete();
  }

  private elementLabel(index: number): string {
    return `${this.inData ? 'data' : ''}[${index}]`;
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
    group.forEach((request, i) => decodeRequestInto(request, this.sink, this.elementLabel(this.heldFirst + i)));
  }
}
