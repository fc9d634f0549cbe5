import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyBudget, BodyError, readBody } from '../src/body.js';

/** A request body streaming in as the test writes it. */
function request(): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers: {} }) as unknown as PassThrough & IncomingMessage;
}

describe('readBody with a shared budget', () => {
  it('refuses with 503 a body that would take the bytes held by all bodies being read past the budget, and lets them go once read', async () => {
    const budget = new BodyBudget(100);
    const a = request();
    const b = request();
    const readingA = readBody(a, 1000, budget);
    const readingB = readBody(b, 1000, budget);
    a.write(Buffer.alloc(60));
    await new Promise((resolve) => setImmediate(resolve));
    expect(budget.held).toBe(60);
    // b's first 50 bytes would make 110 held: refused, whatever its own size.
    b.write(Buffer.alloc(50));
    const refused = await readingB.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(BodyError);
    expect((refused as BodyError).status).toBe(503);
    a.end(Buffer.alloc(30));
    expect((await readingA).length).toBe(90);
    expect(budget.held).toBe(0);
    // With the budget free again a body of the same size is read.
    const c = request();
    const readingC = readBody(c, 1000, budget);
    c.end(Buffer.alloc(50));
    expect((await readingC).length).toBe(50);
    expect(budget.held).toBe(0);
  });
});
