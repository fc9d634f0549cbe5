/**
 * The CLI's edges, in-process on small inputs: help and version, usage errors, unreadable files and
 * configs (exit 2 with a message naming them), malformed-record reporting limits, and the progress
 * indicator.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { USAGE, parseArgs, type JsonReport } from 'rootspan';
import { otlpLine, smallSpans, tempDir } from './helpers/data.js';
import { parseJson, run } from './helpers/run.js';
import { validateReport } from './helpers/validate.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** 50 healthy spans of one service, one request per line. */
const small = tmp.file('small.jsonl', `${smallSpans(50).map((s) => otlpLine([s])).join('\n')}\n`);

describe('help and version', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']], [['analyze', 'x.jsonl', '--help']]])('%j prints the usage on stdout, exit 0', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${USAGE}\n`);
    expect(r.stderr).toBe('');
  });

  it('documents the input formats, options and exit codes', () => {
    for (const word of ['analyze <file...|dir|->', '.jsonl', '.gz', 'stdin', '--json', '--config <file>', '--strict', '--fail-on-incident', '--threads <n>', '--progress', 'Exit codes: 0']) {
      expect(USAGE).toContain(word);
    }
  });

  it.each([['--version'], ['-v']])('%s prints a version, exit 0', async (flag) => {
    const r = await run([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    expect(r.stderr).toBe('');
  });
});

describe('usage errors: exit 2, the reason and the usage on stderr, nothing on stdout', () => {
  it.each([
    [['analyse', 'x.jsonl'], "unknown command 'analyse' (try: rootspan analyze <file>)"],
    [['analyze'], 'analyze needs at least one file (or - for stdin)'],
    [['analyze', small, '--jsn'], "unknown option '--jsn'"],
    [['analyze', small, '-j'], "unknown option '-j'"],
    [['analyze', small, '--config'], '--config needs a file name'],
    [['analyze', small, '--config', '--json'], '--config needs a file name'],
    [['analyze', small, '--config='], '--config needs a file name'],
    [['analyze', '-', '-'], 'stdin (-) can be read only once'],
    [['analyze', small, '--threads', '9'], '--threads needs a whole number from 1 to 8'],
    [['analyze', small, '--threads', '2.5'], '--threads needs a whole number from 1 to 8'],
    [['analyze', small, '--threads'], '--threads needs a whole number from 1 to 8'],
    [['analyze', small, '--threads=0'], '--threads needs a whole number from 1 to 8'],
  ])('%j', async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`rootspan: ${message}\n\n${USAGE}\n`);
  });
});

describe('--threads', () => {
  it('takes 1 to 8, as --threads N or --threads=N; unset means automatic', () => {
    const threadsOf = (...flags: string[]) => (parseArgs(['analyze', 'x.jsonl', ...flags]) as { threads?: number }).threads;
    expect([threadsOf(), threadsOf('--threads', '1'), threadsOf('--threads=2'), threadsOf('--threads', '8'), threadsOf('--threads', '2', '--threads=1')]).toEqual([undefined, 1, 2, 8, 1]);
  });
});

describe('unreadable input: exit 2 with one line naming it', () => {
  it('a missing file', async () => {
    const missing = `${tmp.dir}/nope.jsonl`;
    const r = await run(['analyze', missing, '--json']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `rootspan: cannot read ${missing}: no such file\n` });
  });

  it('a missing file after a good one: nothing is reported for the good one either', async () => {
    const missing = `${tmp.dir}/nope.jsonl`;
    const r = await run(['analyze', small, missing]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `rootspan: cannot read ${missing}: no such file\n` });
  });

  it('a directory without trace files (a directory with them: analyze.test.ts)', async () => {
    const dir = join(tmp.dir, 'notes');
    mkdirSync(dir);
    tmp.file('notes/README.md', 'no traces here');
    const r = await run(['analyze', dir]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `rootspan: cannot read ${dir}: a directory without trace files (.jsonl, .json, .pb, gzip or zstd of them)\n` });
  });

  it.each([
    ['JSON that is not OTLP', 'other.json', '{"foo": 1}\n', ':1: no resourceSpans (not OTLP trace data? found "foo")'],
    ['binary that is not OTLP/protobuf', 'garbage.bin', Buffer.from([0x67, 0x01, 0x02, 0xff]), ': invalid protobuf'],
  ])('%s: the problem, then exit 2 (not "0 spans, no incidents": a CI gate must not pass on it)', async (_what, name, content, problem) => {
    const file = tmp.file(name, content);
    const r = await run(['analyze', file, '--fail-on-incident', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const [first, last] = r.stderr.trimEnd().split('\n');
    expect(first.startsWith(`rootspan: ${file}${problem}`)).toBe(true);
    expect(last).toBe(`rootspan: cannot read ${file}: no OTLP trace data in it (1 malformed record, none decoded)`);
  });

  describe('a gzip that does not inflate whole: one line naming it, exit 2, no report (how much was lost no one can tell)', () => {
    const records = smallSpans(2000).map((s) => otlpLine([s]));
    const gz = gzipSync(`${records.join('\n')}\n`);
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 8] ^= 0xff;
    it.each([
      ['cut after its header', gz.subarray(0, 5), 'gzip: unexpected end of file'],
      ['cut in half (spans decode before the cut)', gz.subarray(0, gz.length >> 1), 'gzip: unexpected end of file'],
      ['a wrong checksum', corrupt, 'gzip: incorrect data check'],
      ['followed by bytes that are not gzip', Buffer.concat([gz, Buffer.from('not gzip')]), `gzip: data after the compressed stream (at byte ${gz.length}) is not gzip (incorrect header check): ignored`],
    ])('%s', async (_what, content, reason) => {
      const file = tmp.file('cut.jsonl.gz', content);
      for (const flags of [['--json'], []]) {
        const r = await run(['analyze', file, '--fail-on-incident', ...flags]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines.at(-1)).toBe(`rootspan: cannot read ${file}: ${reason}`);
        // Before it, at most the record the cut went through.
        expect(lines.slice(0, -1)).toEqual(lines.length > 1 ? [expect.stringMatching(/: invalid JSON \(/)] : []);
      }
    });
  });

  it.each([
    ['an empty .pb file', 'empty.pb', '', 'it is empty'],
    ['an empty .jsonl file', 'empty.jsonl', '', 'it is empty'],
    ['blank lines only', 'blank.jsonl', '\n\n\r\n', 'no spans in it'],
    ['a valid request without spans', 'no-spans.json', '{"resourceSpans": [{"scopeSpans": [{"spans": []}]}]}', 'no spans in it'],
    ['protobuf with no trace fields', 'other.pb', Buffer.from([0x10, 0x01]), 'no spans in it'],
  ])('%s: exit 2 (nothing decoded is no analysis, not "0 spans, no incidents")', async (_what, name, content, reason) => {
    const file = tmp.file(name, content);
    const r = await run(['analyze', file, '--json', '--fail-on-incident']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `rootspan: cannot read ${file}: ${reason}\n` });
  });

  it('empty stdin: exit 2', async () => {
    expect(await run(['analyze', '-'])).toEqual({ code: 2, stdout: '', stderr: 'rootspan: cannot read stdin: it is empty\n' });
  });
});

