/**
 * How many decoding workers `rootspan analyze` starts for a large file: none when the cores are busy, one
 * with two idle cores (a third thread there only adds CPU), two with three or more (the file split in line
 * ranges, so decoding no longer holds the analysis back). And the idle-core reading it is based on.
 */
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { decodersFor, idleCores, idleOf } from '../src/cores.js';

describe('decoding workers for the idle cores', () => {
  it('none when busy, one on two idle cores, two from three', () => {
    expect([0, 1.4, 1.5, 2, 2.4, 2.5, 3, 16].map(decodersFor)).toEqual([0, 0, 1, 1, 1, 2, 2, 2]);
  });

  it("counts the cores this process keeps busy as idle (its own decoding worker, started during the test)", () => {
    // Two cores, the kernel saw half their time idle: one core idle, or both if this process used the other.
    expect(idleOf(50, 100, 0, 2)).toBe(1);
    expect(idleOf(50, 100, 1, 2)).toBe(2);
    expect(idleOf(90, 100, 0.5, 2)).toBe(2);
    expect(idleOf(0, 0, 1, 2)).toBe(0);
  });

  it('reads between none and all of the cores as idle', async () => {
    const idle = await idleCores(20);
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(idle).toBeLessThanOrEqual(cpus().length);
  });
});
