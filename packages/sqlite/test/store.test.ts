import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RootspanError, createAnalyzer, type Incident, type IncidentEvent, type Span } from '@rootspan/engine';
import { SCHEMA_VERSION, SqliteStoreError, sqliteStore, type SqliteStore } from '@rootspan/sqlite';
import { openConnection } from '../src/driver.js';
import { migrate } from '../src/schema.js';
import { SHOP_START, batches, shopTraffic } from '../../engine/test/helpers/shop.js';

const MIN = 60_000;
const dirs: string[] = [];
const open: SqliteStore[] = [];

function tempFile(name = 'rootspan.db'): string {
  const dir = mkdtempSync(join(tmpdir(), 'rootspan-sqlite-'));
  dirs.push(dir);
  return join(dir, name);
}

function store(path: string, options: Omit<Parameters<typeof sqliteStore>[0], 'path'> = {}): SqliteStore {
  const s = sqliteStore({ path, ...options });
  open.push(s);
  return s;
}

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function feed(analyzer: ReturnType<typeof createAnalyzer>, spans: Span[]): void {
  for (const b of batches(spans, 100)) analyzer.ingest(b);
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('restart continuity', () => {
  it('restores baselines and the open incident, judges at once, does not re-announce, and resolves it later', async () => {
    const path = tempFile();
    const spans = shopTraffic({ seed: 21, durationMs: 20 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 12 * MIN, errorRate: 1 }] });
    const cut = SHOP_START + 11 * MIN;

    const first = createAnalyzer();
    const firstEvents: IncidentEvent[] = [];
    first.onIncident((e) => firstEvents.push(e));
    const s1 = store(path);
    s1.attach(first);
    feed(first, spans.filter((s) => s.endTime < cut));
    const open1 = first.incidents({ status: 'active' });
    expect(open1).toHaveLength(1);
    expect(firstEvents.filter((e) => e.type === 'opened')).toHaveLength(1);
    const baselines = first.baselines();
    await s1.close();

    const second = createAnalyzer();
    const events: IncidentEvent[] = [];
    second.onIncident((e) => events.push(e));
    const s2 = store(path);
    const attachment = s2.attach(second);
    expect(attachment.stats().restored).toBe(true);
    expect(second.baselines()).toEqual(baselines);
    expect(second.incidents({ status: 'active' }).map((i) => i.id)).toEqual([open1[0].id]);

    feed(second, spans.filter((s) => s.endTime >= cut));
    second.flush();
    // The fault still going on after the restart is judged at once and joins the open incident: no new one.
    expect(events.filter((e) => e.type === 'opened')).toEqual([]);
    expect(events.some((e) => e.type === 'updated' && e.incident.id === open1[0].id)).toBe(true);
    const resolved = events.find((e) => e.type === 'resolved');
    expect(resolved?.incident.id).toBe(open1[0].id);
    expect(resolved?.incident.resolvedBy).toBe('auto');
    await attachment.flush();

    // The whole story is in the file.
    const timeline = s2.incident(open1[0].id);
    expect(timeline?.incident.status).toBe('resolved');
    expect(timeline?.history[0].type).toBe('opened');
    expect(timeline?.history.at(-1)).toMatchObject({ type: 'resolved', status: 'resolved' });
    expect(timeline?.history.filter((h) => h.type === 'opened')).toHaveLength(1);
    const payment = s2.rollups({ from: SHOP_START, to: SHOP_START + 20 * MIN, service: 'payment', operation: 'GET /pay' });
    expect(payment).toHaveLength(1);
    expect(payment[0].points.length).toBeGreaterThanOrEqual(19);
    const during = payment[0].points.find((p) => p.start === SHOP_START + 10 * MIN);
    expect(during?.errors).toBe(during?.requests);
  });

  it('records who acknowledged and resolved an incident, and answers filtered, paged queries', async () => {
    const path = tempFile();
    const analyzer = createAnalyzer();
    const s = store(path);
    const att = s.attach(analyzer);
    feed(
      analyzer,
      shopTraffic({
        seed: 22,
        durationMs: 30 * MIN,
        faults: [
          { service: 'inventory', from: 10 * MIN, to: 12 * MIN, slow: 30 },
          { service: 'payment', from: 20 * MIN, to: 30 * MIN, errorRate: 1 },
        ],
      }),
    );
    analyzer.flush();
    const all = analyzer.incidents();
    expect(all.length).toBeGreaterThanOrEqual(2);
    const pay = all.find((i) => i.rootCause.service === 'payment') as Incident;
    att.acknowledge(pay.id, 'alice');
    att.resolve(pay.id, { by: 'bob', note: 'rolled back payment' });
    await att.flush();

    const t = s.incident(pay.id);
    expect(t?.history.find((h) => h.type === 'acknowledged')).toMatchObject({ by: 'alice', status: 'acknowledged' });
    expect(t?.history.at(-1)).toMatchObject({ type: 'resolved', by: 'bob', status: 'resolved' });
    expect(t?.incident).toMatchObject({ resolvedBy: 'user', acknowledgement: { by: 'alice' }, resolution: { by: 'bob', note: 'rolled back payment' } });

    const page = s.incidents({ limit: 1 });
    expect(page.total).toBe(all.length);
    expect(page.incidents).toHaveLength(1);
    expect(page.incidents[0].id).toBe(all[0].id);
    expect(s.incidents({ limit: 1, offset: 1 }).incidents[0].id).toBe(all[1].id);
    expect(s.incidents({ service: 'payment' }).incidents.map((i) => i.id)).toContain(pay.id);
    expect(s.incidents({ status: 'resolved' }).incidents.map((i) => i.id)).toContain(pay.id);
    expect(s.incidents({ status: 'active' }).incidents.map((i) => i.id)).not.toContain(pay.id);
    expect(s.incidents({ status: [] }).total).toBe(0);
    expect(s.incidents({ severity: 'critical' }).incidents.every((i) => i.severity === 'critical')).toBe(true);
    // Time range: nothing had opened by minute 5; the payment incident was open at minute 25, not at minute 11.
    expect(s.incidents({ to: SHOP_START + 5 * MIN }).total).toBe(0);
    expect(s.incidents({ from: SHOP_START + 25 * MIN, to: SHOP_START + 25 * MIN + 1 }).incidents.map((i) => i.id)).toContain(pay.id);
    expect(s.incidents({ from: SHOP_START + 11 * MIN, to: SHOP_START + 11 * MIN + 1 }).incidents.map((i) => i.id)).not.toContain(pay.id);
    // Exemplar trace ids are kept with the incident.
    expect(t?.incident.traceIds.length).toBeGreaterThan(0);
  });
});

