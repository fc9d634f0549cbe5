import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { Span } from '@rootspan/engine';
import { inflaterFor, MAGIC_BYTES, type InflateState } from './compressed.js';
import { decodeRequestInto, SpanList, type BatchOut, type Sink } from './convert.js';
import { DocumentStream } from './document-stream.js';
import { decodeForeignInto } from './foreign.js';
import { isSpace, OPEN_ARRAY, OPEN_OBJECT } from './json-bytes.js';
import { JsonScan } from './json-scan.js';
import { JsonLineScanner } from './jsonl-scan.js';
import { DEFAULT_MAX_RECORD_BYTES } from './limits.js';
import { walkStream, type WalkTarget } from './protobuf-walk.js';
import { OtlpDecodeError, type DecodeProblem } from './problems.js';
import { readInWorker, workerScript } from './threaded.js';

/**
 * Input formats: `jsonl` (one OTLP/JSON request per line, as the Collector's file exporter writes),
 * `json` (one request, an array of requests, or JSONL content after all), `protobuf` (one binary
 * `ExportTraceServiceRequest`). Compression (gzip, zstd) is detected from the content and is not a format of its own.
 */
export type OtlpFormat = 'json' | 'jsonl' | 'protobuf';

/** Options of {@link readOtlpStream} and {@link readOtlpFile}. */
export interface ReadOtlpOptions {
  /**
   * How to read the (decompressed) content. `auto` (default for streams): protobuf if it looks binary,
   * else as `json`. {@link readOtlpFile} picks the default from the file extension.
   */
  format?: OtlpFormat | 'auto';
  /** Throw an {@link OtlpDecodeError} on the first problem instead of collecting problems. Default false. */
  strict?: boolean;
  /** Yield a batch once it holds this many spans (or problems). Default 1000. */
  batchSize?: number;
  /** The input's name in problems and errors (a path, `-`). {@link readOtlpFile} defaults it to the path. */
  name?: string;
  /**
   * Largest record held in memory, in bytes: a JSONL line, a whole JSON document (a larger one that is an
   * array or a Jaeger answer is read element by element, each element a record; a larger OTLP request or
   * Jaeger trace, also as such an element, span by span), one protobuf span or resource. A larger one is skipped and
   * reported; memory is bounded by this, not by the input's size.
   * Default {@link DEFAULT_MAX_RECORD_BYTES} (64 MiB).
   */
  maxRecordBytes?: number;
  /**
   * {@link readOtlpFile} with a path: read, inflate and decode in a worker thread (`true`), or in this many
   * (a JSONL file is then split into line ranges decoded side by side and handed out in file order), so
   * that whatever the caller does with each batch (analysis) runs on another core meanwhile. The spans,
   * problems (with their line numbers) and bytes are the same as without workers; with several, batches
   * may begin and end elsewhere. Each worker stays at most a few batches ahead of the caller, so memory
   * stays bounded as without it. Ignored for stdin and streams. Default false.
   */
  worker?: boolean | number;
}

/** A slice of the decoded input. */
export interface OtlpBatch {
  /** Decoded spans, in input order. */
  spans: Span[];
  /** Records skipped since the previous batch, each with its 1-based `line` where there are lines. */
  problems: DecodeProblem[];
  /**
   * Input bytes read from the source since the previous batch (compressed bytes for compressed input): the
   * batches' `bytes` add up to the input's size, for progress reporting.
   */
  bytes: number;
  /**
   * Whether the input is one document, whose spans are listed by resource (each service's together), not
   * a stream of requests each an exporter's batch (JSON lines): a JSON document (held whole, or read by its
   * elements or spans), JSON text of a single line, or protobuf. The two call for different reordering
   * (`EndTimeWindow`'s `holdMs`: `rootspan analyze` holds JSON lines for an export period, and sorts a
   * document's spans within its window). Final from the first batch with spans on: JSON text of one line is
   * held back until a second line (JSON lines) or the end (a document) says which it is.
   */
  document: boolean;
}

