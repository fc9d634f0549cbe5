import { diag } from '@opentelemetry/api';

/** Throws unless `capacity` is a positive integer (the size of a preallocated ring). */
export function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new TypeError(`rootspan: queue capacity must be a positive integer, got ${String(capacity)}`);
  }
}

/**
 * A fixed-capacity FIFO ring buffer. `push` is O(1) and never allocates after construction, which is
 * what `SpanProcessor.onEnd` needs: it runs on the host's request path and must not grow memory under
 * a traffic spike; when the buffer is full the caller drops (and counts) instead.
 */
export class BoundedQueue<T> {
  private readonly items: Array<T | undefined>;
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    checkCapacity(capacity);
    this.items = new Array<T | undefined>(capacity);
  }

  /** Items waiting. */
  get length(): number {
    return this.size;
  }

  /** Appends an item; returns false (and keeps nothing) when the queue is full. */
  push(item: T): boolean {
    if (this.size === this.capacity) return false;
    let tail = this.head + this.size;
    if (tail >= this.capacity) tail -= this.capacity;
    this.items[tail] = item;
    this.size++;
    return true;
  }

  /** Removes and returns up to `max` items from the front, oldest first. */
  take(max: number): T[] {
    const n = Math.min(max, this.size);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.items[this.head] as T;
      // Release the reference so drained spans can be collected.
      this.items[this.head] = undefined;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    }
    this.size -= n;
    return out;
  }

  /** Drops everything waiting. */
  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
}

/**
 * Counts what a full {@link BoundedQueue} turned away and logs each drop episode twice through `diag`:
 * once when dropping starts and once, with the episode's count, when the queue has room again. Never one
 * line per item: a flood must not become a log flood.
 */
export class DropCounter {
  /** Items dropped since start. */
  total = 0;
  /** Drops since the queue last had room: non-zero while an episode is in progress. */
  private episode = 0;

  constructor(
    private readonly started: () => string,
    private readonly ended: (count: number) => string,
  ) {}

  /** Records one dropped item. */
  drop(): void {
    this.total++;
    if (this.episode++ === 0) diag.warn(this.started());
  }

  /** Records that an item was accepted again, closing the episode if one was in progress. */
  accepted(): void {
    if (this.episode === 0) return;
    diag.warn(this.ended(this.episode));
    this.episode = 0;
  }
}
