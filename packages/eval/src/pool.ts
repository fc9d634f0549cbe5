/**
 * Runs scenarios on worker threads, one scenario per worker at a time. The engine is single-threaded,
 * so on N cores N workers cut the suite's wall time about N-fold; each worker runs the unchanged
 * {@link runScenario}, so results are identical to a sequential run.
 */
import { Worker, parentPort } from 'node:worker_threads';
import { SCENARIOS, type Scenario } from '@rootspan/sim';
import { runScenario } from './runner.js';
import type { ScenarioResult } from './types.js';

/** `workerData` marking a thread started by {@link runPool}. */
export const WORKER_DATA = { role: 'rootspan-eval-worker' } as const;

type Reply = { name: string; result: ScenarioResult } | { name: string; crash: string };

/** Worker side: answer each scenario name with its result. Call from the worker script. */
export function serveWorker(): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorker must run in a worker thread');
  port.on('message', (name: string) => {
    runScenario(name).then(
      (result) => port.postMessage({ name, result } satisfies Reply),
      (err: unknown) => port.postMessage({ name, crash: (err as Error).stack ?? String(err) } satisfies Reply),
    );
  });
}

/** Simulated work, a proxy for run time: largest first keeps the last worker from finishing alone. */
const cost = (s: Scenario): number => s.durationMs * s.baseRps;

/**
 * Runs the named scenarios on `jobs` workers started from `workerScript` (a module that calls
 * {@link serveWorker} when `workerData` equals {@link WORKER_DATA}); with `jobs` <= 1, in this thread.
 * Results come back in the order of `names`; `onResult` sees each as it finishes.
 */
export async function runPool(
  names: readonly string[],
  jobs: number,
  workerScript: URL,
  onResult: (r: ScenarioResult) => void = () => {},
): Promise<ScenarioResult[]> {
  const results = new Map<string, ScenarioResult>();
  if (jobs <= 1 || names.length <= 1) {
    for (const name of names) {
      const r = await runScenario(name);
      results.set(name, r);
      onResult(r);
    }
    return names.map((n) => results.get(n)!);
  }
  const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
  const queue = [...names].sort((a, b) => cost(byName.get(b)!) - cost(byName.get(a)!));
  const workers = Array.from({ length: Math.min(jobs, names.length) }, () => new Worker(workerScript, { workerData: WORKER_DATA }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const next = (): void => {
              const name = queue.shift();
              if (name === undefined) resolve();
              else w.postMessage(name);
            };
            w.on('message', (reply: Reply) => {
              if ('crash' in reply) return reject(new Error(`scenario ${reply.name} crashed: ${reply.crash}`));
              results.set(reply.name, reply.result);
              onResult(reply.result);
              next();
            });
            w.on('error', reject);
            w.on('exit', (code) => {
              if (code !== 0) reject(new Error(`eval worker exited with code ${code}`));
            });
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return names.map((n) => results.get(n)!);
}
