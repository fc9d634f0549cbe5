import { createRequire } from 'node:module';
import { RootspanError } from '@rootspan/engine';

/** Which SQLite binding runs the store. */
export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

/** A value SQLite can bind. */
export type SqlValue = string | number | bigint | null;

/** A prepared statement: the part of the API node:sqlite and better-sqlite3 share. */
export interface Statement {
  run(...params: SqlValue[]): unknown;
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
}

/** An open connection: the part of the API node:sqlite and better-sqlite3 share. */
export interface Connection {
  readonly driver: SqliteDriverName;
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}

/** Thrown when a driver cannot be loaded (`code` `ERR_STORE_DRIVER`); the message says how to fix it. */
export class SqliteDriverError extends RootspanError {
  override readonly name: string = 'SqliteDriverError';

  constructor(message: string) {
    super('ERR_STORE_DRIVER', message);
  }
}

interface NodeSqlite {
  DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => {
    exec(sql: string): void;
    prepare(sql: string): Statement;
    close(): void;
  };
}

type BetterSqlite3 = new (path: string, options?: { readonly?: boolean }) => {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
};

/** node:sqlite when this Node has it (22.13+ without a flag), else undefined. */
function nodeSqlite(): NodeSqlite | undefined {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 13)) return undefined;
  const get = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof get !== 'function') return undefined;
  // Importing it prints an ExperimentalWarning on some Node versions: the store is not the place to hide it.
  return get('node:sqlite') as NodeSqlite | undefined;
}

/** The commands that (re)build better-sqlite3's native binding for the Node running now. */
export const BETTER_SQLITE3_FIX = [
  'npm install-scripts approve better-sqlite3   # npm 11+: allow its install script (skip on npm 10)',
  'npm rebuild better-sqlite3                    # build it for this Node',
];

function betterSqlite3(): BetterSqlite3 {
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)('better-sqlite3');
  } catch (err) {
    throw new SqliteDriverError(
      `better-sqlite3 is not installed (this Node ${process.version} has no node:sqlite, which needs Node 22.13+). ` +
        `Install it with:\n  npm install better-sqlite3@12\n(${(err as Error).message.split('\n')[0]})`,
    );
  }
  return ((mod as { default?: unknown }).default ?? mod) as BetterSqlite3;
}

/** Recognises the errors of a native binding that was never built, or was built for another Node. */
function bindingProblem(err: unknown): string | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  if (/NODE_MODULE_VERSION/.test(msg)) return `better-sqlite3's native binding was built for another Node version than ${process.version}`;
  if (/Could not locate the bindings file|better_sqlite3\.node|invalid ELF header|wrong ELF class/.test(msg)) {
    return `better-sqlite3's native binding is missing (its install script did not run: npm 11 runs none until approved)`;
  }
  return undefined;
}

/**
 * Opens a connection with the chosen driver (`auto`: node:sqlite where Node has it, else better-sqlite3).
 * A missing or mismatched better-sqlite3 binding is reported with the exact commands that fix it.
 */
export function openConnection(path: string, driver: SqliteDriverName | 'auto', readOnly = false): Connection {
  const builtin = driver === 'better-sqlite3' ? undefined : nodeSqlite();
  if (driver === 'node:sqlite' && builtin === undefined) {
    throw new SqliteDriverError(`node:sqlite needs Node 22.13 or later (this is ${process.version}); use driver 'better-sqlite3'`);
  }
  if (builtin !== undefined) {
    const db = new builtin.DatabaseSync(path, readOnly ? { readOnly: true } : {});
    return wrap('node:sqlite', db);
  }
  const Database = betterSqlite3();
  try {
    return wrap('better-sqlite3', new Database(path, readOnly ? { readonly: true } : {}));
  } catch (err) {
    const problem = bindingProblem(err);
    if (problem === undefined) throw err;
    throw new SqliteDriverError(`${problem}. Fix it in your project with:\n  ${BETTER_SQLITE3_FIX.join('\n  ')}`);
  }
}

function wrap(driver: SqliteDriverName, db: { exec(sql: string): void; prepare(sql: string): Statement; close(): void }): Connection {
  return {
    driver,
    exec: (sql) => db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    close: () => db.close(),
  };
}

/** SQLite primary result codes rootspan tells apart, by name (both drivers report them differently). */
const PRIMARY: Record<number, string> = {
  5: 'SQLITE_BUSY',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  26: 'SQLITE_NOTADB',
};

/** The SQLite error code of a driver error (`SQLITE_FULL`, ...), or undefined for other errors. */
export function sqliteCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; errcode?: unknown };
  if (typeof e.errcode === 'number') return PRIMARY[e.errcode & 0xff] ?? `SQLITE_ERROR_${e.errcode}`;
  if (typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    // better-sqlite3 reports extended codes (SQLITE_IOERR_WRITE): the primary one is the prefix.
    for (const name of Object.values(PRIMARY)) if (e.code === name || e.code.startsWith(`${name}_`)) return name;
    return e.code;
  }
  return undefined;
}
