/**
 * The shop's shoppers: a steady Poisson stream of browsing and checkouts against the frontend, with the
 * caller timeouts and retries real clients have. Bounded in time and in count, and only ever aimed at
 * this machine.
 */
import { CATALOGUE } from './catalogue.js';
import { CallError, JsonClient } from './client.js';

export interface LoadOptions {
  /** The frontend's base URL; must be on 127.0.0.1 / localhost. */
  baseUrl: string;
  /** Mean requests per second (default 8). */
  rps?: number;
  /** Stop after this long (required; at most one hour). */
  durationMs: number;
  /** Stop after this many requests (default `rps × duration × 2`; at most 1,000,000). */
  maxRequests?: number;
  /** Per-attempt client timeout (default 5000 ms). */
  timeoutMs?: number;
}

export interface LoadStats {
  sent: number;
  /** 2xx answers. */
  ok: number;
  /** 4xx answers (out of stock, declined: the shop working as intended). */
  rejected: number;
  /** 5xx answers, timeouts and connection errors after retries. */
  failed: number;
  /** Extra attempts made by retries. */
  retries: number;
  /** Latencies of successful requests, ms, since the last `take()`. */
  latencies: number[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const MAX_DURATION_MS = 3_600_000;
const MAX_REQUESTS = 1_000_000;

/** Cards the shoppers pay with (none of them is the fraud service's blocked test card). */
const CARDS = ['4242424242424242', '5555555555554444', '378282246310005', '6011111111111117'];

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];

export class LoadGenerator {
  private readonly client: JsonClient;
  private readonly rps: number;
  private readonly maxRequests: number;
  private readonly timeoutMs: number;
  private stats: LoadStats = { sent: 0, ok: 0, rejected: 0, failed: 0, retries: 0, latencies: [] };
  private readonly orders: number[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private wake: (() => void) | null = null;
  /** Resolves when the run ends (duration, count or `stop()`) and every request has settled. */
  readonly done: Promise<LoadStats>;

  constructor(o: LoadOptions) {
    const url = new URL(o.baseUrl);
    if (!LOOPBACK.has(url.hostname)) throw new Error(`the load generator only targets this machine (127.0.0.1), not ${url.hostname}`);
    this.rps = o.rps ?? 8;
    if (!(this.rps > 0 && this.rps <= 1000)) throw new Error('rps must be in (0, 1000]');
    if (!(o.durationMs > 0 && o.durationMs <= MAX_DURATION_MS)) throw new Error(`durationMs must be in (0, ${MAX_DURATION_MS}]`);
    this.maxRequests = Math.min(o.maxRequests ?? Math.ceil(this.rps * (o.durationMs / 1000) * 2), MAX_REQUESTS);
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.client = new JsonClient(url.origin);
    this.done = this.run(o.durationMs);
  }

  private async run(durationMs: number): Promise<LoadStats> {
    const end = Date.now() + durationMs;
    let next = Date.now();
    while (!this.stopped && Date.now() < end && this.stats.sent < this.maxRequests) {
      // Exponential gaps: independent shoppers arriving at a steady mean rate.
      next += (-Math.log(1 - Math.random()) * 1000) / this.rps;
      await this.sleep(Math.min(next, end) - Date.now());
      if (this.stopped || Date.now() >= end) break;
      const p = this.one().finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
    await Promise.all(this.inFlight);
    this.client.close();
    return this.stats;
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** One shopper action: mostly browsing, one in five a checkout. */
  private async one(): Promise<void> {
    this.stats.sent++;
    const r = Math.random();
    const started = performance.now();
    try {
      let res;
      if (r < 0.45) res = await this.client.call('/products', { timeoutMs: this.timeoutMs, retries: 2, backoffMs: 200 });
      else if (r < 0.75) res = await this.client.call(`/products/${pick(CATALOGUE).sku}`, { timeoutMs: this.timeoutMs, retries: 2, backoffMs: 200 });
      else if (r < 0.95 || this.orders.length === 0) {
        const items = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({ sku: pick(CATALOGUE).sku, qty: 1 + Math.floor(Math.random() * 2) }));
        // A checkout is not retried: the shopper sees the error page.
        res = await this.client.call('/checkout', { method: 'POST', body: { items, card: pick(CARDS), zip: String(10000 + Math.floor(Math.random() * 89999)) }, timeoutMs: this.timeoutMs * 2 });
        const id = (res.body as { orderId?: unknown } | null)?.orderId;
        if (res.status === 201 && typeof id === 'number') {
          this.orders.push(id);
          if (this.orders.length > 100) this.orders.shift();
        }
      } else res = await this.client.call(`/orders/${pick(this.orders)}`, { timeoutMs: this.timeoutMs, retries: 2, backoffMs: 200 });
      this.stats.retries += res.attempts - 1;
      if (res.status < 400) {
        this.stats.ok++;
        this.stats.latencies.push(performance.now() - started);
      } else if (res.status < 500) this.stats.rejected++;
      else this.stats.failed++;
    } catch (e) {
      // No answer after every attempt (or a malformed one): a failed request for this shopper.
      if (e instanceof CallError) this.stats.retries += e.attempts - 1;
      this.stats.failed++;
    }
  }

  /** Counters so far; latencies are handed over and reset. */
  take(): LoadStats {
    const s = { ...this.stats, latencies: this.stats.latencies };
    this.stats.latencies = [];
    return s;
  }

  /** Ends the run early; resolves when in-flight requests have settled. */
  stop(): Promise<LoadStats> {
    this.stopped = true;
    this.wake?.();
    return this.done;
  }
}
