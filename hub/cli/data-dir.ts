/** Where the CLI finds the hub's data: --data, SMOKEHUB_DATA, DATA/config.json, ./data (via loadConfig). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type HubConfig } from '../config/config.ts';
import { DB_FILE, openDatabase, type Db } from '../store/database.ts';
import { SqliteRegistryStore } from '../store/registry-store.ts';
import type { CliIo } from './command.ts';

export function cliConfig(io: CliIo, data: string | undefined): HubConfig {
  return loadConfig({ flags: data === undefined ? {} : { data }, env: io.env });
}

export class MissingDataError extends Error {}

/** Opens the registry; `mustExist`: refuse to create a new data directory (read-only commands). */
export function openRegistry(config: HubConfig, mustExist: boolean): { db: Db; store: SqliteRegistryStore } {
  if (mustExist && !existsSync(join(config.dataDir, DB_FILE))) {
    throw new MissingDataError(`no hub data in ${config.dataDir} (import households or start the hub first, or pass --data DIR)`);
  }
  const db = openDatabase(config.dataDir, DB_FILE);
  try {
    return { db, store: new SqliteRegistryStore(db, { dataDir: config.dataDir, countryCode: config.countryCode }) };
  } catch (err) {
    db.close();
    throw err;
  }
}
