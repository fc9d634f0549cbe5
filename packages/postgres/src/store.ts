import { hostname } from 'node:os';
import pg from 'pg';
import type { AnalyzerSnapshot, Incident, IncidentEvent, IncidentStatus, Severity } from '@rootspan/engine';
import { mergeIncidents, type MergedIncident } from './merge.js';

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:pass@host:5432/db`, or a `pg` pool config. */
  connection: string | pg.PoolConfig;
  /** This receiver's name: its learned state and incidents are kept under it. Default `<hostname>-<pid>`. */
  receiver?: string;
  /** Incidents of the same root cause whose lifetimes are closer than this merge [300000 ms]. */
  mergeGapMs?: number;
  /** Incidents read for the merged view, newest first [5000]. */
  maxIncidents?: number;
}

/** One lifecycle change of an incident (the engine store's `IncidentChange`). */
export interface IncidentChange {
  type: IncidentEvent['type'];
  at: number;
  by?: string;
  incident: Incident;
}

/** Query of the merged incidents. */
export interface MergedQuery {
  status?: IncidentStatus | IncidentStatus[];
  severity?: Severity;
  service?: string;
  operation?: string;
  /** Incidents updated at or after this event time (ms). */
  from?: number;
  limit?: number;
}

const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rootspan_snapshots (
  receiver text PRIMARY KEY,
  snapshot jsonb NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS rootspan_incidents (
  receiver text NOT NULL,
  id text NOT NULL,
  updated_at double precision NOT NULL,
  incident jsonb NOT NULL,
  PRIMARY KEY (receiver, id)
);
CREATE INDEX IF NOT EXISTS rootspan_incidents_updated ON rootspan_incidents (updated_at DESC);
CREATE TABLE IF NOT EXISTS rootspan_incident_history (
  receiver text NOT NULL,
  id text NOT NULL,
  type text NOT NULL,
  at double precision NOT NULL,
  by text,
  status text NOT NULL,
  severity text NOT NULL
);
`;

/**
 * A PostgreSQL store shared by several `rootspan serve` receivers (scale-out): each keeps its learned state
 * under its own name and writes its incidents; reads give the incidents of all receivers, merged by root
 * cause. Plugs into `startServer({ store })`.
 */
export class PostgresStore {
  readonly location: string;
  readonly receiver: string;
  private readonly pool: pg.Pool;
  private ready: Promise<void> | undefined;
  private readonly mergeGapMs: number;
  private readonly maxIncidents: number;

  constructor(options: PostgresStoreOptions) {
    this.receiver = options.receiver ?? `${hostname()}-${process.pid}`;
    this.pool = new pg.Pool(typeof options.connection === 'string' ? { connectionString: options.connection } : options.connection);
    // A broken idle connection must not crash the host process: the next query reports it.
    this.pool.on('error', () => {});
    const cfg = typeof options.connection === 'string' ? new URL(options.connection) : undefined;
    this.location = cfg ? `postgres://${cfg.host}${cfg.pathname} (receiver ${this.receiver})` : `postgres (receiver ${this.receiver})`;
    this.mergeGapMs = options.mergeGapMs ?? 300_000;
    this.maxIncidents = options.maxIncidents ?? 5000;
  }

  /** Creates the tables once (idempotent; concurrent receivers are serialised by an advisory lock). */
  private schema(): Promise<void> {
    this.ready ??= (async () => {
      const client = await this.pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(4318)');
        await client.query(SCHEMA);
        await client.query('SELECT pg_advisory_unlock(4318)');
      } finally {
        client.release();
      }
    })();
    return this.ready;
  }

  async loadSnapshot(): Promise<AnalyzerSnapshot | undefined> {
    await this.schema();
    const res = await this.pool.query<{ snapshot: AnalyzerSnapshot }>('SELECT snapshot FROM rootspan_snapshots WHERE receiver = $1', [this.receiver]);
    return res.rows[0]?.snapshot;
  }

  /** Saves the snapshot (when given) and upserts incidents with their history, in one transaction. */
  async write(batch: { snapshot?: AnalyzerSnapshot; rollups: readonly unknown[]; incidents: readonly IncidentChange[] }): Promise<void> {
    await this.schema();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (batch.snapshot !== undefined) {
        await client.query(
          `INSERT INTO rootspan_snapshots (receiver, snapshot) VALUES ($1, $2)
           ON CONFLICT (receiver) DO UPDATE SET snapshot = EXCLUDED.snapshot, saved_at = now()`,
          [this.receiver, JSON.stringify(batch.snapshot)],
        );
      }
      for (const change of batch.incidents) {
        const inc = change.incident;
        await client.query(
          `INSERT INTO rootspan_incidents (receiver, id, updated_at, incident) VALUES ($1, $2, $3, $4)
           ON CONFLICT (receiver, id) DO UPDATE SET updated_at = EXCLUDED.updated_at, incident = EXCLUDED.incident`,
          [this.receiver, inc.id, inc.updatedAt, JSON.stringify(inc)],
        );
        await client.query('INSERT INTO rootspan_incident_history (receiver, id, type, at, by, status, severity) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          this.receiver,
          inc.id,
          change.type,
          change.at,
          change.by ?? null,
          inc.status,
          inc.severity,
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Every receiver's incidents, merged by root cause, newest first, filtered. */
  async incidents(query: MergedQuery = {}): Promise<{ incidents: MergedIncident[]; total: number; limit: number; offset: number }> {
    await this.schema();
    const res = await this.pool.query<{ receiver: string; incident: Incident }>(
      'SELECT receiver, incident FROM rootspan_incidents ORDER BY updated_at DESC LIMIT $1',
      [this.maxIncidents],
    );
    const statuses = query.status === undefined ? undefined : Array.isArray(query.status) ? query.status : [query.status];
    const matching = mergeIncidents(res.rows, this.mergeGapMs).filter(
      (inc) =>
        (statuses === undefined || statuses.includes(inc.status)) &&
        (query.severity === undefined || SEVERITY_RANK[inc.severity] >= SEVERITY_RANK[query.severity]) &&
        (query.service === undefined || [inc.rootCause, ...inc.affected].some((o) => o.service === query.service)) &&
        (query.operation === undefined || [inc.rootCause, ...inc.affected].some((o) => o.operation === query.operation)) &&
        (query.from === undefined || inc.updatedAt >= query.from),
    );
    const limit = query.limit ?? matching.length;
    return { incidents: matching.slice(0, limit), total: matching.length, limit, offset: 0 };
  }

  /** One merged incident by its id (`<receiver>:<id>` of its earliest member, or any member's). */
  async incident(id: string): Promise<{ incident: MergedIncident } | undefined> {
    const { incidents } = await this.incidents();
    const found = incidents.find((inc) => inc.id === id || inc.members.includes(id));
    return found === undefined ? undefined : { incident: found };
  }

  /** This receiver's own incident id in a member id `<receiver>:<id>`; undefined for another receiver's. */
  localId(memberId: string): string | undefined {
    const prefix = `${this.receiver}:`;
    return memberId.startsWith(prefix) ? memberId.slice(prefix.length) : undefined;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
