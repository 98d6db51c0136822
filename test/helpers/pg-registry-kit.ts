/**
 * The registry contract's adapter: one async face over `SqliteRegistryStore` (sync writes and
 * sessions) and `PgRegistryStore` (async), so that test/integration/cluster/pg-registry.test.ts
 * states each behaviour once and runs it against both. Each subject is a fresh, empty registry
 * (a temp data dir, or a new PostgreSQL database), closed by the test's `after`.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { PgRegistryStore } from '../../hub/cluster/pg-registry.ts';
import { PG_TYPES } from '../../hub/cluster/pg-registry-schema.ts';
import type { ManualClock } from '../../hub/core/clock.ts';
import { silentLogger } from '../../hub/observability/logger.ts';
import { importCsv, importCsvAsync, type ImportResult } from '../../hub/store/csv-import.ts';
import type { SqliteRegistryStore } from '../../hub/store/registry-store.ts';
import type { PostgresServer } from './postgres-server.ts';
import { tempRegistry } from './registry-kit.ts';

export interface RegistrySubject {
  kind: 'sqlite' | 'postgres';
  store: SqliteRegistryStore | PgRegistryStore;
  import(text: string, opts?: { allowMoves?: boolean }): Promise<ImportResult>;
  /** Runs SQL straight on the database (as another writer would), then lets the store see it. */
  exec(sql: string): Promise<void>;
  /** Rows of a query, straight from the database. */
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
}

export function sqliteSubject(t: TestContext, clock?: ManualClock): RegistrySubject {
  const { db, store } = tempRegistry(t, clock);
  return {
    kind: 'sqlite',
    store,
    import: async (text, opts) => importCsv(store, text, opts),
    exec: async (sql) => {
      db.exec(sql);
      store.invalidate();
    },
    rows: async (sql) => db.prepare(sql).all() as Array<Record<string, unknown>>,
  };
}

let databases = 0;

/** A new database on the server, its name. */
export function createDatabase(server: PostgresServer, prefix = 'reg'): string {
  const name = `${prefix}_${process.pid}_${++databases}`;
  server.sql(`CREATE DATABASE ${name}`);
  return name;
}

export async function openPgStore(
  t: TestContext,
  url: string,
  opts: { clock?: ManualClock; hubKey?: Buffer; heartbeatMs?: number; reloadRetryMs?: number; listenRetryMs?: number } = {},
): Promise<PgRegistryStore> {
  const store = await PgRegistryStore.open({
    url,
    hubKey: opts.hubKey ?? randomBytes(32),
    clock: opts.clock,
    logger: silentLogger(),
    listenRetryMs: opts.listenRetryMs ?? 50,
    listenMaxRetryMs: Math.max(200, opts.listenRetryMs ?? 0),
    heartbeatMs: opts.heartbeatMs,
    reloadRetryMs: opts.reloadRetryMs ?? 100,
  });
  t.after(() => store.close());
  return store;
}

/** A pool for the test's own SQL on a database (closed by `after`). */
export function testPool(t: TestContext, url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, types: PG_TYPES, max: 2 });
  pool.on('error', () => {});
  t.after(() => pool.end());
  return pool;
}

export async function pgSubject(t: TestContext, server: PostgresServer, clock?: ManualClock): Promise<RegistrySubject> {
  const url = server.url(createDatabase(server));
  const store = await openPgStore(t, url, { clock });
  const pool = testPool(t, url);
  return {
    kind: 'postgres',
    store,
    import: (text, opts) => importCsvAsync(store, text, opts),
    exec: async (sql) => {
      await pool.query(sql);
      await store.refresh();
    },
    rows: async (sql) => (await pool.query(sql)).rows as Array<Record<string, unknown>>,
  };
}

/** Waits until `check` holds (polling every 10 ms); returns the ms it took, or throws after `ms`. */
export async function within(ms: number, check: () => boolean, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (check()) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
