/**
 * Node.js answers some HTTP requests itself, before any handler sees them: 400 for broken framing, 431 for
 * headers over its limit, 413 for chunk extensions over its limit, 408 once `requestTimeout` or
 * `headersTimeout` has passed. Those answers were counted nowhere (or, a body cut by the timeout, as the
 * 400 of an aborted request). A `clientError` listener replaces Node's answer, so the one here gives the
 * same answer (Node 20's bytes) and counts it.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The status Node.js answers a client error with, by the error's code. */
function statusOf(code: string | undefined): number {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  return 400;
}

/** Whether `req`'s connection was cut by the request timeout (Node.js has answered it 408: see {@link answerClientErrors}). */
export function timedOut(req: IncomingMessage): boolean {
  return (req.socket?.errored as NodeJS.ErrnoException | null | undefined)?.code === 'ERR_HTTP_REQUEST_TIMEOUT';
}

/** Answers the client errors of `server` as Node.js would, calling `count` with each status answered. */
export function answerClientErrors(server: Server, count: (status: number) => void): void {
  // The response in flight on each connection: once its head is out, an answer would corrupt the stream.
  const inFlight = new WeakMap<Socket, ServerResponse>();
  // Before the request handler, which may answer at once.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight.set(req.socket, res);
    res.on('finish', () => {
      if (inFlight.get(req.socket) === res) inFlight.delete(req.socket);
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (socket.writable && !(inFlight.get(socket)?.headersSent ?? false)) {
      const status = statusOf(err.code);
      count(status);
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
    }
    // With the error, as Node.js does: a request being read learns why it ends (see timedOut).
    socket.destroy(err);
  });
}
