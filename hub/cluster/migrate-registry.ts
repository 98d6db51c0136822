/**
 * The registry part of `smokehub migrate --from DATA --postgres URL`: copies a single box's
 * teams, households (card and phones included), devices (with their secret hashes, '!zigbee' ones
 * too), users (with their password hashes) and live login sessions from DATA/smokehub.db into the
 * PostgreSQL registry (hub/cluster/pg-registry-schema.ts), in ONE transaction, rows as they are.
 *
 * - Idempotent: rows already in PostgreSQL exactly as in the data dir are left alone, so running it
 *   again copies nothing and succeeds.
 * - A target that holds something else (rows not from this data dir, or rows that differ from it)
 *   is refused (`conflict`, nothing written) unless `force`: then the data dir's rows are written
 *   over theirs (the target's other rows are kept).
 * - The data dir is only read (box-snapshot.ts): its database is copied into memory first.
 * - Split for `smokehub migrate` (migrate-box.ts), which runs it in one transaction with the
 *   journal: readRegistrySource (the box), loadRegistryTarget (PostgreSQL), planRegistryCopy (pure),
 *   writeRegistryCopy.
 * - Device secrets are HMACs under DATA/hub.key: every node must be given that same key file, or no
 *   device can log in. The result names it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { ERROR_CODES, NotFoundError, SmokehubError } from '../protocol/errors.ts';
import { HUB_KEY_FILE } from '../store/credentials.ts';
import type { Db } from '../store/database.ts';
import { openBoxSnapshot } from './box-snapshot.ts';
import { inTransaction, migratePgRegistry, REGISTRY_WRITE_LOCK } from './pg-registry-schema.ts';

interface TableCopy {
  name: 'teams' | 'households' | 'devices' | 'users' | 'sessions';
  key: string;
  columns: Array<[name: string, pgType: string]>;
}

/** In foreign-key order. */
const TABLES: TableCopy[] = [
  {
    name: 'teams',
    key: 'id',
    columns: [
      ['id', 'text'],
      ['created_at', 'int8'],
    ],
  },
  {
    name: 'households',
    key: 'id',
    columns: [
      ['id', 'text'],
      ['team', 'text'],
      ['name', 'text'],
      ['address', 'text'],
      ['phone', 'text'],
      ['phones', 'text'],
      ['lat', 'float8'],
      ['lon', 'float8'],
      ['access', 'text'],
      ['hazards', 'text'],
      ['vulnerable', 'text'],
      ['water', 'text'],
      ['created_at', 'int8'],
      ['updated_at', 'int8'],
    ],
  },
  {
    name: 'devices',
    key: 'id',
    columns: [
      ['id', 'text'],
      ['household', 'text'],
      ['kind', 'text'],
      ['secret_hash', 'text'],
      ['enrolled_at', 'int8'],
      ['updated_at', 'int8'],
    ],
  },
  {
    name: 'users',
    key: 'username',
    columns: [
      ['username', 'text'],
      ['role', 'text'],
      ['team', 'text'],
      ['household', 'text'],
      ['password_hash', 'text'],
      ['created_at', 'int8'],
    ],
  },
  {
    name: 'sessions',
    key: 'token_hash',
    columns: [
      ['token_hash', 'text'],
      ['username', 'text'],
      ['created_at', 'int8'],
      ['last_seen', 'int8'],
      ['expires_at', 'int8'],
    ],
  },
];

export type MigratedTable = TableCopy['name'];

export interface MigrateRegistryOptions {
  /** The single box's data directory (DATA, holding smokehub.db and hub.key). */
  from: string;
  /** The cluster's PostgreSQL (the registry's tables are created when missing). */
  pool: pg.Pool;
  /** Write over a target that holds other or different rows. */
  force?: boolean;
  /** Sessions that expired before this are not copied (default: now). */
  now?: () => number;
}

export interface MigrateRegistryResult {
  /** Per table: rows written (new or, with force, over different ones) and rows already there as they are. */
  tables: Record<MigratedTable, { copied: number; unchanged: number }>;
  /** Rows the target held that are not the data dir's (kept); non-zero only with force. */
  foreign: number;
  /** The key every node needs (DATA/hub.key), or null when the data dir has none (no devices). */
  hubKeyFile: string | null;
}

type Row = Record<string, unknown>;

function same(a: Row, b: Row, t: TableCopy): boolean {
  return t.columns.every(([c]) => a[c] === b[c]);
}

/** Rows per table (the box's, or the target's). */
export type RegistryRows = Map<MigratedTable, Row[]>;

/** What the box holds: its rows, and its hub key file (null: none). */
export interface RegistrySource {
  rows: RegistryRows;
  hubKeyFile: string | null;
}

