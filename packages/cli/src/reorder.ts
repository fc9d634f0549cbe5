import type { Span } from '@rootspan/engine';

const byEnd = (a: Span, b: Span): number => a.endTime - b.endTime;

/**
 * Hands spans on in end-time order within a bounded window. An OTLP document lists each service's spans
 * together, so in file order a later service's spans would reach the analyzer minutes "late"; sorting the
 * whole document would hold all of it. The window holds up to `capacity` spans: when full, the earlier
 * half (by end time) goes on and the rest waits, so memory stays bounded and only disorder wider than
 * the window remains (which the analyzer counts as late, never silently).
 */
export class EndTimeWindow {
  private held: Span[] = [];

  constructor(
    private readonly capacity: number,
    private readonly deliver: (spans: Span[]) => void,
  ) {}

  push(spans: readonly Span[]): void {
    for (const s of spans) this.held.push(s);
    if (this.held.length >= this.capacity) this.release(this.held.length - Math.floor(this.capacity / 2));
  }

  /** Hands on everything still held. */
  flush(): void {
    if (this.held.length > 0) this.release(this.held.length);
  }

  private release(n: number): void {
    this.held.sort(byEnd); // mostly sorted after the first release: cheap for TimSort
    this.deliver(this.held.splice(0, n));
  }
}
