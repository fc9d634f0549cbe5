/**
 * A Jaeger trace too large to hold (an element of a Jaeger answer's `data`: one trace of a long batch job),
 * decoded span by span as it streams: a {@link ScanTarget} of json-scan.ts that holds each span whole and
 * decodes it with foreign.ts, so spans and problems are those of the trace decoded whole. A span names its
 * process by id, and Jaeger writes `processes` after `spans`: the spans before them are held, unparsed, until
 * they come, up to the record limit. Those past it are read again from the file once the trace has ended
 * ({@link SpansAgain}), or, when the input cannot be read again (stdin, a stream), counted and reported once.
 */
import type { ResourceInfo, Sink } from './convert.js';
import { jaegerProcesses, jaegerSpan } from './foreign.js';
import { OPEN_ARRAY, OPEN_OBJECT } from './json-bytes.js';
import { pathLabel, type JsonPath, type ScanTarget, type Take } from './json-scan.js';
import type { DecodeProblem } from './problems.js';

/** A span as read, unparsed, with its index in `spans` and its line. */
interface SpanRecord {
  bytes: Buffer;
  index: number;
  line: number;
}

/** The scan target of one Jaeger trace object. */
export class JaegerTraceSpans implements ScanTarget {
  /** Whether the trace has an array of spans (else it is no Jaeger trace, and nothing is read). */
  found = false;
  /** The trace's path in problems (`data[3]`). */
  private readonly where: string;
  /** The trace's `traceID`, for spans without their own. */
  private traceID: unknown;
  /** The processes, once read. */
  private resources: ReadonlyMap<string, ResourceInfo> | undefined;
  private held: SpanRecord[] = [];
  private heldBytes = 0;
  /** Spans before the processes past the limit: how many, the first one's index and line. */
  private dropped = 0;
  private droppedIndex = 0;
  private droppedLine = 0;

  /**
   * @param maxRecord - the record limit: the most bytes of spans held before the processes
   * @param index - the trace's index in `data`
   * @param sink - where spans and the decoder's problems go
   * @param report - where the scan's problems go
   * @param readAgain - asked, at the trace's end, to read the document again for the spans past the limit
   *   (undefined: it cannot be, and they are reported)
   */
  constructor(
    private readonly maxRecord: number,
    private readonly index: number,
    private readonly sink: Sink,
    private readonly report: (problem: DecodeProblem) => void,
    private readonly readAgain?: (again: SpansAgain) => void,
  ) {
    this.where = `data[${index}]`;
  }

  take(path: JsonPath, first: number): Take {
    if (path.length === 1) {
      if (path[0] === 'traceID' || path[0] === 'processes') return 'hold';
      // A second list is not read (decoded whole, one of them would not be).
      if (path[0] !== 'spans' || first !== OPEN_ARRAY || this.found) return 'skip';
      this.found = true;
      return 'descend';
    }
    if (path.length !== 2 || path[0] !== 'spans') return 'skip';
    // Past the limit, with the document to be read again: not read now, only counted.
    if (this.dropped > 0 && this.readAgain !== undefined) {
      this.dropped++;
      return 'skip';
    }
    return 'hold';
  }

  value(bytes: Buffer, path: JsonPath, line: number): void {
    if (path[0] === 'spans') {
      this.span({ bytes, index: path[1] as number, line });
      return;
    }
    const value = this.parse(bytes, line, pathLabel(path));
    if (value === undefined) return;
    if (path[0] === 'traceID') this.traceID = value;
    else this.processes(jaegerProcesses(value));
  }

  leave(): void {}

  /** A span (or the processes) over the limit is skipped: the trace's parts are read, never the trace whole. */
  overflow(): undefined {
    return undefined;
  }

  label(path: JsonPath): string {
    return `${this.where}.${pathLabel(path)}`;
  }

  problem(problem: DecodeProblem): void {
    this.report(problem);
  }

  /**
   * The trace's end. Spans still waiting for processes are decoded without them (unknown service, or the
   * span's own `process`), as the trace decoded whole decodes them; when the input ends inside the trace
   * (`cutOff`), they are reported instead, not guessed at. The spans past the limit are read again now.
   */
  end(cutOff: boolean): void {
    if (this.resources === undefined) {
      if (cutOff) {
        const skipped = this.held.length + this.dropped;
        if (skipped > 0) this.report({ line: this.held[0]?.line ?? this.droppedLine, message: `${this.where}: ${skipped} spans before its processes, skipped (the input ends first)` });
        this.held = [];
        this.dropped = 0;
        return;
      }
      this.processes(new Map());
    }
    if (this.dropped > 0) this.readAgain?.(new SpansAgain(this.index, this.droppedIndex, this.dropped, this.droppedLine, (span) => this.decode(span), this.report));
  }

