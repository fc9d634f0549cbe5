/** Runs the CLI in-process through `main(argv, io)`, with stdout/stderr captured and stdin injectable. */
import { Readable, Writable } from 'node:stream';
import { main } from 'rootspan';

/** A writable that keeps what is written to it; `isTTY` makes it pass for a terminal. */
export class Capture extends Writable {
  private readonly chunks: string[] = [];

  constructor(readonly isTTY = false) {
    super();
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    done();
  }

  text(): string {
    return this.chunks.join('');
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** What stdin delivers (in 64 KiB chunks, so gzip and line splitting see real chunk boundaries). Default: nothing. */
  stdin?: Buffer | string;
  /** Make stderr look like a terminal (progress is shown by default then). */
  tty?: boolean;
}

/** `rootspan <argv...>` in-process. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const stdout = new Capture();
  const stderr = new Capture(options.tty === true);
  const input = options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin);
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += 65536) chunks.push(input.subarray(i, i + 65536));
  const code = await main(argv, { stdout, stderr, stdin: Readable.from(chunks, { objectMode: false }) });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Parses a `--json` run's stdout, failing with the run's stderr when it is not JSON. */
export function parseJson(r: RunResult): unknown {
  try {
    return JSON.parse(r.stdout);
  } catch (err) {
    throw new Error(`stdout is not JSON (${(err as Error).message}); exit ${r.code}; stderr: ${r.stderr}; stdout: ${r.stdout.slice(0, 200)}`);
  }
}
