/** The decompressed size would pass the caller's limit: nothing past it was written. */
export class OverLimit extends Error {
  constructor(readonly limit: number) {
    super(`decompressed body over the limit of ${limit} bytes`);
  }
}

/**
 * A decoder's output: bytes appended and copied back from earlier output (the LZ77 copies both codecs
 * make), growing by doubling up to `limit`, never past it.
 */
export class Output {
  buf: Buffer;
  length = 0;

  constructor(
    private readonly limit: number,
    sizeHint = 0,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(limit, Math.max(sizeHint, 4096)));
  }

  /** Makes room for `n` more bytes. @throws OverLimit past the limit */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    if (need > this.limit) throw new OverLimit(this.limit);
    const grown = Buffer.allocUnsafe(Math.min(this.limit, Math.max(need, this.buf.length * 2)));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  /** Appends `src[from, from + n)`. */
  literal(src: Uint8Array, from: number, n: number): void {
    if (from + n > src.length) throw new Error('literal runs past the end of the input');
    this.reserve(n);
    this.buf.set(src.subarray(from, from + n), this.length);
    this.length += n;
  }

  /** Appends `n` bytes copied from `offset` bytes back, overlapping itself when `offset < n` (a repeat). */
  copy(offset: number, n: number, floor = 0): void {
    if (offset <= 0 || offset > this.length - floor) throw new Error(`copy offset ${offset} out of range`);
    this.reserve(n);
    const buf = this.buf;
    let from = this.length - offset;
    let to = this.length;
    if (offset >= n) buf.copyWithin(to, from, from + n);
    else for (const end = to + n; to < end; ) buf[to++] = buf[from++];
    this.length += n;
  }

  /** The bytes written (a view of the buffer). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
