import type { IncidentEvent } from '@rootspan/engine';
import { requestFor, wants, type NotificationTarget, type OutgoingRequest } from './targets.js';

/** Delivery options (see {@link ServerOptions.notify}). */
export interface NotifyOptions {
  /** Events queued per target; beyond it new events are dropped and counted. Default 1000. */
  maxQueue?: number;
  /**
   * Attempts per event (first try included). Default 12: with the default backoff, about 6 minutes of
   * retries, so an endpoint restarting or flapping for minutes still gets every event (a `resolved` lost
   * after 15 s of retries left a pager's alert open for good).
   */
  maxAttempts?: number;
  /** Wait before the first retry, doubled on each next one. Default 1000 ms. */
  backoffMs?: number;
  /** Longest wait between attempts (also caps a `Retry-After`). Default 60000 ms. */
  maxBackoffMs?: number;
  /** Per-attempt timeout. Default 10000 ms. */
  timeoutMs?: number;
  /**
   * Least time between two notifications of one incident to one target: an `updated` sooner than this after
   * the incident's last one is held, replaced by newer updates, and sent when the time is up (or dropped when
   * the incident's `resolved` or `acknowledged` carries its state first). Default 30000 ms; 0 sends every update.
   */
  updateIntervalMs?: number;
}

/** One target's delivery state, as shown in `/aiops/status`. */
export interface TargetStatus {
  name: string;
  type: NotificationTarget['type'];
  /** Scheme, host and port only: Slack and webhook URLs carry secrets in their paths. */
  endpoint: string;
  queued: number;
  delivered: number;
  /** Events given up on (attempts exhausted or a non-retryable answer). */
  failed: number;
  retries: number;
  /** Events refused because the queue was full. */
  dropped: number;
  /** `updated` events replaced, still unsent, by a newer event of the same incident (in the queue, or held by `updateIntervalMs`). */
  coalesced: number;
  lastError: string | null;
  lastErrorAt: string | null;
  lastDeliveredAt: string | null;
  /** False while the latest attempt failed. */
  healthy: boolean;
}

interface Pending {
  request: OutgoingRequest;
  /** `inc-3 resolved`, for the log. */
  event: string;
  attempts: number;
  /** Set for an `updated` event: the incident it describes. */
  updates?: string;
}

/** An update held back by `updateIntervalMs`: the newest one, and the timer that queues it. */
interface Held {
  event: IncidentEvent;
  timer: NodeJS.Timeout;
}

class Channel {
  readonly queue: Pending[] = [];
  busy = false;
  timer: NodeJS.Timeout | undefined;
  /** When each open incident's latest event was queued (for `updateIntervalMs`). */
  readonly lastQueued = new Map<string, number>();
  readonly held = new Map<string, Held>();
  readonly status: TargetStatus;

  constructor(
    readonly target: NotificationTarget,
    name: string,
  ) {
    const url = target.type === 'pagerduty' ? (target.url ?? 'https://events.pagerduty.com') : target.url;
    this.status = {
      name,
      type: target.type,
      endpoint: new URL(url).origin,
      queued: 0,
      delivered: 0,
      failed: 0,
      retries: 0,
      dropped: 0,
      coalesced: 0,
      lastError: null,
      lastErrorAt: null,
      lastDeliveredAt: null,
      healthy: true,
    };
  }
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Sends incident events to every configured target. Each target has its own bounded queue and sends one
 * request at a time, in order (a `resolved` never overtakes its `opened`); an update waiting behind
 * others is replaced by a newer update of the same incident; failures are retried with
 * exponential backoff. Nothing here is awaited by the caller: a slow or dead endpoint fills its own queue
 * and then drops (counted), and never holds up span intake.
 */
export class Notifier {
  private readonly channels: Channel[];
  private readonly opts: Required<NotifyOptions>;
  private idle: Array<() => void> = [];
  private closed = false;

  constructor(
    targets: readonly NotificationTarget[],
    options: NotifyOptions,
    /** The server's own URL, for links (undefined until it listens). */
    private readonly baseUrl: () => string | undefined,
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.opts = { maxQueue: 1000, maxAttempts: 12, backoffMs: 1000, maxBackoffMs: 60_000, timeoutMs: 10_000, updateIntervalMs: 30_000, ...options };
    this.channels = targets.map((t, i) => new Channel(t, t.name ?? `${t.type}-${i + 1}`));
  }

  /** Queues the event for every target that wants it; returns at once. */
  notify(event: IncidentEvent): void {
    if (this.closed) return;
    for (const ch of this.channels) {
      const wanted = wants(ch.target, event);
      // The incident's next event carries its state; a resolved incident's update is stale for everyone.
      if (event.type === 'resolved' || (wanted && event.type !== 'updated')) this.supersede(ch, event);
      if (!wanted) continue;
      if (event.type === 'updated' && this.hold(ch, event)) continue;
      this.enqueue(ch, event);
    }
  }

  /** Drops the incident's held update; forgets a resolved incident. */
  private supersede(ch: Channel, event: IncidentEvent): void {
    const id = event.incident.id;
    if (event.type === 'resolved') ch.lastQueued.delete(id);
    const held = ch.held.get(id);
    if (held !== undefined) {
      clearTimeout(held.timer);
      ch.held.delete(id);
      ch.status.coalesced++;
    }
  }

