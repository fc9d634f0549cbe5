/** `rootspan serve`: the central receiver and API (`@rootspan/server`) as a command. */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PostgresStore } from '@rootspan/postgres';
import { ensureDir, startServer, type ServerOptions, type ServerStore } from '@rootspan/server';
import { sqliteStore } from '@rootspan/sqlite';
import type { Io } from './main.js';

export const SERVE_USAGE = `Usage: rootspan serve [options]

Receive OTLP traces (HTTP and gRPC) from every service (or a Collector), detect incidents, and serve
the web dashboard at / and the /aiops API.

Options:
  --port <n>             port to listen on (default 4318, the OTLP/HTTP port; 0 = any free port)
  --grpc-port <n|off>    OTLP/gRPC port (default 4317, or a free one with --port 0; 0 = any free
                         port; off = no gRPC listener)
  --host <addr>          address to listen on (default 127.0.0.1; 0.0.0.0 for other hosts)
  --data <dir|url>       keep learned baselines and incidents across restarts: a directory, or a
                         postgres://user:pass@host/db URL shared by several receivers (scale-out)
  --token <t>            require Authorization: Bearer <t> (default: $ROOTSPAN_TOKEN)
  --ingest-token <t>     a second token accepted on /v1/traces only (default: $ROOTSPAN_INGEST_TOKEN)
  --public-url <url>     the address people reach this server at, for links in notifications
                         (https://rootspan.example.com behind a proxy; default: the listening address)
  --cors-origin <o>      let web pages from origin o (https://app.example.com, https://*.example.com,
                         or *) send spans and read the API from a browser; repeatable (CORS is off
                         by default; more in --config: cors.allowedHeaders, e.g. Authorization)
  --config <file>        JSON server options: notifications, redact, limits, analyzer thresholds
  -h, --help             this help

Endpoints: / (dashboard), POST /v1/traces (OTLP/HTTP JSON or protobuf), OTLP/gRPC TraceService/Export,
POST /api/v2/spans (Zipkin v2 JSON or protobuf, B3 shared spans too), /aiops/* (REST API), /metrics (Prometheus).
Stops cleanly on SIGINT/SIGTERM: queued spans are analysed, state saved, notifications sent.`;

/** Options taken from a `--config` file: everything but what only code can pass, plus `data` and this receiver's name in a shared store. */
type ConfigFile = Omit<ServerOptions, 'store' | 'now' | 'log'> & { data?: string; receiver?: string };

/**
 * A directory holds a SQLite database (baselines, per-minute rollups for the charts, incident history); a
 * PostgreSQL URL is a store shared by receivers, whose incidents the API shows merged.
 */
function storeFor(data: string, receiver: string): { store: ServerStore; sharedIncidents?: boolean } {
  if (/^postgres(ql)?:\/\//.test(data)) return { store: new PostgresStore({ connection: data, receiver }), sharedIncidents: true };
  ensureDir(data);
  return { store: sqliteStore({ path: join(data, 'rootspan.db') }) };
}

class ServeUsageError extends Error {}

function parseServeArgs(argv: readonly string[]): { config?: string; data?: string; flags: ServerOptions; corsOrigins: string[] } | 'help' {
  const flags: ServerOptions = {};
  const corsOrigins: string[] = [];
  let config: string | undefined;
  let data: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? argv[i].split(/=(.*)/s, 2) : [argv[i], undefined];
    if (name === '-h' || name === '--help') return 'help';
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '' || (inline === undefined && v.startsWith('--'))) throw new ServeUsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--port': {
        const v = value();
        const port = Number(v);
        if (!/^\d+$/.test(v) || port > 65535) throw new ServeUsageError(`--port must be a number from 0 to 65535, got '${v}'`);
        flags.port = port;
        break;
      }
      case '--grpc-port': {
        const v = value();
        const port = Number(v);
        if (v !== 'off' && (!/^\d+$/.test(v) || port > 65535)) throw new ServeUsageError(`--grpc-port must be a number from 0 to 65535 or 'off', got '${v}'`);
        flags.grpcPort = v === 'off' ? false : port;
        break;
      }
      case '--host':
        flags.host = value();
        break;
      case '--token':
        flags.token = value();
        break;
      case '--ingest-token':
        flags.ingestToken = value();
        break;
      case '--public-url':
        flags.publicUrl = value();
        break;
      case '--cors-origin':
        corsOrigins.push(value());
        break;
      case '--data':
        data = value();
        break;
      case '--config':
        config = value();
        break;
      default:
        throw new ServeUsageError(`unknown option '${argv[i]}' for serve`);
    }
  }
  return { config, data, flags, corsOrigins };
}

