/** Slots per trace in {@link ReleasedSpans}' trace tables: its hash, where its span ids start, how many. */
const STRIDE = 3;

/**
 * The span ids of recently released traces, as 32-bit hashes: O(1) per trace and per span to add, no
 * allocation, no string kept. A span whose parent is here arrived after its trace was processed (a call that
 * ended after its request was answered): its parent is gone, not on its way. Asked per trace, so span ids
 * that repeat across traces (a test's or a custom generator's counters) never answer for another trace.
 *
 * The ids are written in release order into one ring (sequential stores: the release of every trace pays
 * them, so no random access per span), and each trace is found through a small open-addressing table of
 * two generations (the older cleared when the newer fills) that says where its ids are in the ring. Asking
 * (rare: a trace idle and still missing a parent) scans that trace's ids.
 */
export class ReleasedSpans {
  /** Span id hashes in release order; slot `n & ringMask` holds the n-th written. */
  private readonly ring: Int32Array;
  /** Per slot of {@link ring}, 1 for a server span: a B3 shared server span is no duplicate of its client. */
  private readonly servers: Uint8Array;
  private readonly ringMask: number;
  /** Span ids written so far, as an unsigned 32-bit count (wraps; only differences are used). */
  private written = 0;
  /** Per trace, {@link STRIDE} slots: its hash (0: empty), where its ids start in the ring, how many. */
  private current: Int32Array;
  private older: Int32Array;
  private traces = 0;
  private readonly traceMask: number;

  /**
   * Remembers the ids of at least the last `spans` spans released (a power of two), of at most
   * 2 × `traces` traces (a power of two; each generation has twice as many slots).
   */
  constructor(
    spans: number,
    private readonly traceCapacity: number,
    private readonly hash: (id: string) => number,
  ) {
    this.ring = new Int32Array(spans);
    this.servers = new Uint8Array(spans);
    this.ringMask = spans - 1;
    this.current = new Int32Array(2 * traceCapacity * STRIDE);
    this.older = new Int32Array(2 * traceCapacity * STRIDE);
    this.traceMask = 2 * traceCapacity - 1;
  }

  /** Notes the spans of the trace hashed `traceHash` as released. */
  add(traceHash: number, spans: ReadonlyArray<{ readonly spanId: string; readonly kind?: string }>): void {
    if (this.traces >= this.traceCapacity) {
      const cleared = this.older.fill(0);
      this.older = this.current;
      this.current = cleared;
      this.traces = 0;
    }
    const t = this.current;
    const key = traceHash || 1;
    let i = key & this.traceMask;
    // A trace released again (its stragglers) takes a slot of its own: both parts stay findable.
    while (t[i * STRIDE] !== 0) i = (i + 1) & this.traceMask;
    const n = spans.length;
    let w = this.written;
    t[i * STRIDE] = key;
    t[i * STRIDE + 1] = w;
    t[i * STRIDE + 2] = n;
    this.traces++;
    const ring = this.ring;
    const servers = this.servers;
    const mask = this.ringMask;
    for (let k = 0; k < n; k++, w++) {
      const span = spans[k];
      ring[w & mask] = this.hash(span.spanId);
      servers[w & mask] = span.kind === 'server' ? 1 : 0;
    }
    this.written = w >>> 0;
  }

  /**
   * Whether span `spanId` of the trace hashed `traceHash` was released (and not forgotten yet); with
   * `server`, only a span that was (true) or was not (false) a server span counts.
   */
  has(traceHash: number, spanId: string, server?: boolean): boolean {
    const key = traceHash || 1;
    const current = this.slotOf(this.current, key);
    const older = this.slotOf(this.older, key);
    // Asked for the first span of every trace, most of them never released: the id is hashed only for one that was.
    if (current < 0 && older < 0) return false;
    const h = this.hash(spanId);
    const kind = server === undefined ? -1 : server ? 1 : 0;
    return (current >= 0 && this.find(this.current, current, key, h, kind)) || (older >= 0 && this.find(this.older, older, key, h, kind));
  }

  /** The first slot of table `t` that holds trace `key`; -1 when none does. */
  private slotOf(t: Int32Array, key: number): number {
    for (let i = key & this.traceMask; t[i * STRIDE] !== 0; i = (i + 1) & this.traceMask) if (t[i * STRIDE] === key) return i;
    return -1;
  }

  /** Whether span hash `h` is among the released parts of trace `key` in table `t`, from its slot `first` on. */
  private find(t: Int32Array, first: number, key: number, h: number, kind: number): boolean {
    for (let i = first; t[i * STRIDE] !== 0; i = (i + 1) & this.traceMask) {
      if (t[i * STRIDE] !== key) continue;
      const start = t[i * STRIDE + 1];
      const n = t[i * STRIDE + 2];
      // The ring has since overwritten all but the last `ring.length` ids written.
      const age = (this.written - start) >>> 0;
      const from = age > this.ring.length ? age - this.ring.length : 0;
      for (let k = from; k < n; k++) {
        const at = (start + k) & this.ringMask;
        if (this.ring[at] === h && (kind < 0 || this.servers[at] === kind)) return true;
      }
    }
    return false;
  }
}