/** What {@link readOtlpFile} accepts: a path, `-` for stdin, or an already open byte stream. */
export type OtlpSource = string | AsyncIterable<Uint8Array | string>;

const DEFAULT_BATCH = 1000;
const SNIFF_BYTES = 512;

/**
 * The default format for a file name: `.jsonl`/`.ndjson` → `jsonl`, `.json` → `json`,
 * `.pb`/`.binpb`/`.protobuf` → `protobuf`, else `auto`; a `.gz`/`.gzip`/`.zst`/`.zstd` suffix is looked through.
 *
 * @param path - a file name or path
 */
export function formatFromPath(path: string): OtlpFormat | 'auto' {
  const p = path.toLowerCase().replace(/\.(gz|gzip|zst|zstd)$/, '');
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  if (p.endsWith('.json')) return 'json';
  if (p.endsWith('.pb') || p.endsWith('.binpb') || p.endsWith('.protobuf')) return 'protobuf';
  return 'auto';
}

/**
 * Reads OTLP trace data from a file, `-` (stdin) or an open stream, yielding batches of decoded spans.
 * Streams input of any size in memory bounded by its largest record (`maxRecordBytes`), not its size:
 * JSONL line by line, protobuf span by span; a JSON document is one record, or when larger than that and
 * an array (Zipkin spans, OTLP requests) or a Jaeger answer (`{"data": [...]}`), one per element, and an
 * OTLP request (the document, or such an element) one per span and resource. Gzip
 * and zstd (also the file exporter's `compression: zstd` framing) are detected from the magic bytes. The format defaults from the extension ({@link formatFromPath}).
 *
 * Problems (invalid JSON lines, undecodable spans) are collected in the batches with their line numbers,
 * or, with `strict`, thrown as an {@link OtlpDecodeError}. I/O errors (missing file) are thrown as is.
 *
 * @param source - a path, `-` for `process.stdin`, or a readable byte stream / async iterable
 * @param options - see {@link ReadOtlpOptions}
 *
 * @example
 * ```ts
 * for await (const batch of readOtlpFile('traces.jsonl.gz')) {
 *   for (const p of batch.problems) console.error(formatProblem(p, 'traces.jsonl.gz'));
 *   analyzer.ingest(batch.spans);
 * }
 * ```
 */
export function readOtlpFile(source: OtlpSource, options: ReadOtlpOptions = {}): AsyncGenerator<OtlpBatch, void, undefined> {
  if (typeof source !== 'string') return readOtlpStream(source, options);
  if (source === '-') return readOtlpStream(process.stdin, { ...options, name: options.name ?? '-' });
  const opts = { ...options, format: options.format ?? formatFromPath(source), name: options.name ?? source };
  const workers = options.worker === true ? 1 : typeof options.worker === 'number' ? Math.floor(options.worker) : 0;
  const entry = workers >= 1 ? workerScript() : null;
  if (entry !== null) return readInWorker(entry, source, opts, workers);
  return readBatches(openFile(source), opts, new SpanList(), undefined, source);
}

/** Largest and smallest read of a file (bytes). */
const MAX_READ = 1 << 20;
const MIN_READ = 1 << 14;

/**
 * The bytes of the file at `path`, in reads of 1 MiB, or of about its size when smaller: a read allocates
 * its buffer whole, and a directory of thousands of small trace files (per-trace downloads) read 1 MiB at a
 * time spent most of its time collecting those buffers.
 */
export async function* openFile(path: string): AsyncGenerator<Buffer, void, undefined> {
  const { size } = await stat(path);
  yield* createReadStream(path, { highWaterMark: Math.min(MAX_READ, Math.max(MIN_READ, size + 1)) }) as AsyncIterable<Buffer>;
}

