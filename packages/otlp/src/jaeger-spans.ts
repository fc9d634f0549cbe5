/**
 * A Jaeger trace too large to hold (an element of a Jaeger answer's `data`: one trace of a long batch job),
 * decoded span by span as it streams: a {@link ScanTarget} of json-scan.ts that holds each span whole and
 * decodes it with foreign.ts, so spans and problems are those of the trace decoded whole. A span names its
 * process by id, and Jaeger writes `processes` after `spans`: the spans before them are held, unparsed, until
 * they come, up to the record limit; those past it are counted and reported once.
 */
import type { ResourceInfo, Sink } from './convert.js';
import { jaegerProcesses, jaegerSpan } from './foreign.js';
import { OPEN_ARRAY } from './json-bytes.js';
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
   * @param where - the trace's path in problems (`data[3]`)
   * @param sink - where spans and the decoder's problems go
   * @param report - where the scan's problems go
   */
  constructor(
    private readonly maxRecord: number,
    private readonly where: string,
    private readonly sink: Sink,
    private readonly report: (problem: DecodeProblem) => void,
  ) {}

  take(path: JsonPath, first: number): Take {
    if (path.length === 1) {
      if (path[0] === 'traceID' || path[0] === 'processes') return 'hold';
      // A second list is not read (decoded whole, one of them would not be).
      if (path[0] !== 'spans' || first !== OPEN_ARRAY || this.found) return 'skip';
      this.found = true;
      return 'descend';
    }
    return path.length === 2 && path[0] === 'spans' ? 'hold' : 'skip';
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
   * (`cutOff`), they are reported instead, not guessed at.
   */
  end(cutOff: boolean): void {
    if (this.resources !== undefined) return;
    if (!cutOff) {
      this.processes(new Map());
      return;
    }
    const skipped = this.held.length + this.dropped;
    if (skipped > 0) this.report({ line: this.held[0]?.line ?? this.droppedLine, message: `${this.where}: ${skipped} spans before its processes, skipped (the input ends first)` });
    this.held = [];
    this.dropped = 0;
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
    if (this.resources !== undefined) this.decode(span, this.resources);
    else if (this.dropped === 0 && this.heldBytes + span.bytes.length <= this.maxRecord) {
      this.held.push(span);
      this.heldBytes += span.bytes.length;
    } else if (this.dropped++ === 0) {
      this.droppedIndex = span.index;
      this.droppedLine = span.line;
    }
  }

  private decode(span: SpanRecord, resources: ReadonlyMap<string, ResourceInfo>): void {
    const at = `${this.where}.spans[${span.index}]`;
    const value = this.parse(span.bytes, span.line, `spans[${span.index}]`);
    if (value === undefined) return;
    this.sink.line = span.line;
    jaegerSpan(value, at, this.traceID, resources, this.sink);
    this.sink.line = undefined;
  }

  /** The processes are known: the spans held for them are decoded, those past the limit reported. */
  private processes(resources: ReadonlyMap<string, ResourceInfo>): void {
    this.resources = resources;
    for (const span of this.held) this.decode(span, resources);
    if (this.dropped > 0) {
      this.report({
        line: this.droppedLine,
        message: `${this.where}: ${this.dropped} spans before its processes (from ${this.where}.spans[${this.droppedIndex}] on) held past the ${this.maxRecord}-byte record limit, skipped`,
      });
    }
    this.held = [];
    this.heldBytes = 0;
    this.dropped = 0;
  }
}
