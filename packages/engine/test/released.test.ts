import { describe, expect, it } from 'vitest';
import { ReleasedSpans } from '../src/trace/released.js';

describe('ReleasedSpans', () => {
  it('remembers the last capacity to twice capacity span ids, and forgets older generations whole', () => {
    // A weak hash (the id's number) puts ids of one trace in known slots (8 of them): collisions probe on.
    const r = new ReleasedSpans(4, (id) => Number(id));
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => String(from + i));
    for (const id of ids(1, 4)) r.add(7, id);
    expect(ids(1, 4).map((id) => r.has(7, id))).toEqual([true, true, true, true]);
    expect(r.has(7, '9')).toBe(false);
    for (const id of ids(9, 4)) r.add(7, id); // 1–4 now the older generation; 9 takes 1's slot in the new one
    expect([...ids(1, 4), ...ids(9, 4)].every((id) => r.has(7, id))).toBe(true);
    for (const id of ids(17, 4)) r.add(7, id); // 1–4 forgotten
    expect(ids(1, 4).some((id) => r.has(7, id))).toBe(false);
    expect([...ids(9, 4), ...ids(17, 4)].every((id) => r.has(7, id))).toBe(true);
    r.add(7, '17'); // a repeat takes no slot, and starts no generation
    expect(r.has(7, '9')).toBe(true);
    // The same span id in another trace was not released.
    expect(r.has(8, '9')).toBe(false);
  });
});
