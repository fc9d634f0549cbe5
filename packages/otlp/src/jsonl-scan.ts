/**
 * An OTLP/JSON line decoded from its bytes, without `JSON.parse`: the parse built every object, string
 * and array of the line, and took two thirds of the decoding worker's time on a large JSONL file; this
 * reads the fields a span needs where they stand and skips the rest (still checked to be valid JSON).
 *
 * It reads only the usual shape (compact JSON: no white space between tokens; a request with
 * `resourceSpans`, resource before `scopeSpans`, lowercase hex ids, decimal-string times,
 * `stringValue`/`intValue` attributes; a consumer span's `links` once the span is read, its `kind` being
 * anywhere in it) and gives the same spans and
 * problems as `JSON.parse` with `decodeRequestInto`, or gives up: a span of another shape (upper-case
 * ids, events, an escaped string, a missing field…) is handed to `JSON.parse` and `decodeSpanInto` on
 * its own, its problems and path as theirs; a line of another shape or not valid JSON is left whole to
 * the caller, nothing of it added.
 */
import { ANALYZED_ATTRIBUTES, cutToNameLength, MAX_LINKS, MAX_TIME_MS, type AttributeValue, type SpanKind, type SpanStatus } from '@rootspan/engine';
import { ByteStrings } from './byte-strings.js';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, COLON, COMMA, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-bytes.js';
import { digitsAt, nanosAt, NO, skipDigits, skipNumber, skipValue } from './json-skip.js';
import { ATTRIBUTE_INDEX, decodeSpanInto, KIND_BY_NUMBER, readResource, scalar, STATUS_BY_NUMBER, unknownResource, type BatchOut, type ResourceInfo, type Sink, type SpanOut } from './convert.js';

const ZERO = 48;

/** No line: the scanner holds none between calls (one kind of buffer, so its reads stay monomorphic). */
const EMPTY = Buffer.alloc(0);

/** The keys read, named by their place here + 1 (the tag of their bytes in {@link ByteStrings}; 0: another key). */
const KEYS = [
  'resourceSpans',
  'resource',
  'scopeSpans',
  'instrumentationLibrarySpans',
  'spans',
  'traceId',
  'spanId',
  'parentSpanId',
  'name',
  'kind',
  'startTimeUnixNano',
  'endTimeUnixNano',
  'attributes',
  'status',
  'events',
  'code',
  'message',
  'key',
  'value',
  'stringValue',
  'intValue',
  'links',
];
const K_RESOURCE_SPANS = 1;
const K_RESOURCE = 2;
const K_SCOPE_SPANS = 3;
const K_INSTRUMENTATION_LIBRARY_SPANS = 4;
const K_SPANS = 5;
const K_TRACE_ID = 6;
const K_SPAN_ID = 7;
const K_PARENT_SPAN_ID = 8;
const K_NAME = 9;
const K_KIND = 10;
const K_START_TIME_UNIX_NANO = 11;
const K_END_TIME_UNIX_NANO = 12;
const K_ATTRIBUTES = 13;
const K_STATUS = 14;
const K_EVENTS = 15;
const K_CODE = 16;
const K_MESSAGE = 17;
const K_KEY = 18;
const K_VALUE = 19;
const K_STRING_VALUE = 20;
const K_INT_VALUE = 21;
const K_LINKS = 22;
/** Key bytes by tag, to check a guess of the next key (see {@link JsonLineScanner.field}). */
const KEY_BYTES = [new Uint8Array(0), ...KEYS.map((k) => Buffer.from(k, 'latin1'))];
/** What comes before the first key of an object, for guessing it: the object's kind. */
const FIRST_OF_REQUEST = 40;
const FIRST_OF_RESOURCE_SPANS = 41;
const FIRST_OF_SCOPE_SPANS = 42;
const FIRST_OF_SPAN = 43;
const FIRST_OF_STATUS = 44;
const FIRST_OF_KEY_VALUE = 45;
const FIRST_OF_VALUE = 46;
const FIRST_OF_LINK = 47;
/** An analysed attribute key's tag adds `ATTR * (its ANALYZED_ATTRIBUTES index + 1)`. */
const ATTR = 64;

