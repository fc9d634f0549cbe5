/**
 * `--threads 2` (files read and decoded in a worker thread), `--threads 3` (two workers, a JSONL file split
 * between them in line ranges; the default for large files on two or more idle cores) and `--threads 1`
 * (all in one thread) must be indistinguishable: the same exit code, the same report byte for byte, the
 * same problems on stderr, on good input and on hostile input alike. The worker
 * runs from the built packages, so these tests run the built bin as a child process (as bin.test.ts does).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthy, paymentErrors, tempDir } from './helpers/data.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/rootspan.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/main.js', import.meta.url))) && existsSync(fileURLToPath(new URL('../../otlp/dist/read-worker.js', import.meta.url)));
const fixture = fileURLToPath(new URL('../../otlp/test/fixtures/trace.json', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function rootspan(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      if (code === null) reject(err);
      else resolve({ code, stdout, stderr });
    });
  });
}

/** The same run with `--threads 1`, `2` and `3`; the results, for comparing. */
async function both(args: string[]): Promise<[Run, Run, Run]> {
  return Promise.all([rootspan(['analyze', ...args, '--threads', '1']), rootspan(['analyze', ...args, '--threads', '2']), rootspan(['analyze', ...args, '--threads', '3'])]);
}

const tmp = tempDir('rootspan-threads-');
let lines: string[];
let payment: string;
beforeAll(() => {
  payment = tmp.scenario('payment.jsonl', paymentErrors());
  lines = readFileSync(payment, 'utf8').split('\n').filter((l) => l !== '');
});
afterAll(() => tmp.cleanup());

describe('--threads 2 and 3 give what --threads 1 gives', { timeout: 120_000 }, () => {
  it('the bin and the decoding worker are built (a missing build fails here instead of passing vacuously)', () => {
    expect(built, 'run `npm run build` first (the root `npm test` does)').toBe(true);
  });

  it.each([
    ['the payment-outage scenario, --json', () => [payment, '--json']],
    ['a healthy recording as --baseline, then the outage', () => ['--baseline', tmp.scenario('healthy.jsonl', healthy()), payment, '--json']],
    ['gzip', () => [tmp.file('payment.jsonl.gz', gzipSync(`${lines.join('\n')}\n`)), '--json']],
    ['a .json document (an array of requests, analysed in end-time order)', () => [tmp.file('payment.json', `[\n${lines.join(',\n')}\n]\n`), '--json']],
    ['the otlp fixture', () => [fixture, '--json']],
  ])('%s: the same report, byte for byte', async (_what, args) => {
    const [one, two, three] = await both(args());
    expect(one.code).toBe(0);
    expect(one.stdout.length).toBeGreaterThan(100);
    expect(two).toEqual(one);
    expect(three).toEqual(one);
  });

  it.each([
    ['a truncated file (cut inside a record, no final newline): the cut record skipped', () => tmp.file('cut.jsonl', lines.join('\n').slice(0, -Math.floor(lines[lines.length - 1].length / 2))), [], 0],
    ['bad records mid-file with --strict: stops at the first, no report', () => tmp.file('bad-strict.jsonl', badMidFile().join('\n')), ['--strict'], 2],
    // Unlike a plain file, the part lost past the cut cannot be told: no report.
    ['a truncated gzip', () => {
      const gz = gzipSync(`${lines.join('\n')}\n`);
      return tmp.file('cut.jsonl.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    }, [], 2],
    ['a missing file', () => `${tmp.dir}/missing.jsonl`, [], 2],
  ])('%s: the same problems and exit code, nothing else lost', async (_what, path, flags, code) => {
    const file = path();
    const [one, two, three] = await both([file, '--json', ...flags]);
    expect(one.stderr).toMatch(/^rootspan: /);
    expect(one.code).toBe(code);
    expect(two).toEqual(one);
    expect(three).toEqual(one);
  });

  it('bad records mid-file (invalid JSON, not OTLP, a span without ids): each reported, every other record analysed, alike', async () => {
    const [one, two, three] = await both([tmp.file('bad.jsonl', badMidFile().join('\n')), '--json']);
    expect(two).toEqual(one);
    expect(three).toEqual(one);
    expect(one.stderr.trimEnd().split('\n')).toHaveLength(3);
    const report = JSON.parse(one.stdout) as { summary: { spans: number; malformed: number } };
    const spans = lines.reduce((n, l) => n + l.split('"spanId"').length - 1, 0);
    expect(report.summary.malformed).toBe(3);
    expect(report.summary.spans).toBe(spans - (lines[Math.floor(lines.length / 2)].split('"spanId"').length - 1));
  });
});

/** The payment lines with three bad records mid-file: one replacing a line, two inserted. */
function badMidFile(): string[] {
  const out = [...lines];
  const mid = Math.floor(out.length / 2);
  out[mid] = '{"resourceSpans": [ not json';
  out.splice(mid + 5, 0, '{"foo": 1}', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"no ids"}]}]}]}');
  return out;
}
