import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Analyzer, Span } from '@rootspan/engine';
import { decodeOtlpJson, decodeOtlpProtobuf, isSpanProblem, type DecodeProblem, type DecodeResult, type ZipkinState } from '@rootspan/otlp';
import { sortArrivals, type ArrivalDrop } from './arrival.js';
import { UNAUTHORIZED_HEADERS, UNAUTHORIZED_MESSAGE } from './auth.js';
import { BodyError, discardRest, readBody, type BodyBudget } from './body.js';
import { timedOut } from './client-errors.js';
import { sendJson } from './http.js';
import type { Intake } from './intake.js';
import { jsonResponse, jsonStatus, protobufResponse, protobufStatus, type PartialSuccess } from './otlp-response.js';

/** Problem messages quoted in a partial-success answer; the rest are counted. */
const MAX_QUOTED = 5;

/** Counters of the OTLP receiver, for status and /metrics. */
export interface ReceiverCounters {
  /** Requests answered, by HTTP status. */
  requests: Map<number, number>;
  /** Spans refused because they could not be decoded (named in partial-success answers). */
  malformedSpans: number;
  /** Spans the analyzer would have dropped, refused on arrival (named in partial-success answers), by its reason. */
  refusedOnArrival: Record<ArrivalDrop, number>;
  bytes: number;
}

export interface ReceiverContext {
  intake: Intake;
  /** The analyzer the intake feeds: its bounds tell the spans it would drop (see {@link sortArrivals}). */
  analyzer: Analyzer;
  maxBodyBytes: number;
  /** Bytes of all the bodies being read at once, bounded (see {@link BodyBudget}). */
  bodies: BodyBudget;
  redact: ((spans: Span[]) => void) | undefined;
  counters: ReceiverCounters;
  /** True once the server is shutting down: new data gets 503. */
  closing: () => boolean;
  /** What the Zipkin decoder remembers across reports (one trace's services report it apart): bounded. */
  zipkin: ZipkinState;
}

type Format = 'json' | 'protobuf';

/** A `Content-Type`'s media type, lower-cased, without its parameters (`''` when there is none). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * The 415 message for a JSON body whose `Content-Type` names a charset other than UTF-8 (or its subset
 * US-ASCII): read as UTF-8 it would only be "invalid JSON". Undefined when it names none, or one read here.
 */
export function charsetRefusal(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '');
  if (m === null) return undefined;
  const charset = m[1].toLowerCase();
  return charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii' ? undefined : `unsupported charset '${m[1]}' (JSON bodies are read as UTF-8)`;
}

/** Counts an answered ingest request by its HTTP status. */
export function countAnswer(ctx: ReceiverContext, status: number): void {
  ctx.counters.requests.set(status, (ctx.counters.requests.get(status) ?? 0) + 1);
}

/** The body format a media type ({@link mediaType}) names, if it names one rootspan reads. */
export function formatOf(base: string): Format | undefined {
  if (base === 'application/json') return 'json';
  if (base === 'application/x-protobuf' || base === 'application/protobuf') return 'protobuf';
  return undefined;
}

/** What a receiver answers once it has decoded a request: accepted (maybe in part), or refused with an HTTP status. */
export type Acceptance =
  | { ok: true; partial: PartialSuccess | undefined }
  | { ok: false; status: number; message: string; retryAfterSeconds?: number };

/**
 * The step the receivers (OTLP/HTTP, OTLP/gRPC, Zipkin) share once a request is decoded: refuses a request
 * with nothing usable in it, sets aside the spans the analyzer would drop ({@link sortArrivals}), redacts,
 * queues (or refuses when the intake queue is full, with how long to wait), counts malformed and set-aside
 * spans and names them in a partial success. `spanProblem` tells a problem with one span from one with the
 * whole request.
 */
