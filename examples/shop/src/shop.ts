/**
 * The supervisor: starts every shop process on a free port (each the way it runs in production, the
 * instrumented ones with `--require dist/otel.cjs`), relays the incidents their rootspan processors log,
 * injects and clears faults through the chaos endpoints, redeploys a service (the deploy fault) and stops
 * everything, leaving nothing listening.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Anomaly } from '@rootspan/engine';
import type { IncidentLogFields } from '@rootspan/otel';
import { JsonClient } from './client.js';
import { urlVar } from './env.js';
import { CALLS, FRAUD, PROCESSES, START_LEVELS, type ProcessName } from './topology.js';

/** The built services, next to this module whether it runs from src/ (tests) or dist/. */
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

/** One incident event as a service's `consoleIncidentLogger` logged it. */
export interface IncidentLog extends IncidentLogFields {
  /** The process whose embedded rootspan logged it. */
  reporter: ProcessName;
  /** Wall-clock ms when the line arrived. */
  at: number;
}

/** One anomaly episode as a service's `onAnomaly` logged it (see otel.ts). */
export interface AnomalyLog
  extends Pick<Anomaly, 'id' | 'kind' | 'signal' | 'service' | 'operation' | 'firstAt' | 'at' | 'observed' | 'expected' | 'unit' | 'severity' | 'samples' | 'explanation'> {
  event: 'rootspan.anomaly';
  /** The process whose embedded rootspan logged it. */
  reporter: ProcessName;
  /** Wall-clock ms when the line arrived. */
  arrivedAt: number;
}

export interface ShopOptions {
  /**
   * Where the services keep their SQLite files and rootspan its state (`rootspan-<service>.db`: baselines
   * and incidents survive a restart); created if missing, kept. Default a new temp dir, removed on stop.
   */
  dataDir?: string;
  /** rootspan options for every service (`resolveAfterMs`, `bucketMs`, ...); default the engine's. */
  rootspanOptions?: Record<string, unknown>;
  /** Also export every service's spans over OTLP/HTTP to this base URL. */
  otlpEndpoint?: string;
  /** Called for each incident event a service logs. */
  onIncident?: (e: IncidentLog) => void;
  /** Called for each anomaly episode a service logs (`onAnomaly`). */
  onAnomaly?: (a: AnomalyLog) => void;
  /** Every other line the processes print (default: dropped). */
  onOutput?: (service: ProcessName, line: string) => void;
}

/** Deadline for a process to start listening (generous: six SDKs start at once on a busy machine). */
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** A restarted service may find its port still held for a moment: retry the start this often. */
const PORT_RETRIES = 20;

const MARK = '{"event":"rootspan.incident"';
const ANOMALY_MARK = '{"event":"rootspan.anomaly"';

