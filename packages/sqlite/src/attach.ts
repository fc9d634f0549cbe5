import { incidentChange, RootspanError, type Analyzer, type AnalyzerStore, type Incident, type IncidentChange, type IncidentEvent, type IncidentNote, type OperationRollup, type StoreBatch } from '@rootspan/engine';

/** Options of {@link attachStore}. */
export interface AttachOptions {
  /** How often pending rollups and incident changes are written, in one transaction [1000 ms]. */
  flushMs?: number;
  /** How often the analyzer's learned state is saved while nothing else forces it [30 000 ms]. */
  snapshotMs?: number;
  /**
   * Rollups plus incident changes held while writes fail (full disk, read-only file) [100 000]; past it the
   * oldest rollups are dropped and counted. Incident changes are dropped only after all rollups are.
   */
  maxPending?: number;
  /** Told of each failed write (the first one is also logged with `console.error` when this is not set). */
  onError?: (err: Error) => void;
  /**
   * Runs each write inside it. `@rootspan/otel` passes one that suppresses tracing, so an instrumented
   * SQLite driver records no spans of rootspan's own writes (they would feed back into the analyzer).
   */
  wrap?: <T>(fn: () => T) => T;
}

/** Counters of an attached store, for observability of rootspan itself. */
export interface PersistenceStats {
  /** Transactions committed. */
  writes: number;
  /** Writes that failed (their data stays pending and is retried). */
  writeErrors: number;
  /** The last write error's message, or null. */
  lastError: string | null;
  pendingRollups: number;
  pendingIncidentChanges: number;
  /** Rollups and incident changes dropped because writes kept failing and {@link AttachOptions.maxPending} was reached. */
  dropped: number;
  /** Whether the analyzer was restored from the store at attach. */
  restored: boolean;
}

/** An analyzer attached to a store. */
export interface StoreAttachment {
  /** Resolves once the saved state is restored (at once for a synchronous store such as SQLite). */
  readonly ready: Promise<void>;
  /** Acknowledges an incident, recording who did it (a name, or who and why) in the incident and its history. */
  acknowledge(id: string, by?: string | IncidentNote): Incident | undefined;
  /** Resolves an incident by hand, recording who did it (a name, or who and how) in the incident and its history. */
  resolve(id: string, by?: string | IncidentNote): Incident | undefined;
  /** Writes what is pending now (with a fresh snapshot). */
  flush(): Promise<void>;
  /** Final flush, then closes the store. Idempotent; never rejects (a failure is reported and counted). */
  close(): Promise<void>;
  stats(): PersistenceStats;
}

export const DEFAULT_FLUSH_MS = 1000;
export const DEFAULT_SNAPSHOT_MS = 30_000;
export const DEFAULT_MAX_PENDING = 100_000;

/**
 * Restores an analyzer from a store, then persists what it learns off the request path: rollups and
 * incident changes are collected as the analyzer emits them and written by an `unref()`'d timer at most
 * once per `flushMs`, in one transaction with a snapshot whenever an incident changed or `snapshotMs`
 * passed. A failed write is reported and counted, its data kept (bounded) and retried, and the analyzer
 * keeps working in memory.
 *
 * @throws the store's error when its saved state cannot be read or restored (it is not overwritten).
 */
export function attachStore(analyzer: Analyzer, store: AnalyzerStore, options: AttachOptions = {}): StoreAttachment {
  return new Attachment(analyzer, store, options);
}

class Attachment implements StoreAttachment {
  readonly ready: Promise<void>;
  private readonly flushMs: number;
  private readonly snapshotMs: number;
  private readonly maxPending: number;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly wrap: <T>(fn: () => T) => T;
  private rollups: OperationRollup[] = [];
  private changes: IncidentChange[] = [];
  private readonly unsubscribe: Array<() => void>;
  private timer: ReturnType<typeof setInterval> | undefined;
  private writing: Promise<void> | undefined;
  private lastSnapshotAt = -Infinity;
  /** Analyzer progress (accepted spans, event time) at the last snapshot: an idle analyzer is not re-saved. */
  private savedProgress = '';
  private closing: Promise<void> | undefined;
  private readonly counters = { writes: 0, writeErrors: 0, dropped: 0, lastError: null as string | null, restored: false };

  constructor(
    private readonly analyzer: Analyzer,
    private readonly store: AnalyzerStore,
    options: AttachOptions,
  ) {
    this.flushMs = positive('flushMs', options.flushMs, DEFAULT_FLUSH_MS);
    this.snapshotMs = positive('snapshotMs', options.snapshotMs, DEFAULT_SNAPSHOT_MS);
    this.maxPending = positive('maxPending', options.maxPending, DEFAULT_MAX_PENDING);
    if (options.onError !== undefined && typeof options.onError !== 'function') throw new RootspanError('ERR_OPTION', 'option onError must be a function');
    this.onError = options.onError;
    this.wrap = options.wrap ?? ((fn) => fn());
    const saved = store.loadSnapshot();
    this.ready = saved instanceof Promise ? saved.then((s) => this.restore(s)) : Promise.resolve(this.restore(saved));
    // Restored state is already stored: it is saved again only once the analyzer moves on.
    this.savedProgress = this.progress();
    this.lastSnapshotAt = Date.now();
    this.unsubscribe = [analyzer.onRollup((r) => this.addRollups(r)), analyzer.onIncident((e) => this.addChange(e))];
    this.timer = setInterval(() => void this.wrap(() => this.write(false)), this.flushMs);
    // Persistence must never keep the host process alive.
    this.timer.unref?.();
  }

