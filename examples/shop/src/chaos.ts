/**
 * Chaos endpoints, as the prototype had them, on every service: faults injected into this process's own
 * request handling (and, where the service owns one, its database). Reachable from loopback only.
 *
 *   POST /simulate/delay?endpoint=/charge&duration=2000      add latency (ms)
 *   POST /simulate/error?endpoint=/charge&rate=0.5           answer 500 with this probability
 *   POST /simulate/timeout?endpoint=/charge&duration=30000   hang this long, then 503 (callers give up first)
 *   POST /simulate/intermittent?rate=0.8&period=10000        errors at `rate` during every other half period
 *   POST /simulate/db?duration=500                           hold the database write lock `duration` ms at a time
 *   POST /simulate/clear                                     back to normal
 *   GET  /simulate/status                                    what is active
 *   POST /simulate/preset/cascading_failure|latency_spike|error_storm
 *
 * `endpoint` is optional (default: every route of the service) and matches a path prefix.
 */
import type { NextFunction, Request, Response, Router } from 'express';

/** One active fault. */
export type Fault =
  | { kind: 'delay'; endpoint: string | null; duration: number; since: number }
  | { kind: 'error'; endpoint: string | null; rate: number; since: number }
  | { kind: 'timeout'; endpoint: string | null; duration: number; since: number }
  | { kind: 'intermittent'; endpoint: string | null; rate: number; period: number; since: number };

export const PRESETS = ['cascading_failure', 'latency_spike', 'error_storm'] as const;
export type Preset = (typeof PRESETS)[number];

/** What each preset turns on (applied to the service whose endpoint is called). */
const PRESET_FAULTS: Record<Preset, (now: number) => Fault[]> = {
  // The service breaks outright and slowly: every caller up the chain fails after waiting for it.
  cascading_failure: (since) => [
    { kind: 'error', endpoint: null, rate: 1, since },
    { kind: 'delay', endpoint: null, duration: 300, since },
  ],
  latency_spike: (since) => [{ kind: 'delay', endpoint: null, duration: 1000, since }],
  error_storm: (since) => [{ kind: 'error', endpoint: null, rate: 0.5, since }],
};

/** A database fault, implemented by the service that owns the database. */
export interface DbFault {
  /** Starts holding the write lock `durationMs` at a time; null stops. */
  setLock(durationMs: number | null): void;
}

/** Bad chaos parameters: answered with 400 and this message. */
class BadRequest extends Error {}

const MAX_DURATION_MS = 120_000;

function endpointParam(q: Request['query']): string | null {
  const v = q.endpoint;
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string' || v.length > 200 || !/^\/?[\w\-/.:]*$/.test(v)) {
    throw new BadRequest("'endpoint' must be a path such as /charge");
  }
  return v.startsWith('/') ? v : `/${v}`;
}

function numberParam(q: Request['query'], name: string, min: number, max: number, fallback?: number): number {
  const v = q[name];
  if (v === undefined || v === '') {
    if (fallback !== undefined) return fallback;
    throw new BadRequest(`'${name}' is required (${min}–${max})`);
  }
  const n = typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw new BadRequest(`'${name}' must be a number from ${min} to ${max}, got '${String(v)}'`);
  return n;
}

/** Whether a request is from this machine (IPv4, IPv6 or IPv4-mapped loopback). */
export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/** The faults of one process and the middleware that applies them. */
export class Chaos {
  private faults: Fault[] = [];

  constructor(private readonly db: DbFault | null = null) {}

  private dbLockMs: number | null = null;

  active(): { faults: Fault[]; dbLockMs: number | null } {
    return { faults: this.faults.slice(), dbLockMs: this.dbLockMs };
  }

  clear(): void {
    this.faults = [];
    this.setDbLock(null);
  }

  add(f: Fault): void {
    // One fault of a kind per endpoint: a new one replaces the old, as in the prototype.
    this.faults = this.faults.filter((g) => !(g.kind === f.kind && g.endpoint === f.endpoint));
    this.faults.push(f);
  }

  private setDbLock(ms: number | null): void {
    this.dbLockMs = ms;
    this.db?.setLock(ms);
  }

  /** Applies the active faults to a request before its handler runs. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      let delay = 0;
      let fail = false;
      let hang = 0;
      const now = Date.now();
      for (const f of this.faults) {
        if (f.endpoint !== null && !req.path.startsWith(f.endpoint)) continue;
        if (f.kind === 'delay') delay += f.duration;
        else if (f.kind === 'error') fail ||= Math.random() < f.rate;
        else if (f.kind === 'timeout') hang = Math.max(hang, f.duration);
        else if (Math.floor((now - f.since) / (f.period / 2)) % 2 === 0) fail ||= Math.random() < f.rate;
      }
      if (hang > 0) {
        setTimeout(() => res.status(503).json({ error: 'injected timeout' }), hang);
        return;
      }
      const go = (): void => {
        if (fail) res.status(500).json({ error: 'injected failure' });
        else next();
      };
      if (delay > 0) setTimeout(go, delay);
      else go();
    };
  }

  /** The `/simulate` routes. Mount with `app.use('/simulate', chaos.router(express.Router()))`. */
  router(router: Router): Router {
    router.use((req, res, next) => {
      if (isLoopback(req.socket.remoteAddress)) next();
      else res.status(403).json({ error: 'chaos endpoints are reachable from 127.0.0.1 only' });
    });
    const handle = (fn: (req: Request) => unknown) => (req: Request, res: Response) => {
      try {
        fn(req);
        res.json({ ok: true, ...this.active() });
      } catch (e) {
        if (!(e instanceof BadRequest)) throw e;
        res.status(400).json({ error: e.message });
      }
    };
    router.post(
      '/delay',
      handle((req) => this.add({ kind: 'delay', endpoint: endpointParam(req.query), duration: numberParam(req.query, 'duration', 0, MAX_DURATION_MS), since: Date.now() })),
    );
    router.post(
      '/error',
      handle((req) => this.add({ kind: 'error', endpoint: endpointParam(req.query), rate: numberParam(req.query, 'rate', 0, 1), since: Date.now() })),
    );
    router.post(
      '/timeout',
      handle((req) => this.add({ kind: 'timeout', endpoint: endpointParam(req.query), duration: numberParam(req.query, 'duration', 1, MAX_DURATION_MS, 30_000), since: Date.now() })),
    );
    router.post(
      '/intermittent',
      handle((req) =>
        this.add({
          kind: 'intermittent',
          endpoint: endpointParam(req.query),
          rate: numberParam(req.query, 'rate', 0, 1, 0.5),
          period: numberParam(req.query, 'period', 1000, 600_000, 20_000),
          since: Date.now(),
        }),
      ),
    );
    router.post(
      '/db',
      handle((req) => {
        if (this.db === null) throw new BadRequest('this service has no database');
        this.setDbLock(numberParam(req.query, 'duration', 1, MAX_DURATION_MS));
      }),
    );
    router.post(
      '/clear',
      handle(() => this.clear()),
    );
    router.get('/status', (_req, res) => void res.json(this.active()));
    router.post(
      '/preset/:name',
      handle((req) => {
        const name = req.params.name as Preset;
        if (!PRESETS.includes(name)) throw new BadRequest(`unknown preset '${req.params.name}'; presets: ${PRESETS.join(', ')}`);
        for (const f of PRESET_FAULTS[name](Date.now())) this.add(f);
      }),
    );
    router.use((_req, res) => void res.status(404).json({ error: 'no such chaos endpoint' }));
    return router;
  }
}
