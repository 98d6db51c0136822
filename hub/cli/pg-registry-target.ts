/**
 * The cluster's registry for `smokehub import` and `smokehub user` given `--postgres URL`: a
 * PgRegistryStore on a CLI pool (bounded connect, postgres-target.ts), with the hub key of
 * DATA/hub.key (--data DIR), which every node shares.
 *
 * The key: `import` hashes device secrets with it, so it must be the cluster's. When DATA has none
 * and PostgreSQL holds no device yet (a new cluster), it is created in DATA (copy it to every
 * node); when PostgreSQL holds devices, an import without the key is refused (secrets hashed under
 * another key would never verify). `user` never hashes a device secret: it reads the key when
 * there is one, and needs none.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PgRegistryStore } from '../cluster/pg-registry.ts';
import { NotFoundError } from '../protocol/errors.ts';
import { HUB_KEY_BYTES, HUB_KEY_FILE, loadOrCreateHubKey } from '../store/credentials.ts';
import { openCliPool, withPgErrors } from './postgres-target.ts';

export interface PgRegistryTarget {
  url: string;
  dataDir: string;
  countryCode?: number;
  /** 'devices': the cluster's key is required (import); 'none': users only. */
  key: 'devices' | 'none';
  /** Told when the key file was created. */
  onKeyCreated?(file: string): void;
}

/** Opens the cluster's registry, runs `fn` on it, closes it; PostgreSQL's failures are typed errors. */
export async function withPgRegistry<T>(target: PgRegistryTarget, fn: (store: PgRegistryStore) => Promise<T>): Promise<T> {
  const pool = await openCliPool(target.url);
  try {
    return await withPgErrors(target.url, async () => {
      const keyFile = join(target.dataDir, HUB_KEY_FILE);
      let hubKey: Buffer;
      if (existsSync(keyFile)) hubKey = loadOrCreateHubKey(target.dataDir);
      else if (target.key === 'none') hubKey = randomBytes(HUB_KEY_BYTES);
      else {
        const table = await pool.query<{ t: boolean }>("SELECT to_regclass('devices') IS NOT NULL AS t");
        const hasDevices = table.rows[0]?.t === true && (await pool.query('SELECT 1 FROM devices LIMIT 1')).rowCount !== 0;
        if (hasDevices)
          throw new NotFoundError(
            `${keyFile} is missing, and PostgreSQL already holds devices: copy the cluster's hub.key into ${target.dataDir} (every node shares it), or pass --data DIR`,
          );
        hubKey = loadOrCreateHubKey(target.dataDir);
        target.onKeyCreated?.(keyFile);
      }
      const store = await PgRegistryStore.open({ url: target.url, pool, hubKey, countryCode: target.countryCode });
      try {
        return await fn(store);
      } finally {
        await store.close();
      }
    });
  } finally {
    await pool.end().catch(() => {});
  }
}