export function acceptDecoded(decoded: DecodeResult, ctx: ReceiverContext, spanProblem: (p: DecodeProblem) => boolean = isSpanProblem): Acceptance {
  const spanProblems = decoded.problems.filter(spanProblem);
  if (decoded.spans.length === 0 && spanProblems.length < decoded.problems.length) {
    return { ok: false, status: 400, message: decoded.problems.find((p) => !spanProblem(p))!.message };
  }
  // More than the queue holds even when empty: "queue full, retry" would be retried until the exporter gives up.
  if (decoded.spans.length > ctx.intake.capacity) {
    return { ok: false, status: 413, message: `${decoded.spans.length} spans in one request, more than the intake queue holds (${ctx.intake.capacity}): send smaller batches` };
  }
  const arrivals = sortArrivals(decoded.spans, ctx.analyzer);
  ctx.redact?.(arrivals.kept);
  if (!ctx.intake.offer(arrivals.kept)) {
    return {
      ok: false,
      status: 429,
      message: `intake queue full (${ctx.intake.queued} of ${ctx.intake.capacity} spans waiting)`,
      retryAfterSeconds: Math.max(1, Math.ceil(ctx.intake.traceWaitMs / 1000)),
    };
  }
  ctx.counters.malformedSpans += spanProblems.length;
  const { refused } = arrivals;
  for (const r of refused) ctx.counters.refusedOnArrival[r.reason]++;
  const problems = decoded.problems.length + refused.length;
  if (problems === 0) return { ok: true, partial: undefined };
  const quoted = decoded.problems.slice(0, MAX_QUOTED).map((p) => p.message);
  for (const r of refused.slice(0, MAX_QUOTED - quoted.length)) quoted.push(arrivals.explain(r));
  const more = problems - quoted.length;
  return { ok: true, partial: { rejectedSpans: spanProblems.length + refused.length, errorMessage: quoted.join('; ') + (more > 0 ? `; and ${more} more` : '') } };
}

/** Answers a request with an HTTP status and why (each receiver in its encoding). */
export type Answer = (status: number, message: string, headers?: Readonly<Record<string, string>>) => void;

/**
 * The body of an ingest request (its bytes counted), or undefined once `answer` has refused it: 503 while
 * the server shuts down, else what reading it gave ({@link BodyError}: too large, corrupt, an unknown encoding).
 */
export async function ingestBody(req: IncomingMessage, ctx: ReceiverContext, answer: Answer): Promise<Buffer | undefined> {
  if (ctx.closing()) {
    answer(503, 'shutting down', { 'retry-after': '5', connection: 'close' });
    return undefined;
  }
  try {
    const body = await readBody(req, ctx.maxBodyBytes, ctx.bodies);
    ctx.counters.bytes += body.length;
    return body;
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    // Cut by the request timeout: Node.js has answered 408, counted there (see answerClientErrors).
    if (timedOut(req)) return undefined;
    const whole = await discardRest(req, LINGER_BODIES * ctx.maxBodyBytes);
    if (timedOut(req)) return undefined;
    answer(err.status, err.message, { ...(err.status === 503 ? { 'retry-after': '1' } : {}), ...(whole ? {} : { connection: 'close' }) });
    return undefined;
  }
}

/** A refused body is read on and thrown away up to this many times the body limit before the answer (see {@link discardRest}). */
const LINGER_BODIES = 4;

/** `body` parsed as JSON, or undefined once `answer` has refused it (400 with the parser's reason). */
export function jsonBody(body: Buffer, answer: Answer): { value: unknown } | undefined {
  // Parsing costs per object, not per byte: `[{},{},...]` gzipped from 16 KB would hold the event loop for
  // seconds and take gigabytes. Real OTLP/JSON has one object or array per ~45 bytes.
  const containers = countByte(body, 0x7b, MAX_JSON_CONTAINERS) + countByte(body, 0x5b, MAX_JSON_CONTAINERS);
  if (containers > MAX_JSON_CONTAINERS) {
    answer(413, `more than ${MAX_JSON_CONTAINERS} JSON objects and arrays in one request: send smaller batches`);
    return undefined;
  }
  // Nor per value: `[0,0,...]`, 8 million values gzipped from 16 KB, became as many skipped spans.
  if (containers + countByte(body, 0x2c, MAX_JSON_VALUES - containers) > MAX_JSON_VALUES) {
    answer(413, `more than ${MAX_JSON_VALUES} JSON values in one request: send smaller batches`);
    return undefined;
  }
  try {
    // A byte-order mark (Windows tools write one) is no JSON, and RFC 8259 lets a parser ignore it.
    const bom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
    return { value: JSON.parse(body.toString('utf8', bom ? 3 : 0)) };
  } catch (err) {
    answer(400, `invalid JSON (${printable((err as Error).message)})`);
    return undefined;
  }
}