function tagOf(s: string): number {
  const key = KEYS.indexOf(s) + 1;
  const attr = ATTRIBUTE_INDEX.get(s);
  return key + (attr === undefined ? 0 : ATTR * (attr + 1));
}

/** Bytes that may stand in a JSON string as they are (not a quote, backslash or control character): 1. */
const PLAIN = new Uint8Array(256).fill(1);
PLAIN.fill(0, 0, 32);
PLAIN[QUOTE] = 0;
PLAIN[BACKSLASH] = 0;

/**
 * Hex digits by byte: 1 for `1`-`9`/`a`-`f`, 2 for `0`, 4 for anything else (upper case included: the
 * slow path lowercases); OR-ed over an id: 1 or 3 is an id, 2 all zero.
 */
const HEX = new Uint8Array(256).fill(4);
for (let c = 49; c <= 57; c++) HEX[c] = 1;
for (let c = 97; c <= 102; c++) HEX[c] = 1;
HEX[ZERO] = 2;

/** Reads OTLP/JSON lines from their bytes; see the module. One per reader: it keeps the names it has seen. */
export class JsonLineScanner {
  private readonly names = new ByteStrings(tagOf);
  /** The key that followed each key (or `FIRST_OF_*`) last time: see {@link key}. */
  private readonly next = new Uint8Array(48);
  private b: Buffer = EMPTY;
  /** Where the string last read by {@link string} ends (its closing quote). */
  private end = 0;
  /** Attributes of the span being read: analysed key index and value. */
  private attrKeys: number[] = [];
  // Made a list of any values at once (not of small integers first): see `attrText`.
  private attrValues: AttributeValue[] = [''];
  private attrCount = 0;
  /** The entry of the string last read by {@link text} (-2: not kept). */
  private entry = -1;
  /**
   * Guesses of {@link string}: the entry of the analysed attribute key that followed attribute key
   * `index + 1` last time (0: the first of a span's, or after one not analysed), and each analysed
   * attribute's last value.
   */
  private readonly keyGuess = new Int32Array(ANALYZED_ATTRIBUTES.length + 1).fill(-1);
  private readonly valueGuess = new Int32Array(ANALYZED_ATTRIBUTES.length).fill(-1);
  /**
   * The attribute value last read by {@link value}: a string or a number (two fields, each of one type, so
   * the code reading them is not recompiled when the other type first comes).
   */
  private attrText = '';
  private attrNumber = 0;
  private attrIsText = true;
  /** The links of the span being read (a consumer's): where their trace and span ids' hex digits start. */
  private linkTraces: number[] = [];
  private linkSpans: number[] = [];

  /**
   * Decodes the request in `line` (one JSONL line, UTF-8) into `sink` (whose `out` is `out`), as
   * `decodeRequestInto(JSON.parse(text))` would; false, with nothing added, when it is left to that.
   */
  decode(line: Buffer, sink: Sink, out: BatchOut<unknown>): boolean {
    this.b = line;
    const problems = sink.problems.length;
    out.mark();
    let ok = false;
    try {
      ok = this.request(sink);
    } catch {
      // A value checked here that JSON.parse refuses after all: the line is the slow path's to report.
      ok = false;
    } finally {
      if (!ok) {
        out.rollback();
        sink.problems.length = problems;
      }
      this.b = EMPTY;
    }
    return ok;
  }

