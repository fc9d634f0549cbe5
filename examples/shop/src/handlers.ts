/** The business routes of each service. Handlers answer JSON; a failed call downstream becomes 502/504. */
import { randomUUID } from 'node:crypto';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { CallError, type CallResult, type JsonClient } from './client.js';
import type { OwnedDb } from './db.js';
import type { ProcessName } from './topology.js';

export interface HandlerDeps {
  clients: Partial<Record<ProcessName, JsonClient>>;
  db: OwnedDb | null;
  /**
   * Middleware run first in every route (the chaos faults, a release's bug): inside the route, so the
   * server span carries `http.route` as it does when real handler code fails.
   */
  before: RequestHandler[];
}

/** `get`/`post` of the app with {@link HandlerDeps.before} in front of every handler. */
interface Routes {
  get(path: string, h: RequestHandler): void;
  post(path: string, h: RequestHandler): void;
}

/** An answer to pass on to our caller as is. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (req: Request, res: Response) => Promise<unknown> | unknown;

/** Express 4 does not catch rejected promises: route them to the error handler. */
const wrap = (fn: Handler) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve()
    .then(() => fn(req, res))
    .catch(next);
};

/** Calls a downstream service; a failure of it becomes ours (502, or 504 when it did not answer in time). */
async function downstream(deps: HandlerDeps, name: ProcessName, path: string, o: Parameters<JsonClient['call']>[1]): Promise<CallResult> {
  const client = deps.clients[name];
  if (client === undefined) throw new Error(`no client for ${name}`);
  let r: CallResult;
  try {
    r = await client.call(path, o);
  } catch (e) {
    if (e instanceof CallError) throw new HttpError(e.timedOut ? 504 : 502, `${name} unreachable: ${e.message}`);
    throw e;
  }
  if (r.status >= 500) throw new HttpError(502, `${name} failed with ${r.status}`);
  return r;
}

interface Item {
  sku: string;
  qty: number;
}

function parseItems(body: unknown): Item[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length === 0 || items.length > 50) throw new HttpError(400, "'items' must be a non-empty array of { sku, qty }");
  return items.map((it: { sku?: unknown; qty?: unknown }) => {
    if (typeof it?.sku !== 'string' || !Number.isInteger(it.qty) || (it.qty as number) < 1 || (it.qty as number) > 100) {
      throw new HttpError(400, "each item needs a 'sku' string and an integer 'qty' from 1 to 100");
    }
    return { sku: it.sku, qty: it.qty as number };
  });
}

function requireDb(deps: HandlerDeps): OwnedDb['db'] {
  if (deps.db === null) throw new Error('this service has no database');
  return deps.db.db;
}

function inventory(app: Routes, deps: HandlerDeps): void {
  const db = requireDb(deps);
  const all = db.prepare('SELECT sku, name, price_cents, stock FROM products ORDER BY sku');
  const one = db.prepare('SELECT sku, name, price_cents, stock FROM products WHERE sku = ?');
  const take = db.prepare('UPDATE products SET stock = stock - ? WHERE sku = ? AND stock >= ?');
  const give = db.prepare('UPDATE products SET stock = stock + ? WHERE sku = ?');
  app.get('/stock', (_req, res) => void res.json({ products: all.all() }));
  app.get('/stock/:sku', (req, res) => {
    const p = one.get(req.params.sku);
    if (p === undefined) res.status(404).json({ error: 'no such product' });
    else res.json(p);
  });
  // Explicit BEGIN IMMEDIATE (not better-sqlite3's deferred `transaction()`): a writer waits for a held
  // lock up to the busy timeout instead of failing at once on the read-to-write upgrade, and the wait
  // shows up as a database span.
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const transaction = <A>(fn: (arg: A) => number | void) => (arg: A) => {
    begin.run();
    try {
      const r = fn(arg);
      commit.run();
      return r;
    } catch (e) {
      if (db.inTransaction) rollback.run();
      throw e;
    }
  };
  const reserve = transaction((items: Item[]) => {
    let total = 0;
    for (const it of items) {
      const p = one.get(it.sku) as { price_cents: number } | undefined;
      if (p === undefined) throw new HttpError(404, `no such product '${it.sku}'`);
      if (take.run(it.qty, it.sku, it.qty).changes === 0) throw new HttpError(409, `'${it.sku}' is out of stock`);
      total += p.price_cents * it.qty;
    }
    return total;
  });
  app.post('/reserve', wrap((req, res) => res.json({ totalCents: reserve(parseItems(req.body)) })));
  const release = transaction((items: Item[]) => items.forEach((it) => give.run(it.qty, it.sku)));
  app.post('/release', wrap((req, res) => {
    release(parseItems(req.body));
    res.json({ ok: true });
  }));
}

function shipping(app: Routes): void {
  app.post('/quote', wrap((req, res) => {
    const items = parseItems(req.body);
    const zip = String((req.body as { zip?: unknown }).zip ?? '00000');
    // A little real work: rate the parcel against every carrier zone.
    let best = Infinity;
    for (let zone = 0; zone < 2000; zone++) best = Math.min(best, ((zip.charCodeAt(zone % zip.length) * 31 + zone) % 700) + 300);
    const parcels = items.reduce((n, it) => n + it.qty, 0);
    res.json({ carrier: 'parcelco', costCents: best + parcels * 50, days: 2 + (best % 3) });
  }));
}

