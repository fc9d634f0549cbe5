/**
 * Hostile and odd input never gives a stack trace (issue 19, defect 5): spans with times no date can
 * show are dropped by the decoder as malformed records, the report printer copes with any number, and
 * every error that ends a run is one line with exit 2.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { humanReport, toJsonReport, type JsonReport, type Summary } from 'rootspan';
import { RootspanError, createAnalyzer } from '@rootspan/engine';
import { engineInputError, internalErrorLine } from '../src/errors.js';
import { otlpLine, paymentErrors, smallSpans, tempDir } from './helpers/data.js';
import { parseJson, run } from './helpers/run.js';
import { validateReport } from './helpers/validate.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const HUGE = '99999999999999999999999999'; // 1e26 ns: 1e20 ms, year ~3e9

/** One request line per span; `edit` rewrites the line of span `at`. */
function file(name: string, count: number, at: number, edit: (line: string) => string): string {
  const lines = smallSpans(count).map((s, i) => (i === at ? edit(otlpLine([s])) : otlpLine([s])));
  return tmp.file(name, `${lines.join('\n')}\n`);
}
const hugeEnd = (line: string) => line.replace(/"endTimeUnixNano":"\d+"/, `"endTimeUnixNano":"${HUGE}"`);
const hugeBoth = (line: string) => hugeEnd(line).replace(/"startTimeUnixNano":"\d+"/, `"startTimeUnixNano":"${HUGE}"`);

describe('an enormous endTimeUnixNano', () => {
  it.each([[['--json']], [[]]])('among good spans: that span is skipped and counted, the rest analysed (%j)', async (flags) => {
    const path = file('huge-end.jsonl', 20, 3, hugeEnd);
    const r = await run(['analyze', path, ...flags]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `rootspan: ${path}:4: resourceSpans[0].scopeSpans[0].spans[0] (spanId ${smallSpanId(r.stderr)}): endTimeUnixNano "${HUGE.slice(0, 40)}" is after year 9999\n`,
    );
    if (flags.length > 0) {
      const rep = parseJson(r) as JsonReport;
      expect(validateReport(rep)).toEqual([]);
      expect(rep.summary).toMatchObject({ spans: 19, malformed: 1 });
    } else {
      expect(r.stdout.split('\n')[0]).toMatch(/^19 spans, .*; 0 spans dropped, 1 malformed record skipped$/);
    }
  });

  it.each([
    ['its end', hugeEnd],
    ['its start and end', hugeBoth],
  ])('on the only span (%s): the problem, then exit 2 in one line each', async (_what, edit) => {
    for (const flags of [['--json'], []]) {
      const path = file('huge-only.jsonl', 1, 0, edit);
      const r = await run(['analyze', path, ...flags]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/ is after year 9999$/);
      expect(lines[1]).toBe(`rootspan: cannot read ${path}: no OTLP trace data in it (1 malformed record, none decoded)`);
    }
  });
});

describe('a parent cycle (a client and an internal span each the other\'s parent)', () => {
  it('is analysed, not hung on', async () => {
    const [a, b] = smallSpans(2);
    const cycle = [
      { ...a, kind: 'client' as const, parentSpanId: b.spanId, status: 'error' as const },
      { ...b, traceId: a.traceId, kind: 'internal' as const, parentSpanId: a.spanId, status: 'error' as const },
    ];
    const r = await run(['analyze', tmp.file('cycle.jsonl', `${otlpLine(cycle)}\n`), '--json']);
    expect(r.code).toBe(0);
    expect((parseJson(r) as JsonReport).summary).toMatchObject({ spans: 2, traces: 1 });
  });
});

describe('input that is not OTLP', () => {
  it('text piped in by mistake (a log, an error page) is named as invalid JSON, not as damaged protobuf', async () => {
    // No line parses alone, so the reader takes it for one multi-line JSON document.
    const r = await run(['analyze', '-'], { stdin: 'GET /checkout 200 12ms\nGET /cart 500 3ms\n' });
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^rootspan: stdin: invalid JSON \(.*GET \/check/),
      'rootspan: cannot read stdin: no OTLP trace data in it (1 malformed record, none decoded)',
    ]);
  });
});

