/**
 * End to end through the real executable: `node packages/cli/bin/rootspan.js` as a child process, on the
 * built `dist/` (the root `npm test` builds first). Proves the launcher, the bundle and the exit codes,
 * which the in-process tests cannot.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonReport } from 'rootspan';
import { paymentErrors, tempDir } from './helpers/data.js';
import { validateReport } from './helpers/validate.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/rootspan.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/main.js', import.meta.url)));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Runs the bin from the repo root; resolves with its exit code and output (never rejects on exit != 0). */
function rootspan(args: string[], stdin?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [bin, ...args], { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      if (code === null) reject(err);
      else resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

const tmp = tempDir('rootspan-bin-');
let file: string;
beforeAll(() => {
  file = tmp.scenario('payment.jsonl', paymentErrors());
});
afterAll(() => tmp.cleanup());

describe(
  'the built bin',
  () => {
    it('is built (a missing build fails here instead of skipping these tests)', () => {
      expect(built, 'packages/cli/dist/main.js is missing: run `npm run build` (the root `npm test` does)').toBe(true);
    });

    it('analyze FILE --json: exit 0 and a valid report naming payment', async () => {
      const r = await rootspan(['analyze', file, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as JsonReport;
      expect(validateReport(report)).toEqual([]);
      expect(report.incidents[0]?.rootCause).toMatchObject({ service: 'payment', operation: 'POST /payment', kind: 'errors' });
    });

    it('stdin, --fail-on-incident: exit 1 with the human report', async () => {
      const r = await rootspan(['analyze', '-', '--fail-on-incident'], readFileSync(file));
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/root cause: payment POST \/payment/);
    });

    it('--version prints the package version (the bundle has it compiled in)', async () => {
      expect(await rootspan(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    });

    it('a missing file: exit 2 naming it', async () => {
      const r = await rootspan(['analyze', 'no/such/file.jsonl']);
      expect(r).toEqual({ code: 2, stdout: '', stderr: 'rootspan: cannot read no/such/file.jsonl: no such file\n' });
    });

    it('a usage error: exit 2', async () => {
      const r = await rootspan(['analyze', '--bogus']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^rootspan: unknown option '--bogus'\n/);
    });
  },
);
