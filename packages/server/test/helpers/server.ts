/** Starting a server on a free port for a test, and calling it. */
import { afterEach } from 'vitest';
import { startServer, type RootspanServer, type ServerOptions } from '@rootspan/server';

const running: RootspanServer[] = [];

/** A server on 127.0.0.1 and a free port, closed after the test. */
export async function testServer(options: ServerOptions = {}): Promise<RootspanServer> {
  const server = await startServer({ port: 0, log: () => {}, ...options });
  running.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** A request; the body is parsed as JSON when the answer says it is JSON (and has one: not for HEAD). */
export async function call(server: RootspanServer, path: string, init: RequestInit & { token?: string } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`);
  const res = await fetch(`${server.url}${path}`, { ...init, headers });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, headers: res.headers, body: json && text !== '' ? JSON.parse(text) : undefined, text };
}