  /** `{"resourceSpans": [...]}` and nothing else (another field could make it Jaeger's or a wrapper). */
  private request(sink: Sink): boolean {
    const b = this.b;
    let i = 0;
    if (b[i] !== OPEN_OBJECT) return false;
    i++;
    if (this.field(i, FIRST_OF_REQUEST) !== K_RESOURCE_SPANS) return false;
    i = this.end;
    if (b[i] !== OPEN_ARRAY) return false;
    i++;
    if (b[i] !== CLOSE_ARRAY) {
      for (let r = 0; ; r++) {
        i = this.resourceSpans(i, r, sink);
        if (i < 0) return false;
        if (b[i] === CLOSE_ARRAY) break;
        if (b[i] !== COMMA) return false;
        i++;
      }
    }
    i++;
    if (b[i] !== CLOSE_OBJECT) return false;
    return i + 1 === b.length;
  }

  /**
   * The `K_*` of the object member whose key opens at `at` (0: a key not read here), `prev` being
   * the key before it in its object (or `FIRST_OF_*`), with `this.end` set to where its value starts; NO
   * when it is not `"key":` or the key is escaped. An exporter writes its fields in one order: the key
   * that followed `prev` last time is compared first, byte for byte, without a lookup.
   */
  private field(at: number, prev: number): number {
    const b = this.b;
    if (b[at] !== QUOTE) return NO;
    const i = at + 1;
    let key = this.next[prev];
    const bytes = KEY_BYTES[key];
    const n = bytes.length;
    let k = 0;
    while (k < n && b[i + k] === bytes[k]) k++;
    if (key === 0 || k !== n || b[i + n] !== QUOTE) {
      const e = this.string(i, -1);
      if (e === NO) return NO;
      key = e < 0 ? 0 : this.names.tag(e) & (ATTR - 1);
      this.next[prev] = key;
    } else {
      this.end = i + n;
    }
    if (b[this.end + 1] !== COLON) return NO;
    this.end += 2;
    return key;
  }

  /**
   * The {@link ByteStrings} entry of the string whose opening quote is at `i - 1`, -2 when too long to
   * keep (its end is `this.end`); NO when it is escaped, not closed or holds a control character. `guess`
   * (an entry, or -1) is compared first: the string that stood in the same place last time.
   */
  private string(i: number, guess: number): number {
    const b = this.b;
    if (guess >= 0) {
      const n = this.names.length(guess);
      if (b[i + n] === QUOTE && this.names.is(guess, b, i)) {
        this.end = i + n;
        return guess;
      }
    }
    const start = i;
    while (PLAIN[b[i]] === 1) i++;
    if (b[i] !== QUOTE) return NO;
    this.end = i;
    const e = this.names.entry(b, start, i);
    return e < 0 ? -2 : e;
  }

  /**
   * The text of the string whose opening quote is at `i - 1` (ends at `this.end`; its entry, or -2, in
   * `this.entry`); undefined when not read here. `guess` as for {@link string}.
   */
  private text(i: number, guess = -1): string | undefined {
    const e = this.string(i, guess);
    if (e === NO) return undefined;
    this.entry = e;
    // A kept string is at most 64 bytes, far below the name length: cut only the others.
    return e >= 0 ? this.names.string(e) : cutToNameLength(Buffer.from(this.b.buffer, this.b.byteOffset + i, this.end - i).toString('utf8'));
  }

  /** One `resourceSpans` element at `i`; the index past it, or NO. */
  private resourceSpans(i: number, r: number, sink: Sink): number {
    const b = this.b;
    if (b[i] !== OPEN_OBJECT) return NO;
    i++;
    if (b[i] === CLOSE_OBJECT) return i + 1;
    let res: ResourceInfo | undefined;
    let scopes = false;
    let prev = FIRST_OF_RESOURCE_SPANS;
    for (;;) {
      const key = this.field(i, prev);
      if (key < 0) return NO;
      prev = key;
      i = this.end;
      if (key === K_RESOURCE) {
        // Read by the decoder's own function (once per resource): a later one would replace it.
        if (res !== undefined) return NO;
        const end = skipValue(b, i);
        if (end < 0) return NO;
        res = readResource(JSON.parse(this.utf8(i, end)));
        i = end;
      } else if (key === K_SCOPE_SPANS) {
        if (scopes || b[i] !== OPEN_ARRAY) return NO;
        scopes = true;
        res ??= unknownResource();
        i = this.scopeSpans(i, r, res, sink);
      } else if (key === K_INSTRUMENTATION_LIBRARY_SPANS) {
        return NO;
      } else {
        i = skipValue(b, i);
      }
      if (i < 0) return NO;
      if (b[i] === CLOSE_OBJECT) return i + 1;
      if (b[i] !== COMMA) return NO;
      i++;
    }
  }

