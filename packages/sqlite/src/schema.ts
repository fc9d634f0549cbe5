import type { Connection } from './driver.js';

/** `PRAGMA application_id` of a rootspan database ("RSPN"): tells our files from other SQLite files. */
export const APPLICATION_ID = 0x5253504e;

/**
 * Schema migrations, in order: `MIGRATIONS[i]` takes a database from version i to i + 1 (`PRAGMA
 * user_version`). Released migrations are never edited; a change is a new entry.
 */
export const MIGRATIONS: readonly string[] = [
  // v1: snapshot and per-operation baselines, per-minute rollups, incidents with anomalies, exemplars and history.
  `
  CREATE TABLE snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    saved_at INTEGER NOT NULL,
    clock REAL,
    state TEXT NOT NULL
  );
  CREATE TABLE baselines (
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    node_type TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (service, operation)
  ) WITHOUT ROWID;
  CREATE TABLE rollups (
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    node_type TEXT NOT NULL,
    start INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    p50 REAL,
    p95 REAL,
    p99 REAL,
    self_p95 REAL,
    PRIMARY KEY (service, operation, start)
  ) WITHOUT ROWID;
  CREATE INDEX rollups_by_start ON rollups (start);
  CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    title TEXT NOT NULL,
    opened_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    acknowledged_at REAL,
    acknowledged_by TEXT,
    resolved_at REAL,
    resolved_how TEXT,
    root_service TEXT NOT NULL,
    root_operation TEXT,
    root_kind TEXT NOT NULL,
    confidence REAL NOT NULL,
    explanation TEXT NOT NULL,
    candidates TEXT NOT NULL,
    affected TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX incidents_by_opened ON incidents (opened_at);
  CREATE TABLE incident_anomalies (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    anomaly_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    signal TEXT NOT NULL,
    service TEXT NOT NULL,
    operation TEXT,
    severity TEXT NOT NULL,
    first_at REAL NOT NULL,
    at REAL NOT NULL,
    observed REAL NOT NULL,
    expected REAL NOT NULL,
    unit TEXT NOT NULL,
    explanation TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (incident_id, anomaly_id)
  ) WITHOUT ROWID;
  CREATE TABLE incident_traces (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    trace_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, trace_id)
  ) WITHOUT ROWID;
  CREATE TABLE incident_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    at REAL NOT NULL,
    by TEXT,
    status TEXT NOT NULL,
    severity TEXT NOT NULL
  );
  CREATE INDEX incident_events_by_incident ON incident_events (incident_id, seq);
  `,
  // v2: services and operations each incident involves (root cause and affected), for the service filter.
  `
  CREATE TABLE incident_services (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    service TEXT NOT NULL,
    operation TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (service, operation, incident_id)
  ) WITHOUT ROWID;
  CREATE INDEX incident_services_by_incident ON incident_services (incident_id);
  INSERT OR IGNORE INTO incident_services (incident_id, service, operation)
    SELECT id, root_service, coalesce(root_operation, '') FROM incidents;
  INSERT OR IGNORE INTO incident_services (incident_id, service, operation)
    SELECT incidents.id, json_extract(a.value, '$.service'), coalesce(json_extract(a.value, '$.operation'), '')
    FROM incidents, json_each(incidents.affected) AS a;
  `,
];

/** The schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations from `from` up to `to`, each in its own transaction. */
export function migrate(db: Connection, from: number, to = SCHEMA_VERSION): void {
  for (let v = from; v < to; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[v]);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}; PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}
