/**
 * Persistence seam. The server needs only the writing half of the engine's `AnalyzerStore` (SQLite, or
 * PostgreSQL for scale-out): these members have the same names and shapes, so any `AnalyzerStore` can be
 * passed as `store`. {@link FileStore} is the dependency-free default for `--data DIR`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AnalyzerSnapshot, Incident, IncidentEvent, IncidentFilter, OperationRollup } from '@rootspan/engine';

type Awaitable<T> = T | Promise<T>;

/** One lifecycle change of an incident, with the incident as it stands after it (the engine store's `IncidentChange`). */
export interface IncidentChange {
  type: IncidentEvent['type'];
  /** Event time of the change. */
  at: number;
  /** Who acknowledged or resolved it by hand, when known. */
  by?: string;
  incident: Incident;
}

/** What the server writes in one step. */
export interface StoreWrite {
  snapshot?: AnalyzerSnapshot;
  /** Closed per-minute rollups (a store that keeps them answers the dashboard's chart queries). */
  rollups: readonly OperationRollup[];
  incidents: readonly IncidentChange[];
}

/** The part of a store the server uses: load learned state at start, write changes as they happen, close. */
export interface ServerStore {
  /** Where the data lives, for status and messages. */
  readonly location: string;
  loadSnapshot(): Awaitable<AnalyzerSnapshot | undefined>;
  write(batch: StoreWrite): Awaitable<void>;
  close(): Awaitable<void>;
}

/**
 * The reading half a shared store adds (a PostgreSQL store behind several receivers): incidents of every
 * receiver, merged by root cause. Same members as the engine store's `incidents` and `incident`.
 */
export interface IncidentSource {
  incidents(query: IncidentFilter & { from?: number; limit?: number }): Awaitable<{ incidents: Incident[]; total: number }>;
  incident(id: string): Awaitable<{ incident: Incident } | undefined>;
  /** This receiver's own incident id for a member id (`<receiver>:<id>`), or undefined if another receiver's. */
  localId?(memberId: string): string | undefined;
}

/**
 * `mkdir -p` one level at a time: Node's `mkdir(…, { recursive: true })` never returns for a path under
 * `/proc` (it retries the ENOENT procfs answers), so `--data /proc/x` hung instead of failing.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p); p = dirname(p)) {
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Learned state (baselines, graph, incidents) as one JSON file in a directory, replaced atomically (written
 * to a temporary file, then renamed) so a crash mid-write leaves the previous state intact.
 */
export class FileStore implements ServerStore {
  readonly location: string;
  private closed = false;

  constructor(private readonly dir: string) {
    this.location = join(dir, 'rootspan-state.json');
  }

  async loadSnapshot(): Promise<AnalyzerSnapshot | undefined> {
    ensureDir(this.dir);
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as AnalyzerSnapshot;
    } catch (err) {
      throw new Error(`${this.location} is not a rootspan state file (${(err as Error).message})`);
    }
  }

  async write(batch: StoreWrite): Promise<void> {
    if (this.closed) throw new Error(`${this.location}: store is closed`);
    // Incidents are part of the snapshot: changes without one are saved with the next snapshot.
    if (batch.snapshot === undefined) return;
    const tmp = `${this.location}.tmp`;
    await writeFile(tmp, JSON.stringify(batch.snapshot));
    await rename(tmp, this.location);
  }

  close(): void {
    this.closed = true;
  }
}
