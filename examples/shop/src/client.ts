/**
 * JSON over HTTP with what real callers have: a keep-alive pool, a deadline per attempt, and retries with
 * backoff for requests that are safe to repeat. Used between services and by the load generator.
 */
import http from 'node:http';

export interface CallOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  /** Per attempt; the request is aborted after it. */
  timeoutMs: number;
  /** Extra attempts after a network error, a timeout or a 5xx (only for requests safe to repeat). */
  retries?: number;
  /** First backoff; doubled per retry. Default 100 ms. */
  backoffMs?: number;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  body: unknown;
  attempts: number;
}

/** Thrown when every attempt failed without an HTTP answer. */
export class CallError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    readonly attempts: number,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class JsonClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(readonly baseUrl: string) {}

  private once(path: string, o: CallOptions): Promise<{ status: number; body: unknown }> {
    const url = new URL(path, this.baseUrl);
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: o.method ?? 'GET',
          agent: this.agent,
          headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}), ...o.headers },
          timeout: o.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text ? JSON.parse(text) : null;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('timeout', () => req.destroy(new CallError(`${req.method} ${url.pathname} timed out after ${o.timeoutMs} ms`, true, 1)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Calls `path`; resolves with any HTTP answer, rejects with a {@link CallError} when none came. */
  async call(path: string, o: CallOptions): Promise<CallResult> {
    const retries = o.retries ?? 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.once(path, o);
        if (r.status < 500 || attempt > retries) return { ...r, attempts: attempt };
      } catch (e) {
        if (attempt > retries) {
          const timedOut = e instanceof CallError && e.timedOut;
          throw new CallError((e as Error).message, timedOut, attempt);
        }
      }
      await sleep((o.backoffMs ?? 100) * 2 ** (attempt - 1));
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
