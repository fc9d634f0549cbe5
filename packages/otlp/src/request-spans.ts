/**
 * An OTLP/JSON request too large to hold (in practice one resource with one scope holding millions of
 * spans), decoded span by span as it streams: a {@link ScanTarget} of json-scan.ts that descends
 * `resourceSpans[r]` → `scopeSpans[s]` (or the legacy `instrumentationLibrarySpans`) → `spans[k]`, holds
 * each resource and span whole and decodes them with convert.ts, so spans, names and problems are those
 * of the request decoded whole. Spans come before their resource when a writer puts `scopeSpans` first
 * (JSON keys have no order): they are held until it comes, up to the record limit.
 */
import {
  camelCaseKey,
  camelCaseKeys,
  decodeRequestInto,
  decodeResourceSpans,
  decodeScope,
  decodeScopes,
  decodeSpansInto,
  MAX_WRAPPERS,
  problem,
  readResource,
  unknownResource,
  type ResourceInfo,
  type Sink,
} from './convert.js';
import { OPEN_ARRAY, OPEN_OBJECT } from './json-bytes.js';
import { pathLabel, type JsonPath, type ScanTarget, type Take } from './json-scan.js';
import type { DecodeProblem } from './problems.js';

/** A span as read, unparsed (held before its resource, its bytes are what the record limit bounds). */
interface SpanRecord {
  bytes: Buffer;
  /** Its scope's `…spans` path and its index there, for problems; its line. */
  path: string;
  index: number;
  line: number;
}

/** The scan target of one OTLP request object (the document's top-level value, or an element of its array). */
export class RequestSpans implements ScanTarget {
  /** Whether the request has a list of resource spans (else it is no OTLP request, and nothing is read). */
  found = false;
  /** The list came as `resource_spans`: every key is read in lowerCamelCase, as convert.ts does. */
  private snake = false;
  /** Depth of the request object inside `trace`/`result` wrappers, and its path in problems (`[3].trace.`). */
  private base = 0;
  private where: string;
  /** The resource spans element being read, its resource once read, its scope field, the scope's spans path. */
  private r = 0;
  private res: ResourceInfo | undefined;
  private field = '';
  private spansPath = '';
  private held: SpanRecord[] = [];
  private heldBytes = 0;
  /** Spans before their resource past the limit: how many, the first one's label and line. */
  private dropped = 0;
  private droppedLabel = '';
  private droppedLine = 0;

  /**
   * @param maxRecord - the record limit: the most bytes of spans held before their resource
   * @param prefix - the request's path in problems: empty, or its index in the document's array (`[3]`)
   * @param sink - where spans and the decoder's problems go
   * @param report - where the scan's problems go
   */
  constructor(
    private readonly maxRecord: number,
    private readonly prefix: string,
    private readonly sink: Sink,
    private readonly report: (problem: DecodeProblem) => void,
  ) {
    this.where = prefix === '' ? '' : `${prefix}.`;
  }

  take(path: JsonPath, first: number): Take {
    const depth = path.length - this.base;
    const key = path[path.length - 1];
    if (depth === 1) {
      if ((key === 'trace' || key === 'result') && first === OPEN_OBJECT && !this.found && this.base < MAX_WRAPPERS) {
        this.base++;
        this.where += `${key}.`;
        return 'descend';
      }
      if (key !== 'resourceSpans' && key !== 'resource_spans' && key !== 'batches') return 'skip';
      // A second list is not read (decoded whole, one of them would not be); a list that is no array is a problem.
      if (this.found) return 'skip';
      if (first !== OPEN_ARRAY) return key === 'batches' ? 'skip' : 'hold';
      this.found = true;
      this.snake = key === 'resource_spans';
      return 'descend';
    }
    if (!this.found || depth < 2) return 'skip';
    if (depth === 2) {
      this.r = key as number;
      this.res = undefined;
      return first === OPEN_OBJECT ? 'descend' : 'hold';
    }
    const name = this.name(key);
    if (depth === 3) {
      if (name === 'resource') return 'hold';
      if (name !== 'scopeSpans' && name !== 'instrumentationLibrarySpans') return 'skip';
      this.field = name;
      return first === OPEN_ARRAY ? 'descend' : 'hold';
    }
    if (depth === 4) return first === OPEN_OBJECT ? 'descend' : 'hold';
    if (depth === 5) {
      if (name !== 'spans') return 'skip';
      this.spansPath = `${this.scopePath(path)}.spans`;
      return first === OPEN_ARRAY ? 'descend' : 'hold';
    }
    return depth === 6 ? 'hold' : 'skip';
  }

