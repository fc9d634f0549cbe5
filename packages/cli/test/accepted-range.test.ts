/** The summary's time range: spans fed so that the range can tell which the analyzer took, analysed as ever. */
import { afterAll, describe, expect, it } from 'vitest';
import { createAnalyzer, type Span } from '@rootspan/engine';
import { readOtlpFile } from '@rootspan/otlp';
import { AcceptedRange } from '../src/accepted-range.js';
import { paymentErrors, smallSpans, tempDir } from './helpers/data.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('AcceptedRange', () => {
  it('feeds the analyzer the same spans in the same order: the same incidents and counters as whole batches', async () => {
    const spans: Span[] = [];
    for await (const batch of readOtlpFile(tmp.scenario('payment.jsonl', paymentErrors()))) spans.push(...batch.spans);
    spans.sort((a, b) => a.endTime - b.endTime);
    const whole = createAnalyzer();
    const split = createAnalyzer();
    const range = new AcceptedRange();
    for (let i = 0; i < spans.length; i += 1000) {
      whole.ingest(spans.slice(i, i + 1000));
      range.ingest(split, spans.slice(i, i + 1000));
    }
    whole.flush();
    split.flush();
    expect(split.incidents().length).toBeGreaterThan(0);
    expect(split.incidents()).toEqual(whole.incidents());
    expect(split.stats()).toEqual(whole.stats());
    expect(range.bounds()).toEqual({ from: Math.min(...spans.map((s) => s.startTime)), to: spans[spans.length - 1].endTime });
  });

  it('leaves out spans dropped, and is empty while none was taken', () => {
    const range = new AcceptedRange();
    expect(range.bounds()).toEqual({ from: null, to: null });
    const spans = smallSpans(401);
    const [late, last] = [spans[0], spans[400]];
    const ahead = { ...last, spanId: 'ffffffffffffff01', traceId: 'ffffffffffffffffffffffffffffff01', startTime: Date.UTC(2200, 0, 1), endTime: Date.UTC(2200, 0, 1) + 10 };
    const analyzer = createAnalyzer();
    range.ingest(analyzer, spans.slice(1, 400));
    // 40 s into event time, a span from a minute before its start is late; one from 2200 is a wrong clock.
    range.ingest(analyzer, [{ ...late, startTime: late.startTime - 60_000, endTime: late.endTime - 60_000 }, last, ahead]);
    expect(analyzer.stats()).toMatchObject({ accepted: 400, droppedBy: { late: 1, future: 1 } });
    expect(range.bounds()).toEqual({ from: spans[1].startTime, to: last.endTime });
  });
});
