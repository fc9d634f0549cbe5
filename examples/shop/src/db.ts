/**
 * The databases the services own: one better-sqlite3 file each, in the shop's data directory. Queries
 * are traced by `opentelemetry-plugin-better-sqlite3` (set up in otel.ts), so rootspan sees the database
 * as a peer (`sqlite3`) of the service.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CATALOGUE } from './catalogue.js';
import type { DbFault } from './chaos.js';

/** How long a write waits for a locked database before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 1000;

const SCHEMAS: Record<string, string> = {
  stock: `CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL, stock INTEGER NOT NULL)`,
  orders: `CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, total_cents INTEGER NOT NULL,
    items TEXT NOT NULL, charge_id TEXT NOT NULL)`,
  payments: `CREATE TABLE IF NOT EXISTS charges (
    id TEXT PRIMARY KEY, amount_cents INTEGER NOT NULL, card_last4 TEXT NOT NULL, created_at INTEGER NOT NULL)`,
};


export interface OwnedDb {
  db: Database.Database;
  /** The lock fault: a worker thread holding this file's write lock. */
  fault: DbFault;
  close(): void;
}

/** Opens (creating and seeding if new) the database `name` of a service in `dataDir`. */
export function openDb(dataDir: string, name: string): OwnedDb {
  const file = join(dataDir, `${name}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const schema = SCHEMAS[name];
  if (schema === undefined) throw new Error(`unknown database '${name}'`);
  db.exec(schema);
  if (name === 'stock') {
    const insert = db.prepare('INSERT OR IGNORE INTO products (sku, name, price_cents, stock) VALUES (?, ?, ?, 1000000000)');
    db.transaction(() => CATALOGUE.forEach((p) => insert.run(p.sku, p.name, p.price_cents)))();
  }
  // The lock holder runs in a worker thread with its own connection, as another writer would.
  // Control is one shared integer: the hold time in ms, 0 for idle, -1 to exit.
  const control = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker | null = null;
  const fault: DbFault = {
    setLock(ms) {
      Atomics.store(control, 0, ms === null ? 0 : Math.max(1, Math.round(ms)));
      Atomics.notify(control, 0);
      if (ms !== null && worker === null) {
        // No `--require` of the SDK in the worker: it is not part of the traced service.
        worker = new Worker(join(__dirname, 'db-locker.cjs'), { workerData: { file, control }, execArgv: [] });
        worker.unref();
        worker.on('error', (e) => console.error(`db lock worker failed: ${e.message}`));
        worker.on('exit', () => (worker = null));
      }
    },
  };
  return {
    db,
    fault,
    close() {
      Atomics.store(control, 0, -1);
      Atomics.notify(control, 0);
      db.close();
    },
  };
}
