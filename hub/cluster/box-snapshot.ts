/**
 * A single box's database read for `smokehub migrate` WITHOUT touching its data directory: the
 * file is copied into an in-memory SQLite database, which is then brought up to the current schema
 * (registry and journal migrations, as the hub does at start) and read from. The data dir is never
 * opened for writing and never migrated.
 *
 * - No `smokehub.db-wal` beside the file (the hub was stopped cleanly): the file's bytes are the
 *   whole database; it is read with readFileSync, SQLite never opens it.
 * - A `-wal` is there (the hub crashed, or still runs): SQLite opens the file read-only, so that
 *   the commits still in the WAL are read too, and serializes it (the data is not changed; SQLite
 *   may create an empty `-shm` beside it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { NotFoundError } from '../protocol/errors.ts';
import { AlarmJournal } from '../store/alarm-journal.ts';
import { DB_FILE, type Db } from '../store/database.ts';
import { migrateRegistry } from '../store/registry-schema.ts';

/** Header bytes 18 and 19 (file format write/read versions): 2 = WAL, 1 = rollback journal. */
const FORMAT_BYTES = [18, 19] as const;

function snapshotBytes(file: string): Buffer {
  if (!existsSync(`${file}-wal`)) return readFileSync(file);
  const ro = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return ro.serialize();
  } finally {
    ro.close();
  }
}

/** The box's database, as it is now, in memory and at the current schema. Close it when done. */
export function openBoxSnapshot(dataDir: string): Db {
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file)) throw new NotFoundError(`${file} does not exist: give the single box's data directory with --from`);
  const bytes = snapshotBytes(file);
  // An in-memory database cannot be in WAL mode: mark the copy as a rollback-journal database.
  if (bytes.length >= 100) for (const i of FORMAT_BYTES) bytes[i] = 1;
  const db = new Database(bytes);
  try {
    db.pragma('foreign_keys = ON');
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT NOT NULL, step INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (module, step))',
    );
    migrateRegistry(db);
    new AlarmJournal(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
