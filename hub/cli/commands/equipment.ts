/**
 * `smokehub equipment import FILE.csv [--data DIR]`: record what each household is equipped with.
 * `smokehub equipment list [--team T] [--data DIR]`: the equipment on record, with days left.
 */
import { CsvImportError } from '../../store/csv-import.ts';
import { EQUIPMENT_COLUMNS, importEquipment } from '../../supervision/equipment-import.ts';
import { EquipmentStore } from '../../supervision/equipment-store.ts';
import { daysBetween, localDate } from '../../protocol/local-time.ts';
import { parseCommandArgs, stringFlag, UsageError } from '../args.ts';
import type { CliCommand, CliIo } from '../command.ts';
import { cliConfig, openRegistry } from '../data-dir.ts';
import { readCsvFile } from '../csv-file.ts';
import { formatTable } from '../table.ts';

const HELP = `Usage: smokehub equipment import FILE.csv [--data DIR]
       smokehub equipment list [--team T] [--data DIR]

import  reads one row per item with the header
          ${EQUIPMENT_COLUMNS.join(',')}
        e.g.  t1-h1,extinguisher,EX-2231,2027-03-31
              t1-h1,crowbar,,
        household: an enrolled household; item: extinguisher, crowbar, hammer, smoke detector…;
        serial: may be blank; expires: YYYY-MM-DD, blank when the item does not expire.
        Re-importing is idempotent (rows update items by household, item and serial).
        Any bad row is reported on stderr as FILE:LINE: reason, and then NOTHING is imported (exit 1).
list    prints the equipment on record with the days left before it expires.

The hub reminds households monthly of items expiring within 30 days (--equipment-cron).
Options:
  --data DIR   data directory (env SMOKEHUB_DATA, default ./data)
  --team T     (list) only team T (an unknown team is an error, exit 1)`;

async function importFile(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs(argv, { data: { type: 'string' } }, { min: 1, max: 1, names: 'FILE.csv' });
  const file = args.positionals[0]!;
  const text = readCsvFile(file, io);
  if (text === null) return 1;
  const config = cliConfig(io, stringFlag(args, 'data'));
  const { db, store } = openRegistry(config, true);
  try {
    const equipment = new EquipmentStore(db);
    const r = importEquipment(equipment, text, (h) => store.teamOf(h), Date.now());
    io.stderr(
      `imported ${file} into ${config.dataDir}: ${r.items} item${r.items === 1 ? '' : 's'} (${r.added} new, ${r.updated} updated, ${r.unchanged} unchanged)\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof CsvImportError) {
      for (const p of err.problems) io.stderr(`${file}:${p.line}: ${p.reason}\n`);
      io.stderr(`smokehub equipment import: ${err.problems.length} bad row${err.problems.length === 1 ? '' : 's'}; nothing was imported\n`);
      return 1;
    }
    throw err;
  } finally {
    db.close();
  }
}

async function list(argv: string[], io: CliIo): Promise<number> {
  const args = parseCommandArgs(argv, { data: { type: 'string' }, team: { type: 'string' } });
  const team = stringFlag(args, 'team');
  const config = cliConfig(io, stringFlag(args, 'data'));
  const { db, store } = openRegistry(config, true);
  try {
    if (team !== undefined) store.requireTeam(team);
    const items = new EquipmentStore(db).list(team === undefined ? {} : { team });
    const today = localDate(Date.now(), config.timezone);
    const rows = items.map((i) => [i.team, i.household, i.item, i.serial, i.expires ?? '', i.expires === null ? '' : String(daysBetween(today, i.expires))]);
    io.stdout(formatTable(['TEAM', 'HOUSEHOLD', 'ITEM', 'SERIAL', 'EXPIRES', 'DAYS LEFT'], rows, [24, 24, 30, 24, 10, 9]));
    io.stderr(`${items.length} item${items.length === 1 ? '' : 's'}${team === undefined ? '' : ` in team ${team}`}\n`);
    return 0;
  } finally {
    db.close();
  }
}

export const equipmentCommand: CliCommand = {
  name: 'equipment',
  summary: 'import or list household equipment (extinguishers, crowbars, detectors…) and expiry dates',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === 'import') return importFile(rest, io);
    if (sub === 'list') return list(rest, io);
    throw new UsageError(sub === undefined ? 'missing subcommand (import or list)' : `unknown subcommand "${sub}" (import or list)`);
  },
};