  private restore(snapshot: Awaited<ReturnType<AnalyzerStore['loadSnapshot']>>): void {
    if (snapshot === undefined) return;
    try {
      this.analyzer.restore(snapshot);
    } catch (err) {
      throw new RootspanError('ERR_STORE_FILE', `${this.store.location} holds state this analyzer cannot restore (${(err as Error).message}); it was left untouched: use another file`, { cause: err });
    }
    this.counters.restored = true;
  }

  private addRollups(rollups: OperationRollup[]): void {
    for (const r of rollups) this.rollups.push(r);
    this.bound();
  }

  private addChange(e: IncidentEvent): void {
    this.changes.push(incidentChange(e));
    this.bound();
  }

  /** Keeps pending data within maxPending: rollups go first, incident history last. */
  private bound(): void {
    let over = this.rollups.length + this.changes.length - this.maxPending;
    if (over <= 0) return;
    const fromRollups = Math.min(over, this.rollups.length);
    this.rollups.splice(0, fromRollups);
    over -= fromRollups;
    if (over > 0) this.changes.splice(0, over);
    this.counters.dropped += fromRollups + Math.max(0, over);
  }

  acknowledge(id: string, by?: string | IncidentNote): Incident | undefined {
    return this.analyzer.acknowledge(id, typeof by === 'string' ? { by } : by);
  }

  resolve(id: string, by?: string | IncidentNote): Incident | undefined {
    return this.analyzer.resolve(id, typeof by === 'string' ? { by } : by);
  }

  private progress(): string {
    return `${this.analyzer.stats().accepted}|${this.analyzer.now()}`;
  }

  /** Writes pending data; a snapshot goes with it when an incident changed, when forced, or when due. */
  private write(force: boolean): Promise<void> {
    // One write at a time: an asynchronous store may still be busy with the last one.
    if (this.writing !== undefined) return force ? this.writing.then(() => this.write(true)) : this.writing;
    const now = Date.now();
    const progressed = this.progress() !== this.savedProgress;
    // An incident opened, acknowledged or resolved is saved with the analyzer's state in one transaction,
    // so a restart never reuses its id nor forgets its status; plain updates wait for the periodic save.
    const lifecycle = this.changes.some((c) => c.type !== 'updated');
    const snapshotDue = progressed && (force || lifecycle || now - this.lastSnapshotAt >= this.snapshotMs);
    if (!snapshotDue && this.rollups.length === 0 && this.changes.length === 0) return Promise.resolve();
    const batch: StoreBatch = { rollups: this.rollups, incidents: this.changes };
    let progress = this.savedProgress;
    if (snapshotDue) {
      batch.snapshot = this.analyzer.snapshot();
      progress = this.progress();
    }
    this.rollups = [];
    this.changes = [];
    const done = () => {
      this.counters.writes++;
      if (snapshotDue) {
        this.lastSnapshotAt = now;
        this.savedProgress = progress;
      }
    };
    const failed = (err: unknown) => {
      // Kept for the next try, ahead of what arrived since; the analyzer carries on in memory.
      this.rollups = batch.rollups.concat(this.rollups);
      this.changes = batch.incidents.concat(this.changes);
      this.bound();
      this.report(err);
    };
    try {
      const result = this.store.write(batch);
      if (!(result instanceof Promise)) {
        done();
        return Promise.resolve();
      }
      this.writing = result.then(done, failed).finally(() => (this.writing = undefined));
      return this.writing;
    } catch (err) {
      failed(err);
      return Promise.resolve();
    }
  }

  private report(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.counters.writeErrors++;
    this.counters.lastError = e.message;
    if (this.onError !== undefined) {
      try {
        this.onError(e);
      } catch {
        // A failing error handler must not take persistence down with it.
      }
    } else if (this.counters.writeErrors === 1) {
      console.error(`${e.message} (rootspan keeps working in memory; further write errors are counted in stats().writeErrors)`);
    }
  }

  flush(): Promise<void> {
    return this.wrap(() => this.write(true));
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      if (this.timer !== undefined) clearInterval(this.timer);
      this.timer = undefined;
      for (const off of this.unsubscribe) off();
      this.closing = this.wrap(() => this.write(true))
        .then(() => this.store.close())
        .then(undefined, (err: unknown) => this.report(err));
    }
    return this.closing;
  }

  stats(): PersistenceStats {
    return {
      ...this.counters,
      pendingRollups: this.rollups.length,
      pendingIncidentChanges: this.changes.length,
    };
  }
}

function positive(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v > 0)) throw new RootspanError('ERR_OPTION', `option ${name} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}