/**
 * Reads OTLP trace data from a byte stream (a Node `Readable`, `process.stdin`, a web `ReadableStream`,
 * any async iterable of chunks), yielding batches of decoded spans. See {@link readOtlpFile}; the
 * format defaults to `auto`.
 *
 * @param input - the bytes (string chunks are taken as UTF-8)
 * @param options - see {@link ReadOtlpOptions}
 */
export function readOtlpStream(input: AsyncIterable<Uint8Array | string>, options: ReadOtlpOptions = {}): AsyncGenerator<OtlpBatch, void, undefined> {
  return readBatches(input, options, new SpanList());
}

/** An {@link OtlpBatch} whose spans are held in `B`: engine spans, or columns in the decoding worker. */
export type Batch<B> = Omit<OtlpBatch, 'spans'> & { spans: B };

/**
 * One range of a JSONL file's lines, read on its own by a decoding worker (threaded.ts): not compressed, no
 * format sniffing, line numbers counted from the range's first line.
 */
export interface LineRange {
  /** Whether the range starts the file: only there may the first line begin with a byte-order mark. */
  first: boolean;
  /** Told how many lines the range held, once it is read. */
  lines(n: number): void;
}

/**
 * {@link readOtlpStream}, its spans written to `out` and handed out as `out` takes them; with `range`,
 * `input` is one {@link LineRange} of a JSONL file. `path`: the file `input` reads, read again from its
 * start for a Jaeger trace's spans past the record limit (jaeger-spans.ts), if it is a regular file (a pipe
 * cannot be read twice).
 */
export async function* readBatches<B>(
  input: AsyncIterable<Uint8Array | string>,
  options: ReadOtlpOptions,
  out: BatchOut<B>,
  range?: LineRange,
  path?: string,
): AsyncGenerator<Batch<B>, void, undefined> {
  const reader = new Reader(options, out, range, path);
  const raw = countBytes(input, reader);
  if (range !== undefined) {
    yield* reader.lines(raw, true);
    return;
  }
  const { head, chunks } = await contentOf(raw, reader);
  let format = options.format ?? 'auto';
  if (format === 'auto') format = head.length === 0 || looksLikeText(head) ? 'json' : 'protobuf';
  if (format === 'protobuf') yield* reader.protobuf(chunks);
  else yield* reader.lines(chunks, format === 'jsonl');
}

/** The content of `raw` input (inflated when its magic bytes say so), and its first bytes, to sniff. */
async function contentOf(raw: AsyncIterable<Buffer>, state: InflateState): Promise<{ head: Buffer; chunks: AsyncGenerator<Buffer> }> {
  let it: AsyncIterator<Buffer> = raw[Symbol.asyncIterator]();
  let head = await peek(it, MAGIC_BYTES);
  const inflater = inflaterFor(head);
  if (inflater !== undefined) {
    it = inflater(prepend(head, it), state)[Symbol.asyncIterator]();
    head = await peek(it, SNIFF_BYTES);
  } else if (head.length > 0) {
    head = Buffer.concat([head, await peek(it, SNIFF_BYTES - head.length)]);
  }
  return { head, chunks: prepend(head, it) };
}

/**
 * `lines`: every line is a record. `undecided`: before the first non-blank line of a `json` input.
 * `document`: that line did not parse alone, so the input is one multi-line document, held until the
 * end. `elements`: a document (one line or several) over the record limit that is an array, a
 * Jaeger answer or an OTLP request, read element by element or span by span (document-stream.ts).
 * `skipping`: another document over the record limit, read to the end and dropped.
 */
type Mode = 'lines' | 'undecided' | 'document' | 'elements' | 'skipping';

/** Input read without a batch (blank lines, a held document) after which a batch still reports progress. */
const PROGRESS_BYTES = 4 * 1024 * 1024;
/** Compared against in blocks to skip long runs of blank lines at memcmp speed. */
const NEWLINES = Buffer.alloc(4096, 10);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const EMPTY = Buffer.alloc(0);
/** Lines the scanner may give up on before it is asked no more (unless it read more than that). */
const SCAN_MISSES = 16;
/** Lines after a broken first one sampled to tell JSONL (most parse alone) from one document (few do). */
const JSONL_SAMPLE = 10;

