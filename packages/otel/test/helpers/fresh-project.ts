/**
 * A new user's project, made for real: `npm init -y` in an empty temp dir, the otel README's install line
 * (with `@rootspan/otel` swapped for the packed workspace tarballs, which npm cannot fetch before they are
 * published), and the README's `otel.mjs` as printed. npm runs under the Node version being tested, so
 * engine checks and peer resolution are what that user would get.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmCli } from './node-runtime.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The fenced code blocks of the otel README, in order. */
export function readmeBlocks(): Array<{ lang: string; code: string }> {
  const blocks: Array<{ lang: string; code: string }> = [];
  const fence = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (const m of readFileSync(README, 'utf8').matchAll(fence)) blocks.push({ lang: m[1], code: m[2] });
  return blocks;
}

/** The README's quick start, exactly as printed: the first install line, `otel.mjs`, the run line, and Node 20's install line. */
export function quickStart(): { install: string; nodeTwentyInstall: string; sdkOneInstall: string; otelMjs: string; run: string } {
  const blocks = readmeBlocks();
  const installs = blocks.filter((b) => b.lang === 'sh' && b.code.startsWith('npm install '));
  const otel = blocks.find((b) => b.lang === 'js' && b.code.startsWith('// otel.mjs'));
  const run = blocks.find((b) => b.lang === 'sh' && b.code.startsWith('node --import '));
  // Node 20's line pins the SDK 2 releases of sdk-node.
  const nodeTwenty = installs.find((b) => b.code.includes('"@opentelemetry/sdk-node@<0.300"'));
  // The SDK 1 line pins the last sdk-node releases before SDK 2.
  const sdkOne = installs.find((b) => b.code.includes('"@opentelemetry/sdk-node@<0.58"'));
  if (installs.length === 0 || nodeTwenty === undefined || sdkOne === undefined || otel === undefined || run === undefined) {
    throw new Error('otel README: quick start blocks not found');
  }
  return { install: installs[0].code.trim(), nodeTwentyInstall: nodeTwenty.code.trim(), sdkOneInstall: sdkOne.code.trim(), otelMjs: otel.code, run: run.code.trim() };
}

/** Splits a one-line shell command into words, honouring double quotes (all the README uses). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2]);
  return words;
}

/** Packs @rootspan/engine and @rootspan/otel (as built in dist/) into `dir`; returns the tarball paths. */
export function packWorkspaces(dir: string): string[] {
  for (const pkg of ['engine', 'otel']) {
    if (!existsSync(join(ROOT, 'packages', pkg, 'dist', 'index.js'))) throw new Error(`packages/${pkg} is not built: run npm run build first`);
  }
  const out = execFileSync(process.execPath, [npmCli(), 'pack', '-w', 'packages/engine', '-w', 'packages/otel', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    encoding: 'utf8',
    env: cleanEnv(process.execPath),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return (JSON.parse(out) as Array<{ filename: string }>).map((p) => join(dir, p.filename));
}

/**
 * The environment of a user's shell with `node` = the tested binary: without the `npm_*` variables of
 * the `npm test` this runs under (they would point npm at the repo's config and workspace).
 */
export function cleanEnv(node: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && !k.startsWith('VITEST')) env[k] = v;
  env.PATH = `${dirname(node)}${delimiter}${process.env.PATH ?? ''}`;
  return env;
}

export interface FreshProject {
  dir: string;
  node: string;
  env: NodeJS.ProcessEnv;
  /** Runs npm (under the project's Node) in the project; returns stdout. */
  npm(args: string[]): string;
  /** Version of an installed package, or undefined when it is not installed at the top level. */
  installed(name: string): string | undefined;
}

/** `npm init -y` in a new temp dir, run by `node`'s npm. */
export function freshProject(node: string, label: string): FreshProject {
  const dir = mkdtempSync(join(tmpdir(), `rootspan-fresh-${label}-`));
  const env = cleanEnv(node);
  const npm = (args: string[]) =>
    execFileSync(node, [npmCli(), ...args], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  npm(['init', '-y']);
  const installed = (name: string) => {
    const file = join(dir, 'node_modules', name, 'package.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
  };
  return { dir, node, env, npm, installed };
}

/** Writes a file into the project. */
export function writeInto(project: FreshProject, name: string, text: string): void {
  writeFileSync(join(project.dir, name), text);
}

/** A process started from a README command line, with its stdout and stderr collected line by line. */
export interface Started {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first output line matching `re`; rejects if the process exits first or `ms` pass. */
  waitFor(re: RegExp, ms: number): Promise<string>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/** Starts `words` (a command line whose first word is `node`) in the project. */
export function start(project: FreshProject, words: string[]): Started {
  if (words[0] !== 'node') throw new Error(`not a node command: ${words.join(' ')}`);
  const child = spawn(project.node, words.slice(1), { cwd: project.dir, env: project.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  // Both streams, line by line in arrival order: consoleIncidentLogger writes warn/error levels to stderr.
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        for (const w of waiters) if (w.re.test(line)) (waiters.delete(w), w.resolve(line));
      }
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const waitFor = (re: RegExp, ms: number) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.find((l) => re.test(l));
      if (found !== undefined) return resolve(found);
      const fail = (why: string) => () => {
        waiters.delete(waiter);
        reject(new Error(`${why} before a line matching ${re}; output:\n${lines.slice(-20).join('\n')}`));
      };
      const timer = setTimeout(fail(`${ms} ms passed`), ms);
      const waiter = {
        re,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      waiters.add(waiter);
      void exited.then(() => {
        clearTimeout(timer);
        if (waiters.has(waiter)) fail('the process exited')();
      });
    });
  return { child, lines, waitFor, exited };
}
