/**
 * `smokehub migrate --from DATA --postgres URL`: a single box's registry (teams, households,
 * devices, users, sessions; migrate-registry.ts) and alarm journal (every alarm with its timeline,
 * record, view and next deadline, and the seen event ids; migrate-journal.ts) copied into
 * PostgreSQL in ONE transaction: either everything is there afterwards, or nothing was written.
 *
 * - The data dir is only read: its database is copied into memory first (box-snapshot.ts).
 * - Idempotent: what is already there as it is is left alone; a second run copies nothing.
 * - A target holding other or different rows, in any table, is refused (`conflict`, with every
 *   clash named) unless `force`: then the box's rows are written over theirs, the others kept.
 * - The tables are created first when missing (their own migrations, each in its transaction).
 * - Run it with the hub stopped: alarms raised on the box afterwards are not in PostgreSQL.
 */
import type pg from 'pg';
import { openBoxSnapshot } from './box-snapshot.ts';
import { loadJournalTarget, planJournalCopy, readJournalSource, writeJournalCopy, type JournalPlan, type JournalRows } from './migrate-journal.ts';
import {
  loadRegistryTarget,
  planRegistryCopy,
  readRegistrySource,
  targetConflict,
  writeRegistryCopy,
  type MigrateRegistryResult,
  type RegistrySource,
} from './migrate-registry.ts';
import { PG_JOURNAL_STEPS } from './pg-journal.ts';
import { migratePgSteps } from './pg-migrate.ts';
import { inTransaction, migratePgRegistry, REGISTRY_WRITE_LOCK } from './pg-registry-schema.ts';

export interface MigrateBoxOptions {
  /** The single box's data directory (DATA: smokehub.db, hub.key). */
  from: string;
  /** The cluster's PostgreSQL; BIGINT must read as numbers (pg-registry-schema.ts PG_TYPES). */
  pool: pg.Pool;
  force?: boolean;
  /** Sessions expired before this are not copied; dates the schema steps (default: now). */
  now?: () => number;
}

export interface MigrateBoxResult {
  registry: MigrateRegistryResult['tables'];
  journal: JournalPlan['tables'];
  /** The box's open alarms, and those of them with a pending deadline. */
  open: number;
  deadlines: number;
  /** Rows the target held that are not the box's (kept); non-zero only with force. */
  foreign: number;
  /** What the target held that clashed, written over (force); empty otherwise. */
  overridden: string[];
  /** The key every node needs (DATA/hub.key), or null when the data dir has none (no devices). */
  hubKeyFile: string | null;
}

/** Nothing was written by this run (a second run). */
export function nothingCopied(r: MigrateBoxResult): boolean {
  return [...Object.values(r.registry), ...Object.values(r.journal)].every((t) => t.copied === 0);
}

export async function migrateBoxToPostgres(opts: MigrateBoxOptions): Promise<MigrateBoxResult> {
  const clock = opts.now ?? Date.now;
  const db = openBoxSnapshot(opts.from);
  let registry: RegistrySource;
  let journal: JournalRows;
  try {
    registry = readRegistrySource(db, opts.from, clock());
    journal = readJournalSource(db);
  } finally {
    db.close();
  }
  await migratePgRegistry(opts.pool, clock);
  await migratePgSteps(opts.pool, 'alarm-journal', PG_JOURNAL_STEPS, clock);
  return inTransaction(opts.pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_WRITE_LOCK]);
    const reg = planRegistryCopy(registry.rows, await loadRegistryTarget(c), opts.from);
    const jour = planJournalCopy(journal, await loadJournalTarget(c), opts.from);
    const clashes = [...reg.clashes, ...jour.clashes];
    if (clashes.length > 0 && !opts.force) throw targetConflict(clashes, opts.from);
    await writeRegistryCopy(c, reg);
    await writeJournalCopy(c, jour);
    return {
      registry: reg.tables,
      journal: jour.tables,
      open: jour.open,
      deadlines: jour.deadlines,
      foreign: reg.foreign + jour.foreign,
      overridden: clashes,
      hubKeyFile: registry.hubKeyFile,
    };
  });
}
