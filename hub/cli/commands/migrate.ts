/** `smokehub migrate --from DATA --postgres URL [--force]`: a single box's registry and journal into a cluster's PostgreSQL. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { migrateBoxToPostgres, nothingCopied, type MigrateBoxResult } from '../../cluster/migrate-box.ts';
import { MissingDataError } from '../data-dir.ts';
import { DB_FILE } from '../../store/database.ts';
import { intFlag, parseCommandArgs, stringFlag, UsageError, type ParsedArgs } from '../args.ts';
import type { CliCommand, CliIo } from '../command.ts';
import { DEFAULT_CONNECT_TIMEOUT_MS, openCliPool, POSTGRES_ENV, postgresUrl, redactUrl, withPgErrors } from '../postgres-target.ts';

const HELP = `Usage: smokehub migrate --from DATA --postgres URL [--force] [--connect-timeout S]

Copies a single box's data directory into a cluster's PostgreSQL (docs/cluster.md), in ONE
transaction: teams, households, devices (with their secret hashes), users (with their password
hashes), live login sessions, and the whole alarm journal — every alarm, open and closed, with its
timeline, its record and view, and its next deadline — and the seen event ids.
Stop the hub first: what it journals afterwards is not copied. DATA is only read.

Running it again copies nothing and says so. A PostgreSQL that already holds other or different
rows is refused (exit 1, every clash named, nothing written) unless --force: then DATA's rows are
written over theirs (an alarm with its whole timeline), and the target's other rows are kept.
Every node needs DATA/hub.key: device secrets are checked with it.

Options:
  --from DATA           the single box's data directory (holding smokehub.db and hub.key)
  --postgres URL        the cluster's PostgreSQL, postgres://USER:PASS@HOST:PORT/DB (env ${POSTGRES_ENV})
  --force               write over a target that holds other or different rows
  --connect-timeout S   seconds to wait for PostgreSQL (default ${DEFAULT_CONNECT_TIMEOUT_MS / 1000})

Exit: 0 copied (or nothing to copy), 1 refused or failed (the reason on stderr), 2 bad usage.`;

const FLAGS = { from: { type: 'string' }, postgres: { type: 'string' }, force: { type: 'boolean' }, 'connect-timeout': { type: 'string' } } as const;

function parse(argv: string[], io: CliIo): { args: ParsedArgs; from: string; url: string } {
  const args = parseCommandArgs(argv, FLAGS);
  const from = stringFlag(args, 'from');
  if (from === undefined) throw new UsageError('--from DATA is required (the single box to migrate)');
  const url = postgresUrl(stringFlag(args, 'postgres'), io);
  if (url === null) throw new UsageError(`--postgres URL is required (or env ${POSTGRES_ENV})`);
  return { args, from: resolve(from), url };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function tableLine(tables: Record<string, { copied: number; unchanged: number }>): string {
  return Object.entries(tables)
    .map(([name, t]) => `${name} ${t.copied} copied, ${t.unchanged} already there`)
    .join('; ');
}

export function migrateSummary(r: MigrateBoxResult, from: string, url: string): string {
  const head = nothingCopied(r) ? `nothing to copy: ${redactUrl(url)} already holds everything of ${from}\n` : `migrated ${from} into ${redactUrl(url)}\n`;
  const lines = [
    head,
    `  registry: ${tableLine(r.registry)}\n`,
    `  journal: ${tableLine(r.journal)}; ${plural(r.open, 'open alarm')}, ${r.deadlines} with a pending deadline\n`,
  ];
  if (r.overridden.length > 0) lines.push(`  forced over: ${r.overridden.join('; ')} (${plural(r.foreign, 'other row')} kept)\n`);
  if (r.hubKeyFile) lines.push(`every node needs ${r.hubKeyFile}: copy it into each node's data directory\n`);
  return lines.join('');
}

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: "copy a single box's registry, users and alarm journal into a cluster's PostgreSQL (--from DATA --postgres URL)",
  help: HELP,
  async run(argv, io) {
    let parsed: ReturnType<typeof parse>;
    let timeoutS: number;
    try {
      parsed = parse(argv, io);
      timeoutS = intFlag(parsed.args, 'connect-timeout', DEFAULT_CONNECT_TIMEOUT_MS / 1000, 1, 600);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.stderr(`smokehub migrate: ${err.message}\nRun "smokehub migrate --help" for usage.\n`);
      return 2;
    }
    const { args, from, url } = parsed;
    if (!existsSync(join(from, DB_FILE))) throw new MissingDataError(`no hub data in ${from} (${DB_FILE} is missing): give the single box's data directory`);
    const pool = await openCliPool(url, timeoutS * 1000);
    try {
      const result = await withPgErrors(url, () => migrateBoxToPostgres({ from, pool, force: args.flags.force === true }));
      io.stderr(migrateSummary(result, from, url));
      return 0;
    } finally {
      await pool.end().catch(() => {});
    }
  },
};
