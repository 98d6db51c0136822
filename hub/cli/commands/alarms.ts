/**
 * `smokehub alarms [--open] [--limit N]`: the alarm journal as a table. Reads the `alarms`
 * table (hub/store/alarm-journal.ts) directly with read-only SQL, so it works while the hub runs.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OPEN_ALARM_STATES } from '../../protocol/schema.ts';
import { formatTable } from '../table.ts';
import { localDateTime } from '../../supervision/local-time.ts';
import { intFlag, parseCommandArgs, stringFlag } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { cliConfig, MissingDataError } from '../data-dir.ts';
import { DB_FILE } from '../../store/database.ts';

interface AlarmRow {
  id: string;
  state: string;
  kind: string;
  team: string;
  household: string;
  raised_at: number;
}

export const alarmsCommand: CliCommand = {
  name: 'alarms',
  summary: 'list alarms from the journal (newest first)',
  help: `Usage: smokehub alarms [--open] [--limit N] [--data DIR]

Lists alarms newest first: id, state, kind, team, household, raised (local time).
Options:
  --open       only open alarms (pre-alarm, active, escalated)
  --limit N    at most N alarms (default 100)
  --data DIR   data directory (env SMOKEHUB_DATA, default ./data)`,
  async run(argv, io) {
    const args = parseCommandArgs(argv, { open: { type: 'boolean' }, limit: { type: 'string' }, data: { type: 'string' } });
    const limit = intFlag(args, 'limit', 100);
    const config = cliConfig(io, stringFlag(args, 'data'));
    const file = join(config.dataDir, DB_FILE);
    if (!existsSync(file)) throw new MissingDataError(`no hub data in ${config.dataDir} (start the hub first, or pass --data DIR)`);
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarms'").get() !== undefined;
      let rows: AlarmRow[] = [];
      if (hasTable) {
        const open = args.flags.open === true;
        const where = open ? `WHERE state IN (${OPEN_ALARM_STATES.map(() => '?').join(', ')})` : '';
        rows = db
          .prepare(`SELECT id, state, kind, team, household, raised_at FROM alarms ${where} ORDER BY raised_at DESC, id DESC LIMIT ?`)
          .all(...(open ? [...OPEN_ALARM_STATES] : []), limit) as AlarmRow[];
      }
      io.stdout(
        formatTable(
          ['ID', 'STATE', 'KIND', 'TEAM', 'HOUSEHOLD', 'RAISED'],
          rows.map((r) => [r.id, r.state, r.kind, r.team, r.household, localDateTime(r.raised_at, config.timezone)]),
        ),
      );
      io.stderr(`${rows.length} ${args.flags.open === true ? 'open ' : ''}alarm${rows.length === 1 ? '' : 's'}\n`);
      return 0;
    } finally {
      db.close();
    }
  },
};
