import { closeSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type {
  Analyzer,
  AnalyzerSnapshot,
  AnalyzerStore,
  Incident,
  IncidentChange,
  IncidentHistoryEntry,
  IncidentPage,
  IncidentQuery,
  IncidentTimeline,
  OperationRollup,
  RollupQuery,
  RollupSeries,
  Severity,
  StoreBatch,
} from '@rootspan/engine';
import { RootspanError } from '@rootspan/engine';
import { SqliteDriverError, openConnection, sqliteCode, type Connection, type SqlValue, type SqliteDriverName, type Statement } from './driver.js';
import { SqliteStoreError } from './errors.js';
import { attachStore, type AttachOptions, type StoreAttachment } from './attach.js';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './schema.js';

/** How long history is kept, in ms of event time before the newest data written. */
export interface RetentionOptions {
  /** Per-minute rollups [7 days]. */
  rollups?: number;
  /** Resolved incidents, counted from their resolution [90 days]. Open incidents are always kept. */
  incidents?: number;
}

/** Options of {@link SqliteStore.open}: the file, and how {@link SqliteStore.attach} writes to it. */
export interface SqliteOpenOptions extends AttachOptions {
  /** The database file; created (with its directory's permission) when missing. */
  path: string;
  retention?: RetentionOptions;
  /** `auto` [default]: node:sqlite where Node has it (22.13+), else better-sqlite3. */
  driver?: SqliteDriverName | 'auto';
  /** Caps the file's size: past it writes fail with SQLITE_FULL (reported and counted) [no cap]. */
  maxSizeBytes?: number;
}

export const DEFAULT_RETENTION: Required<RetentionOptions> = { rollups: 7 * 86_400_000, incidents: 90 * 86_400_000 };
/** Incidents per page when a query says none, and at most. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;

const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };
const SQLITE_HEADER = 'SQLite format 3\u0000';

/** The SQLite implementation of the engine's {@link AnalyzerStore}: one file, WAL mode, prepared statements. */
export class SqliteStore implements AnalyzerStore {
  readonly location: string;
  /** The driver in use. */
  readonly driver: SqliteDriverName;
  /** Set when the file cannot be written (reads still work): why. */
  readonly readOnly: string | undefined;
  private readonly db: Connection;
  private readonly retention: Required<RetentionOptions>;
  private readonly s: ReturnType<typeof prepareAll>;
  private readonly queries = new Map<string, Statement>();
  /** Each operation's baseline state as last written, so unchanged ones are not rewritten. */
  private readonly written = new Map<string, string>();
  /** Newest event time written: retention counts back from it. */
  private newest = -Infinity;
  private closed = false;
  private attachment: StoreAttachment | undefined;
  private detaching = false;
  private readonly attachOptions: AttachOptions;
  /** The file's inode when opened: a write finds out when the file was deleted or replaced under it. */
  private readonly inode: number;
  /** The lock file this process holds while it writes the store (see {@link takeLock}), if any. */
  private readonly lock: string | undefined;

  private constructor(location: string, db: Connection, retention: Required<RetentionOptions>, readOnly: string | undefined, attachOptions: AttachOptions) {
    this.location = location;
    this.inode = statSync(location).ino;
    this.lock = readOnly === undefined ? takeLock(location) : undefined;
    this.attachOptions = attachOptions;
    this.db = db;
    this.driver = db.driver;
    this.retention = retention;
    this.readOnly = readOnly;
    this.s = prepareAll(db);
  }

  /**
   * Opens (or creates) a store. Throws a {@link SqliteStoreError} naming the file when it is not a
   * rootspan database, is corrupt, or was written by a newer schema (which is never modified).
   */
  static open(options: SqliteOpenOptions): SqliteStore {
    const { path, driver = 'auto', maxSizeBytes, retention: _r, ...attachOptions } = checkOptions(options);
    const retention = { ...DEFAULT_RETENTION, ...options.retention };
    const file = resolve(path);
    checkFile(file);
    let db: Connection;
    try {
      db = openConnection(file, driver);
    } catch (err) {
      if (err instanceof SqliteDriverError) throw err;
      throw fileError('ERR_STORE_FILE', file, 'cannot be opened', err);
    }
    try {
      const readOnly = prepareFile(db, file);
      if (maxSizeBytes !== undefined && readOnly === undefined) {
        const page = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
        db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(maxSizeBytes / page))}`);
      }
      return new SqliteStore(file, db, retention, readOnly, attachOptions);
    } catch (err) {
      db.close();
      if (err instanceof SqliteStoreError) throw err;
      const code = sqliteCode(err);
      // A WAL database is unreadable without write access to it and its directory (the -shm index).
      if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN') {
        throw fileError('ERR_STORE_FILE', file, 'cannot be opened for writing by this process (check the permissions of the file and its directory)', err);
      }
      throw fileError('ERR_STORE_FILE', file, 'is corrupt or not a SQLite database', err);
    }
  }

  /** The last saved analyzer state, or undefined for a new file. */
  loadSnapshot(): AnalyzerSnapshot | undefined {
    const row = this.read(() => this.s.loadSnapshot.get()) as { state: string } | undefined;
    if (row === undefined) return undefined;
    const rows = this.read(() => this.s.loadBaselines.all()) as Array<{ service: string; operation: string; state: string }>;
    try {
      const snap = JSON.parse(row.state) as AnalyzerSnapshot;
      const states = new Map<string, string>();
      for (const r of rows) states.set(`${r.service}\u0001${r.operation}`, r.state);
      snap.operations = snap.operations.map(({ service, operation }) => {
        const key = `${service}\u0001${operation}`;
        const state = states.get(key);
        if (state === undefined) throw new Error(`the baseline of ${service} ${operation} is missing`);
        this.written.set(key, state);
        return JSON.parse(state) as AnalyzerSnapshot['operations'][number];
      });
      if (snap.clock !== null && typeof snap.clock === 'number') this.newest = Math.max(this.newest, snap.clock);
      return snap;
    } catch (err) {
      throw fileError('ERR_STORE_FILE', this.location, 'holds an unreadable snapshot', err);
    }
  }

  /** Writes a batch in one transaction; throws a {@link SqliteStoreError} (with SQLite's code) and commits nothing on failure. */
  write(batch: StoreBatch): void {
    if (this.closed) throw new SqliteStoreError('ERR_STORE_IO', `${this.location} is closed`, this.location);
    // Deleted (or replaced) while open, the file takes writes that no one will ever read: told, not silent.
    if (statSync(this.location, { throwIfNoEntry: false })?.ino !== this.inode) {
      throw new SqliteStoreError('ERR_STORE_IO', `${this.location} was deleted or replaced while in use: what is written goes nowhere (restart to write a new file)`, this.location);
    }
    const s = this.s;
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw fileError('ERR_STORE_IO', this.location, 'cannot be written', err);
    }
    try {
      let newest = this.newest;
      for (const r of batch.rollups) {
        s.upsertRollup.run(r.service, r.operation, r.nodeType, r.start, r.durationMs, r.requests, r.errors, r.latency?.p50 ?? null, r.latency?.p95 ?? null, r.latency?.p99 ?? null, nullable(r.selfTimeP95));
        newest = Math.max(newest, r.start + r.durationMs);
      }
      for (const c of batch.incidents) {
        this.writeIncident(c);
        newest = Math.max(newest, c.at);
      }
      if (batch.snapshot !== undefined) {
        this.writeSnapshot(batch.snapshot);
        if (typeof batch.snapshot.clock === 'number') newest = Math.max(newest, batch.snapshot.clock);
      }
      if (newest > this.newest && Number.isFinite(newest)) {
        s.pruneRollups.run(newest - this.retention.rollups);
        s.pruneIncidents.run(newest - this.retention.incidents);
      }
      this.db.exec('COMMIT');
      this.newest = newest;
    } catch (err) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // SQLite may already have rolled back (a full disk does): nothing is left to undo.
      }
      // Baselines written in the failed transaction are not on disk: write them all again next time.
      if (batch.snapshot !== undefined) this.written.clear();
      throw fileError('ERR_STORE_IO', this.location, 'could not be written', err);
    }
  }

  private writeIncident(c: IncidentChange): void {
    const s = this.s;
    const inc = c.incident;
    const ackBy = c.type === 'acknowledged' ? (c.by ?? null) : null;
    s.upsertIncident.run(
      inc.id, inc.status, inc.severity, SEVERITY_RANK[inc.severity], inc.title, inc.openedAt, inc.updatedAt,
      nullable(inc.acknowledgedAt), ackBy, nullable(inc.resolvedAt), inc.resolvedBy,
      inc.rootCause.service, inc.rootCause.operation, inc.rootCause.kind, inc.rootCause.confidence, inc.rootCause.explanation,
      JSON.stringify(inc.candidates), JSON.stringify(inc.affected), JSON.stringify(inc),
    );
    s.deleteAnomalies.run(inc.id);
    for (const a of inc.anomalies) {
      s.insertAnomaly.run(inc.id, a.id, a.kind, a.signal, a.service, a.operation, a.severity, a.firstAt, a.at, a.observed, a.expected, a.unit, a.explanation, JSON.stringify(a));
    }
    s.deleteServices.run(inc.id);
    s.insertService.run(inc.id, inc.rootCause.service, inc.rootCause.operation ?? '');
    for (const r of inc.affected) s.insertService.run(inc.id, r.service, r.operation ?? '');
    for (const t of inc.traceIds) s.insertTrace.run(inc.id, t);
    s.insertEvent.run(inc.id, c.type, c.at, c.by ?? null, inc.status, inc.severity);
  }

  private writeSnapshot(snap: AnalyzerSnapshot): void {
    const s = this.s;
    const seen = new Set<string>();
    for (const op of snap.operations) {
      const key = `${op.service}\u0001${op.operation}`;
      seen.add(key);
      const state = JSON.stringify(op);
      if (this.written.get(key) === state) continue;
      s.upsertBaseline.run(op.service, op.operation, op.nodeType, state);
      this.written.set(key, state);
    }
    for (const key of this.written.keys()) {
      if (seen.has(key)) continue;
      const [service, operation] = key.split('\u0001');
      s.deleteBaseline.run(service, operation);
      this.written.delete(key);
    }
    // Operations are rows of their own; the snapshot keeps their order (the analyzer's iteration order).
    const order = snap.operations.map((o) => ({ service: o.service, operation: o.operation }));
    s.saveSnapshot.run(Date.now(), nullable(snap.clock), JSON.stringify({ ...snap, operations: order }));
  }

  /** Incidents matching the query, newest first, one page at a time. */
  incidents(query: IncidentQuery = {}): IncidentPage {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.status !== undefined) {
      const statuses = [query.status].flat();
      // No status at all matches nothing, as in the analyzer's own filter.
      where.push(statuses.length === 0 ? '0' : `status IN (${statuses.map(() => '?').join(', ')})`);
      params.push(...statuses);
    }
    if (query.severity !== undefined) {
      where.push('severity_rank >= ?');
      params.push(SEVERITY_RANK[query.severity] ?? 0);
    }
    if (query.service !== undefined) {
      where.push('id IN (SELECT incident_id FROM incident_services WHERE service = ?)');
      params.push(query.service);
    }
    if (query.operation !== undefined) {
      where.push('id IN (SELECT incident_id FROM incident_services WHERE operation = ?)');
      params.push(query.operation);
    }
    if (query.from !== undefined) {
      where.push('(resolved_at IS NULL OR resolved_at >= ?)');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('opened_at < ?');
      params.push(query.to);
    }
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(query.limit ?? DEFAULT_PAGE)));
    const offset = Math.max(0, Math.floor(query.offset ?? 0));
    const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    const total = (this.read(() => this.query(`SELECT count(*) AS n FROM incidents${filter}`).get(...params)) as { n: number }).n;
    const rows = this.read(() => this.query(`SELECT body FROM incidents${filter} ORDER BY opened_at DESC, id DESC LIMIT ? OFFSET ?`).all(...params, limit, offset)) as Array<{ body: string }>;
    return { incidents: rows.map((r) => JSON.parse(r.body) as Incident), total: Number(total), limit, offset };
  }

  /** One incident with its lifecycle history, oldest first. */
  incident(id: string): IncidentTimeline | undefined {
    const row = this.read(() => this.s.getIncident.get(id)) as { body: string } | undefined;
    if (row === undefined) return undefined;
    const history = (this.read(() => this.s.getEvents.all(id)) as Array<{ type: IncidentHistoryEntry['type']; at: number; by: string | null; status: IncidentHistoryEntry['status']; severity: Severity }>).map(
      (e) => ({ type: e.type, at: e.at, by: e.by, status: e.status, severity: e.severity }),
    );
    return { incident: JSON.parse(row.body) as Incident, history };
  }

  /** Per-minute rollups over [from, to), one series per operation. */
  rollups(query: RollupQuery): RollupSeries[] {
    const where = ['start >= ?', 'start < ?'];
    const params: SqlValue[] = [query.from, query.to];
    if (query.service !== undefined) {
      where.push('service = ?');
      params.push(query.service);
    }
    if (query.operation !== undefined) {
      where.push('operation = ?');
      params.push(query.operation);
    }
    const sql = `SELECT service, operation, node_type, start, duration_ms, requests, errors, p50, p95, p99, self_p95 FROM rollups WHERE ${where.join(' AND ')} ORDER BY service, operation, start`;
    const rows = this.read(() => this.query(sql).all(...params)) as RollupRow[];
    const out: RollupSeries[] = [];
    let cur: RollupSeries | undefined;
    for (const r of rows) {
      if (cur === undefined || cur.service !== r.service || cur.operation !== r.operation) {
        cur = { service: r.service, operation: r.operation, nodeType: r.node_type, points: [] };
        out.push(cur);
      }
      cur.points.push({
        start: r.start,
        durationMs: r.duration_ms,
        requests: r.requests,
        errors: r.errors,
        latency: r.p50 === null ? null : { p50: r.p50, p95: r.p95 as number, p99: r.p99 as number },
        selfTimeP95: r.self_p95,
      });
    }
    return out;
  }

  /**
   * Restores `analyzer` from this file and persists it from now on (see {@link attachStore}). One analyzer
   * per store. `rootspan({ store })` calls this for you.
   */
  attach(analyzer: Analyzer, options?: AttachOptions): StoreAttachment {
    if (this.attachment !== undefined) throw new SqliteStoreError('ERR_STORE_FILE', `${this.location} already persists an analyzer; open another file for another`, this.location);
    const attachment = attachStore(analyzer, this, { ...this.attachOptions, ...options });
    const detach = attachment.close.bind(attachment);
    // However closing starts (here or on the attachment), the attachment's final write comes first and
    // its call back to close() then closes the file.
    attachment.close = () => {
      this.detaching = true;
      return detach();
    };
    this.attachment = attachment;
    return attachment;
  }

  /** Closes the file; when an analyzer is attached, writes what is pending first. Idempotent. */
  close(): Promise<void> {
    if (this.attachment !== undefined && !this.detaching) return this.attachment.close();
    if (!this.closed) {
      this.closed = true;
      this.db.close();
      if (this.lock !== undefined) releaseLock(this.lock);
    }
    return Promise.resolve();
  }

  /** A cached statement for a query built at run time (filters vary; each shape is prepared once). */
  private query(sql: string): Statement {
    let st = this.queries.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.queries.set(sql, st);
    }
    return st;
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw fileError('ERR_STORE_IO', this.location, 'cannot be read', err);
    }
  }
}

interface RollupRow {
  service: string;
  operation: string;
  node_type: 'service' | 'peer';
  start: number;
  duration_ms: number;
  requests: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  self_p95: number | null;
}

function nullable(x: number | null | undefined): number | null {
  return x === undefined || x === null || !Number.isFinite(x) ? null : x;
}

function checkOptions(o: SqliteOpenOptions): SqliteOpenOptions {
  const fail = (m: string): never => {
    throw new RootspanError('ERR_OPTION', `sqliteStore option ${m}`);
  };
  if (o === null || typeof o !== 'object') fail('object required: sqliteStore({ path })');
  if (typeof o.path !== 'string' || o.path === '') fail(`path must be a file name, got ${JSON.stringify(o.path)}`);
  if (o.driver !== undefined && !['auto', 'node:sqlite', 'better-sqlite3'].includes(o.driver)) {
    fail(`driver must be 'auto', 'node:sqlite' or 'better-sqlite3', got ${JSON.stringify(o.driver)}`);
  }
  for (const k of ['rollups', 'incidents'] as const) {
    const v = o.retention?.[k];
    if (v !== undefined && !(typeof v === 'number' && v > 0)) fail(`retention.${k} must be a positive number of ms, got ${JSON.stringify(v)}`);
  }
  if (o.maxSizeBytes !== undefined && !(typeof o.maxSizeBytes === 'number' && o.maxSizeBytes > 0)) {
    fail(`maxSizeBytes must be a positive number, got ${JSON.stringify(o.maxSizeBytes)}`);
  }
  return o;
}

/**
 * Takes `<file>.lock` for this process (its pid), so a second process writing the same store is refused at
 * open: two receivers on one data directory overwrote each other's incidents under the same ids (probe 12).
 * A lock left by a process that is gone (killed, the machine restarted) is taken over; so is one of this
 * process's own (a store opened again after a close). Returns the lock's path.
 */
function takeLock(file: string): string {
  const lock = `${file}.lock`;
  const holder = Number.parseInt(readFileSync(lock, { encoding: 'utf8', flag: 'a+' }), 10);
  if (Number.isInteger(holder) && holder !== process.pid && runsNode(holder)) {
    throw new SqliteStoreError('ERR_STORE_FILE', `${file} is in use by another process (pid ${holder}, see ${lock}): one process writes a store; give this one another file (or remove ${lock} if that process is not rootspan)`, file);
  }
  writeFileSync(lock, `${process.pid}\n`);
  return lock;
}

/** Whether process `pid` runs, as a Node.js process where /proc tells (a pid reused after a reboot is not). */
function runsNode(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /node|rootspan/i.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  } catch {
    return true;
  }
}

/** Removes the lock if it is still this process's. */
function releaseLock(lock: string): void {
  try {
    if (Number.parseInt(readFileSync(lock, 'utf8'), 10) === process.pid) unlinkSync(lock);
  } catch {
    // Gone already: nothing to release.
  }
}

/** Refuses what is plainly not a SQLite file before SQLite opens it. */
function checkFile(file: string): void {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new SqliteStoreError('ERR_STORE_FILE', `${file} is not a file`, file);
    size = st.size;
  } catch (err) {
    if (err instanceof SqliteStoreError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError('ERR_STORE_FILE', file, 'cannot be opened', err);
    try {
      if (!statSync(dirname(file)).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new SqliteStoreError('ERR_STORE_FILE', `cannot create ${file}: its directory ${dirname(file)} does not exist`, file);
    }
    return;
  }
  if (size === 0) return;
  const head = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') !== SQLITE_HEADER) {
    throw new SqliteStoreError('ERR_STORE_FILE', `${file} is not a SQLite database (it does not start with the SQLite header); refusing to use it`, file, 'SQLITE_NOTADB');
  }
}

/**
 * Checks that the file is ours (or empty), refuses a newer schema without touching it, then sets WAL mode
 * and migrates. Returns why the file is read-only, if it is.
 */
function prepareFile(db: Connection, file: string): string | undefined {
  const appId = (db.prepare('PRAGMA application_id').get() as { application_id: number }).application_id;
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
  if (appId !== APPLICATION_ID && !(appId === 0 && tables.length === 0)) {
    throw new SqliteStoreError(
      'ERR_STORE_FILE',
      `${file} is a SQLite database of another application (application_id ${appId}, tables: ${tables.slice(0, 5).join(', ') || 'none'}); refusing to write to it`,
      file,
    );
  }
  if (version > SCHEMA_VERSION) {
    throw new SqliteStoreError(
      'ERR_STORE_FILE',
      `${file} was written by a newer rootspan (schema version ${version}; this @rootspan/sqlite reads up to ${SCHEMA_VERSION}). ` +
        'It was left untouched: upgrade @rootspan/sqlite or use another file.',
      file,
    );
  }
  let readOnly: string | undefined;
  try {
    db.exec('PRAGMA journal_mode = WAL');
    // Probe: SQLite opens a file it may not write read-only without saying so.
    db.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (err) {
    if (sqliteCode(err) !== 'SQLITE_READONLY' && sqliteCode(err) !== 'SQLITE_CANTOPEN') throw err;
    readOnly = (err as Error).message;
  }
  if (readOnly !== undefined && version < SCHEMA_VERSION) {
    throw new SqliteStoreError('ERR_STORE_FILE', `${file} is read-only and needs upgrading from schema version ${version} to ${SCHEMA_VERSION}`, file, 'SQLITE_READONLY');
  }
  db.exec('PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 200');
  if (version < SCHEMA_VERSION) migrate(db, version);
  return readOnly;
}

function fileError(kind: SqliteStoreError['code'], file: string, what: string, err: unknown): SqliteStoreError {
  const code = sqliteCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new SqliteStoreError(kind as 'ERR_STORE_FILE' | 'ERR_STORE_IO', `${file} ${what}: ${detail}${code && !detail.includes(code) ? ` (${code})` : ''}`, file, code, { cause: err });
}

function prepareAll(db: Connection) {
  return {
    loadSnapshot: db.prepare('SELECT state FROM snapshot WHERE id = 1'),
    loadBaselines: db.prepare('SELECT service, operation, state FROM baselines'),
    saveSnapshot: db.prepare('INSERT INTO snapshot (id, saved_at, clock, state) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET saved_at = excluded.saved_at, clock = excluded.clock, state = excluded.state'),
    upsertBaseline: db.prepare('INSERT INTO baselines (service, operation, node_type, state) VALUES (?, ?, ?, ?) ON CONFLICT (service, operation) DO UPDATE SET node_type = excluded.node_type, state = excluded.state'),
    deleteBaseline: db.prepare('DELETE FROM baselines WHERE service = ? AND operation = ?'),
    upsertRollup: db.prepare(
      'INSERT OR REPLACE INTO rollups (service, operation, node_type, start, duration_ms, requests, errors, p50, p95, p99, self_p95) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    pruneRollups: db.prepare('DELETE FROM rollups WHERE start < ?'),
    pruneIncidents: db.prepare('DELETE FROM incidents WHERE resolved_at IS NOT NULL AND resolved_at < ?'),
    upsertIncident: db.prepare(
      `INSERT INTO incidents (id, status, severity, severity_rank, title, opened_at, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_how,
         root_service, root_operation, root_kind, confidence, explanation, candidates, affected, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, severity = excluded.severity, severity_rank = excluded.severity_rank,
         title = excluded.title, opened_at = excluded.opened_at, updated_at = excluded.updated_at, acknowledged_at = excluded.acknowledged_at,
         acknowledged_by = coalesce(excluded.acknowledged_by, incidents.acknowledged_by), resolved_at = excluded.resolved_at,
         resolved_how = excluded.resolved_how, root_service = excluded.root_service, root_operation = excluded.root_operation,
         root_kind = excluded.root_kind, confidence = excluded.confidence, explanation = excluded.explanation,
         candidates = excluded.candidates, affected = excluded.affected, body = excluded.body`,
    ),
    deleteAnomalies: db.prepare('DELETE FROM incident_anomalies WHERE incident_id = ?'),
    insertAnomaly: db.prepare(
      'INSERT INTO incident_anomalies (incident_id, anomaly_id, kind, signal, service, operation, severity, first_at, at, observed, expected, unit, explanation, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    deleteServices: db.prepare('DELETE FROM incident_services WHERE incident_id = ?'),
    insertService: db.prepare('INSERT OR IGNORE INTO incident_services (incident_id, service, operation) VALUES (?, ?, ?)'),
    insertTrace: db.prepare('INSERT OR IGNORE INTO incident_traces (incident_id, trace_id) VALUES (?, ?)'),
    insertEvent: db.prepare('INSERT INTO incident_events (incident_id, type, at, by, status, severity) VALUES (?, ?, ?, ?, ?, ?)'),
    getIncident: db.prepare('SELECT body FROM incidents WHERE id = ?'),
    getEvents: db.prepare('SELECT type, at, by, status, severity FROM incident_events WHERE incident_id = ? ORDER BY seq'),
  };
}
