/**
 * Worker thread of the database lock fault: holds the write lock of the service's database file for the
 * hold time, lets go for a moment, and takes it again, until told to stop. Writers in the service wait for
 * it (better-sqlite3 is synchronous, so the whole service waits, as it would in production) and fail with
 * SQLITE_BUSY after the busy timeout.
 */
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, control } = workerData as { file: string; control: Int32Array };
/** Time between two holds, so some writes get through. */
const GAP_MS = 20;

const db = new Database(file);
db.pragma('busy_timeout = 5000');
for (;;) {
  const hold = Atomics.load(control, 0);
  if (hold < 0) break;
  if (hold === 0) {
    Atomics.wait(control, 0, 0);
    continue;
  }
  db.exec('BEGIN IMMEDIATE');
  // Wakes early when the hold time changes (cleared, or the service is closing).
  Atomics.wait(control, 0, hold, hold);
  db.exec('COMMIT');
  Atomics.wait(control, 0, Atomics.load(control, 0), GAP_MS);
}
db.close();
