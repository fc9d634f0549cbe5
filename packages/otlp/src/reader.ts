import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Span } from '@rootspan/engine';
import { decodeRequestInto, type Sink } from './convert.js';
import { decodeOtlpProtobuf } from './protobuf.js';
import { OtlpDecodeError, type DecodeProblem } from './problems.js';

/**
 * Input formats: `jsonl` (one OTLP/JSON request per line, as the Collector's file exporter writes),
 * `json` (one request, an array of requests, or JSONL content after all), `protobuf` (one binary
 * `ExportTraceServiceRequest`). Gzip is detected from the content and is not a format of its own.
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
   * Longest line (bytes) read in line mode; a longer line is skipped and reported (JavaScript strings
   * cannot exceed ~512 MiB). Default 256 MiB.
   */
  maxLineBytes?: number;
}

/** A slice of the decoded input. */
export interface OtlpBatch {
  /** Decoded spans, in input order. */
  spans: Span[];
  /** Records skipped since the previous batch, each with its 1-based `line` where there are lines. */
  problems: DecodeProblem[];
  /**
   * Input bytes read from the source since the previous batch (compressed bytes for gzip input): the
   * batches' `bytes` add up to the input's size, for progress reporting.
   */
  bytes: number;
}

/** What {@link readOtlpFile} accepts: a path, `-` for stdin, or an already open byte stream. */
export type OtlpSource = string | AsyncIterable<Uint8Array | string>;

const DEFAULT_BATCH = 1000;
const DEFAULT_MAX_LINE = 256 * 1024 * 1024;
const SNIFF_BYTES = 512;

/**
 * The default format for a file name: `.jsonl`/`.ndjson` → `jsonl`, `.json` → `json`,
 * `.pb`/`.binpb`/`.protobuf` → `protobuf`, else `auto`; a `.gz`/`.gzip` suffix is looked through.
 *
 * @param path - a file name or path
 */
export function formatFromPath(path: string): OtlpFormat | 'auto' {
  const p = path.toLowerCase().replace(/\.(gz|gzip)$/, '');
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  if (p.endsWith('.json')) return 'json';
  if (p.endsWith('.pb') || p.endsWith('.binpb') || p.endsWith('.protobuf')) return 'protobuf';
  return 'auto';
}

/**
 * Reads OTLP trace data from a file, `-` (stdin) or an open stream, yielding batches of decoded spans.
 * Streams: a JSONL file of any size is read line by line with bounded memory. Gzip is detected from the
 * magic bytes. The format defaults from the extension ({@link formatFromPath}).
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
  return readOtlpStream(createReadStream(source, { highWaterMark: 1 << 20 }), {
    ...options,
    format: options.format ?? formatFromPath(source),
    name: options.name ?? source,
  });
}

/**
 * Reads OTLP trace data from a byte stream (a Node `Readable`, `process.stdin`, a web `ReadableStream`,
 * any async iterable of chunks), yielding batches of decoded spans. See {@link readOtlpFile}; the
 * format defaults to `auto`.
 *
 * @param input - the bytes (string chunks are taken as UTF-8)
 * @param options - see {@link ReadOtlpOptions}
 */
export async function* readOtlpStream(
  input: AsyncIterable<Uint8Array | string>,
  options: ReadOtlpOptions = {},
): AsyncGenerator<OtlpBatch, void, undefined> {
  const reader = new Reader(options);
  const raw = countBytes(input, reader);
  let it: AsyncIterator<Buffer> = raw[Symbol.asyncIterator]();
  let head = await peek(it, 2);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    it = gunzip(prepend(head, it), reader)[Symbol.asyncIterator]();
    head = await peek(it, SNIFF_BYTES);
  } else if (head.length > 0) {
    head = Buffer.concat([head, await peek(it, SNIFF_BYTES - head.length)]);
  }
  let format = options.format ?? 'auto';
  if (format === 'auto') format = head.length === 0 || looksLikeJson(head) ? 'json' : 'protobuf';
  const chunks = prepend(head, it);
  if (format === 'protobuf') yield* reader.protobuf(chunks);
  else yield* reader.lines(chunks, format === 'jsonl');
}