async function loadConfig(path: string): Promise<ConfigFile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ServeUsageError(`config ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ServeUsageError(`config ${path}: expected a JSON object`);
  return parsed as ConfigFile;
}

/**
 * Runs `rootspan serve` until SIGINT or SIGTERM; resolves to the exit code. Prints one line with the URL
 * once listening.
 */
export async function serve(argv: readonly string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let server;
  try {
    const args = parseServeArgs(argv);
    if (args === 'help') {
      io.stdout.write(`${SERVE_USAGE}\n`);
      return 0;
    }
    const { data: configData, receiver, ...fromFile } = args.config === undefined ? {} : await loadConfig(args.config);
    const data = args.data ?? configData ?? env.ROOTSPAN_DATA;
    const options: ServerOptions = {
      ...fromFile,
      ...(env.ROOTSPAN_TOKEN ? { token: env.ROOTSPAN_TOKEN } : {}),
      ...(env.ROOTSPAN_INGEST_TOKEN ? { ingestToken: env.ROOTSPAN_INGEST_TOKEN } : {}),
      ...args.flags,
      // Origins given on the command line join the config file's, with its other CORS settings.
      ...(args.corsOrigins.length > 0 ? { cors: { ...fromFile.cors, allowedOrigins: [...(fromFile.cors?.allowedOrigins ?? []), ...args.corsOrigins] } } : {}),
      ...(data !== undefined ? storeFor(data, receiver ?? env.ROOTSPAN_RECEIVER ?? hostname()) : {}),
      log: (line) => io.stderr.write(`rootspan: ${line}\n`),
    };
    server = await startServer(options);
    if (options.token === undefined && !/^(127\.|\[::1\]|localhost)/.test(new URL(server.url).hostname)) {
      io.stderr.write('rootspan: warning: listening beyond localhost without --token: anyone who can reach it can read and write\n');
    }
    if ((options.notifications?.length ?? 0) > 0 && options.publicUrl === undefined && /^(0\.0\.0\.0|\[::\])$/.test(new URL(server.url).hostname)) {
      io.stderr.write(`rootspan: warning: notifications link to ${server.url}, which no one elsewhere can open: set --public-url\n`);
    }
  } catch (err) {
    if (err instanceof ServeUsageError) {
      io.stderr.write(`rootspan: ${err.message}\n\n${SERVE_USAGE}\n`);
      return 2;
    }
    // Bad option values, a port in use, an unreadable data directory: one line, exit 2.
    io.stderr.write(`rootspan: cannot serve: ${(err as Error).message}\n`);
    return 2;
  }
  const grpc = server.grpcAddress;
  io.stdout.write(`rootspan listening on ${server.url} (dashboard ${server.url}/, OTLP/HTTP ${server.url}/v1/traces, ${grpc ? `OTLP/gRPC ${grpc}, ` : ''}API ${server.url}/aiops)\n`);
  const running = server;
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  // The last save failed (a full disk): what was learned since the last good write is lost, and must be told.
  const store = running.status().store;
  if (!store.healthy) {
    io.stderr.write(`rootspan: the final save to ${store.location} failed (${store.lastError}); state since ${store.lastWriteAt ?? 'the start'} is lost\n`);
    return 1;
  }
  return 0;
}