/** State of one read: the batch being filled, byte counts, and the JSON line machinery. */
class Reader<B> implements InflateState {
  readonly name: string | undefined;
  readonly strict: boolean;
  readonly batchSize: number;
  readonly maxRecord: number;
  /** Raw input bytes read so far, and how many of them batches have reported. */
  read = 0;
  reported = 0;
  inflateError: string | undefined;
  readonly sink: Sink;
  private mode: Mode = 'lines';
  /** See {@link OtlpBatch.document}: protobuf, or JSON read as one document. */
  private isDocument = false;
  /** The first line of JSON text parsed alone, and no second one came yet: one document so far. */
  private oneLine = false;
  /** Lines seen so far; the bytes of the current, unfinished line. */
  private lineNo = 0;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  /** In `document` mode: its first line's number and text, and the raw bytes after that line. */
  private docLine = 0;
  private docHead = '';
  private docParts: Buffer[] = [];
  private docBytes = 0;
  /** In `elements` mode: the document being read element by element. */
  private stream: DocumentStream | undefined;
  /** The JSONL scanner (made at the first line), whether it is still asked, the lines it read and those it gave up on: see {@link record}. */
  private scanner: JsonLineScanner | undefined;
  private scans = true;
  private scanned = 0;
  private missed = 0;