/** Reads the box's registry from its snapshot; refuses devices without DATA/hub.key. */
export function readRegistrySource(db: Db, from: string, now: number): RegistrySource {
  const rows: RegistryRows = new Map();
  for (const t of TABLES) {
    const where = t.name === 'sessions' ? ' WHERE expires_at > ?' : '';
    const cols = t.columns.map(([c]) => c).join(', ');
    const stmt = db.prepare(`SELECT ${cols} FROM ${t.name}${where}`);
    rows.set(t.name, (t.name === 'sessions' ? stmt.all(now) : stmt.all()) as Row[]);
  }
  const keyFile = join(from, HUB_KEY_FILE);
  const hasKey = existsSync(keyFile);
  if (!hasKey && rows.get('devices')!.length > 0)
    throw new NotFoundError(`${keyFile} is missing: the devices' secrets cannot be checked without it; restore it from a backup first`);
  return { rows, hubKeyFile: hasKey ? keyFile : null };
}

/** The target's rows (call inside the migration's transaction). */
export async function loadRegistryTarget(c: pg.ClientBase): Promise<RegistryRows> {
  const rows: RegistryRows = new Map();
  for (const t of TABLES) {
    const cols = t.columns.map(([col]) => col).join(', ');
    rows.set(t.name, (await c.query<Row>(`SELECT ${cols} FROM ${t.name}`)).rows);
  }
  return rows;
}

export interface RegistryPlan {
  tables: MigrateRegistryResult['tables'];
  foreign: number;
  /** Why the target is not this box's registry (empty: it is, or it is empty). */
  clashes: string[];
  write: RegistryRows;
}

/** What to write, and what clashes (pure). */
export function planRegistryCopy(source: RegistryRows, target: RegistryRows, from: string): RegistryPlan {
  const plan: RegistryPlan = { tables: {} as RegistryPlan['tables'], foreign: 0, clashes: [], write: new Map() };
  for (const t of TABLES) {
    const rows = target.get(t.name) ?? [];
    const there = new Map(rows.map((r) => [r[t.key] as string, r]));
    const mine = source.get(t.name) ?? [];
    const keys = new Set(mine.map((r) => r[t.key] as string));
    const write = mine.filter((r) => {
      const theirs = there.get(r[t.key] as string);
      return !theirs || !same(r, theirs, t);
    });
    const differing = write.filter((r) => there.has(r[t.key] as string)).length;
    const foreign = rows.filter((r) => !keys.has(r[t.key] as string)).length;
    if (differing + foreign > 0) plan.clashes.push(`${t.name}: ${differing} different, ${foreign} not from ${from}`);
    plan.foreign += foreign;
    plan.write.set(t.name, write);
    plan.tables[t.name] = { copied: write.length, unchanged: mine.length - write.length };
  }
  return plan;
}

/** Writes the plan's rows (in foreign-key order), over the target's where they differ. */
export async function writeRegistryCopy(c: pg.ClientBase, plan: RegistryPlan): Promise<void> {
  for (const t of TABLES) {
    const rows = plan.write.get(t.name) ?? [];
    if (rows.length === 0) continue;
    const names = t.columns.map(([col]) => col);
    const args = t.columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
    const set = names
      .filter((n) => n !== t.key)
      .map((n) => `${n} = EXCLUDED.${n}`)
      .join(', ');
    await c.query(
      `INSERT INTO ${t.name} (${names.join(', ')}) SELECT * FROM unnest(${args}) ON CONFLICT (${t.key}) DO UPDATE SET ${set}`,
      names.map((n) => rows.map((r) => r[n])),
    );
  }
}

/** The refusal of a target that is not this box's (nothing written). */
export function targetConflict(clashes: readonly string[], from: string): SmokehubError {
  return new SmokehubError(
    ERROR_CODES.CONFLICT,
    `PostgreSQL already holds another registry or journal (${clashes.join('; ')}); nothing was copied. Give --force to write ${from}'s rows over it`,
  );
}

export async function migrateRegistryToPostgres(opts: MigrateRegistryOptions): Promise<MigrateRegistryResult> {
  const now = (opts.now ?? Date.now)();
  const db = openBoxSnapshot(opts.from);
  let source: RegistrySource;
  try {
    source = readRegistrySource(db, opts.from, now);
  } finally {
    db.close();
  }
  await migratePgRegistry(opts.pool, opts.now);
  return inTransaction(opts.pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_WRITE_LOCK]);
    const plan = planRegistryCopy(source.rows, await loadRegistryTarget(c), opts.from);
    if (plan.clashes.length > 0 && !opts.force) throw targetConflict(plan.clashes, opts.from);
    await writeRegistryCopy(c, plan);
    return { tables: plan.tables, foreign: plan.foreign, hubKeyFile: source.hubKeyFile };
  });
}
