/** A connection that pipelines requests and reads no answer: answers waiting in memory for it are bounded. */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { call, testServer } from './helpers/server.js';

/** Writes `n` pipelined `GET path` requests on one connection; resolves with the bytes read and whether the server closed it. */
function pipeline(port: number, path: string, n: number, read: boolean): Promise<{ closed: boolean; answers: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    const done = () => resolve({ closed, answers: (text.match(/HTTP\/1\.1 200/g) ?? []).length });
    // Not reading for half a second, then reading what came (until the server closes, or 5 s).
    if (!read) {
      socket.pause();
      setTimeout(() => socket.resume(), 500);
      setTimeout(() => socket.destroy(), 5000);
    }
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => {
      closed = true;
      done();
    });
    socket.on('error', () => {});
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(n));
    // A client that reads gets every answer on a connection that stays open.
    if (read) {
      const poll = setInterval(() => {
        if ((text.match(/HTTP\/1\.1 200/g) ?? []).length >= n) {
          clearInterval(poll);
          socket.destroy();
          done();
        }
      }, 20);
    }
  });
}

describe('pipelined requests', () => {
  it('a connection sending thousands without reading the answers is closed, and the server goes on', async () => {
    const server = await testServer();
    const flood = await pipeline(server.port, '/aiops/status', 2000, false);
    expect(flood.closed).toBe(true);
    expect(flood.answers).toBeLessThanOrEqual(16);
    expect((await call(server, '/aiops/status')).status).toBe(200);
  });

  it('a client that reads gets every answer of a few pipelined requests', async () => {
    const server = await testServer();
    const few = await pipeline(server.port, '/healthz', 8, true);
    expect(few).toEqual({ closed: false, answers: 8 });
  });
});
