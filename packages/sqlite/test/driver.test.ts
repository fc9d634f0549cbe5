/**
 * Driver choice and the npm 11 native-build trap: a better-sqlite3 installed without its install script
 * has no binding, and opening a store must say so with the commands that fix it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { sqliteStore } from '@rootspan/sqlite';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

it('a better-sqlite3 whose install script never ran: the error names the problem and the fix', () => {
  dir = mkdtempSync(join(tmpdir(), 'rootspan-driver-'));
  const modules = join(dir, 'node_modules');
  // A project as npm 11 leaves it: the packages are there, but better-sqlite3 was never built.
  for (const pkg of ['@rootspan/sqlite', '@rootspan/engine']) {
    const from = join(root, 'packages', pkg.split('/')[1]);
    mkdirSync(join(modules, pkg), { recursive: true });
    cpSync(join(from, 'package.json'), join(modules, pkg, 'package.json'));
    cpSync(join(from, 'dist'), join(modules, pkg, 'dist'), { recursive: true });
  }
  const bs3 = dirname(require.resolve('better-sqlite3/package.json'));
  cpSync(join(bs3, 'package.json'), join(modules, 'better-sqlite3', 'package.json'));
  cpSync(join(bs3, 'lib'), join(modules, 'better-sqlite3', 'lib'), { recursive: true });
  for (const dep of ['bindings', 'file-uri-to-path']) cpSync(dirname(require.resolve(`${dep}/package.json`, { paths: [bs3] })), join(modules, dep), { recursive: true });
  const script = `import('@rootspan/sqlite').then((m) => { try { m.sqliteStore({ path: 'x.db', driver: 'better-sqlite3' }); console.log('opened'); } catch (e) { console.log(e.name + ': ' + e.message); } })`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
  expect(out).toMatch(/^SqliteDriverError: better-sqlite3's native binding is missing/s);
  expect(out).toContain('npm install-scripts approve better-sqlite3');
  expect(out).toContain('npm rebuild better-sqlite3');
});

it.runIf(nodeMajor < 22)('asking for node:sqlite on a Node without it says which Node it needs', () => {
  expect(() => sqliteStore({ path: join(tmpdir(), 'never.db'), driver: 'node:sqlite' })).toThrow(/node:sqlite needs Node 22.13 or later/);
});

it('bad options are named', () => {
  expect(() => sqliteStore({ path: '' })).toThrow(/option path must be a file name/);
  expect(() => sqliteStore({ path: 'x.db', driver: 'sqlite4' as never })).toThrow(/option driver must be/);
  expect(() => sqliteStore({ path: 'x.db', retention: { rollups: -1 } })).toThrow(/retention.rollups must be a positive number/);
});
