import { describe, expect, it } from 'vitest';
import { MAX_SENT } from '../src/index.js';
import { SentMessages } from '../src/ops/sent.js';

describe('send times kept for consumers that come after their producer\'s trace', () => {
  it('answers by trace and span id, for every consumer of a message (consumer groups)', () => {
    const sent = new SentMessages();
    sent.note('t1', 's1', 1000);
    sent.note('t2', 's1', 2000);
    expect(sent.take('t1', 's1')).toBe(1000);
    expect(sent.take('t1', 's1')).toBe(1000);
    expect(sent.take('t2', 's1')).toBe(2000);
    expect(sent.take('t3', 's1')).toBeUndefined();
  });

  it(`keeps the newest ${MAX_SENT}, counting the ones let go before any consumer took them`, () => {
    const sent = new SentMessages();
    for (let i = 0; i < MAX_SENT; i++) sent.note('t', `s${i}`, 1000 + i);
    // The oldest was taken: letting it go loses nothing.
    expect(sent.take('t', 's0')).toBe(1000);
    sent.note('t', 'new-1', 5e6);
    sent.note('t', 'new-2', 5e6);
    expect(sent.forgotten).toBe(1);
    expect(sent.take('t', 's0')).toBeUndefined();
    expect(sent.take('t', 's1')).toBeUndefined();
    expect(sent.take('t', 's2')).toBe(1002);
    expect(sent.take('t', 'new-2')).toBe(5e6);
  });
});