/** Children of every shop in this process, killed if the process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

interface Running {
  child: ChildProcess;
  port: number;
  version: string;
}

export class Shop {
  readonly incidents: IncidentLog[] = [];
  readonly anomalies: AnomalyLog[] = [];
  private readonly running = new Map<ProcessName, Running>();
  private readonly clients = new Map<ProcessName, JsonClient>();
  private readonly ownsDataDir: boolean;
  private readonly dataDir: string;
  private stopping: Promise<void> | null = null;

  private constructor(private readonly opts: ShopOptions) {
    this.ownsDataDir = opts.dataDir === undefined;
    this.dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'rootspan-shop-'));
    mkdirSync(this.dataDir, { recursive: true });
  }

  /** Starts every process, the called ones first (their URLs go into their callers' environment). */
  static async start(opts: ShopOptions = {}): Promise<Shop> {
    const shop = new Shop(opts);
    try {
      for (const level of START_LEVELS) await Promise.all(level.map((name) => shop.launch(name, '1.0.0', 0, 0)));
    } catch (e) {
      await shop.stop();
      throw e;
    }
    return shop;
  }

  /** Base URL of each process. */
  get urls(): Record<ProcessName, string> {
    return Object.fromEntries(PROCESSES.map((n) => [n, this.url(n)])) as Record<ProcessName, string>;
  }

  url(name: ProcessName): string {
    const r = this.running.get(name);
    if (r === undefined) throw new Error(`${name} is not running`);
    return `http://127.0.0.1:${r.port}`;
  }

  version(name: ProcessName): string | undefined {
    return this.running.get(name)?.version;
  }

  private env(name: ProcessName, version: string, regressionRate: number, port: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SHOP_SERVICE: name,
      SHOP_PORT: String(port),
      SHOP_HOST: '127.0.0.1',
      SHOP_DATA_DIR: this.dataDir,
      SHOP_VERSION: version,
      SHOP_REGRESSION_RATE: String(regressionRate),
      OTEL_SERVICE_NAME: name,
      OTEL_RESOURCE_ATTRIBUTES: `service.version=${version}`,
      SHOP_ROOTSPAN_OPTIONS: JSON.stringify(this.opts.rootspanOptions ?? {}),
    };
    if (this.opts.otlpEndpoint !== undefined) env.OTEL_EXPORTER_OTLP_ENDPOINT = this.opts.otlpEndpoint;
    for (const callee of CALLS[name]) env[urlVar(callee)] = this.url(callee);
    return env;
  }

  /** Starts one process and waits until it listens; retries while its (fixed) port is still taken. */
  private async launch(name: ProcessName, version: string, regressionRate: number, port: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.running.set(name, { ...(await this.spawn(name, version, regressionRate, port)), version });
        return;
      } catch (e) {
        if (!(e instanceof PortBusy) || attempt >= PORT_RETRIES) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  private spawn(name: ProcessName, version: string, regressionRate: number, port: number): Promise<{ child: ChildProcess; port: number }> {
    const args = name === FRAUD ? [] : ['--require', join(DIST, 'otel.cjs')];
    const child = spawn(process.execPath, [...args, join(DIST, 'service.cjs')], {
      env: this.env(name, version, regressionRate, port),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => this.line(name, line));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name} did not start listening within ${START_TIMEOUT_MS / 1000} s`));
      }, START_TIMEOUT_MS);
      const early = (code: number | null): void => {
        clearTimeout(timer);
        reject(code === 3 ? new PortBusy(name) : new Error(`${name} exited with ${code} before listening`));
      };
      child.once('exit', early);
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m?.type !== 'listening' || typeof m.port !== 'number') return;
        clearTimeout(timer);
        child.off('exit', early);
        resolve({ child, port: m.port });
      });
    });
  }

  private line(name: ProcessName, line: string): void {
    const incident = parseMarked<IncidentLogFields>(line, MARK);
    if (incident !== undefined) {
      const e: IncidentLog = { ...incident, reporter: name, at: Date.now() };
      this.incidents.push(e);
      this.opts.onIncident?.(e);
      return;
    }
    const anomaly = parseMarked<Omit<AnomalyLog, 'reporter' | 'arrivedAt'>>(line, ANOMALY_MARK);
    if (anomaly !== undefined) {
      const a: AnomalyLog = { ...anomaly, reporter: name, arrivedAt: Date.now() };
      this.anomalies.push(a);
      this.opts.onAnomaly?.(a);
      return;
    }
    this.opts.onOutput?.(name, line);
  }

  private client(name: ProcessName): JsonClient {
    let c = this.clients.get(name);
    if (c === undefined || c.baseUrl !== this.url(name)) {
      c?.close();
      c = new JsonClient(this.url(name));
      this.clients.set(name, c);
    }
    return c;
  }

  /**
   * Calls a chaos endpoint of a process: `chaos('payment', 'preset/cascading_failure')`,
   * `chaos('inventory', 'delay', { duration: 800 })`. Rejects on anything but 200, with the service's message.
   */
  async chaos(name: ProcessName, action: string, params: Record<string, string | number> = {}): Promise<unknown> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const method = action === 'status' ? 'GET' : 'POST';
    const r = await this.client(name).call(`/simulate/${action}${query ? `?${query}` : ''}`, { method, timeoutMs: 5000 });
    if (r.status !== 200) throw new Error(`${name} /simulate/${action}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /**
   * The deploy fault (and its rollback): stops `name` and starts `version` of it on the same port, failing
   * `regressionRate` of its requests. Its callers keep their keep-alive pools and reconnect.
   */
  async deploy(name: ProcessName, version: string, regressionRate = 0): Promise<void> {
    const r = this.running.get(name);
    if (r === undefined) throw new Error(`${name} is not running`);
    await stopChild(r.child);
    this.running.delete(name);
    await this.launch(name, version, regressionRate, r.port);
  }

  /** Stops every process (SIGTERM, then SIGKILL after 10 s) and removes the temp data dir. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const c of this.clients.values()) c.close();
      await Promise.all([...this.running.values()].map((r) => stopChild(r.child)));
      this.running.clear();
      if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/** The JSON record at `mark` in a log line, or undefined when the line has none (an ordinary line). */
function parseMarked<T>(line: string, mark: string): T | undefined {
  const i = line.indexOf(mark);
  if (i < 0) return undefined;
  try {
    return JSON.parse(line.slice(i)) as T;
  } catch {
    return undefined;
  }
}

class PortBusy extends Error {
  constructor(name: string) {
    super(`${name} could not listen: port in use`);
  }
}

/** SIGTERM, SIGKILL after 10 s; resolves once the process has exited and its output is all read. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    // 'close', not 'exit': what the process printed while shutting down (rootspan's last events) is relayed first.
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