type Mode = 'lines' | 'undecided' | 'document';

/** State of one read: the batch being filled, byte counts, and the JSON line machinery. */
class Reader {
  readonly name: string | undefined;
  readonly strict: boolean;
  readonly batchSize: number;
  readonly maxLine: number;
  /** Raw input bytes read so far, and how many of them batches have reported. */
  read = 0;
  reported = 0;
  gzipError: string | undefined;
  readonly sink: Sink = { spans: [], problems: [], line: undefined };
  private mode: Mode = 'lines';
  /** Lines kept while `undecided`/`document` (line n is held[n - 1]). */
  private held: string[] = [];

  constructor(options: ReadOtlpOptions) {
    this.name = options.name;
    this.strict = options.strict === true;
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH));
    this.maxLine = Math.max(1, options.maxLineBytes ?? DEFAULT_MAX_LINE);
  }

  private full(): boolean {
    return this.sink.spans.length >= this.batchSize || this.sink.problems.length >= this.batchSize;
  }

  /** Hands out what has been decoded since the last batch. */
  private take(): OtlpBatch {
    const batch: OtlpBatch = { spans: this.sink.spans, problems: this.sink.problems, bytes: this.read - this.reported };
    this.reported = this.read;
    this.sink.spans = [];
    this.sink.problems = [];
    return batch;
  }

  private report(problem: DecodeProblem): void {
    this.sink.problems.push(problem);
    this.check();
  }

  /** In strict mode, the first problem ends the read. */
  private check(): void {
    if (this.strict && this.sink.problems.length > 0) throw new OtlpDecodeError(this.sink.problems[0], this.name);
  }

  private decode(value: unknown, line: number | undefined): void {
    this.sink.line = line;
    decodeRequestInto(value, this.sink);
    this.check();
  }

  private *finish(): Generator<OtlpBatch> {
    if (this.gzipError !== undefined) this.report({ message: `gzip: ${this.gzipError}` });
    const spans = this.sink.spans;
    if (spans.length > this.batchSize) {
      // A whole document decoded at once: hand it out in batch-sized slices.
      const problems = this.sink.problems;
      for (let i = 0; i < spans.length; i += this.batchSize) {
        this.sink.spans = spans.slice(i, i + this.batchSize);
        this.sink.problems = i === 0 ? problems : [];
        yield this.take();
      }
      return;
    }
    if (spans.length > 0 || this.sink.problems.length > 0 || this.read > this.reported) yield this.take();
  }

  async *protobuf(chunks: AsyncIterable<Buffer>): AsyncGenerator<OtlpBatch> {
    const parts: Buffer[] = [];
    for await (const c of chunks) parts.push(c);
    if (this.gzipError === undefined || parts.length > 0) {
      const result = decodeOtlpProtobuf(parts.length === 1 ? parts[0] : Buffer.concat(parts));
      for (const s of result.spans) this.sink.spans.push(s);
      for (const p of result.problems) this.report(p);
    }
    yield* this.finish();
  }

  /** Splits the content into lines (LF or CRLF) and decodes them per {@link Mode}. */
  async *lines(chunks: AsyncIterable<Buffer>, jsonl: boolean): AsyncGenerator<OtlpBatch> {
    this.mode = jsonl ? 'lines' : 'undecided';
    let pending: Buffer[] = [];
    let pendingLen = 0;
    let skipping = false; // inside a line longer than maxLine
    let lineNo = 0;
    for await (const chunk of chunks) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        const end = nl === -1 ? chunk.length : nl;
        if (skipping) {
          // drop bytes until the end of the over-long line
        } else if (pendingLen + end - start > this.maxLine) {
          skipping = true;
          pending = [];
          pendingLen = 0;
        } else if (nl === -1) {
          if (end > start) {
            pending.push(chunk.subarray(start, end));
            pendingLen += end - start;
          }
        }
        if (nl === -1) break;
        lineNo++;
        if (skipping) {
          skipping = false;
          this.report({ line: lineNo, message: `line longer than ${this.maxLine} bytes, skipped` });
        } else {
          let text: string;
          if (pendingLen === 0) {
            text = chunk.toString('utf8', start, nl > start && chunk[nl - 1] === 13 ? nl - 1 : nl);
          } else {
            pending.push(chunk.subarray(start, nl));
            const buf = Buffer.concat(pending, pendingLen + nl - start);
            pending = [];
            pendingLen = 0;
            text = buf.toString('utf8', 0, buf.length > 0 && buf[buf.length - 1] === 13 ? buf.length - 1 : buf.length);
          }
          this.line(text, lineNo);
        }
        start = nl + 1;
        if (this.full()) yield this.take();
      }
    }
    if (skipping) {
      this.report({ line: lineNo + 1, message: `line longer than ${this.maxLine} bytes, skipped` });
    } else if (pendingLen > 0) {
      const buf = Buffer.concat(pending, pendingLen);
      this.line(buf.toString('utf8', 0, buf[buf.length - 1] === 13 ? buf.length - 1 : buf.length), lineNo + 1);
    }
    if (this.mode !== 'lines') this.document();
    yield* this.finish();
  }

  /**
   * One line. `lines`: decode it. `undecided` (a `.json` file or unknown text, at its first non-blank
   * line): if that line parses on its own the content is JSONL (or one single-line request), else it is
   * one multi-line document, held until the end.
   */
  private line(text: string, lineNo: number): void {
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (this.mode === 'document') {
      this.held.push(text);
      return;
    }
    if (this.mode === 'undecided') {
      this.held.push(text);
      if (isBlank(text)) return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        this.mode = 'document';
        return;
      }
      this.mode = 'lines';
      this.held = [];
      this.decode(value, lineNo);
      return;
    }
    if (isBlank(text)) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.report({ line: lineNo, message: `invalid JSON (${(err as Error).message})` });
      return;
    }
    this.decode(value, lineNo);
  }

  /** End of a held multi-line document: parse it whole; if that fails, fall back to JSONL. */
  private document(): void {
    const held = this.held;
    this.held = [];
    if (held.length === 0 || held.every(isBlank)) return;
    const text = held.join('\n');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      // Not one document. JSONL whose first line is broken? Then some other line parses on its own.
      const parsed: Array<{ line: number; value: unknown } | { line: number; error: string }> = [];
      let good = 0;
      for (let i = 0; i < held.length; i++) {
        if (isBlank(held[i])) continue;
        try {
          parsed.push({ line: i + 1, value: JSON.parse(held[i]) });
          good++;
        } catch (lineErr) {
          parsed.push({ line: i + 1, error: (lineErr as Error).message });
        }
      }
      if (good === 0) {
        const message = (err as Error).message;
        const line = lineOfPosition(text, message);
        this.report(line === undefined ? { message: `invalid JSON (${message})` } : { line, message: `invalid JSON (${message})` });
        return;
      }
      for (const p of parsed) {
        if ('error' in p) this.report({ line: p.line, message: `invalid JSON (${p.error})` });
        else this.decode(p.value, p.line);
      }
      return;
    }
    this.decode(value, undefined);
  }
}

function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const c = text.charCodeAt(0);
  return (c === 32 || c === 9 || c === 13 || c === 10) && text.trim() === '';
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
 * JSON text starts (after a BOM and whitespace) with `{` or `[`, and has no control bytes other than
 * tab/CR/LF. A protobuf request starts with field tag 0x0a (a newline!) and length prefixes, which
 * nearly always include control bytes.
 */
function looksLikeJson(head: Buffer): boolean {
  let i = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 32 || head[i] === 9 || head[i] === 10 || head[i] === 13)) i++;
  if (i === head.length) return true; // only whitespace so far: empty JSON input
  if (head[i] !== 0x7b && head[i] !== 0x5b) return false;
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

/** Gunzips (multi-member too). A corrupt or truncated stream ends it, recording `gzipError`. */
async function* gunzip(src: AsyncIterable<Buffer>, state: { gzipError: string | undefined }): AsyncGenerator<Buffer> {
  const gz = createGunzip();
  pipeline(Readable.from(src, { objectMode: false }), gz, () => {
    // Errors reach the consumer through `gz`'s iterator.
  });
  try {
    for await (const c of gz) yield c as Buffer;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      state.gzipError = (err as Error).message;
      return;
    }
    throw err;
  }
}