describe('crash safety', () => {
  it('every incident a writer killed with SIGKILL reported as committed is in the reopened file', async () => {
    const path = tempFile();
    const script = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const committed: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) if (l.startsWith('committed ')) committed.push(l.slice('committed '.length));
        if (committed.length >= 40) resolve();
      });
    });
    child.removeAllListeners('exit');
    // While it writes, a second process is refused the file (it would overwrite the writer's incidents).
    let refused: unknown;
    try {
      await sqliteStore({ path }).close();
    } catch (err) {
      refused = err;
    }
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(String(refused)).toMatch(new RegExp(`is in use by another process \\(pid ${child.pid}, see .*rootspan\\.db\\.lock\\)`));
    expect(child.signalCode).toBe('SIGKILL');
    // Lines read after the kill are commits too: all of them must be there.
    for (const l of buf.split('\n')) if (l.startsWith('committed ')) committed.push(l.slice('committed '.length));

    // The killed writer's lock is taken over.
    const s = store(path);
    const ids = new Set(s.incidents({ limit: 500 }).incidents.map((i) => i.id));
    const missing = committed.filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
    for (const id of committed.slice(-3)) expect(s.incident(id)?.history.map((h) => h.type)).toEqual(['opened', 'updated']);
    // A snapshot written under load reads back.
    expect(s.loadSnapshot()?.format).toBe('rootspan.analyzer');
  });
});

describe('file faults while open', () => {
  it('a file deleted under the store fails every write with a clear error (it took them silently)', async () => {
    const path = tempFile();
    const s = store(path);
    const rollup = { service: 'a', operation: 'GET /x', nodeType: 'service' as const, start: SHOP_START, durationMs: MIN, requests: 1, errors: 0, latency: null, selfTimeP95: null };
    s.write({ rollups: [rollup], incidents: [] });
    rmSync(path);
    expect(() => s.write({ rollups: [rollup], incidents: [] })).toThrow(/rootspan\.db was deleted or replaced while in use/);
  });
});

