import { describe, expect, it } from 'vitest';
import { HeldCalls } from '../src/ops/held-calls.js';

const T0 = Date.UTC(2026, 0, 1);

describe('HeldCalls', () => {
  it("keeps a lock's long waits when the backlog after it slows many more calls a little", () => {
    const h = new HeldCalls();
    // Ten UPDATEs wait 30 s on a row lock, then 200 calls each take 300 ms while the backlog drains.
    for (let i = 0; i < 10; i++) h.note('UPDATE items', T0 + i * 100, T0 + 30_000);
    for (let i = 0; i < 200; i++) h.note('UPDATE items', T0 + 30_000 + i * 50, T0 + 30_300 + i * 50);
    const took: number[] = [];
    expect(h.collect('UPDATE items', T0, took)).toBe(true);
    expect(took.filter((ms) => ms >= 29_000)).toHaveLength(10);
    // What overlapped a wait in the middle of the lock is one of them, and the longest since it began.
    expect(h.most(T0 + 10_000, T0 + 20_000)).toEqual({ key: 'UPDATE items', ms: 10_000 });
    expect(h.longest(T0)).toEqual({ key: 'UPDATE items', ms: 30_000 });
    expect(h.longest(T0 + 31_000)?.ms).toBe(300);
  });

  it('gives the place of a call ended long before to a new one, however long it was', () => {
    const h = new HeldCalls();
    for (let i = 0; i < 32; i++) h.note('SELECT', T0, T0 + 30_000);
    h.note('INSERT', T0 + 600_000, T0 + 600_050);
    const took: number[] = [];
    h.collect('INSERT', T0, took);
    expect(took).toEqual([50]);
  });
});