  /** The `scopeSpans` array at `i`. */
  private scopeSpans(i: number, r: number, res: ResourceInfo, sink: Sink): number {
    const b = this.b;
    i++;
    if (b[i] === CLOSE_ARRAY) return i + 1;
    for (let s = 0; ; s++) {
      if (b[i] !== OPEN_OBJECT) return NO;
      i++;
      let spans = false;
      if (b[i] !== CLOSE_OBJECT) {
        let prev = FIRST_OF_SCOPE_SPANS;
        for (;;) {
          const key = this.field(i, prev);
          if (key < 0) return NO;
          prev = key;
          i = this.end;
          if (key === K_SPANS) {
            if (spans || b[i] !== OPEN_ARRAY) return NO;
            spans = true;
            i = this.spans(i, `resourceSpans[${r}].scopeSpans[${s}].spans`, res, sink);
          } else {
            i = skipValue(b, i);
          }
          if (i < 0) return NO;
          if (b[i] === CLOSE_OBJECT) break;
          if (b[i] !== COMMA) return NO;
          i++;
        }
      }
      i++;
      if (b[i] === CLOSE_ARRAY) return i + 1;
      if (b[i] !== COMMA) return NO;
      i++;
    }
  }

  /** The `spans` array at `i`: each span read here, or by `JSON.parse` and `decodeSpanInto`. */
  private spans(i: number, path: string, res: ResourceInfo, sink: Sink): number {
    const b = this.b;
    i++;
    if (b[i] === CLOSE_ARRAY) return i + 1;
    for (let p = 0; ; p++) {
      let end = this.span(i, res, sink.out);
      if (end < 0) {
        end = skipValue(b, i);
        if (end < 0) return NO;
        decodeSpanInto(JSON.parse(this.utf8(i, end)), res, sink, `${path}[${p}]`);
      }
      i = end;
      if (b[i] === CLOSE_ARRAY) return i + 1;
      if (b[i] !== COMMA) return NO;
      i++;
    }
  }

