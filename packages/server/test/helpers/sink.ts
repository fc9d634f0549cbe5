/** Local HTTP endpoints that record what notifications they receive, closed after each test. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

export const sinks: Server[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A local endpoint recording what it receives; `answer` picks the status of each request (default 200). */
export async function sink(answer: (n: number) => number = () => 200): Promise<{ url: string; received: Received[]; next: () => Promise<Received> }> {
  const received: Received[] = [];
  const waiters: Array<(r: Received) => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r = { headers: req.headers, body };
      received.push(r);
      res.writeHead(answer(received.length)).end();
      waiters.shift()?.(r);
    });
  });
  sinks.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  let seen = 0;
  return {
    url,
    received,
    next: () => (seen < received.length ? Promise.resolve(received[seen++]) : new Promise((r) => waiters.push((x) => (seen++, r(x))))),
  };
}

/** What a receiver does with the documented headers. */
export function verify(secret: string, r: Received): boolean {
  const ts = String(r.headers['x-rootspan-timestamp']);
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${r.body}`).digest('hex')}`);
  const given = Buffer.from(String(r.headers['x-rootspan-signature']));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