describe('retention', () => {
  it('deletes rollups and resolved incidents older than the retention, keeping open incidents', async () => {
    const path = tempFile();
    const s = store(path, { retention: { rollups: 60 * MIN, incidents: 120 * MIN } });
    const rollup = (start: number) => ({ service: 'a', operation: 'GET /x', nodeType: 'service' as const, start, durationMs: MIN, requests: 1, errors: 0, latency: null, selfTimeP95: null });
    const incident = (id: string, resolvedAt: number | null): Incident => ({
      id,
      status: resolvedAt === null ? 'active' : 'resolved',
      severity: 'low',
      title: id,
      openedAt: SHOP_START,
      updatedAt: SHOP_START,
      acknowledgedAt: null,
      resolvedAt,
      resolvedBy: resolvedAt === null ? null : 'auto',
      rootCause: { service: 'a', operation: 'GET /x', kind: 'latency', confidence: 1, explanation: '' },
      candidates: [],
      affected: [],
      anomalies: [],
      traceIds: [],
    });
    s.write({
      rollups: [0, 30, 59, 60, 61].map((m) => rollup(SHOP_START + m * MIN)),
      incidents: [
        { type: 'resolved', at: SHOP_START + MIN, incident: incident('old', SHOP_START + MIN) },
        { type: 'opened', at: SHOP_START, incident: incident('open', null) },
      ],
    });
    // The newest data so far ends at minute 62: the rollup of minute 0 is past the 60-minute retention.
    expect(s.rollups({ from: 0, to: Infinity })[0].points.map((p) => (p.start - SHOP_START) / MIN)).toEqual([30, 59, 60, 61]);
    expect(s.incidents().total).toBe(2);
    s.write({ rollups: [rollup(SHOP_START + 200 * MIN)], incidents: [] });
    // Newest is now minute 201: rollups before minute 141 and incidents resolved before minute 81 go.
    expect(s.rollups({ from: 0, to: Infinity })[0].points.map((p) => (p.start - SHOP_START) / MIN)).toEqual([200]);
    expect(s.incidents().incidents.map((i) => i.id)).toEqual(['open']);
    expect(s.incident('old')).toBeUndefined();
  });
});