  constructor(
    options: ReadOtlpOptions,
    private readonly out: BatchOut<B>,
    private readonly range?: LineRange,
    /** The file read, if any: read again for a Jaeger trace's spans past the record limit if it is a regular file. */
    private path?: string,
  ) {
    this.sink = { out, problems: [], line: undefined };
    this.name = options.name;
    this.strict = options.strict === true;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH));
    this.maxRecord = Math.max(1, options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  }

  private full(): boolean {
    // The first line's spans wait for a second one: until then the input may be one document.
    if (this.oneLine) return false;
    return this.out.length >= this.batchSize || this.sink.problems.length >= this.batchSize || this.read - this.reported >= PROGRESS_BYTES;
  }

  /** Hands out what has been decoded since the last batch. */
  private take(spans: B = this.out.take()): Batch<B> {
    const batch: Batch<B> = { spans, problems: this.sink.problems, bytes: this.read - this.reported, document: this.isDocument || this.oneLine };
    this.reported = this.read;
    this.sink.problems = [];
    return batch;
  }

  report(problem: DecodeProblem): void {
    this.sink.problems.push(problem);
    this.check();
  }

  /** In strict mode, the first problem ends the read. */
  private check(): void {
    if (this.strict && this.sink.problems.length > 0) throw new OtlpDecodeError(this.sink.problems[0], this.name);
  }

  private decode(value: unknown, line: number | undefined): void {
    this.sink.line = line;
    if (!decodeForeignInto(value, this.sink)) decodeRequestInto(value, this.sink);
    this.check();
  }

  private *finish(): Generator<Batch<B>> {
    if (this.inflateError !== undefined) this.report({ message: this.inflateError, kind: 'decompression' });
    // A whole document decoded at once: handed out in batch-sized slices.
    if (this.out.length > this.batchSize) for (const slice of this.out.takeSlices(this.batchSize)) yield this.take(slice);
    else if (this.out.length > 0 || this.sink.problems.length > 0 || this.read > this.reported) yield this.take();
  }

  /** One binary request, decoded span by span as the bytes arrive. */
  async *protobuf(chunks: AsyncIterable<Buffer>): AsyncGenerator<Batch<B>> {
    this.isDocument = true;
    const target: WalkTarget = {
      sink: this.sink,
      maxRecordBytes: this.maxRecord,
      // A file may be one request of any size (concatenated requests are one): its records bound memory.
      maxMessages: Infinity,
      maxSpanFields: Infinity,
      report: (message) => this.report({ message }),
      check: () => this.check(),
      full: () => this.full(),
    };
    for await (const _ of walkStream(chunks[Symbol.asyncIterator](), target)) yield this.take();
    yield* this.finish();
  }

  /** Splits the content into lines (LF or CRLF) and decodes them per {@link Mode}. */
  async *lines(chunks: AsyncIterable<Buffer>, jsonl: boolean): AsyncGenerator<Batch<B>> {
    this.mode = (jsonl ? 'lines' : 'undecided') as Mode; // as Mode: the loop's calls change it
    let skipping = false; // inside a line longer than maxRecord
    for await (const chunk of chunks) {
      let start = 0;
      while (start < chunk.length) {
        if (this.mode === 'document' || this.mode === 'elements' || this.mode === 'skipping') {
          // The rest of the input belongs to the document: held as raw bytes, not split into lines.
          yield* this.hold(chunk.subarray(start));
          break;
        }
        const nl = chunk.indexOf(10, start);
        if (nl === start && this.pendingLen === 0 && !skipping) {
          // A run of blank lines (padding, or a hostile input): counted, nothing to decode or keep.
          let i = start + 1;
          const block = NEWLINES.length;
          while (chunk.length - i >= block && chunk.compare(NEWLINES, 0, block, i, i + block) === 0) i += block;
          while (i < chunk.length && chunk[i] === 10) i++;
          this.lineNo += i - start;
          start = i;
          continue;
        }
        const end = nl === -1 ? chunk.length : nl;
        if (skipping) {
          // drop bytes until the end of the over-long line
        } else if (this.pendingLen + end - start > this.maxRecord) {
          if (this.mode === 'undecided' && opensArrayOrObject([...this.pending, chunk.subarray(start, end)])) {
            // A one-line document over the limit (a Jaeger or Zipkin download): read by its elements.
            const parts = this.pending;
            this.pending = [];
            this.pendingLen = 0;
            yield* this.streamDocument(this.lineNo + 1, parts);
            continue;
          }
          skipping = true;
          this.pending = [];
          this.pendingLen = 0;
        } else if (nl === -1) {
          this.pending.push(chunk.subarray(start, end));
          this.pendingLen += end - start;
        }
        if (nl === -1) break;
        this.lineNo++;
        if (skipping) {
          skipping = false;
          this.report({ line: this.lineNo, message: `line longer than ${this.maxRecord} bytes (the record limit), skipped` });
        } else {
          this.pending.push(chunk.subarray(start, nl));
          this.record(this.takeLine(), this.lineNo);
        }
        start = nl + 1;
        if (this.full()) yield this.take();
      }
      if (this.full()) yield this.take();
    }
    if (skipping) {
      this.report({ line: this.lineNo + 1, message: `line longer than ${this.maxRecord} bytes (the record limit), skipped` });
    } else if (this.pendingLen > 0) {
      this.record(this.takeLine(), this.lineNo + 1);
    }
    if (this.mode === 'document') yield* this.document();
    if (this.mode === 'elements') {
      this.endDocument();
      yield* this.readAgain();
    }
    this.range?.lines(this.lineNo);
    yield* this.finish();
  }

  /** The pending bytes as one line, without a trailing CR. */
  private takeLine(): Buffer {
    const parts = this.pending;
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.pending = [];
    this.pendingLen = 0;
    return buf.length > 0 && buf[buf.length - 1] === 13 ? buf.subarray(0, buf.length - 1) : buf;
  }

  /**
   * One line's bytes: read by the {@link JsonLineScanner} where it can (past the first line, which may be
   * the start of a document), else as text by {@link line}. A scanner that keeps giving up (another
   * shape of JSON) is no longer asked.
   */
  private record(bytes: Buffer, lineNo: number): void {
    if (this.oneLine && !bytes.every(isSpace)) this.oneLine = false;
    if (this.mode === 'lines' && this.scans) {
      this.scanner ??= new JsonLineScanner();
      this.sink.line = lineNo;
      if (this.scanner.decode(bytes, this.sink, this.out)) {
        this.scanned++;
        this.check();
        return;
      }
      if (++this.missed > SCAN_MISSES && this.missed > this.scanned) this.scans = false;
    }
    this.line(bytes.toString('utf8'), lineNo);
  }

  /**
   * One line. `lines`: decode it. `undecided` (a `.json` file or unknown text, at its first non-blank
   * line): if that line parses on its own the content is JSONL (or one single-line request, as a second
   * line or the end tells), else it is one multi-line document, held until the end.
   */
  private line(text: string, lineNo: number): void {
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff && this.range?.first !== false) text = text.slice(1);
    if (isBlank(text)) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      if (this.mode === 'undecided') {
        this.mode = 'document';
        this.isDocument = true;
        this.docLine = lineNo;
        this.docHead = text;
        this.docBytes = text.length + 1;
      } else {
        this.report({ line: lineNo, message: `invalid JSON (${(err as Error).message})` });
      }
      return;
    }
    if (this.mode === 'undecided') {
      this.mode = 'lines';
      this.oneLine = true;
    }
    this.decode(value, lineNo);
  }

  /** Bytes of a held document; past the record limit it is JSONL after all, read by its elements, or dropped. */
  private async *hold(bytes: Buffer): AsyncGenerator<Batch<B>> {
    if (this.mode === 'skipping') return;
    if (this.stream !== undefined) {
      yield* this.pushDocument(this.stream, bytes);
      return;
    }
    this.docParts.push(bytes);
    this.docBytes += bytes.length;
    if (this.docBytes > this.maxRecord) yield* this.overflow();
  }

  /** The held document's text, no longer held. */
  private heldText(): string {
    const text = `${this.docHead}\n${Buffer.concat(this.docParts).toString('utf8')}`;
    this.docParts = [];
    this.docHead = '';
    this.docBytes = 0;
    return text;
  }

  /** Decodes `text` line by line (JSONL), its first line being `first`, in batches. */
  private *decodeLines(text: string, first: number): Generator<Batch<B>> {
    this.mode = 'lines';
    this.isDocument = false;
    let n = first;
    for (const line of splitLines(text)) {
      this.line(line, n++);
      if (this.full()) yield this.take();
    }
  }

  /**
   * A held document grew past the record limit. If most of the lines after its first parse alone, the
   * input is JSONL whose first line is broken (a cut-off `tail`): read on line by line. Else it is one
   * document too large to hold: an array or object is read on by its elements (or spans), anything else
   * is reported once and the rest of the input dropped.
   */
  private async *overflow(): AsyncGenerator<Batch<B>> {
    if (!this.heldIsJsonl()) {
      const head = Buffer.from(`${this.docHead}\n`, 'utf8');
      if (!opensArrayOrObject([head])) {
        this.mode = 'skipping';
        this.report({ line: this.docLine, message: this.tooLarge() });
        return;
      }
      const parts = [head, ...this.docParts];
      this.docParts = [];
      this.docHead = '';
      this.docBytes = 0;
      yield* this.streamDocument(this.docLine, parts);
      return;
    }
    const text = this.heldText();
    const cut = text.lastIndexOf('\n');
    // The unfinished last line goes back to the line splitter.
    const partial = Buffer.from(text.slice(cut + 1), 'utf8');
    const complete = text.slice(0, cut);
    this.lineNo = this.docLine + countLines(complete) - 1;
    yield* this.decodeLines(complete, this.docLine);
    if (partial.length > 0) {
      this.pending = [partial];
      this.pendingLen = partial.length;
    }
  }

  /** Whether most of the held lines after the first (a sample) parse on their own: JSONL with a broken first line. */
  private heldIsJsonl(): boolean {
    const decoder = new StringDecoder('utf8');
    let tried = 0;
    let parsed = 0;
    let rest = '';
    for (const part of this.docParts) {
      const text = rest + decoder.write(part);
      // The unfinished last line is no sample (a cut-off line does not parse).
      const cut = text.lastIndexOf('\n');
      rest = text.slice(cut + 1);
      if (cut === -1) continue;
      for (const line of splitLines(text.slice(0, cut))) {
        if (isBlank(line)) continue;
        if (parses(line)) parsed++;
        if (++tried === JSONL_SAMPLE) return parsed * 2 > tried;
      }
    }
    return tried > 0 && parsed * 2 > tried;
  }

  private tooLarge(): string {
    return `JSON document larger than ${this.maxRecord} bytes (the record limit), skipped`;
  }

  /** Reads the document starting on line `line` by its elements from now on, `parts` being its first bytes. */
  private async *streamDocument(line: number, parts: Buffer[]): AsyncGenerator<Batch<B>> {
    this.mode = 'elements';
    this.isDocument = true;
    this.docLine = line;
    // Asked here, not for every input: only a document this large may need reading twice.
    if (this.path !== undefined && (await stat(this.path).catch(() => undefined))?.isFile() !== true) this.path = undefined;
    const stream = new DocumentStream(this.maxRecord, line, this.sink, (p) => this.report(p), true, this.path !== undefined);
    this.stream = stream;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      parts[i] = EMPTY; // read: no longer held
      // Only the input's very first bytes may be a byte-order mark.
      yield* this.pushDocument(stream, i === 0 && line === 1 ? withoutBom(part) : part);
    }
  }

  /** Bytes of a document read by its elements, a trace's spans past the limit read again where the read stops for them. */
  private async *pushDocument(stream: DocumentStream, bytes: Buffer): AsyncGenerator<Batch<B>> {
    for (let rest = bytes; rest.length > 0; ) {
      rest = rest.subarray(stream.push(rest));
      this.check();
      yield* this.ready();
      yield* this.readAgain();
    }
  }

  /**
   * The spans of a Jaeger trace past the record limit, read again from the input's start (a file) now that
   * the trace has ended and its processes are known: before the document is read on, so spans stay in input order.
   */
  private async *readAgain(): AsyncGenerator<Batch<B>> {
    const again = this.stream?.takeAgain();
    if (again === undefined || this.path === undefined) return;
    // Its compressed frames' damage, if any, was reported the first time.
    const { chunks } = await contentOf(openFile(this.path), { inflateError: undefined, maxRecord: this.maxRecord, report: () => undefined });
    const scan = new JsonScan(this.maxRecord, 1, again);
    let first = true;
    for await (const chunk of chunks) {
      scan.push(first ? withoutBom(chunk) : chunk);
      first = false;
      this.check();
      yield* this.ready();
      if (again.done) break;
    }
    again.end();
    this.check();
    yield* this.ready();
  }

  /** End of a document read by its elements; one that had no array or OTLP request to read is reported as too large. */
  private endDocument(): void {
    const stream = this.stream as DocumentStream;
    stream.end();
    if (!stream.found) this.report({ line: this.docLine, message: this.tooLarge() });
    this.check();
  }

  /** Hands out what is decoded once a batch is full, in batch-sized slices (a group of elements decodes at once). */
  private *ready(): Generator<Batch<B>> {
    if (this.out.length > this.batchSize) for (const slice of this.out.takeSlices(this.batchSize)) yield this.take(slice);
    else if (this.full()) yield this.take();
  }

  /**
   * Reads a held document that does not parse by its elements, when it has an array of them: says whether
   * it had (else nothing is decoded or reported).
   */
  private *salvage(text: string, line: number): Generator<Batch<B>, boolean> {
    const bytes = Buffer.from(text, 'utf8');
    if (!opensArrayOrObject([bytes])) return false;
    const problems: DecodeProblem[] = [];
    // Not span by span: a broken request is reported as one, as it always was.
    const stream = new DocumentStream(this.maxRecord, line, this.sink, (p) => problems.push(p), false);
    stream.push(bytes);
    stream.end();
    if (!stream.found) return false;
    for (const p of problems) this.report(p);
    yield* this.ready();
    return true;
  }

  /** End of a held multi-line document: parse it whole; if that fails, fall back to JSONL, or to its elements. */
  private *document(): Generator<Batch<B>> {
    const first = this.docLine;
    const text = this.heldText();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      // Not one document. JSONL whose first line is broken? Then some other line parses on its own.
      let jsonl = false;
      for (const line of splitLines(text)) {
        if (!isBlank(line) && parses(line)) {
          jsonl = true;
          break;
        }
      }
      if (jsonl) {
        yield* this.decodeLines(text, first);
        return;
      }
      // A broken array or Jaeger answer (a cut-off download): its whole elements are read, as a larger one's.
      if (yield* this.salvage(text, first)) return;
      const message = (err as Error).message;
      const line = lineOfPosition(text, message);
      this.report(line === undefined ? { message: `invalid JSON (${message})` } : { line: first + line - 1, message: `invalid JSON (${message})` });
      return;
    }
    this.decode(value, undefined);
  }
}

