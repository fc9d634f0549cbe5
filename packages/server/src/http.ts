import { MAX_TIME_MS } from '@rootspan/engine';
import type { ServerResponse } from 'node:http';

/** A request the API refuses; the router answers `{ "error": message }` with `status`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The `Allow` of an endpoint that only reads: HEAD is answered as GET, without the body. */
export const ALLOW_READ = 'GET, HEAD';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Every error answer: `{ "error": "..." }`. */
export function sendError(res: ServerResponse, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  sendJson(res, status, { error: message }, headers);
}

/**
 * Query parameter `name` as epoch ms (an ISO time or epoch milliseconds), undefined when absent; 400 for
 * anything else, or a time outside the spans' own range (1970 to the end of 9999).
 */
export function timeParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!(t >= 0 && t <= MAX_TIME_MS)) throw new HttpError(400, `bad ${name} '${text}' (use an ISO time or epoch milliseconds, up to 9999-12-31)`);
  return t;
}