  value(bytes: Buffer, path: JsonPath, line: number): void {
    const depth = path.length - this.base;
    if (depth === 6) {
      this.span(bytes, path[path.length - 1] as number, line);
      return;
    }
    const value = this.parse(bytes, depth, line, () => this.label(path));
    if (value === undefined) return;
    this.sink.line = line;
    if (depth === 1) decodeRequestInto({ resourceSpans: value }, this.sink, this.where.slice(0, -1));
    else if (depth === 2) decodeResourceSpans(value, this.sink, this.where, this.r);
    else if (depth === 3 && this.name(path[path.length - 1] as string) === 'resource') this.resource(readResource(value));
    else if (depth === 3) decodeScopes(value, this.field, this.res ?? unknownResource(), this.sink, this.where, this.r);
    else if (depth === 4) decodeScope(value, this.res ?? unknownResource(), this.sink, this.scopePath(path));
    else decodeScope({ spans: value }, this.res ?? unknownResource(), this.sink, this.scopePath(path));
    this.sink.line = undefined;
  }

  leave(path: JsonPath): void {
    // A resource spans element without a resource: its spans are the unknown service's, as decoded whole.
    if (this.found && path.length - this.base === 2 && this.res === undefined) this.resource(unknownResource());
  }

  /** A span over the limit is skipped: a request's parts are read, never the request whole. */
  overflow(): undefined {
    return undefined;
  }

  label(path: JsonPath): string {
    return `${this.prefix === '' ? '' : `${this.prefix}.`}${pathLabel(path, (key) => this.name(key))}`;
  }

  problem(problem: DecodeProblem): void {
    this.report(problem);
  }

  /** The end of the input: spans still waiting for their resource are reported, not guessed at. */
  end(): void {
    if (this.held.length === 0 && this.dropped === 0) return;
    const first = this.held.length > 0 ? this.held[0] : undefined;
    this.report({
      line: first?.line ?? this.droppedLine,
      message: `${this.where}resourceSpans[${this.r}]: ${this.held.length + this.dropped} spans before its resource, skipped (the input ends first)`,
    });
    this.held = [];
    this.dropped = 0;
  }

  /** A key as convert.ts reads it: in lowerCamelCase in a snake_case request, the list as `resourceSpans`. */
  private name(key: string | number): string {
    if (typeof key === 'number') return String(key);
    if (key === 'batches' || key === 'resource_spans') return 'resourceSpans';
    return this.snake ? camelCaseKey(key) : key;
  }

  /** `resourceSpans[r].<field>[s]` of the scope `path` is in (or is). */
  private scopePath(path: JsonPath): string {
    return `${this.where}resourceSpans[${this.r}].${this.field}[${path[this.base + 3] as number}]`;
  }

  /**
   * A held value parsed, and in a snake_case request its keys turned as the request decoded whole would
   * turn them at its `depth`; undefined (reported) when it does not parse.
   */
  private parse(bytes: Buffer, depth: number, line: number, label: () => string): unknown {
    try {
      const value: unknown = JSON.parse(bytes.toString('utf8'));
      return this.snake ? camelCaseKeys(value, depth) : value;
    } catch (err) {
      this.report({ line, message: `${label()}: invalid JSON (${(err as Error).message})` });
      return undefined;
    }
  }

  /** A span, decoded at once when its resource is known, else held (up to the limit) until it is. */
  private span(bytes: Buffer, index: number, line: number): void {
    if (this.res !== undefined) this.decodeSpan({ bytes, path: this.spansPath, index, line }, this.res);
    else if (this.dropped === 0 && this.heldBytes + bytes.length <= this.maxRecord) {
      this.held.push({ bytes, path: this.spansPath, index, line });
      this.heldBytes += bytes.length;
    } else if (this.dropped++ === 0) {
      this.droppedLabel = `${this.spansPath}[${index}]`;
      this.droppedLine = line;
    }
  }

  private decodeSpan(span: SpanRecord, res: ResourceInfo): void {
    const value = this.parse(span.bytes, 6, span.line, () => `${span.path}[${span.index}]`);
    if (value === undefined) return;
    this.sink.line = span.line;
    decodeSpansInto([value], res, this.sink, span.path, span.index);
    this.sink.line = undefined;
  }

  /** The resource of the element being read is known: the spans held for it are decoded. */
  private resource(res: ResourceInfo): void {
    this.res = res;
    for (const span of this.held) this.decodeSpan(span, res);
    if (this.dropped > 0) {
      this.sink.line = this.droppedLine;
      problem(
        this.sink,
        `${this.where}resourceSpans[${this.r}]: ${this.dropped} spans before its resource (from ${this.droppedLabel} on) held past the ${this.maxRecord}-byte record limit, skipped`,
      );
    }
    this.sink.line = undefined;
    this.held = [];
    this.heldBytes = 0;
    this.dropped = 0;
  }
}
