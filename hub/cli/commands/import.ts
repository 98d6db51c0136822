/**
 * `smokehub import FILE.csv [--data DIR] [--allow-moves] [--country-code 84] [--postgres URL]`:
 * enrol teams, households and devices, into DATA's SQLite registry or a cluster's PostgreSQL.
 */
import { CSV_COLUMNS, CSV_OPTIONAL_COLUMNS, CsvImportError, credentialsCsv, importCsv, importCsvAsync, type ImportResult } from '../../store/csv-import.ts';
import { loadConfig } from '../../config/config.ts';
import { parseCommandArgs, stringFlag } from '../args.ts';
import type { CliCommand, CliIo } from '../command.ts';
import { openRegistry } from '../data-dir.ts';
import { readCsvFile } from '../csv-file.ts';
import { withPgRegistry } from '../pg-registry-target.ts';
import { configEnv, postgresUrl, redactUrl } from '../postgres-target.ts';

function report(io: CliIo, file: string, into: string, result: ImportResult): number {
  io.stdout(credentialsCsv(result.credentials));
  const h = result.households;
  const d = result.devices;
  io.stderr(
    `imported ${file} into ${into}: ` +
      `households ${h.created} new, ${h.updated} updated, ${h.unchanged} unchanged; ` +
      `devices ${d.created} new, ${d.updated} updated${d.moved ? ` (${d.moved} moved)` : ''}, ${d.unchanged} unchanged; ` +
      `${result.teamsCreated} new team${result.teamsCreated === 1 ? '' : 's'}; ` +
      `${result.credentials.length} secret${result.credentials.length === 1 ? '' : 's'} generated\n`,
  );
  return 0;
}

function badRows(io: CliIo, file: string, err: unknown): number {
  if (!(err instanceof CsvImportError)) throw err;
  for (const p of err.problems) io.stderr(`${file}:${p.line}: ${p.reason}\n`);
  io.stderr(`smokehub import: ${err.problems.length} bad row${err.problems.length === 1 ? '' : 's'}; nothing was imported\n`);
  return 1;
}

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'enrol teams, households and devices from a CSV file; prints generated device secrets',
  help: `Usage: smokehub import FILE.csv [--data DIR] [--allow-moves] [--country-code 84] [--postgres URL]

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
  --country-code N country calling code of local numbers (env SMOKEHUB_COUNTRY_CODE, default 84)
  --postgres URL   import into a cluster's PostgreSQL instead, postgres://USER:PASS@HOST:PORT/DB
                   (env SMOKEHUB_POSTGRES). Device secrets are hashed with DATA/hub.key, the key
                   every node shares: created in DATA when PostgreSQL has no device yet, refused
                   when PostgreSQL has devices and DATA has no key`,
  async run(argv, io) {
    const args = parseCommandArgs(
      argv,
      { data: { type: 'string' }, 'allow-moves': { type: 'boolean' }, 'country-code': { type: 'string' }, postgres: { type: 'string' } },
      { min: 1, max: 1, names: 'FILE.csv' },
    );
    const file = args.positionals[0]!;
    const url = postgresUrl(stringFlag(args, 'postgres'), io);
    const text = readCsvFile(file, io);
    if (text === null) return 1;
    const flags: Record<string, string | undefined> = { data: stringFlag(args, 'data'), 'country-code': stringFlag(args, 'country-code') };
    const allowMoves = args.flags['allow-moves'] === true;
    if (url !== null) {
      const config = loadConfig({ flags, env: configEnv(io) });
      const target = {
        url,
        dataDir: config.dataDir,
        countryCode: config.countryCode,
        key: 'devices' as const,
        onKeyCreated: (f: string) => io.stderr(`created the hub key ${f}: copy it into every node's data directory\n`),
      };
      return withPgRegistry(target, async (store) => {
        try {
          return report(io, file, redactUrl(url), await importCsvAsync(store, text, { allowMoves, countryCode: config.countryCode }));
        } catch (err) {
          return badRows(io, file, err);
        }
      });
    }
    const config = loadConfig({ flags, env: io.env });
    const { db, store } = openRegistry(config, false);
    try {
      return report(io, file, config.dataDir, importCsv(store, text, { allowMoves, countryCode: config.countryCode }));
    } catch (err) {
      return badRows(io, file, err);
    } finally {
      db.close();
    }
  },
};
