/**
 * The registry's tables in PostgreSQL (a cluster's shared registry: teams, households, devices,
 * users, sessions) and the migrations that bring a database up to date.
 *
 * Row shapes are the SQLite registry's (hub/store/registry-schema.ts): the same columns, times in
 * ms as BIGINT (read back as numbers, see PG_TYPES), `phones` joined by ';' (NULL: derive from
 * `phone`), `secret_hash` '!zigbee' (GATEWAY_MANAGED) for devices a Zigbee gateway speaks for. So
 * the SQLite read index (hub/store/registry-cache.ts buildRegistryIndex) is built from either.
 *
 * Every write to teams, households, devices or users sends `NOTIFY smokehub_registry` with the
 * table's name (a statement trigger, so the CLI, another node or psql are all heard); each node's
 * LISTEN connection reloads its index. Sessions are never cached, so they send nothing.
 *
 * Migrations: pg-migrate.ts (recorded in `schema_migrations`, as in SQLite). Never edit a step;
 * append one.
 */
import pg from 'pg';
import { migratePgSteps } from './pg-migrate.ts';

/** The NOTIFY channel of registry writes; the payload is the table written. */
export const REGISTRY_CHANNEL = 'smokehub_registry';

/** Advisory lock key (pg_advisory_xact_lock) of registry writes that read then write. */
export const REGISTRY_WRITE_LOCK = 0x736d6b02;

/** INT8 (BIGINT, COUNT(*)) as a JS number: ms timestamps and counts fit in 2^53. */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** A pool for the registry: numbers for BIGINT, and an idle client's error (a restart) logged, never thrown. */
export function openPgPool(url: string, opts: { max?: number; onError?: (err: Error) => void } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, types: PG_TYPES, max: opts.max ?? 10, keepAlive: true });
  pool.on('error', (err) => opts.onError?.(err));
  return pool;
}

const NOTIFYING_TABLES = ['teams', 'households', 'devices', 'users'] as const;

export const REGISTRY_STEPS = [
  `CREATE TABLE teams (
     id TEXT PRIMARY KEY,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE households (
     id TEXT PRIMARY KEY,
     team TEXT NOT NULL REFERENCES teams(id),
     name TEXT NOT NULL,
     address TEXT NOT NULL,
     phone TEXT NOT NULL DEFAULT '',
     phones TEXT,
     lat DOUBLE PRECISION,
     lon DOUBLE PRECISION,
     access TEXT NOT NULL DEFAULT '',
     hazards TEXT NOT NULL DEFAULT '',
     vulnerable TEXT NOT NULL DEFAULT '',
     water TEXT NOT NULL DEFAULT '',
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE INDEX households_team ON households(team);
   CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     household TEXT NOT NULL REFERENCES households(id),
     kind TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     enrolled_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL
   );
   CREATE INDEX devices_household ON devices(household);
   CREATE TABLE users (
     username TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN ('station', 'team-leader', 'household')),
     team TEXT REFERENCES teams(id),
     household TEXT REFERENCES households(id),
     password_hash TEXT NOT NULL,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
     created_at BIGINT NOT NULL,
     last_seen BIGINT NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX sessions_user ON sessions(username);
   CREATE INDEX sessions_expiry ON sessions(expires_at);
   CREATE FUNCTION smokehub_registry_notify() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM pg_notify('${REGISTRY_CHANNEL}', TG_TABLE_NAME);
     RETURN NULL;
   END $$;
   ${NOTIFYING_TABLES.map(
     (t) => `CREATE TRIGGER ${t}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t}
     FOR EACH STATEMENT EXECUTE FUNCTION smokehub_registry_notify();`,
   ).join('\n   ')}`,
  // A device's name as people know it (a Zigbee device's friendly name), as in SQLite.
  `ALTER TABLE devices ADD COLUMN label TEXT;`,
];

/** Creates or updates the registry's tables (module `registry`). */
export function migratePgRegistry(pool: pg.Pool, now?: () => number): Promise<number> {
  return migratePgSteps(pool, 'registry', REGISTRY_STEPS, now);
}

/** Runs `fn` in a transaction on one pooled client (rolled back when it throws). */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    client.release();
  }
}

/** SQLSTATEs the registry maps to its own errors. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
export function pgErrorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}
