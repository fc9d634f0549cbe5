/**
 * The span ids of recently released traces, each as one 32-bit hash of its trace's hash and its own, in two
 * generations of open-addressing tables (the older cleared when the newer fills): O(1) to add and to ask, no
 * allocation, no string kept. A span whose parent is here arrived after its trace was processed (a call that
 * ended after its request was answered): its parent is gone, not on its way. Keyed by trace as well, so span
 * ids that repeat across traces (a test's or a custom generator's counters) never answer for another trace.
 */
export class ReleasedSpans {
  private current: Int32Array;
  private older: Int32Array;
  private count = 0;
  private readonly mask: number;

  /** Remembers at least `capacity` spans (a power of two); each table holds twice as many slots. */
  constructor(
    private readonly capacity: number,
    private readonly hash: (id: string) => number,
  ) {
    this.current = new Int32Array(2 * capacity);
    this.older = new Int32Array(2 * capacity);
    this.mask = 2 * capacity - 1;
  }

  /** Notes span `spanId` of the trace hashed `traceHash` as released. */
  add(traceHash: number, spanId: string): void {
    const h = this.key(traceHash, spanId);
    let t = this.current;
    let i = h & this.mask;
    // One probe: to the id if held, else to the slot it takes (the first of an emptied table's probe).
    for (; t[i] !== 0; i = (i + 1) & this.mask) if (t[i] === h) return;
    if (this.count >= this.capacity) {
      const cleared = this.older.fill(0);
      this.older = t;
      this.current = t = cleared;
      this.count = 0;
      i = h & this.mask;
    }
    t[i] = h;
    this.count++;
  }

  /** Whether span `spanId` of the trace hashed `traceHash` was released (and not forgotten yet). */
  has(traceHash: number, spanId: string): boolean {
    const h = this.key(traceHash, spanId);
    return this.find(this.current, h) || this.find(this.older, h);
  }

  /** One non-zero hash of both (0 is an empty slot). */
  private key(traceHash: number, spanId: string): number {
    return Math.imul(traceHash, 0x9e3779b1) ^ this.hash(spanId) || 1;
  }

  private find(t: Int32Array, h: number): boolean {
    for (let i = h & this.mask; t[i] !== 0; i = (i + 1) & this.mask) if (t[i] === h) return true;
    return false;
  }
}