/** `s` with control characters and U+FFFD (undecodable bytes) escaped: the parser's message quotes the body's start. */
function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Most JSON objects and arrays one request body may hold: ~2.5 times as many as 16 MiB of real OTLP/JSON. */
const MAX_JSON_CONTAINERS = 1_000_000;
/**
 * Most JSON values one request body may hold, counted as its `{`, `[` and `,` bytes (each value after a
 * container's first follows a comma): ~2.5 times as many as 16 MiB of real OTLP/JSON (one per ~18 bytes).
 */
const MAX_JSON_VALUES = 2_500_000;

/** How many `byte`s `body` holds (strings included: an upper bound), counted natively and only to `max` + 1. */
function countByte(body: Buffer, byte: number, max: number): number {
  let n = 0;
  for (let at = body.indexOf(byte); at >= 0 && n <= max; at = body.indexOf(byte, at + 1)) n++;
  return n;
}

/**
 * How `POST /v1/traces` answers a failure, counted: the spec's `Status` in the request's encoding (JSON
 * when the encoding is unknown). Also for a body refused before the request reaches {@link receiveTraces}.
 */
export function otlpFailure(req: IncomingMessage, res: ServerResponse, ctx: ReceiverContext): Answer {
  const protobuf = formatOf(mediaType(req.headers['content-type'])) === 'protobuf';
  return (status, message, headers = {}) => {
    countAnswer(ctx, status);
    if (!protobuf) return sendJson(res, status, jsonStatus(status, message), headers);
    const body = protobufStatus(status, message);
    res.writeHead(status, { 'content-type': 'application/x-protobuf', 'content-length': body.length, ...headers });
    res.end(body);
  };
}

/**
 * `POST /v1/traces`: OTLP/HTTP with JSON or protobuf bodies, gzip or not, answered as the OTLP spec says;
 * `authorized` is false when the request lacks the ingest token (401, in the request's encoding too).
 */
export async function receiveTraces(req: IncomingMessage, res: ServerResponse, ctx: ReceiverContext, authorized: boolean): Promise<void> {
  const format = formatOf(mediaType(req.headers['content-type']));
  const answer = otlpFailure(req, res, ctx);
  if (!authorized) return answer(401, UNAUTHORIZED_MESSAGE, UNAUTHORIZED_HEADERS);
  if (req.method !== 'POST') return answer(405, 'use POST for /v1/traces', { allow: 'POST' });
  if (format === undefined) {
    return answer(415, `unsupported Content-Type '${req.headers['content-type'] ?? ''}' (use application/json or application/x-protobuf)`, { connection: 'close' });
  }
  const refusal = format === 'json' ? charsetRefusal(req.headers['content-type']) : undefined;
  if (refusal !== undefined) return answer(415, refusal, { connection: 'close' });
  const body = await ingestBody(req, ctx, answer);
  if (body === undefined) return;
  let decoded: DecodeResult;
  if (format === 'json') {
    const parsed = jsonBody(body, answer);
    if (parsed === undefined) return;
    decoded = decodeOtlpJson(parsed.value);
  } else {
    decoded = decodeOtlpProtobuf(body);
  }
  const outcome = acceptDecoded(decoded, ctx);
  if (!outcome.ok) {
    // The OTLP exporters retry 429 after Retry-After: by then the wait has moved the queue along.
    return answer(outcome.status, outcome.message, outcome.retryAfterSeconds === undefined ? {} : { 'retry-after': String(outcome.retryAfterSeconds) });
  }
  const partial = outcome.partial;
  countAnswer(ctx, 200);
  if (format === 'json') {
    const text = jsonResponse(partial);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  } else {
    const bytes = protobufResponse(partial);
    res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': bytes.length });
    res.end(bytes);
  }
}
