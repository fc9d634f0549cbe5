/**
 * Hostile and odd input never gives a stack trace (issue 19, defect 5): spans with times no date can
 * show are dropped by the decoder as malformed records, the report printer copes with any number, and
 * every error that ends a run is one line with exit 2.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { humanReport, toJsonReport, type JsonReport, type Summary } from 'rootspan';
import { RootspanError } from '@rootspan/engine';
import { engineInputError, internalErrorLine } from '../src/errors.js';
import { otlpLine, smallSpans, tempDir } from './helpers/data.js';
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
