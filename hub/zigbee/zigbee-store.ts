/**
 * The Zigbee devices the hub enrolled from its gateways' `bridge/devices` lists: each is a row of
 * the registry's `devices` table (kind from its exposes, no secret: it never connects itself —
 * its gateway speaks for it) and a row of `zigbee_devices` (gateway, IEEE address, friendly name,
 * what its exposes say). `sync` applies a gateway's whole list in ONE transaction: new devices
 * are added, changed ones updated, missing ones removed (Z2M removed them).
 */
import { migrate, type Db } from '../store/database.ts';
import { GATEWAY_MANAGED } from '../store/registry-schema.ts';
import type { DeviceKind } from '../protocol/schema.ts';
import { zigbeeDeviceId, type ZigbeeDeviceInfo } from './z2m-devices.ts';

const MIGRATIONS = [
  `CREATE TABLE zigbee_devices (
     id TEXT PRIMARY KEY,
     gateway TEXT NOT NULL,
     household TEXT NOT NULL,
     ieee TEXT NOT NULL,
     friendly_name TEXT NOT NULL,
     info TEXT NOT NULL,
     linkquality INTEGER,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX zigbee_devices_gateway ON zigbee_devices(gateway);`,
  // Z2M's last availability of each device: Z2M does not publish it again when it reconnects, so a
  // hub restart must not forget it (its devices would be reported silent).
  `ALTER TABLE zigbee_devices ADD COLUMN availability TEXT;`,
];

/** Stored in `devices.secret_hash`: no secret hashes to it, so nobody can log in as the device. */
const NO_SECRET = GATEWAY_MANAGED;

export interface ZigbeeChild extends ZigbeeDeviceInfo {
  /** The hub's device id, `<gateway>.<ieee>`. */
  id: string;
  gateway: string;
  household: string;
}

export interface SyncResult {
  added: ZigbeeChild[];
  updated: ZigbeeChild[];
  removed: string[];
  /** Devices not enrolled because their id is taken by another device (or too long). */
  conflicts: Array<{ id: string; why: string }>;
}

export class ZigbeeStore {
  constructor(private readonly db: Db) {
    migrate(db, 'zigbee', MIGRATIONS);
  }

  /** Every enrolled Zigbee device, by gateway. */
  load(): Map<string, ZigbeeChild[]> {
    const rows = this.db.prepare('SELECT id, gateway, household, info FROM zigbee_devices ORDER BY id').all() as Array<{
      id: string;
      gateway: string;
      household: string;
      info: string;
    }>;
    const out = new Map<string, ZigbeeChild[]>();
    for (const r of rows) {
      const info = JSON.parse(r.info) as ZigbeeDeviceInfo;
      const list = out.get(r.gateway) ?? [];
      list.push({ ...info, id: r.id, gateway: r.gateway, household: r.household });
      out.set(r.gateway, list);
    }
    return out;
  }

  /** Applies a gateway's whole device list. `validId` checks a derived id against the contract. */
  sync(gateway: string, household: string, devices: ZigbeeDeviceInfo[], now: number, validId: (id: string) => boolean): SyncResult {
    const result: SyncResult = { added: [], updated: [], removed: [], conflicts: [] };
    const existing = new Map(
      (
        this.db.prepare('SELECT id, household, info FROM zigbee_devices WHERE gateway = ?').all(gateway) as Array<{
          id: string;
          household: string;
          info: string;
        }>
      ).map((r) => [r.id, r]),
    );
    const deviceRow = this.db.prepare('SELECT secret_hash FROM devices WHERE id = ?');
    const insertDevice = this.db.prepare('INSERT INTO devices (id, household, kind, secret_hash, enrolled_at, updated_at, label) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const updateDevice = this.db.prepare('UPDATE devices SET household = ?, kind = ?, label = ?, updated_at = ? WHERE id = ?');
    const upsert = this.db.prepare(
      `INSERT INTO zigbee_devices (id, gateway, household, ieee, friendly_name, info, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET household = excluded.household, friendly_name = excluded.friendly_name, info = excluded.info, updated_at = excluded.updated_at`,
    );
    const removeChild = this.db.prepare('DELETE FROM zigbee_devices WHERE id = ?');
    const removeDevice = this.db.prepare('DELETE FROM devices WHERE id = ? AND secret_hash = ?');

    this.db
      .transaction(() => {
        const keep = new Set<string>();
        for (const d of devices) {
          const id = zigbeeDeviceId(gateway, d.ieee);
          if (!validId(id)) {
            result.conflicts.push({ id, why: 'the device id would be longer than 64 characters (use a shorter gateway id)' });
            continue;
          }
          const row = deviceRow.get(id) as { secret_hash: string } | undefined;
          if (row && row.secret_hash !== NO_SECRET) {
            result.conflicts.push({ id, why: 'a device with this id is enrolled from the registry CSV' });
            continue;
          }
          keep.add(id);
          const child: ZigbeeChild = { ...d, id, gateway, household };
          const info = JSON.stringify(d);
          const before = existing.get(id);
          if (!row) insertDevice.run(id, household, d.kind, NO_SECRET, now, now, d.friendlyName);
          else if (!before || before.household !== household || before.info !== info)
            updateDevice.run(household, d.kind satisfies DeviceKind, d.friendlyName, now, id);
          if (!before) {
            upsert.run(id, gateway, household, d.ieee, d.friendlyName, info, now);
            result.added.push(child);
          } else if (before.household !== household || before.info !== info) {
            upsert.run(id, gateway, household, d.ieee, d.friendlyName, info, now);
            result.updated.push(child);
          }
        }
        for (const id of existing.keys()) {
          if (keep.has(id)) continue;
          removeChild.run(id);
          removeDevice.run(id, NO_SECRET);
          result.removed.push(id);
        }
      })
      .immediate();
    return result;
  }

  /** Z2M's last availability of every enrolled device that has one. */
  loadAvailability(): Map<string, 'online' | 'offline'> {
    const rows = this.db.prepare('SELECT id, availability FROM zigbee_devices WHERE availability IS NOT NULL').all() as Array<{
      id: string;
      availability: string;
    }>;
    return new Map(rows.filter((r) => r.availability === 'online' || r.availability === 'offline').map((r) => [r.id, r.availability as 'online' | 'offline']));
  }

  /** Availabilities that changed (written when Z2M reports a change: rare, and a kill -9 must not lose one). */
  saveAvailability(values: Array<[id: string, state: 'online' | 'offline']>): void {
    const update = this.db.prepare('UPDATE zigbee_devices SET availability = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const [id, state] of values) update.run(state, id);
    })();
  }

  /** Last link quality Z2M reported, kept with the device (written in batches). */
  saveLinkQuality(values: Array<[id: string, lqi: number]>): void {
    const update = this.db.prepare('UPDATE zigbee_devices SET linkquality = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const [id, lqi] of values) update.run(lqi, id);
    })();
  }
}
