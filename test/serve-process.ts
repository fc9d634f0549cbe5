/**
 * `rootspan serve` as a real process (the built bin) for tests: started on a free port, its URL read from
 * the one line it prints once listening. Tests kill what is left with {@link killServes} after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../packages/cli/bin/rootspan.js', import.meta.url));
/** Whether the CLI is built (`npm test` builds first). */
export const serveBuilt = existsSync(fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url)));

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

const children: ChildProcess[] = [];

/** Runs `rootspan <argv>` (its output ignored), for usage errors. */
export function runCli(argv: string[]): ChildProcess {
  const child = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** Starts `rootspan serve --port 0 <args>` and resolves once it prints its URL. */
export function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1], stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code} before listening: ${err}`)));
  });
}

/** The process's exit code once it has exited. */
export const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (code) => r(code))));

/** Kills every process started here that is still running. */
export function killServes(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
