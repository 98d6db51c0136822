/**
 * `smokehub alarms [--open] [--limit N]`: the alarm journal as a table, through the journal's read
 * interface (hub/store/alarm-journal-reader.ts) on a read-only connection, so it works while the hub runs.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OPEN_ALARM_STATES } from '../../protocol/schema.ts';
import { formatTable } from '../table.ts';
import { localDateTime } from '../../protocol/local-time.ts';
import { intFlag, parseCommandArgs, stringFlag } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { cliConfig, MissingDataError } from '../data-dir.ts';
import { DB_FILE } from '../../store/database.ts';
import { AlarmJournalReader } from '../../store/alarm-journal-reader.ts';

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
      const open = args.flags.open === true;
      const rows = new AlarmJournalReader(db).recentSummaries(limit, open ? OPEN_ALARM_STATES : undefined);
      io.stdout(
        formatTable(
          ['ID', 'STATE', 'KIND', 'TEAM', 'HOUSEHOLD', 'RAISED'],
          rows.map((r) => [r.id, r.state, r.kind, r.team, r.household, localDateTime(r.raisedAt, config.timezone)]),
        ),
      );
      // RAISED is the hub's wall clock: say which one, as the dashboard does.
      io.stderr(`${rows.length} ${args.flags.open === true ? 'open ' : ''}alarm${rows.length === 1 ? '' : 's'} (times in ${config.timezone})\n`);
      return 0;
    } finally {
      db.close();
    }
  },
};
