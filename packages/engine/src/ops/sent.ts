import { MAX_SENT } from '../limits.js';

/**
 * When recent messages were sent: each producer span's end, by trace and span id. A consumer span whose
 * parent is a producer span reads how long its message waited from here when the producer's trace was
 * processed before it came (a backlog's messages wait seconds; a trace is processed a second after its
 * last span). A message taken by one consumer may be taken by others (consumer groups): it is kept, FIFO,
 * the newest {@link MAX_SENT}; the oldest go first, counted in `forgotten` unless a consumer took them.
 */
export class SentMessages {
  /** Send time by `traceId/spanId`, oldest first; negative once a consumer took the message. */
  private readonly at = new Map<string, number>();
  /** Messages let go to make room before any consumer took them. */
  forgotten = 0;

  /** Notes that the producer span `spanId` of `traceId` ended (the broker had the message) at `end`. */
  note(traceId: string, spanId: string, end: number): void {
    const key = `${traceId}/${spanId}`;
    if (this.at.has(key)) return;
    this.at.set(key, end);
    if (this.at.size <= MAX_SENT) return;
    for (const [oldest, sent] of this.at) {
      this.at.delete(oldest);
      if (sent >= 0) this.forgotten++;
      break;
    }
  }

  /** When the message the producer span `spanId` of `traceId` sent was sent, if still known; notes it taken. */
  take(traceId: string, spanId: string): number | undefined {
    const key = `${traceId}/${spanId}`;
    const sent = this.at.get(key);
    if (sent === undefined) return undefined;
    if (sent >= 0) this.at.set(key, -sent);
    return Math.abs(sent);
  }
}
