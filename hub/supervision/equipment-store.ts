/**
 * SQLite table `equipment`: what each household of a team is equipped with (extinguisher,
 * crowbar, hammer, smoke detector…), by (household, item, serial), with its expiry date.
 */
import type { Db } from '../store/database.ts';
import { migrate } from '../store/database.ts';
import type { EquipmentItem } from './reminders.ts';

const MIGRATIONS = [
  `CREATE TABLE equipment (
     household TEXT NOT NULL,
     team TEXT NOT NULL,
     item TEXT NOT NULL,
     serial TEXT NOT NULL,
     expires TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (household, item, serial)
   );
   CREATE INDEX equipment_team ON equipment (team);
   CREATE INDEX equipment_expires ON equipment (expires);`,
];

export class EquipmentStore {
  constructor(private readonly db: Db) {
    migrate(db, 'equipment', MIGRATIONS);
  }

  /** Inserts or updates items in one transaction; returns how many were new and how many changed. */
  upsertMany(items: readonly EquipmentItem[], now: number): { added: number; updated: number; unchanged: number } {
    const get = this.db.prepare('SELECT team, expires FROM equipment WHERE household = ? AND item = ? AND serial = ?');
    const insert = this.db.prepare('INSERT INTO equipment (household, team, item, serial, expires, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    const update = this.db.prepare('UPDATE equipment SET team = ?, expires = ?, updated_at = ? WHERE household = ? AND item = ? AND serial = ?');
    let added = 0;
    let updated = 0;
    let unchanged = 0;
    this.db.transaction(() => {
      for (const it of items) {
        const row = get.get(it.household, it.item, it.serial) as { team: string; expires: string | null } | undefined;
        if (!row) {
          insert.run(it.household, it.team, it.item, it.serial, it.expires, now);
          added++;
        } else if (row.team !== it.team || row.expires !== it.expires) {
          update.run(it.team, it.expires, now, it.household, it.item, it.serial);
          updated++;
        } else {
          unchanged++;
        }
      }
    })();
    return { added, updated, unchanged };
  }

  list(filter: { team?: string; household?: string } = {}): EquipmentItem[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.team !== undefined) {
      where.push('team = ?');
      args.push(filter.team);
    }
    if (filter.household !== undefined) {
      where.push('household = ?');
      args.push(filter.household);
    }
    return this.db
      .prepare(
        `SELECT household, team, item, serial, expires FROM equipment${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY team, household, item, serial`,
      )
      .all(...args) as EquipmentItem[];
  }

  /** Items with an expiry date on or before `date` (YYYY-MM-DD). */
  expiringBy(date: string): EquipmentItem[] {
    return this.db
      .prepare('SELECT household, team, item, serial, expires FROM equipment WHERE expires IS NOT NULL AND expires <= ? ORDER BY team, household, expires')
      .all(date) as EquipmentItem[];
  }
}