describe('spans the analyzer drops', () => {
  /** `line` with its span moved to start at `ms` (10 ms long). */
  const moved = (line: string, ms: number) =>
    line.replace(/"startTimeUnixNano":"\d+"/, `"startTimeUnixNano":"${ms}000000"`).replace(/"endTimeUnixNano":"\d+"/, `"endTimeUnixNano":"${ms + 10}000000"`);

  it('leave the time range to the spans analysed: one from 2200 (future) and one from 1999 (late) among 20 s of 2026', async () => {
    // 200 spans 100 ms apart from 2026-01-01; the 121st moved to 2200, the 151st to 1999 (behind the stream by then).
    const lines = smallSpans(200).map((s) => otlpLine([s]));
    lines[120] = moved(lines[120], Date.UTC(2200, 0, 1));
    lines[150] = moved(lines[150], Date.UTC(1999, 0, 1));
    const path = tmp.file('dropped.jsonl', `${lines.join('\n')}\n`);
    const json = parseJson(await run(['analyze', path, '--json'])) as JsonReport;
    expect(json.summary).toMatchObject({ spans: 200, from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T00:00:19.910Z', dropped: 2 });
    expect(json.summary.droppedBy).toMatchObject({ late: 1, future: 1 });
    const human = await run(['analyze', path]);
    expect(human.stdout.split('\n')[0]).toBe('200 spans, 200 traces, 1 service over 20 s (2026-01-01T00:00:00.000Z → 2026-01-01T00:00:19.910Z); 2 spans dropped, 0 malformed records skipped');
  });
});

describe('more operation names than maxOperations', () => {
  it('the report says how many requests were folded into the overflow operation and how many operations evicted, as the server does', async () => {
    // 300 one-off names (a span per raw URL) into a table of 10.
    const spans = smallSpans(300).map((s, i) => ({ ...s, name: `op-${i}`, attributes: {} }));
    const path = tmp.file('names.jsonl', `${spans.map((s) => otlpLine([s])).join('\n')}\n`);
    const config = tmp.file('ops.json', '{"maxOperations": 10}');
    const analyzer = createAnalyzer({ maxOperations: 10 });
    analyzer.ingest(spans);
    analyzer.flush();
    const { operations, overflow } = analyzer.stats();
    expect(overflow.requests).toBeGreaterThan(0);
    expect(overflow.evicted).toBeGreaterThan(0);

    const json = parseJson(await run(['analyze', path, '--config', config, '--json'])) as JsonReport;
    expect(json.summary.operations).toEqual({ tracked: operations, overflowRequests: overflow.requests, overflowCalls: overflow.calls, evicted: overflow.evicted, messagesForgotten: overflow.sent });
    const human = await run(['analyze', path, '--config', config]);
    expect(human.stdout.split('\n')[1]).toBe(
      `Operations at the cap (maxOperations): ${operations} tracked; ${overflow.requests} requests folded into rootspan.overflow (counted, not judged), ${overflow.evicted} operations evicted to make room for new ones.`,
    );
  });
});

describe('control characters in names and messages', () => {
  // Each of these acts on a terminal: clear the screen, set the title, start a line of its own, reorder text.
  const name = 'pay\u001b[2J\u001b]0;TITLE\u0007ment\n\n[CRITICAL] inc-99 Fake incident\r\u202eevil\u0000\u0085\u2028\u2066\u007f';
  const shown = 'pay\\x1b[2J\\x1b]0;TITLE\\x07ment\\n\\n[CRITICAL] inc-99 Fake incident\\r\\u202eevil\\x00\\x85\\u2028\\u2066\\x7f';
  // What a terminal acts on, but the report's own line breaks.
  const control = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

  it('are shown escaped in the human report and on stderr, never printed raw', async () => {
    // The payment outage with payment renamed (its own spans and its callers' calls to it), and a bad line.
    const scenario = readFileSync(tmp.scenario('payment-src.jsonl', paymentErrors()), 'utf8');
    const renamed = scenario.replaceAll('"stringValue":"payment"', `"stringValue":${JSON.stringify(name)}`);
    const path = tmp.file('control.jsonl', `${renamed}{"resourceSpans": \u001b[31m\u202e}\n`);
    const r = await run(['analyze', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(control);
    expect(r.stdout).toContain(`root cause: ${shown} POST /payment (errors`);
    expect(r.stdout).not.toMatch(/^\[CRITICAL\] inc-99/m);
    expect(r.stderr).not.toMatch(control);
    expect(r.stderr).toMatch(/^rootspan: .*control\.jsonl:\d+: invalid JSON \(.*\\x1b\[31m\\u202e/);
    const strict = await run(['analyze', path, '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toBe(r.stderr);
  });
});

describe('the report printers', () => {
  it('never throw on times no Date can hold', () => {
    const summary: Summary = { spans: 2, traces: 1, services: ['svc'], from: 1e20, to: Number.NaN, dropped: 0, problems: 0 };
    expect(humanReport(summary, []).split('\n')[0]).toMatch(/^2 spans, 1 trace, 1 service over .+ \(100000000000000000000 ms → NaN ms\)$/);
    expect(toJsonReport(summary, [], {}).summary).toMatchObject({ from: '100000000000000000000 ms', to: 'NaN ms' });
    const ok: Summary = { ...summary, from: 0, to: 8.64e15 };
    expect(toJsonReport(ok, [], {}).summary).toMatchObject({ from: '1970-01-01T00:00:00.000Z', to: '+275760-09-13T00:00:00.000Z' });
  });
});

describe('errors that end a run', () => {
  it('engine errors keep their reason and cause, shown once under the CLI name', () => {
    const cause = new RootspanError('ERR_OPTION', 'unknown option errors.rat');
    const err = engineInputError('config c.json', cause);
    expect([err.subject, err.reason, err.message, err.cause]).toEqual(['config c.json', 'unknown option errors.rat', 'config c.json: unknown option errors.rat', cause]);
    expect(engineInputError('config c.json', 'odd').reason).toBe('odd');
  });

  it('anything else is one line naming the error, not a stack', () => {
    expect(internalErrorLine(new RangeError('Invalid time value'))).toBe('internal error: RangeError: Invalid time value (a bug: please report it with the input)');
  });
});

/** The span id printed in a problem line (the test spans' ids come from a shared counter). */
function smallSpanId(stderr: string): string {
  return /\(spanId ([0-9a-f]{16})\)/.exec(stderr)?.[1] ?? 'missing';
}
