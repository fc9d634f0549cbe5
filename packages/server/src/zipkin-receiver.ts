/**
 * `POST /api/v2/spans`: Zipkin v2 span reports, JSON or protobuf, as Zipkin reporters (Brave, zipkin-js,
 * zipkin-go, Spring Cloud Sleuth, Envoy's Zipkin tracer, the Collector's `zipkin` exporter) send them to a
 * Zipkin server; pointed here, they feed the same analysis as OTLP. Answered as Zipkin answers (202 Accepted, no body), with the OTLP/HTTP receiver's token, body limit,
 * decompression, queue and drop counters; a span that cannot be read is skipped and counted, and a report of
 * which none can be read is refused (400, as Zipkin refuses it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeZipkinJson, decodeZipkinProtobuf } from '@rootspan/otlp';
import { UNAUTHORIZED_HEADERS, UNAUTHORIZED_MESSAGE } from './auth.js';
import { sendError } from './http.js';
import { acceptDecoded, charsetRefusal, countAnswer, formatOf, ingestBody, jsonBody, mediaType, type ReceiverContext } from './receiver.js';

export const ZIPKIN_PATH = '/api/v2/spans';

/** Every problem of a Zipkin report is one span's: the report itself is checked before decoding. */
const anySpan = () => true;

export async function receiveZipkin(req: IncomingMessage, res: ServerResponse, ctx: ReceiverContext, authorized: boolean): Promise<void> {
  const answer = (status: number, message: string, headers: Readonly<Record<string, string>> = {}) => {
    countAnswer(ctx, status);
    sendError(res, status, message, headers);
  };
  if (!authorized) return answer(401, UNAUTHORIZED_MESSAGE, UNAUTHORIZED_HEADERS);
  if (req.method !== 'POST') return answer(405, `use POST for ${ZIPKIN_PATH}`, { allow: 'POST' });
  const type = mediaType(req.headers['content-type']);
  // Zipkin reporters may send no Content-Type: JSON, as Zipkin reads it.
  const format = type === '' ? 'json' : formatOf(type);
  if (format === undefined) {
    return answer(415, `unsupported Content-Type '${req.headers['content-type']}' (Zipkin v2 spans as application/json or application/x-protobuf)`, {
      connection: 'close',
    });
  }
  const refusal = format === 'json' ? charsetRefusal(req.headers['content-type']) : undefined;
  if (refusal !== undefined) return answer(415, refusal, { connection: 'close' });
  const body = await ingestBody(req, ctx, answer);
  if (body === undefined) return;
  let decoded;
  if (format === 'protobuf') {
    decoded = decodeZipkinProtobuf(body, ctx.zipkin);
    if (decoded === undefined) return answer(400, 'malformed protobuf: expected a Zipkin v2 ListOfSpans');
  } else {
    const parsed = jsonBody(body, answer);
    if (parsed === undefined) return;
    decoded = decodeZipkinJson(parsed.value, ctx.zipkin);
    if (decoded === undefined) return answer(400, 'expected a JSON array of Zipkin v2 spans');
  }
  // Zipkin answers 400 to a report it cannot read: a 202 for nothing kept would tell the reporter all is well.
  if (decoded.spans.length === 0 && decoded.problems.length > 0) {
    ctx.counters.malformedSpans += decoded.problems.length;
    const more = decoded.problems.length - 1;
    return answer(400, `no span could be read: ${decoded.problems[0].message}${more > 0 ? `; and ${more} more` : ''}`);
  }
  const outcome = acceptDecoded(decoded, ctx, anySpan);
  if (!outcome.ok) return answer(outcome.status, outcome.message, outcome.retryAfterSeconds === undefined ? {} : { 'retry-after': String(outcome.retryAfterSeconds) });
  countAnswer(ctx, 202);
  res.writeHead(202, { 'content-length': 0 });
  res.end();
}