/** `bytes` without a leading byte-order mark. */
function withoutBom(bytes: Buffer): Buffer {
  return bytes.subarray(0, 3).equals(BOM) ? bytes.subarray(3) : bytes;
}

/** Whether the first byte of `parts` that is neither whitespace nor a byte-order mark opens an array or object. */
function opensArrayOrObject(parts: Buffer[]): boolean {
  for (const part of parts) {
    for (const c of part) {
      if (isSpace(c) || c === 0xef || c === 0xbb || c === 0xbf) continue;
      return c === OPEN_ARRAY || c === OPEN_OBJECT;
    }
  }
  return false;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The lines of `text` (LF or CRLF), without materialising them all at once. */
function* splitLines(text: string): Generator<string> {
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    yield stripCr(text.slice(start, nl === -1 ? text.length : nl));
    if (nl === -1) return;
    start = nl + 1;
  }
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function stripCr(text: string): string {
  return text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
}

function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const c = text.charCodeAt(0);
  return isSpace(c) && text.trim() === '';
}

/** The 1-based line of a JSON.parse error's "position N", when the message has one. */
function lineOfPosition(text: string, message: string): number | undefined {
  const m = /position (\d+)/.exec(message);
  if (m === null) return undefined;
  const pos = Math.min(Number(m[1]), text.length);
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Text: no control bytes other than tab/CR/LF. JSON is text, and so is anything else a user may pipe in by
 * mistake (a log, an HTML error page), which the JSON reader then names line by line. A protobuf request
 * is not: its length prefixes (a trace id's is 16) are control bytes.
 */
function looksLikeText(head: Buffer): boolean {
  const n = Math.min(head.length, SNIFF_BYTES);
  for (let j = 0; j < n; j++) {
    const b = head[j];
    if (b < 32 && b !== 9 && b !== 10 && b !== 13) return false;
  }
  return true;
}

/** Chunks as Buffers, counting raw bytes into `counter.read`. */
async function* countBytes(input: AsyncIterable<Uint8Array | string>, counter: { read: number }): AsyncGenerator<Buffer> {
  for await (const c of input) {
    const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    if (b.length === 0) continue;
    counter.read += b.length;
    yield b;
  }
}

/** Reads chunks until at least `n` bytes (or the end); returns them concatenated. */
async function peek(it: AsyncIterator<Buffer>, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const r = await it.next();
    if (r.done === true) break;
    parts.push(r.value);
    len += r.value.length;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, len);
}

/** `head`, then the rest of `it`. */
async function* prepend(head: Buffer, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    if (head.length > 0) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done === true) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

