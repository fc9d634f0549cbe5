/**
 * One shop process: `SHOP_SERVICE=payment node --require ./dist/otel.cjs dist/service.cjs` (the fraud
 * service runs without `--require`: it is another team's, not instrumented). Environment:
 *
 *   SHOP_SERVICE           frontend | checkout | inventory | payment | shipping | fraud
 *   SHOP_PORT, SHOP_HOST   where to listen (default 0 = a free port, 127.0.0.1)
 *   SHOP_DATA_DIR          where the service's SQLite file lives (services that own one)
 *   SHOP_URL_<SERVICE>     base URL of each service it calls
 *   SHOP_REGRESSION_RATE   the deploy fault: share of requests this release fails with a bug
 *
 * When started with an IPC channel it reports `{ type: 'listening', port }` and exits when the parent goes.
 */
import { tmpdir } from 'node:os';
import express, { type RequestHandler } from 'express';
import { Chaos } from './chaos.js';
import { JsonClient } from './client.js';
import { openDb, type OwnedDb } from './db.js';
import { downstreamUrls } from './env.js';
import { errorHandler, mountHandlers } from './handlers.js';
import { DATABASES, isProcessName, type ProcessName } from './topology.js';

function main(): void {
  const name = process.env.SHOP_SERVICE ?? '';
  if (!isProcessName(name)) throw new Error(`SHOP_SERVICE must name a shop service, got '${name}'`);
  const port = Number(process.env.SHOP_PORT ?? 0);
  const host = process.env.SHOP_HOST ?? '127.0.0.1';
  const dbName = DATABASES[name];
  const db: OwnedDb | null = dbName ? openDb(process.env.SHOP_DATA_DIR ?? tmpdir(), dbName) : null;
  const clients: Partial<Record<ProcessName, JsonClient>> = {};
  for (const [peer, url] of downstreamUrls()) clients[peer] = new JsonClient(url);

  const chaos = new Chaos(db?.fault ?? null);
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  app.use('/simulate', chaos.router(express.Router()));
  app.get('/healthz', (_req, res) => void res.json({ service: name, version: process.env.SHOP_VERSION ?? '1.0.0' }));
  const before: RequestHandler[] = [chaos.middleware()];
  const regression = Number(process.env.SHOP_REGRESSION_RATE ?? 0);
  if (regression > 0) {
    // The bug this release shipped with: a code path that fails for some requests.
    before.push((_req, _res, next) => next(Math.random() < regression ? new TypeError("Cannot read properties of undefined (reading 'currency')") : undefined));
  }
  mountHandlers(name, app, { clients, db, before });
  app.use(errorHandler);

  const server = app.listen(port, host, () => {
    const address = server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    console.log(`${name} listening on http://${host}:${actual}`);
    process.send?.({ type: 'listening', port: actual });
  });
  server.on('error', (e: NodeJS.ErrnoException) => {
    // The supervisor retries another start (e.g. a port still held by the previous version).
    console.error(`${name} cannot listen on ${host}:${port}: ${e.code ?? e.message}`);
    process.exit(3);
  });
  const close = (): void => {
    server.close();
    server.closeAllConnections();
    for (const c of Object.values(clients)) c?.close();
    db?.close();
    // Requests held by an injected timeout would keep the process alive: they do not get to finish.
    setTimeout(() => process.exit(0), 3000).unref();
  };
  // otel.ts shuts the SDK down on SIGTERM/SIGINT (and exits); close the server first so no new request starts.
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

main();
