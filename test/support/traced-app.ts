/**
 * Runs an instrumented app as its own Node process (`node --require <otel> <app>`), the way it runs in
 * production, and collects what its embedded rootspan reports: the JSON lines its callbacks print
 * (`{"event":"rootspan.incident"|"rootspan.anomaly"|"rootspan.baselines", ...}`, see
 * test/fixtures/pg-app/otel.cjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Anomaly, Incident, IncidentEvent, OperationBaseline } from '@rootspan/engine';

export interface SeenIncident {
  type: IncidentEvent['type'];
  incident: Incident;
  /** Wall-clock ms when the process printed it. */
  wallMs: number;
}

export interface SeenAnomaly {
  anomaly: Anomaly;
  wallMs: number;
}

const START_TIMEOUT_MS = 60_000;

/**
 * The incidents seen, one line each with the time since `at` (wall ms), title, root cause and its sentence:
 * the story a failure message tells.
 */
export function timeline(list: readonly SeenIncident[], at: number): string {
  return JSON.stringify(
    list.map((e) => `+${((e.wallMs - at) / 1000).toFixed(1)}s ${e.type} ${e.incident.id} [${e.incident.severity}] ${e.incident.title} :: ${e.incident.rootCause.service} ${e.incident.rootCause.operation ?? ''} :: ${e.incident.rootCause.explanation}`),
    null,
    1,
  );
}

export class TracedApp {
  readonly incidents: SeenIncident[] = [];
  readonly anomalies: SeenAnomaly[] = [];
  /** Other output, kept for failure messages. */
  readonly output: string[] = [];
  private baselineWaiters: Array<(b: OperationBaseline[]) => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** The express + PostgreSQL orders API of test/fixtures/pg-app as service `service`, on the database at `databaseUrl`. */
  static pgApp(databaseUrl: string, service: string): Promise<TracedApp> {
    const fixture = (f: string) => fileURLToPath(new URL(`../fixtures/pg-app/${f}`, import.meta.url));
    return TracedApp.start({ otel: fixture('otel.cjs'), app: fixture('app.cjs'), env: { DATABASE_URL: databaseUrl, OTEL_SERVICE_NAME: service } });
  }

  static async start(opts: { otel: string; app: string; env: NodeJS.ProcessEnv }): Promise<TracedApp> {
    const child = spawn(process.execPath, ['--require', opts.otel, opts.app], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const early: string[] = [];
    let app: TracedApp | undefined;
    const line = (l: string) => (app ? app.line(l) : early.push(l));
    createInterface({ input: child.stdout! }).on('line', line);
    createInterface({ input: child.stderr! }).on('line', line);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`app did not listen within ${START_TIMEOUT_MS / 1000} s: ${early.join('\n')}`));
      }, START_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`app exited with ${code} before listening: ${early.join('\n')}`));
      });
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m?.type !== 'listening' || typeof m.port !== 'number') return;
        clearTimeout(timer);
        resolve(m.port);
      });
    });
    child.removeAllListeners('exit');
    app = new TracedApp(child, `http://127.0.0.1:${port}`);
    for (const l of early) app.line(l);
    return app;
  }

  private line(l: string): void {
    if (l.startsWith('{"event":"rootspan.')) {
      const m = JSON.parse(l) as { event: string; wallMs: number } & Record<string, unknown>;
      if (m.event === 'rootspan.incident') this.incidents.push(m as unknown as SeenIncident);
      else if (m.event === 'rootspan.anomaly') this.anomalies.push(m as unknown as SeenAnomaly);
      else if (m.event === 'rootspan.baselines') for (const w of this.baselineWaiters.splice(0)) w(m.baselines as OperationBaseline[]);
      return;
    }
    this.output.push(l);
  }

  /** The app's `analyzer.baselines()` now. */
  baselines(): Promise<OperationBaseline[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no baselines from the app within 5 s')), 5000);
      this.baselineWaiters.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
      this.child.send({ type: 'baselines' });
    });
  }

  /** SIGTERM (the SDK shuts down, rootspan flushes), SIGKILL after 10 s; resolves on exit. */
  stop(): Promise<void> {
    const c = this.child;
    if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      // 'close', not 'exit': what the app printed while shutting down (rootspan's last events) is read first.
      c.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    });
  }
}
