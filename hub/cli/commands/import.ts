/** `smokehub import FILE.csv [--data DIR] [--allow-moves]`: enrol teams, households and devices. */
import { CSV_COLUMNS, CsvImportError, credentialsCsv, importCsv } from '../../store/csv-import.ts';
import { parseCommandArgs, stringFlag } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { cliConfig, openRegistry } from '../data-dir.ts';
import { readCsvFile } from '../csv-file.ts';

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'enrol teams, households and devices from a CSV file; prints generated device secrets',
  help: `Usage: smokehub import FILE.csv [--data DIR] [--allow-moves]

Reads one row per device with the header
  ${CSV_COLUMNS.join(',')}
(UTF-8, with or without BOM; fields with commas or quotes in "double quotes").
A blank secret enrols a new device with a generated secret; the generated credentials are
printed on stdout as CSV (household,device,secret) — keep them, they are not shown again.
Re-importing is idempotent: rows update what exists, nothing is duplicated, and an existing
device keeps its secret when the secret column is blank.
Any bad row is reported on stderr as FILE:LINE: reason, and then NOTHING is imported (exit 1).

Options:
  --data DIR       data directory (env SMOKEHUB_DATA, default ./data)
  --allow-moves    allow a device enrolled in one household to move to another
                   (otherwise refused: a silent move would alert the wrong neighbours)`,
  async run(argv, io) {
    const args = parseCommandArgs(argv, { data: { type: 'string' }, 'allow-moves': { type: 'boolean' } }, { min: 1, max: 1, names: 'FILE.csv' });
    const file = args.positionals[0]!;
    const text = readCsvFile(file, io);
    if (text === null) return 1;
    const config = cliConfig(io, stringFlag(args, 'data'));
    const { db, store } = openRegistry(config, false);
    try {
      const result = importCsv(store, text, { allowMoves: args.flags['allow-moves'] === true });
      io.stdout(credentialsCsv(result.credentials));
      const h = result.households;
      const d = result.devices;
      io.stderr(
        `imported ${file} into ${config.dataDir}: ` +
          `households ${h.created} new, ${h.updated} updated, ${h.unchanged} unchanged; ` +
          `devices ${d.created} new, ${d.updated} updated${d.moved ? ` (${d.moved} moved)` : ''}, ${d.unchanged} unchanged; ` +
          `${result.teamsCreated} new team${result.teamsCreated === 1 ? '' : 's'}; ` +
          `${result.credentials.length} secret${result.credentials.length === 1 ? '' : 's'} generated\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof CsvImportError) {
        for (const p of err.problems) io.stderr(`${file}:${p.line}: ${p.reason}\n`);
        io.stderr(`smokehub import: ${err.problems.length} bad row${err.problems.length === 1 ? '' : 's'}; nothing was imported\n`);
        return 1;
      }
      throw err;
    } finally {
      db.close();
    }
  },
};
