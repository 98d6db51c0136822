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
import { isConnectionError } from './pg-pool.ts';

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

/**
 * A pool for the registry: numbers for BIGINT, and a connection's error (PostgreSQL restarted or
 * unreachable) logged, never thrown. pg-pool listens for errors of idle connections only; a
 * connection checked out (a reload or a transaction under way) that loses its server between two
 * statements, or after its statement failed, would emit an 'error' nobody hears: an uncaught
 * exception. So every connection gets its own listener for its whole life.
 */
export function openPgPool(url: string, opts: { max?: number; onError?: (err: Error) => void } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, types: PG_TYPES, max: opts.max ?? 10, keepAlive: true });
  pool.on('connect', (client) => client.on('error', (err) => opts.onError?.(err)));
  // The same error as the client's (heard above): pg-pool re-emits an idle connection's here.
  pool.on('error', () => {});
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

/** Gives a client back; one whose connection failed is closed, never handed out again. */
function release(client: pg.PoolClient, err: unknown): void {
  client.release(err !== undefined && isConnectionError(err) ? (err as Error) : undefined);
}

/**
 * Runs `fn` in a transaction on one pooled client (rolled back when it throws). A connection error
 * before COMMIT was sent (a pooled connection that died with a PostgreSQL restart, the server gone
 * mid-way: nothing was committed) runs the whole transaction once more on a new connection, so
 * `fn` must be safe to run again. A connection lost during COMMIT is thrown (it may have committed).
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const state = { committing: false };
    try {
      return await transactionOnce(pool, fn, state);
    } catch (err) {
      if (attempt >= 2 || state.committing || !isConnectionError(err)) throw err;
    }
  }
}

async function transactionOnce<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, state: { committing: boolean }): Promise<T> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    state.committing = true;
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failure = err;
    // On a lost connection the server rolls back by itself (and a ROLLBACK could only fail).
    if (!isConnectionError(err)) await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    release(client, failure);
  }
}

/**
 * One statement that may run twice without harm (a read, or a write whose repetition changes
 * nothing), run once more on a new connection when its connection failed.
 */
export async function queryRetrying<R extends pg.QueryResultRow = Record<string, unknown>>(
  pool: pg.Pool,
  sql: string,
  params?: unknown[],
): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(sql, params);
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    return pool.query<R>(sql, params);
  }
}

/** Reads on the pool, each retried once after a connection error (see queryRetrying). */
export function retryingReads(pool: pg.Pool): Pick<pg.PoolClient, 'query'> {
  return { query: ((sql: string, params?: unknown[]) => queryRetrying(pool, sql, params)) as pg.PoolClient['query'] };
}

/** SQLSTATEs the registry maps to its own errors. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';
export function pgErrorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}
