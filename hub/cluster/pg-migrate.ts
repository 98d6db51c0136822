/**
 * Versioned, idempotent schema steps in PostgreSQL, like store/database.ts `migrate` for SQLite:
 * `schema_migrations (module, step, applied_at)`; the steps of `module` that have not run yet run
 * in order, all in one transaction, under an advisory lock, so that nodes starting together apply
 * each step exactly once.
 */
import type { PgPool } from './pg-pool.ts';

/** The advisory lock key of migrations (any fixed 64-bit number not used by a team lock). */
const MIGRATE_LOCK = 0x736d6f6b65; // 'smoke'

export async function pgMigrate(pool: PgPool, module: string, steps: string[], now: () => number = Date.now): Promise<number> {
  return pool.withTransaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT NOT NULL, step INTEGER NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (module, step))',
    );
    const { rows } = await tx.query<{ s: number | null }>('SELECT MAX(step) AS s FROM schema_migrations WHERE module = $1', [module]);
    const done = rows[0]?.s ?? -1;
    for (let i = done + 1; i < steps.length; i++) {
      await tx.query(steps[i]!);
      await tx.query('INSERT INTO schema_migrations (module, step, applied_at) VALUES ($1, $2, $3)', [module, i, now()]);
    }
    return steps.length - 1 - done;
  });
}
