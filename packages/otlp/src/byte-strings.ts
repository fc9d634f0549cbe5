/**
 * Strings of a byte stream's short, repeated values (JSON keys, span names, attribute values) built once
 * and looked up by their bytes: the OTLP/JSON line scanner (jsonl-scan.ts) finds the string of a name
 * without making one, so a name repeated by half a million spans costs one lookup each, not one string.
 */

/** Longest value kept, in bytes: longer ones are rarely repeated (URLs, statements, messages). */
const MAX_KEPT_BYTES = 64;
/** Values kept at most; when full, the table starts over (a stream of ever new values stays bounded). */
const MAX_ENTRIES = 4096;
const SLOTS = 2 * MAX_ENTRIES;

/** Byte values and their strings, each with a number the caller derives from the string once (`tagOf`). */
export class ByteStrings {
  /** Entry + 1 per slot (0: free). */
  private readonly slots = new Int32Array(SLOTS);
  private readonly hashes = new Int32Array(MAX_ENTRIES);
  private readonly lengths = new Int32Array(MAX_ENTRIES);
  private readonly bytes = new Uint8Array(MAX_ENTRIES * MAX_KEPT_BYTES);
  private readonly strings: string[] = [];
  private readonly tags = new Int32Array(MAX_ENTRIES);
  private used = 0;

  constructor(private readonly tagOf: (s: string) => number) {}

  /** The string of an entry. */
  string(entry: number): string {
    return this.strings[entry];
  }

  /** `tagOf` the entry's string. */
  tag(entry: number): number {
    return this.tags[entry];
  }

  /** The entry's length in bytes. */
  length(entry: number): number {
    return this.lengths[entry];
  }

  /**
   * The entry of `b[start..end)` (UTF-8), added if new; -1 when it is longer than {@link MAX_KEPT_BYTES}
   * (the caller makes its string itself).
   */
  entry(b: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (n > MAX_KEPT_BYTES) return -1;
    const hash = hashOf(b, start, n);
    const mask = SLOTS - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s] - 1;
      if (e < 0) break;
      if (this.hashes[e] === hash && this.lengths[e] === n && this.is(e, b, start)) return e;
    }
    if (this.used === MAX_ENTRIES) {
      // Only the lookup starts over: an entry number held by a caller still names its bytes and string
      // until the entry is used again, all of it at once.
      this.slots.fill(0);
      this.used = 0;
    }
    const s = Buffer.from(b.buffer, b.byteOffset + start, n).toString('utf8');
    return this.add(b, start, n, hash, s, this.tagOf(s));
  }

  /** Whether the entry's bytes stand at `start` in `b` (what follows them not looked at). */
  is(e: number, b: Uint8Array, start: number): boolean {
    const bytes = this.bytes;
    const at = e * MAX_KEPT_BYTES;
    const n = this.lengths[e];
    for (let k = 0; k < n; k++) if (bytes[at + k] !== b[start + k]) return false;
    return true;
  }

  private add(b: Uint8Array, start: number, n: number, hash: number, s: string, tag: number): number {
    const e = this.used++;
    const at = e * MAX_KEPT_BYTES;
    this.bytes.set(b.subarray(start, start + n), at);
    this.lengths[e] = n;
    this.hashes[e] = hash;
    this.strings[e] = s;
    this.tags[e] = tag;
    const mask = SLOTS - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = e + 1;
    return e;
  }
}

/**
 * A hash of the `n` bytes at `start` from its length and up to eight of its bytes: the values kept are
 * short and differ near their ends (`GET /a`, `GET /b`), and a hash of every byte costs more than the
 * comparison that settles a collision.
 */
function hashOf(b: Uint8Array, start: number, n: number): number {
  const last = start + n - 1;
  let h = Math.imul(n, 0x9e3779b1);
  if (n > 0) {
    h = Math.imul(h ^ b[start], 0x01000193) ^ Math.imul(b[last], 0x85ebca6b);
    h = Math.imul(h ^ b[start + (n >> 1)], 0x01000193) ^ Math.imul(b[last - (n >> 2)], 0xc2b2ae35);
    h = Math.imul(h ^ b[start + (n >> 2)], 0x01000193) ^ Math.imul(b[last - (n >> 1)], 0x27d4eb2f);
    h = Math.imul(h ^ b[last - 1 < start ? start : last - 1], 0x01000193) ^ b[start + 1 > last ? last : start + 1];
  }
  return h ^ (h >>> 15);
}