  /** A held value parsed; undefined (reported) when it does not parse. */
  private parse(bytes: Buffer, line: number, label: string): unknown {
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (err) {
      this.report({ line, message: `${this.where}.${label}: invalid JSON (${(err as Error).message})` });
      return undefined;
    }
  }

  /** A span, decoded at once when the processes are known, else held (up to the limit) until they are. */
  private span(span: SpanRecord): void {
    if (this.resources !== undefined) this.decode(span);
    else if (this.dropped === 0 && this.heldBytes + span.bytes.length <= this.maxRecord) {
      this.held.push(span);
      this.heldBytes += span.bytes.length;
    } else if (this.dropped++ === 0) {
      this.droppedIndex = span.index;
      this.droppedLine = span.line;
    }
  }

  /** Decodes a span with the processes (known by now: read, or none at the trace's end). */
  private decode(span: SpanRecord): void {
    const value = this.parse(span.bytes, span.line, `spans[${span.index}]`);
    if (value === undefined) return;
    this.sink.line = span.line;
    jaegerSpan(value, `${this.where}.spans[${span.index}]`, this.traceID, this.resources as ReadonlyMap<string, ResourceInfo>, this.sink);
    this.sink.line = undefined;
  }

  /** The processes are known: the spans held for them are decoded, those past the limit reported (unless read again). */
  private processes(resources: ReadonlyMap<string, ResourceInfo>): void {
    this.resources = resources;
    for (const span of this.held) this.decode(span);
    this.held = [];
    this.heldBytes = 0;
    if (this.dropped > 0 && this.readAgain === undefined) {
      this.report({
        line: this.droppedLine,
        message: `${this.where}: ${this.dropped} spans before its processes (from ${this.where}.spans[${this.droppedIndex}] on) held past the ${this.maxRecord}-byte record limit, skipped`,
      });
      this.dropped = 0;
    }
  }
}

/**
 * The document read again from its start (a file) for the spans of one trace that were past the limit,
 * `count` spans from `spans[from]` on: each decoded with the processes read the first time. The rest of the
 * document is passed over; so is its structure's damage, reported the first time.
 */
export class SpansAgain implements ScanTarget {
  /** Whether the trace has ended: the rest of the document is not needed. */
  done = false;
  private descended = false;
  private seen = 0;
  /** The span held last, and whether the problem being labelled is about it (over the limit). */
  private last = -1;
  private about = false;

  /**
   * @param index - the trace's index in `data`
   * @param from - the first span to read
   * @param count - the spans to read
   * @param line - the first one's line
   * @param decode - decodes a span
   * @param report - where problems go
   */
  constructor(
    private readonly index: number,
    private readonly from: number,
    private readonly count: number,
    private readonly line: number,
    private readonly decode: (span: SpanRecord) => void,
    private readonly report: (problem: DecodeProblem) => void,
  ) {}

  take(path: JsonPath, first: number): Take {
    if (path.length === 1) return path[0] === 'data' && first === OPEN_ARRAY ? 'descend' : 'skip';
    if (path.length === 2) return path[1] === this.index && first === OPEN_OBJECT ? 'descend' : 'skip';
    if (path.length === 3) {
      // The first list of spans, as the first time.
      if (path[2] !== 'spans' || first !== OPEN_ARRAY || this.descended) return 'skip';
      this.descended = true;
      return 'descend';
    }
    if ((path[3] as number) < this.from) return 'skip';
    this.last = path[3] as number;
    this.seen++;
    return 'hold';
  }

  value(bytes: Buffer, path: JsonPath, line: number): void {
    this.decode({ bytes, index: path[3] as number, line });
  }

  leave(path: JsonPath): void {
    if (path.length === 2) this.done = true;
  }

  overflow(): undefined {
    return undefined;
  }

  label(path: JsonPath): string {
    this.about = path.length === 4 && path[3] === this.last;
    return pathLabel(path);
  }

  problem(problem: DecodeProblem): void {
    const about = this.about;
    this.about = false;
    if (about) this.report(problem);
  }

  /** The end of the reading: spans not found again (the file changed since) are reported. */
  end(): void {
    if (this.seen >= this.count) return;
    const where = `data[${this.index}]`;
    this.report({ line: this.line, message: `${where}: ${this.count - this.seen} spans (from ${where}.spans[${this.from + this.seen}] on) not found when the file was read again, skipped` });
  }
}
