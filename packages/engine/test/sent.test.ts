import { describe, expect, it } from 'vitest';
import { MAX_SENT, createAnalyzer, type Span } from '../src/index.js';
import { SentMessages } from '../src/ops/sent.js';
import { TraceBuilder, span } from './helpers/spans.js';

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

  it('keeps none in a producer\'s own process, its consumers elsewhere (nothing to hold, nothing let go)', () => {
    const a = createAnalyzer();
    const T0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < MAX_SENT + 100; i++) {
      const start = T0 + i * 10;
      const t = new TraceBuilder();
      const post = t.server('orders', '/orders', start, start + 4);
      const spans: Span[] = [...t.spans, span({ traceId: t.traceId, service: 'orders', name: 'publish orders', kind: 'producer', parentSpanId: post.spanId, startTime: start + 1, endTime: start + 3, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } })];
      a.ingest(spans);
    }
    a.flush();
    expect(a.stats().overflow.sent).toBe(0);
  });
});