function payment(app: Routes, deps: HandlerDeps): void {
  const db = requireDb(deps);
  const insert = db.prepare('INSERT INTO charges (id, amount_cents, card_last4, created_at) VALUES (?, ?, ?, ?)');
  app.post('/charge', wrap(async (req, res) => {
    const { amountCents, card } = (req.body ?? {}) as { amountCents?: unknown; card?: unknown };
    if (!Number.isInteger(amountCents) || (amountCents as number) <= 0 || typeof card !== 'string' || !/^\d{12,19}$/.test(card)) {
      throw new HttpError(400, "'amountCents' must be a positive integer and 'card' 12–19 digits");
    }
    // Scoring is idempotent: retried once, with a short deadline, as fraud checks usually are.
    const score = await downstream(deps, 'fraud', '/score', { method: 'POST', body: { amountCents, card }, timeoutMs: 800, retries: 1 });
    if ((score.body as { block?: boolean }).block === true) throw new HttpError(402, 'card declined');
    const id = `ch_${randomUUID()}`;
    insert.run(id, amountCents, card.slice(-4), Date.now());
    res.json({ chargeId: id });
  }));
}

function checkout(app: Routes, deps: HandlerDeps): void {
  const db = requireDb(deps);
  const insert = db.prepare('INSERT INTO orders (created_at, total_cents, items, charge_id) VALUES (?, ?, ?, ?)');
  const one = db.prepare('SELECT id, created_at, total_cents, items, charge_id FROM orders WHERE id = ?');
  app.post('/orders', wrap(async (req, res) => {
    const items = parseItems(req.body);
    const { card, zip } = (req.body ?? {}) as { card?: unknown; zip?: unknown };
    const reserved = await downstream(deps, 'inventory', '/reserve', { method: 'POST', body: { items }, timeoutMs: 1500 });
    if (reserved.status !== 200) throw new HttpError(reserved.status, `inventory: ${JSON.stringify(reserved.body)}`);
    try {
      const quote = await downstream(deps, 'shipping', '/quote', { method: 'POST', body: { items, zip }, timeoutMs: 1000, retries: 1 });
      const amountCents = (reserved.body as { totalCents: number }).totalCents + (quote.body as { costCents: number }).costCents;
      // Charging is not retried: a timeout may still have charged the card.
      const charge = await downstream(deps, 'payment', '/charge', { method: 'POST', body: { amountCents, card }, timeoutMs: 2500 });
      if (charge.status !== 200) throw new HttpError(charge.status === 402 ? 402 : 502, `payment: ${JSON.stringify(charge.body)}`);
      const { lastInsertRowid } = insert.run(Date.now(), amountCents, JSON.stringify(items), (charge.body as { chargeId: string }).chargeId);
      res.status(201).json({ orderId: Number(lastInsertRowid), totalCents: amountCents });
    } catch (e) {
      // Put the stock back; the caller sees the original failure whatever happens here.
      await downstream(deps, 'inventory', '/release', { method: 'POST', body: { items }, timeoutMs: 1500, retries: 2 }).catch(() => undefined);
      throw e;
    }
  }));
  app.get('/orders/:id', (req, res) => {
    const o = one.get(Number(req.params.id));
    if (o === undefined) res.status(404).json({ error: 'no such order' });
    else res.json(o);
  });
}

function frontend(app: Routes, deps: HandlerDeps): void {
  const pass = (res: Response, r: CallResult) => res.status(r.status).json(r.body);
  app.get('/products', wrap(async (_req, res) => pass(res, await downstream(deps, 'inventory', '/stock', { timeoutMs: 1500, retries: 1 }))));
  app.get('/products/:sku', wrap(async (req, res) => pass(res, await downstream(deps, 'inventory', `/stock/${encodeURIComponent(req.params.sku)}`, { timeoutMs: 1500, retries: 1 }))));
  app.post('/checkout', wrap(async (req, res) => pass(res, await downstream(deps, 'checkout', '/orders', { method: 'POST', body: req.body, timeoutMs: 6000 }))));
  app.get('/orders/:id', wrap(async (req, res) => pass(res, await downstream(deps, 'checkout', `/orders/${encodeURIComponent(req.params.id)}`, { timeoutMs: 1500, retries: 1 }))));
}

/** The fraud team's scoring: a deterministic score per card; one test card is always blocked. */
function fraud(app: Routes): void {
  app.post('/score', (req, res) => {
    const card = String((req.body as { card?: unknown } | null)?.card ?? '');
    let h = 0;
    for (let i = 0; i < card.length; i++) h = (h * 33 + card.charCodeAt(i)) % 1000;
    res.json({ score: h / 1000, block: card === '4000000000000002' });
  });
}

/** Mounts the routes of service `name`. */
export function mountHandlers(name: ProcessName, express: Express, deps: HandlerDeps): void {
  const app: Routes = {
    get: (path, h) => void express.get(path, ...deps.before, h),
    post: (path, h) => void express.post(path, ...deps.before, h),
  };
  if (name === 'inventory') inventory(app, deps);
  else if (name === 'shipping') shipping(app);
  else if (name === 'payment') payment(app, deps);
  else if (name === 'checkout') checkout(app, deps);
  else if (name === 'frontend') frontend(app, deps);
  else fraud(app);
}

/** The last middleware: JSON errors, 500 for anything unexpected. */
export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof HttpError) res.status(err.status).json({ error: err.message });
  else {
    const e = err as { status?: number; message?: string };
    // Body-parser errors (bad JSON) carry their own 4xx status.
    const status = typeof e?.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    res.status(status).json({ error: status === 500 ? `internal error: ${e?.message ?? String(err)}` : (e.message ?? 'bad request') });
  }
}
