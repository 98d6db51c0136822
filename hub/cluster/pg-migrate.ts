/**
 * Versioned, idempotent schema steps in PostgreSQL, like store/database.ts `migrate` for SQLite:
 * `schema_migrations (module, step, applied_at)`. The steps of `module` that have not run yet run in
 * order, each in its own transaction under an advisory lock, so that nodes starting together apply
 * each step exactly once. Never edit a step; append one.
 */
import type pg from 'pg';
import { isConnectionError, type PgPool } from './pg-pool.ts';

/** The advisory lock key of migrations (any fixed 64-bit number not used by a team or registry lock). */
const MIGRATE_LOCK = 0x736d6f6b65; // 'smoke'

/** Applies the steps not yet run on a plain `pg.Pool`; returns how many ran. */
export async function migratePgSteps(pool: pg.Pool, module: string, steps: readonly string[], now: () => number = Date.now): Promise<number> {
  const client = await pool.connect();
  let ran = 0;
  let failure: unknown;
  try {
    for (;;) {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT NOT NULL, step INTEGER NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (module, step))',
        );
        const { rows } = await client.query<{ s: number | null }>('SELECT MAX(step) AS s FROM schema_migrations WHERE module = $1', [module]);
        const next = (rows[0]?.s ?? -1) + 1;
        if (next >= steps.length) {
          await client.query('COMMIT');
          return ran;
        }
        await client.query(steps[next]!);
        await client.query('INSERT INTO schema_migrations (module, step, applied_at) VALUES ($1, $2, $3)', [module, next, now()]);
        await client.query('COMMIT');
        ran++;
      } catch (err) {
        failure = err;
        if (!isConnectionError(err)) await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
  } finally {
    // A connection that failed is closed, not handed out again.
    client.release(failure !== undefined && isConnectionError(failure) ? (failure as Error) : undefined);
  }
}

/** The same through the cluster's PgPool wrapper. */
export function pgMigrate(pool: PgPool, module: string, steps: readonly string[], now?: () => number): Promise<number> {
  return migratePgSteps(pool.pool, module, steps, now);
}
