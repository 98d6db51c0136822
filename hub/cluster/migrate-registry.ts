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
 * - Device secrets are HMACs under DATA/hub.key: every node must be given that same key file, or no
 *   device can log in. The result names it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { ERROR_CODES, NotFoundError, SmokehubError } from '../protocol/errors.ts';
import { HUB_KEY_FILE } from '../store/credentials.ts';
import { DB_FILE, openDatabase } from '../store/database.ts';
import { migrateRegistry } from '../store/registry-schema.ts';
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

export async function migrateRegistryToPostgres(opts: MigrateRegistryOptions): Promise<MigrateRegistryResult> {
  const dbFile = join(opts.from, DB_FILE);
  if (!existsSync(dbFile)) throw new NotFoundError(`${dbFile} does not exist: give the single box's data directory with --from`);
  const now = (opts.now ?? Date.now)();
  const keyFile = join(opts.from, HUB_KEY_FILE);
  const source = new Map<MigratedTable, Row[]>();
  const db = openDatabase(opts.from);
  try {
    // As the hub does at start: an older data file gets the current columns first.
    migrateRegistry(db);
    for (const t of TABLES) {
      const where = t.name === 'sessions' ? ' WHERE expires_at > ?' : '';
      const cols = t.columns.map(([c]) => c).join(', ');
      const stmt = db.prepare(`SELECT ${cols} FROM ${t.name}${where}`);
      source.set(t.name, (t.name === 'sessions' ? stmt.all(now) : stmt.all()) as Row[]);
    }
  } finally {
    db.close();
  }
  const hasKey = existsSync(keyFile);
  if (!hasKey && source.get('devices')!.length > 0)
    throw new NotFoundError(`${keyFile} is missing: the devices' secrets cannot be checked without it; restore it from a backup first`);

  await migratePgRegistry(opts.pool, opts.now);
  const result: MigrateRegistryResult = {
    tables: {} as MigrateRegistryResult['tables'],
    foreign: 0,
    hubKeyFile: hasKey ? keyFile : null,
  };
  await inTransaction(opts.pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_WRITE_LOCK]);
    const toWrite = new Map<MigratedTable, Row[]>();
    const clashes: string[] = [];
    for (const t of TABLES) {
      const cols = t.columns.map(([col]) => col).join(', ');
      const { rows } = await c.query<Row>(`SELECT ${cols} FROM ${t.name}`);
      const target = new Map(rows.map((r) => [r[t.key] as string, r]));
      const mine = source.get(t.name)!;
      const keys = new Set(mine.map((r) => r[t.key] as string));
      const write = mine.filter((r) => {
        const there = target.get(r[t.key] as string);
        return !there || !same(r, there, t);
      });
      const differing = write.filter((r) => target.has(r[t.key] as string)).length;
      const foreign = rows.filter((r) => !keys.has(r[t.key] as string)).length;
      if (differing + foreign > 0) clashes.push(`${t.name}: ${differing} different, ${foreign} not from ${opts.from}`);
      result.foreign += foreign;
      toWrite.set(t.name, write);
      result.tables[t.name] = { copied: write.length, unchanged: mine.length - write.length };
    }
    if (clashes.length > 0 && !opts.force)
      throw new SmokehubError(
        ERROR_CODES.CONFLICT,
        `PostgreSQL already holds another registry (${clashes.join('; ')}); nothing was copied. Give --force to write ${opts.from}'s rows over it`,
      );
    for (const t of TABLES) {
      const rows = toWrite.get(t.name)!;
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
  });
  return result;
}
