/** Temp SQLite registries for the registry tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openDatabase, type Db } from '../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../hub/store/registry-store.ts';
import type { Clock } from '../../hub/core/clock.ts';

export const HEADER = 'team,household,name,address,phone,lat,lon,device,kind,secret';

export function tempRegistry(t: TestContext, clock?: Clock): { dir: string; db: Db; store: SqliteRegistryStore } {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-reg-'));
  const db = openDatabase(dir);
  const store = new SqliteRegistryStore(db, { dataDir: dir, clock });
  t.after(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db, store };
}

export function csv(...rows: string[]): string {
  return [HEADER, ...rows].join('\n') + '\n';
}
