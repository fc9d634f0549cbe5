/**
 * A fixed-rate HTTP load driver for end-to-end tests: one request every 1/rps seconds on a schedule that
 * does not slow down when the server does (an open model, like real users), each attempt given up after
 * `timeoutMs`, as a client library would. Bounded in count and time; aimed only at 127.0.0.1.
 */
import { Agent, request } from 'node:http';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
}

export interface LoadResult {
  /** Wall-clock ms when the request was sent. */
  at: number;
  path: string;
  /** HTTP status, or `timeout` (the client gave up) or `error` (connection failure). */
  outcome: number | 'timeout' | 'error';
  ms: number;
}

export interface FixedLoadOptions {
  /** Base URL on 127.0.0.1. */
  baseUrl: string;
  rps: number;
  /** Hard stop after this long. */
  durationMs: number;
  /** The client gives up on a request after this long (default 3000 ms). */
  timeoutMs?: number;
  /** The i-th request to send. */
  next: (i: number) => LoadRequest;
}

export class FixedRateLoad {
  readonly results: LoadResult[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly timer: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly startedAt = Date.now();
  private sent = 0;
  private readonly base: URL;

  constructor(private readonly o: FixedLoadOptions) {
    this.base = new URL(o.baseUrl);
    if (this.base.hostname !== '127.0.0.1') throw new Error(`load targets 127.0.0.1 only, not ${this.base.hostname}`);
    if (!(o.rps > 0 && o.rps <= 200)) throw new Error('rps must be in (0, 200]');
    if (!(o.durationMs > 0 && o.durationMs <= 600_000)) throw new Error('durationMs must be in (0, 600000]');
    const period = 1000 / o.rps;
    // A coarse tick sends every request that is due: the schedule holds even when a tick comes late.
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.startedAt >= o.durationMs) return void this.halt();
      while (this.sent <= (now - this.startedAt) / period) this.send(this.o.next(this.sent++));
    }, Math.min(20, period));
  }

  /** Results of requests sent in [from, to) (wall clock). */
  between(from: number, to = Infinity): LoadResult[] {
    return this.results.filter((r) => r.at >= from && r.at < to);
  }

  private send(r: LoadRequest): void {
    const at = Date.now();
    const body = r.body === undefined ? undefined : JSON.stringify(r.body);
    const p = new Promise<void>((resolve) => {
      let settled = false;
      const done = (outcome: LoadResult['outcome']) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.results.push({ at, path: r.path, outcome, ms: Date.now() - at });
        resolve();
      };
      const req = request(
        new URL(r.path, this.base),
        { method: r.method, agent: this.agent, headers: body ? { 'content-type': 'application/json' } : {} },
        (res) => {
          res.resume();
          res.once('end', () => done(res.statusCode ?? 0));
          res.once('error', () => done('error'));
        },
      );
      const timer = setTimeout(() => {
        done('timeout');
        req.destroy();
      }, this.o.timeoutMs ?? 3000);
      req.once('error', () => done('error'));
      req.end(body);
    });
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private halt(): void {
    clearInterval(this.timer);
  }

  /** Stops sending; resolves when every request has settled (answered or given up). */
  async stop(): Promise<LoadResult[]> {
    this.halt();
    await Promise.all(this.inFlight);
    this.agent.destroy();
    return this.results;
  }
}