  /** One span at `i`, added to the output when it is of the shape read here (the index past it), else NO and nothing added. */
  private span(i: number, res: ResourceInfo, out: SpanOut): number {
    const b = this.b;
    if (b[i] !== OPEN_OBJECT) return NO;
    i++;
    // Where the ids' hex digits start (-1: not read; parent: none).
    let traceAt = -1;
    let spanAt = -1;
    let parentAt = -1;
    let hasParent = false;
    let name: string | undefined;
    let kind: SpanKind | undefined;
    let hasKind = false;
    let start = NaN;
    let end = NaN;
    let status: SpanStatus | undefined = 'unset';
    let message: string | undefined;
    let hasStatus = false;
    let hasAttributes = false;
    // Where the links' value starts (-1: none): read once the span is known to be a consumer (`kind` may come after).
    let linksAt = -1;
    this.attrCount = 0;
    if (b[i] === CLOSE_OBJECT) return NO;
    let prev = FIRST_OF_SPAN;
    for (;;) {
      const key = this.field(i, prev);
      if (key < 0) return NO;
      prev = key;
      i = this.end;
      const c = b[i];
      // A field given twice is the last one to JSON.parse: left to it.
      switch (key) {
        case K_TRACE_ID:
          if (traceAt >= 0 || c !== QUOTE || this.hexId(i + 1, 32) !== 1) return NO;
          traceAt = i + 1;
          i += 34;
          break;
        case K_SPAN_ID:
          if (spanAt >= 0 || c !== QUOTE || this.hexId(i + 1, 16) !== 1) return NO;
          spanAt = i + 1;
          i += 18;
          break;
        case K_PARENT_SPAN_ID:
          if (hasParent || c !== QUOTE) return NO;
          hasParent = true;
          if (b[i + 1] === QUOTE) {
            i += 2; // "" is no parent
          } else {
            const id = this.hexId(i + 1, 16);
            if (id === NO) return NO;
            if (id === 1) parentAt = i + 1; // all zeroes: no parent, as some exporters write roots
            i += 18;
          }
          break;
        case K_NAME:
          if (name !== undefined || c !== QUOTE) return NO;
          name = this.text(i + 1);
          if (name === undefined) return NO;
          i = this.end + 1;
          break;
        case K_KIND: {
          // One digit: `KIND_BY_NUMBER` (undefined past 5, as the slow path).
          if (hasKind || c < 48 || c > 57 || skipNumber(b, i) !== i + 1) return NO;
          hasKind = true;
          kind = KIND_BY_NUMBER[c - 48];
          i++;
          break;
        }
        case K_START_TIME_UNIX_NANO:
        case K_END_TIME_UNIX_NANO: {
          if (c !== QUOTE) return NO;
          const close = skipDigits(b, i + 1);
          if (b[close] !== QUOTE) return NO;
          const ms = nanosAt(b, i + 1, close);
          if (key === K_START_TIME_UNIX_NANO) {
            if (start === start) return NO;
            start = ms;
          } else {
            if (end === end) return NO;
            end = ms;
          }
          i = close + 1;
          break;
        }
        case K_ATTRIBUTES:
          if (hasAttributes || c !== OPEN_ARRAY) return NO;
          hasAttributes = true;
          i = this.attributes(i);
          break;
        case K_STATUS: {
          if (hasStatus || c !== OPEN_OBJECT) return NO;
          hasStatus = true;
          i = this.status(i);
          if (i < 0) return NO;
          status = this.statusCode < 0 ? 'unset' : STATUS_BY_NUMBER[this.statusCode];
          message = this.message === '' ? undefined : this.message;
          break;
        }
        case K_EVENTS:
          // Only an empty list is read here: an exception event's attributes are the slow path's.
          if (c !== OPEN_ARRAY || b[i + 1] !== CLOSE_ARRAY) return NO;
          i = i + 1 + 1;
          break;
        case K_LINKS:
          if (linksAt >= 0) return NO;
          linksAt = i;
          i = skipValue(b, i);
          break;
        default:
          i = skipValue(b, i);
      }
      if (i < 0) return NO;
      if (b[i] === CLOSE_OBJECT) break;
      if (b[i] !== COMMA) return NO;
      i++;
    }
    // What the slow path reports as a problem, it reports.
    if (traceAt < 0 || spanAt < 0) return NO;
    if (!(start > 0 && start <= MAX_TIME_MS && end > 0 && end <= MAX_TIME_MS && end >= start)) return NO;
    // Only a consumer's links are kept (the slow path's rule): another span's were only checked to be JSON.
    const links = linksAt >= 0 && kind === 'consumer' ? this.links(linksAt) : 0;
    if (links < 0) return NO;
    out.addHex(b, traceAt, spanAt, parentAt, res, name ?? '', kind, start, end, status, message);
    for (let a = 0; a < this.attrCount; a++) out.attribute(this.attrKeys[a], this.attrValues[a]);
    for (let l = 0; l < links; l++) out.linkHex(b, this.linkTraces[l], this.linkSpans[l]);
    return i + 1;
  }

