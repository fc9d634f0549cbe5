import { BoundedQueue, DropCounter } from './queue.js';

/** One user callback invocation waiting to run. */
export interface CallbackCall {
  name: 'onIncident' | 'onAnomaly';
  cb: (arg: unknown) => unknown;
  arg: unknown;
}

/**
 * Runs user callbacks off the analyzer's emit path, at most one per event-loop turn.
 *
 * The analyzer emits synchronously while it ingests, and one ingest can emit several events (an anomaly
 * and the incident it opens, several incidents resolving at once). Calling each listener right there
 * would run all of them back to back in one turn: two 2 s synchronous callbacks would freeze the host for
 * 4 s. Queued here instead, each call gets its own `setImmediate`, scheduled after the previous call
 * returned, so timers and I/O (the host's requests) run between any two callbacks and a synchronous
 * callback blocks only for its own duration. The queue is bounded; a full one drops and counts.
 */
export class CallbackDispatcher {
  readonly drops: DropCounter;
  private readonly queue: BoundedQueue<CallbackCall>;
  private scheduled = false;
  private waiters: Array<() => void> = [];
  private readonly step = () => this.runOne();

  constructor(
    capacity: number,
    private readonly run: (call: CallbackCall) => void,
    label: string,
  ) {
    this.queue = new BoundedQueue<CallbackCall>(capacity);
    this.drops = new DropCounter(
      () => `rootspan ${label}: callback queue full (callbackQueueSize ${capacity}), dropping callback calls until your callbacks catch up`,
      (n) => `rootspan ${label}: dropped ${n} callback calls because the callback queue (callbackQueueSize ${capacity}) was full`,
    );
  }

  /** Calls waiting to run. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues a call; O(1), never runs user code. A full queue drops the call and counts it. */
  enqueue(call: CallbackCall): void {
    if (!this.queue.push(call)) {
      this.drops.drop();
      return;
    }
    this.drops.accepted();
    this.schedule();
  }

  /** Resolves once every call queued so far (and any queued meanwhile) has run. Never rejects. */
  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.step);
  }

  private runOne(): void {
    this.scheduled = false;
    const [call] = this.queue.take(1);
    if (call !== undefined) this.run(call);
    // Scheduled after the call returned: whatever it (or the host) scheduled meanwhile runs first.
    if (this.queue.length > 0) {
      this.schedule();
    } else {
      for (const resolve of this.waiters.splice(0)) resolve();
    }
  }
}
