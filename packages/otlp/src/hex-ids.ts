/**
 * Trace and span ids from their lowercase hex bytes (the JSONL scanner's, a decoding worker's columns):
 * strings made without a Buffer, at a third of the cost of decoding a slice.
 */

/** The 16 bytes at `at` (a span id's hex) as a string. */
export function hex16(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10], b[at + 11], b[at + 12], b[at + 13], b[at + 14], b[at + 15]);
}

/** The 32 bytes at `at` (a trace id's hex) as a string (one flat string: it becomes a Map key). */
export function hex32(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10], b[at + 11], b[at + 12], b[at + 13], b[at + 14], b[at + 15], b[at + 16], b[at + 17], b[at + 18], b[at + 19], b[at + 20], b[at + 21], b[at + 22], b[at + 23], b[at + 24], b[at + 25], b[at + 26], b[at + 27], b[at + 28], b[at + 29], b[at + 30], b[at + 31]);
}

/** Trace id strings from bytes, a span's being most often the previous span's: that one is not made again. */
export class TraceIds {
  private readonly last = new Uint8Array(32);
  private lastId = '';

  /** The trace id whose 32 bytes are at `at`. */
  at(b: Uint8Array, at: number): string {
    const last = this.last;
    let k = 0;
    while (k < 32 && b[at + k] === last[k]) k++;
    if (k < 32) {
      last.set(b.subarray(at, at + 32));
      this.lastId = hex32(b, at);
    }
    return this.lastId;
  }
}