  /**
   * The `links` list at `i` (already checked to be valid JSON): how many links with both ids, up to
   * `MAX_LINKS`, their ids' places in `linkTraces` and `linkSpans`; NO for a shape left to the slow path (a
   * link not an object, an id not a string of lowercase hex of its length, an id given twice). A link
   * without an id, or with an empty or all-zero one, is skipped, as the slow path skips it.
   */
  private links(i: number): number {
    const b = this.b;
    if (b[i] !== OPEN_ARRAY) return NO;
    i++;
    if (b[i] === CLOSE_ARRAY) return 0;
    let n = 0;
    for (;;) {
      if (b[i] !== OPEN_OBJECT) return NO;
      i++;
      let traceAt = -1;
      let spanAt = -1;
      let hasTrace = false;
      let hasSpan = false;
      if (b[i] !== CLOSE_OBJECT) {
        let prev = FIRST_OF_LINK;
        for (;;) {
          const key = this.field(i, prev);
          if (key < 0) return NO;
          prev = key;
          i = this.end;
          if (key === K_TRACE_ID || key === K_SPAN_ID) {
            const trace = key === K_TRACE_ID;
            if ((trace ? hasTrace : hasSpan) || b[i] !== QUOTE) return NO;
            if (trace) hasTrace = true;
            else hasSpan = true;
            if (b[i + 1] === QUOTE) {
              i += 2; // "": no id
            } else {
              const digits = trace ? 32 : 16;
              const id = this.hexId(i + 1, digits);
              if (id === NO) return NO;
              if (id === 1) {
                if (trace) traceAt = i + 1;
                else spanAt = i + 1;
              }
              i += digits + 2;
            }
          } else {
            i = skipValue(b, i);
            if (i < 0) return NO;
          }
          if (b[i] === CLOSE_OBJECT) break;
          if (b[i] !== COMMA) return NO;
          i++;
        }
      }
      if (traceAt >= 0 && spanAt >= 0) {
        this.linkTraces[n] = traceAt;
        this.linkSpans[n] = spanAt;
        // The rest are not kept.
        if (++n === MAX_LINKS) return n;
      }
      i++;
      if (b[i] === CLOSE_ARRAY) return n;
      if (b[i] !== COMMA) return NO;
      i++;
    }
  }

  /** The status read by {@link status}: its code (-1: none) and message (`''`: none). */
  private statusCode = -1;
  private message = '';

  /** The status object at `i`: `code` a single digit, `message` a string; other fields skipped. */
  private status(i: number): number {
    const b = this.b;
    let code = -1;
    let message = '';
    let hasCode = false;
    let hasMessage = false;
    i++;
    if (b[i] !== CLOSE_OBJECT) {
      let prev = FIRST_OF_STATUS;
      for (;;) {
        const key = this.field(i, prev);
        if (key < 0) return NO;
        prev = key;
        i = this.end;
        const c = b[i];
        if (key === K_CODE) {
          if (hasCode || c < 48 || c > 57 || skipNumber(b, i) !== i + 1) return NO;
          hasCode = true;
          code = c - 48;
          i++;
        } else if (key === K_MESSAGE) {
          if (hasMessage || c !== QUOTE) return NO;
          hasMessage = true;
          const text = this.text(i + 1);
          if (text === undefined) return NO;
          message = text;
          i = this.end + 1;
        } else {
          i = skipValue(b, i);
          if (i < 0) return NO;
        }
        if (b[i] === CLOSE_OBJECT) break;
        if (b[i] !== COMMA) return NO;
        i++;
      }
    }
    this.statusCode = code;
    this.message = message;
    return i + 1;
  }