describe('schema', () => {
  it('migrates a version 1 file, keeping its data', async () => {
    const path = tempFile();
    const db = openConnection(path, 'auto');
    migrate(db, 0, 1);
    const body = JSON.stringify({ id: 'inc-7', status: 'active', severity: 'high', affected: [{ service: 'checkout', operation: 'POST /checkout' }] });
    db.prepare(
      `INSERT INTO incidents (id, status, severity, severity_rank, title, opened_at, updated_at, root_service, root_operation, root_kind, confidence, explanation, candidates, affected, body)
       VALUES ('inc-7', 'active', 'high', 3, 't', 1, 1, 'payment', 'POST /pay', 'errors', 0.9, 'e', '[]', ?, ?)`,
    ).run(JSON.stringify([{ service: 'checkout', operation: 'POST /checkout' }]), body);
    expect((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(1);
    db.close();

    const s = store(path);
    const version = openConnection(path, 'auto');
    expect((version.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(SCHEMA_VERSION);
    version.close();
    // The service filter (added in version 2) finds the incident by its root cause and by an affected service.
    expect(s.incidents({ service: 'payment' }).incidents.map((i) => i.id)).toEqual(['inc-7']);
    expect(s.incidents({ service: 'checkout' }).incidents.map((i) => i.id)).toEqual(['inc-7']);
    expect(s.incidents({ service: 'shipping' }).total).toBe(0);
  });

  it('refuses a file written by a newer schema and leaves it untouched', async () => {
    const path = tempFile();
    await store(path).close();
    const db = openConnection(path, 'auto');
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = sha(path);
    expect(() => sqliteStore({ path })).toThrow(new RegExp(`${path}.*newer rootspan.*schema version ${SCHEMA_VERSION + 1}`));
    expect(sha(path)).toBe(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
  });
});

describe('bad files', () => {
  it('a file that is not SQLite: a clear error naming it, and the file is not changed', () => {
    const path = tempFile('notes.txt');
    writeFileSync(path, 'these are my notes, not a database\n'.repeat(200));
    const before = sha(path);
    let err: unknown;
    try {
      sqliteStore({ path });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SqliteStoreError);
    expect((err as SqliteStoreError).message).toContain(path);
    expect((err as SqliteStoreError).message).toMatch(/not a SQLite database/);
    expect((err as SqliteStoreError).file).toBe(path);
    expect(sha(path)).toBe(before);
  });

  it('a corrupt rootspan file: a clear error naming it', async () => {
    const path = tempFile();
    const s = store(path);
    s.write({ rollups: [], incidents: [], snapshot: createAnalyzer().snapshot() });
    await s.close();
    const bytes = readFileSync(path);
    // Keep the 100-byte header, scramble the schema page and everything after it.
    for (let i = 100; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
    writeFileSync(path, bytes);
    expect(() => sqliteStore({ path })).toThrow(SqliteStoreError);
    expect(() => sqliteStore({ path })).toThrow(new RegExp(`${path}.*(corrupt|malformed|not a database)`, 'i'));
  });

  it("another application's SQLite database is refused, not written to", () => {
    const path = tempFile('app.db');
    const db = openConnection(path, 'auto');
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    const before = sha(path);
    expect(() => sqliteStore({ path })).toThrow(new RegExp(`${path} is a SQLite database of another application.*users`));
    expect(sha(path)).toBe(before);
  });

  it('errors are RootspanErrors with a code, their message without a product prefix', () => {
    const notDb = tempFile('notes.db');
    writeFileSync(notDb, 'these are my notes, not a database');
    const caught = (fn: () => unknown): SqliteStoreError => {
      try {
        fn();
      } catch (err) {
        return err as SqliteStoreError;
      }
      throw new Error('expected a throw');
    };
    const err = caught(() => sqliteStore({ path: notDb }));
    expect(err).toBeInstanceOf(RootspanError);
    expect(err).toBeInstanceOf(SqliteStoreError);
    expect({ name: err.name, code: err.code, sqliteCode: err.sqliteCode, file: err.file }).toEqual({ name: 'SqliteStoreError', code: 'ERR_STORE_FILE', sqliteCode: 'SQLITE_NOTADB', file: notDb });
    expect(err.message.startsWith(`${notDb} is not a SQLite database`)).toBe(true);
    const bad = caught(() => store(tempFile()).attach(createAnalyzer(), { flushMs: -1 }));
    expect(bad).toBeInstanceOf(RootspanError);
    expect({ code: bad.code, message: bad.message }).toEqual({ code: 'ERR_OPTION', message: 'option flushMs must be a positive number, got -1' });
  });

  it('a missing directory is named', () => {
    const path = join(tempFile(), 'nope', 'x.db');
    expect(() => sqliteStore({ path })).toThrow(/directory .*nope does not exist/);
  });

  it('a full disk is reported and counted; the analyzer keeps working in memory and nothing pending is lost', async () => {
    const path = tempFile();
    await store(path).close();
    const errors: Error[] = [];
    // Room for one more page than the empty schema: the first real write fills it.
    const s = store(path, { maxSizeBytes: statSync(path).size + 4096, onError: (e) => errors.push(e) });
    const analyzer = createAnalyzer();
    const att = s.attach(analyzer);
    feed(analyzer, shopTraffic({ seed: 23, durationMs: 16 * MIN, faults: [{ service: 'payment', from: 10 * MIN, to: 12 * MIN, errorRate: 1 }] }));
    analyzer.flush();
    await att.flush();
    expect(analyzer.incidents().length).toBeGreaterThan(0);
    const st = att.stats();
    expect(st.writeErrors).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(SqliteStoreError);
    expect((errors[0] as SqliteStoreError).sqliteCode).toBe('SQLITE_FULL');
    expect((errors[0] as SqliteStoreError).code).toBe('ERR_STORE_IO');
    expect(errors[0].message).toContain(path);
    // What could not be written is still pending, to be retried.
    expect(st.pendingRollups + st.pendingIncidentChanges).toBeGreaterThan(0);
    expect(st.dropped).toBe(0);
  });
});

describe('permissions', () => {
  // Root writes any file: the check runs the opener as another user (nobody), which only root can do.
  it.runIf(process.getuid?.() === 0)('a file this process may not write: a clear error naming it, the file unchanged', async () => {
    const path = tempFile();
    const s = store(path);
    s.write({ rollups: [], incidents: [], snapshot: createAnalyzer().snapshot() });
    await s.close();
    chmodSync(dirname(path), 0o755);
    const before = sha(path);
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const script = `import(${JSON.stringify(dist)}).then((m) => { try { m.sqliteStore({ path: ${JSON.stringify(path)} }); console.log('opened'); } catch (e) { console.log(e.name + ': ' + e.message); } })`;
    const out = execFileSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
    expect(out).toContain(`SqliteStoreError: ${path} cannot be opened for writing by this process`);
    expect(sha(path)).toBe(before);
  });
});
