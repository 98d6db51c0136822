/** `smokehub import FILE.csv [--data DIR] [--allow-moves] [--country-code 84]`: enrol teams, households and devices. */
import { CSV_COLUMNS, CSV_OPTIONAL_COLUMNS, CsvImportError, credentialsCsv, importCsv } from '../../store/csv-import.ts';
import { loadConfig } from '../../config/config.ts';
import { parseCommandArgs, stringFlag } from '../args.ts';
import type { CliCommand } from '../command.ts';
import { openRegistry } from '../data-dir.ts';
import { readCsvFile } from '../csv-file.ts';

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'enrol teams, households and devices from a CSV file; prints generated device secrets',
  help: `Usage: smokehub import FILE.csv [--data DIR] [--allow-moves] [--country-code 84]

Reads one row per device with the header
  ${CSV_COLUMNS.join(',')}
and optionally the dispatch card columns ${CSV_OPTIONAL_COLUMNS.join(', ')}
(UTF-8, with or without BOM; fields with commas or quotes in "double quotes").
phone: blank, or one or more numbers separated by ";" — local numbers (0901 000 002) are
stored in E.164 with the country code (+84901000002); a bad number refuses the file.
A card column missing from the file leaves the stored values alone; an empty cell clears one.
A blank secret enrols a new device with a generated secret; the generated credentials are
printed on stdout as CSV (household,device,secret) — keep them, they are not shown again.
Re-importing is idempotent: rows update what exists, nothing is duplicated, and an existing
device keeps its secret when the secret column is blank.
Any bad row is reported on stderr as FILE:LINE: reason, and then NOTHING is imported (exit 1).

Options:
  --data DIR       data directory (env SMOKEHUB_DATA, default ./data)
  --allow-moves    allow a device enrolled in one household to move to another
                   (otherwise refused: a silent move would alert the wrong neighbours)
  --country-code N country calling code of local numbers (env SMOKEHUB_COUNTRY_CODE, default 84)`,
  async run(argv, io) {
    const args = parseCommandArgs(
      argv,
      { data: { type: 'string' }, 'allow-moves': { type: 'boolean' }, 'country-code': { type: 'string' } },
      { min: 1, max: 1, names: 'FILE.csv' },
    );
    const file = args.positionals[0]!;
    const text = readCsvFile(file, io);
    if (text === null) return 1;
    const flags: Record<string, string | undefined> = { data: stringFlag(args, 'data'), 'country-code': stringFlag(args, 'country-code') };
    const config = loadConfig({ flags, env: io.env });
    const { db, store } = openRegistry(config, false);
    try {
      const result = importCsv(store, text, { allowMoves: args.flags['allow-moves'] === true, countryCode: config.countryCode });
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