  /** The `attributes` list at `i`: the analysed scalars kept (`attrKeys`, `attrValues`), in order. */
  private attributes(i: number): number {
    const b = this.b;
    i++;
    if (b[i] === CLOSE_ARRAY) return i + 1;
    let prevAttr = -1;
    for (;;) {
      if (b[i] !== OPEN_OBJECT) return NO;
      i++;
      let attr = -1;
      let hasKey = false;
      let valueAt = -1;
      let valueEnd = -1;
      let value: AttributeValue | undefined;
      if (b[i] !== CLOSE_OBJECT) {
        let prev = FIRST_OF_KEY_VALUE;
        for (;;) {
          const key = this.field(i, prev);
          if (key < 0) return NO;
          prev = key;
          i = this.end;
          if (key === K_KEY) {
            if (hasKey || b[i] !== QUOTE) return NO;
            hasKey = true;
            const e = this.string(i + 1, this.keyGuess[prevAttr + 1]);
            if (e === NO) return NO;
            attr = e >= 0 ? Math.floor(this.names.tag(e) / ATTR) - 1 : -1;
            if (e >= 0) this.keyGuess[prevAttr + 1] = e;
            prevAttr = attr;
            i = this.end + 1;
          } else if (key === K_VALUE) {
            if (valueAt >= 0) return NO;
            valueAt = i;
            // The value of a key known not to be analysed is only checked (its strings are not kept).
            i = hasKey && attr < 0 ? NO : this.value(i, attr);
            if (i < 0) {
              // Another shape: its value as the slow path reads it, if its key is analysed.
              i = skipValue(b, valueAt);
              if (i < 0) return NO;
              valueEnd = i;
            } else {
              value = this.attrIsText ? this.attrText : this.attrNumber;
            }
          } else {
            i = skipValue(b, i);
            if (i < 0) return NO;
          }
          if (b[i] === CLOSE_OBJECT) break;
          if (b[i] !== COMMA) return NO;
          i++;
        }
      }
      if (attr >= 0 && valueAt >= 0) {
        if (valueEnd >= 0) value = scalar(JSON.parse(this.utf8(valueAt, valueEnd)));
        if (value !== undefined) {
          this.attrKeys[this.attrCount] = attr;
          this.attrValues[this.attrCount++] = value;
        }
      }
      i++;
      if (b[i] === CLOSE_ARRAY) return i + 1;
      if (b[i] !== COMMA) return NO;
      i++;
    }
  }

  /**
   * `{"stringValue": "…"}` or `{"intValue": "digits"}` at `i` into `attrText` or `attrNumber`, of analysed attribute
   * `attr` (-1: not known yet); NO for any other shape.
   */
  private value(i: number, attr: number): number {
    const b = this.b;
    if (b[i] !== OPEN_OBJECT) return NO;
    i++;
    const key = this.field(i, FIRST_OF_VALUE);
    if (key < 0) return NO;
    i = this.end;
    if (b[i] !== QUOTE) return NO;
    if (key === K_STRING_VALUE) {
      const text = this.text(i + 1, attr < 0 ? -1 : this.valueGuess[attr]);
      if (text === undefined) return NO;
      if (attr >= 0 && this.entry >= 0) this.valueGuess[attr] = this.entry;
      this.attrText = text;
      this.attrIsText = true;
      i = this.end + 1;
    } else if (key === K_INT_VALUE) {
      // Up to 15 digits, no sign: exact, as toInt reads them.
      const close = skipDigits(b, i + 1);
      if (b[close] !== QUOTE || close === i + 1 || close - i - 1 > 15) return NO;
      this.attrNumber = digitsAt(b, i + 1, close);
      this.attrIsText = false;
      i = close + 1;
    } else {
      return NO;
    }
    return b[i] === CLOSE_OBJECT ? i + 1 : NO;
  }

  /**
   * What follows the quote at `i - 1`: `digits` lowercase hex digits and a quote, an id (1: 32 for a trace
   * id, 16 for a span id), the same all zero (0), or anything else (NO).
   */
  private hexId(i: number, digits: number): number {
    const b = this.b;
    if (b[i + digits] !== QUOTE) return NO;
    let seen = 0;
    for (let k = 0; k < digits; k++) seen |= HEX[b[i + k]];
    return seen === 1 || seen === 3 ? 1 : seen === 2 ? 0 : NO;
  }

  private utf8(from: number, to: number): string {
    return Buffer.from(this.b.buffer, this.b.byteOffset + from, to - from).toString('utf8');
  }
}
