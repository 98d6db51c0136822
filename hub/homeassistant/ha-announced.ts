/**
 * The households whose Home Assistant has announced itself (its birth message on
 * `smokehub/h/H/homeassistant/status`), remembered across restarts: only those are served, so a
 * hub of 16,000 households with a phone user each does not keep 144,000 retained discovery
 * messages for the few that run Home Assistant (bench/homeassistant-start.ts).
 */
import { migrate, type Db } from '../store/database.ts';

export class HaAnnounced {
  private known = new Set<string>();
  private readonly insert;
  private readonly selectAll;

  constructor(db: Db) {
    migrate(db, 'homeassistant', [
      `CREATE TABLE homeassistant_households (
         household TEXT PRIMARY KEY,
         announced_at INTEGER NOT NULL
       );`,
    ]);
    this.selectAll = db.prepare('SELECT household FROM homeassistant_households');
    this.refresh();
    this.insert = db.prepare('INSERT OR IGNORE INTO homeassistant_households (household, announced_at) VALUES (?, ?)');
  }

  /** Re-reads the table (once per rescan: another process may have written it). */
  refresh(): void {
    this.known = new Set((this.selectAll.all() as Array<{ household: string }>).map((r) => r.household));
  }

  has(household: string): boolean {
    return this.known.has(household);
  }

  /** Remembers a household (its HA's first birth). */
  add(household: string, at: number): void {
    if (this.known.has(household)) return;
    this.insert.run(household, at);
    this.known.add(household);
  }
}
