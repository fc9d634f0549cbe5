/** The progress line on stderr: one line rewritten in place with `\r`, so it must be ended before anything else is printed. */
import { printable } from './printable.js';

/** Bytes read between two updates: often enough to look alive, rarely enough to cost nothing. */
const STEP_BYTES = 4 << 20;

export class Progress {
  /** Whether the cursor is at the end of an unfinished progress line. */
  private open = false;
  private lastShown = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly enabled: boolean,
  ) {}

  /** Rewrites the line when enough new bytes were read; `total` is 0 when unknown (stdin). */
  update(file: string, bytes: number, total: number, spans: number): void {
    if (!this.enabled || bytes - this.lastShown < STEP_BYTES) return;
    this.lastShown = bytes;
    const of = total > 0 ? ` / ${mb(total)} (${Math.round((bytes / total) * 100)}%)` : '';
    this.out.write(`\r${printable(file)}: ${mb(bytes)}${of}, ${spans} spans `);
    this.open = true;
  }

  /** Ends an unfinished progress line, so a message printed next starts on a line of its own. */
  interrupt(): void {
    if (!this.open) return;
    this.out.write('\n');
    this.open = false;
  }

  /** The final line for one input. */
  done(file: string, bytes: number, spans: number): void {
    if (!this.enabled) return;
    this.out.write(`\r${printable(file)}: ${mb(bytes)}, ${spans} spans, done\n`);
    this.open = false;
    this.lastShown = 0;
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