describe('--config problems: exit 2 naming the config', () => {
  it.each([
    ['an unknown option', '{"errors": {"rat": 0.5}}', 'unknown option errors.rat'],
    ['an unknown section', '{"latencyy": {}}', 'unknown option latencyy'],
    ['a non-positive threshold', '{"latency": {"ratio": -3}}', 'option latency.ratio must be a positive finite number, got -3'],
    ['a string threshold', '{"errors": {"rate": "0.5"}}', 'option errors.rate must be a positive finite number, got "0.5"'],
    ['invalid JSON', '{"errors": {rate: 0.5}}', 'invalid JSON ('],
    ['not an object', '[{"errors": {}}]', 'expected a JSON object'],
  ])('%s', async (_what, content, message) => {
    const config = tmp.file('bad-config.json', content);
    const r = await run(['analyze', small, '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`rootspan: config ${config}: ${message}`)).toBe(true);
    expect(r.stderr.split('\n')).toHaveLength(2); // one line
  });

  it('a missing config', async () => {
    const r = await run(['analyze', small, '--config', `${tmp.dir}/none.json`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^rootspan: cannot read config ${tmp.dir}/none\\.json: .*ENOENT.*\\n$`));
  });

  it('a valid config is applied silently', async () => {
    const config = tmp.file('ok-config.json', '{"bucketMs": 10000, "latency": {"ratio": 4}, "errors": {"rate": 0.3}}');
    const r = await run(['analyze', small, '--config', config, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('malformed-record reporting', () => {
  it('shows the first 20 per file with their line numbers, then how many more; the human summary counts them all', async () => {
    const good = smallSpans(10).map((s) => otlpLine([s]));
    const bad = Array.from({ length: 25 }, (_, i) => `{"broken": ${i}`);
    const file = tmp.file('many-bad.jsonl', `${[...good, ...bad].join('\n')}\n`);
    const r = await run(['analyze', file]);
    expect(r.code).toBe(0);
    const err = r.stderr.trimEnd().split('\n');
    expect(err).toHaveLength(21);
    err.slice(0, 20).forEach((l, i) => expect(l.startsWith(`rootspan: ${file}:${11 + i}: invalid JSON (`), l).toBe(true));
    expect(err[20]).toBe(`rootspan: ${file}: 5 more malformed records not shown`);
    expect(r.stdout.split('\n')[0]).toMatch(/^10 spans, 10 traces, 1 service over 1 s .*; 0 spans dropped, 25 malformed records skipped$/);
  });

  it('--strict names the line of an undecodable span', async () => {
    const [a, b] = smallSpans(2);
    const file = tmp.file('bad-time.jsonl', `${otlpLine([a])}\n${otlpLine([b]).replace(/"startTimeUnixNano":"\d+"/, '"startTimeUnixNano":"soon"')}\n`);
    const r = await run(['analyze', file, '--strict']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`rootspan: ${file}:2: resourceSpans[0].scopeSpans[0].spans[0] (spanId ${b.spanId}): bad startTimeUnixNano "soon"\n`);
  });

  it('stdin is named "stdin" in messages', async () => {
    const r = await run(['analyze', '-', '--strict'], { stdin: `${otlpLine(smallSpans(1))}\nnot json\n` });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rootspan: stdin:2: invalid JSON \(.+\)\n$/);
  });
});

describe('progress on stderr', () => {
  it('is shown when stderr is a terminal, and stdout stays pure JSON', async () => {
    const r = await run(['analyze', small, '--json'], { tty: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`\\r${small.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+\\.\\d MB, 50 spans, done\\n$`));
    expect(validateReport(parseJson(r))).toEqual([]);
  });

  it('is not shown when stderr is not a terminal, or with --no-progress', async () => {
    expect((await run(['analyze', small])).stderr).toBe('');
    expect((await run(['analyze', small, '--no-progress'], { tty: true })).stderr).toBe('');
  });

  it('--progress forces it', async () => {
    expect((await run(['analyze', small, '--progress'])).stderr).toContain('50 spans, done\n');
  });
});
