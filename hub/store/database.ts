/**
 * The hub's SQLite database (better-sqlite3, WAL). Each store module owns its tables and brings
 * them up to date with `migrate(db, module, steps)`: steps run once, in order, in a transaction.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../core/clock.ts';

export type Db = Database.Database;

/** The hub's own database file in the data directory. */
export const DB_FILE = 'smokehub.db';

/**
 * `synchronous`: FULL (default) fsyncs every commit on the calling thread. The running hub opens its
 * database with NORMAL and makes commits durable off the event loop (wal-durability.ts).
 */
export function openDatabase(dataDir: string, file = DB_FILE, opts: { synchronous?: 'FULL' | 'NORMAL' } = {}): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, file));
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT NOT NULL, step INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (module, step))',
  );
  return db;
}

/** Applies the steps of `module` that have not run yet. Step i is `steps[i]` (SQL); `clock` dates them. */
export function migrate(db: Db, module: string, steps: string[], clock: Pick<Clock, 'now'> = systemClock): void {
  const row = db.prepare('SELECT MAX(step) AS s FROM schema_migrations WHERE module = ?').get(module) as { s: number | null };
  const done = row.s ?? -1;
  const insert = db.prepare('INSERT INTO schema_migrations (module, step, applied_at) VALUES (?, ?, ?)');
  for (let i = done + 1; i < steps.length; i++) {
    db.transaction(() => {
      db.exec(steps[i]!);
      insert.run(module, i, clock.now());
    })();
  }
}