  /** Holds an update that comes sooner than `updateIntervalMs` after the incident's last event; true if held. */
  private hold(ch: Channel, event: IncidentEvent): boolean {
    const id = event.incident.id;
    const held = ch.held.get(id);
    if (held !== undefined) {
      held.event = event;
      ch.status.coalesced++;
      return true;
    }
    const last = ch.lastQueued.get(id);
    const wait = last === undefined ? 0 : last + this.opts.updateIntervalMs - this.now();
    if (wait <= 0) return false;
    const entry: Held = {
      event,
      timer: setTimeout(() => {
        ch.held.delete(id);
        this.enqueue(ch, entry.event);
      }, wait),
    };
    entry.timer.unref();
    ch.held.set(id, entry);
    return true;
  }

  private enqueue(ch: Channel, event: IncidentEvent): void {
    const id = event.incident.id;
    if (event.type !== 'resolved') ch.lastQueued.set(id, this.now());
    // An unsent update of the same incident is stale: the newer one takes its place in the queue (the
    // incident's latest state arrives, in order, and a slow endpoint's queue is not filled with updates).
    const stale = event.type === 'updated' ? ch.queue.find((p) => p.updates === id && p.attempts === 0) : undefined;
    if (stale !== undefined) {
      stale.request = requestFor(ch.target, event, this.baseUrl(), this.now());
      ch.status.coalesced++;
      return;
    }
    if (ch.queue.length >= this.opts.maxQueue) {
      if (ch.status.dropped++ === 0) this.log(`notification queue of ${ch.status.name} is full (${this.opts.maxQueue}): dropping new events; see /aiops/status`);
      return;
    }
    ch.queue.push({ request: requestFor(ch.target, event, this.baseUrl(), this.now()), event: `${id} ${event.type}`, attempts: 0, ...(event.type === 'updated' ? { updates: id } : {}) });
    ch.status.queued = ch.queue.length;
    this.pump(ch);
  }

  status(): TargetStatus[] {
    return this.channels.map((ch) => ({ ...ch.status }));
  }

  /**
   * Queues held updates (the incidents' latest state goes out before the process does), waits until every
   * queue is empty or `deadlineMs` has passed, then stops (pending retries are abandoned).
   */
  async close(deadlineMs: number): Promise<void> {
    for (const ch of this.channels) {
      for (const held of [...ch.held.values()]) {
        clearTimeout(held.timer);
        this.enqueue(ch, held.event);
      }
      ch.held.clear();
    }
    if (!this.isIdle()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadlineMs);
        timer.unref();
        this.idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.closed = true;
    for (const ch of this.channels) {
      clearTimeout(ch.timer);
      // What the deadline left is lost with the process: said, by event, not silently.
      if (ch.queue.length > 0) this.log(`${ch.queue.length} notification(s) to ${ch.status.name} not sent before shutdown: ${ch.queue.map((p) => p.event).join(', ')}`);
    }
  }

  private isIdle(): boolean {
    return this.channels.every((ch) => ch.queue.length === 0 && !ch.busy);
  }

  private pump(ch: Channel): void {
    if (ch.busy || ch.timer !== undefined || ch.queue.length === 0 || this.closed) {
      if (this.isIdle()) for (const done of this.idle.splice(0)) done();
      return;
    }
    ch.busy = true;
    const item = ch.queue[0];
    item.attempts++;
    void this.send(item.request).then((outcome) => {
      ch.busy = false;
      if (outcome.ok) {
        ch.queue.shift();
        ch.status.delivered++;
        ch.status.lastDeliveredAt = new Date(this.now()).toISOString();
        ch.status.healthy = true;
      } else {
        ch.status.healthy = false;
        ch.status.lastError = outcome.error;
        ch.status.lastErrorAt = new Date(this.now()).toISOString();
        if (outcome.retry && item.attempts < this.opts.maxAttempts) {
          ch.status.retries++;
          const backoff = Math.min(this.opts.maxBackoffMs, outcome.retryAfterMs ?? this.opts.backoffMs * 2 ** (item.attempts - 1));
          ch.timer = setTimeout(() => {
            ch.timer = undefined;
            this.pump(ch);
          }, backoff);
          ch.timer.unref();
        } else {
          ch.queue.shift();
          ch.status.failed++;
          // Each event given up on, by name: the endpoint missed it for good.
          this.log(`notification ${item.event} to ${ch.status.name} given up after ${item.attempts} attempt(s): ${outcome.error}`);
        }
      }
      ch.status.queued = ch.queue.length;
      this.pump(ch);
    });
  }

  private async send(req: OutgoingRequest): Promise<{ ok: true } | { ok: false; retry: boolean; error: string; retryAfterMs?: number }> {
    try {
      const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(this.opts.timeoutMs) });
      // The body is not needed; reading it frees the connection for the next request.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true };
      const after = Number(res.headers.get('retry-after'));
      return {
        ok: false,
        retry: RETRYABLE.has(res.status),
        error: `HTTP ${res.status}`,
        ...(Number.isFinite(after) && after > 0 ? { retryAfterMs: after * 1000 } : {}),
      };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return { ok: false, retry: true, error: e.name === 'TimeoutError' ? `timed out after ${this.opts.timeoutMs} ms` : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` };
    }
  }
}
