/**
 * The registry's tables (teams, households, devices, users, sessions) and their row shapes.
 *
 * The five tables are ONE migration module, `registry`: its steps are applied and recorded as
 * they always were, so existing data files open unchanged. Never edit a step; append one.
 * Who touches which table: registry-cache.ts reads teams, households, devices and users;
 * registry-enrolment.ts writes teams, households and devices; registry-users.ts writes users;
 * registry-sessions.ts reads and writes sessions.
 */
import type { Clock } from '../core/clock.ts';
import type { Role } from '../core/acl.ts';
import { migrate, type Db } from './database.ts';
import type { HouseholdCard } from './registry-types.ts';

const MIGRATIONS = [
  `CREATE TABLE teams (
     id TEXT PRIMARY KEY,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE households (
     id TEXT PRIMARY KEY,
     team TEXT NOT NULL REFERENCES teams(id),
     name TEXT NOT NULL,
     address TEXT NOT NULL,
     phone TEXT NOT NULL DEFAULT '',
     lat REAL,
     lon REAL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX households_team ON households(team);
   CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     household TEXT NOT NULL REFERENCES households(id),
     kind TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     enrolled_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX devices_household ON devices(household);
   CREATE TABLE users (
     username TEXT PRIMARY KEY,
     role TEXT NOT NULL CHECK (role IN ('station', 'team-leader', 'household')),
     team TEXT REFERENCES teams(id),
     household TEXT REFERENCES households(id),
     password_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
     created_at INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );
   CREATE INDEX sessions_user ON sessions(username);
   CREATE INDEX sessions_expiry ON sessions(expires_at);`,
  // Phone numbers in E.164 (joined by ';'; NULL for rows imported before this step, derived from
  // `phone` when read) and the dispatch card.
  `ALTER TABLE households ADD COLUMN phones TEXT;
   ALTER TABLE households ADD COLUMN access TEXT NOT NULL DEFAULT '';
   ALTER TABLE households ADD COLUMN hazards TEXT NOT NULL DEFAULT '';
   ALTER TABLE households ADD COLUMN vulnerable TEXT NOT NULL DEFAULT '';
   ALTER TABLE households ADD COLUMN water TEXT NOT NULL DEFAULT '';`,
  // A device's name as people know it (a Zigbee device's friendly name); NULL: none.
  `ALTER TABLE devices ADD COLUMN label TEXT;`,
];

/** Creates or updates the registry's tables (module `registry`). */
export function migrateRegistry(db: Db, clock?: Clock): void {
  migrate(db, 'registry', MIGRATIONS, clock);
}

export const HOUSEHOLD_COLUMNS = 'id, team, name, address, phone, phones, lat, lon, access, hazards, vulnerable, water';
export interface HouseholdRow extends HouseholdCard {
  id: string;
  team: string;
  name: string;
  address: string;
  phone: string;
  phones: string | null;
  lat: number | null;
  lon: number | null;
}
export const DEVICE_COLUMNS = 'id, household, kind, secret_hash, enrolled_at, label';
/**
 * `secret_hash` of a device its gateway speaks for (a Zigbee device, enrolled by
 * hub/zigbee/zigbee-store.ts as `<gateway>.<ieee>`): no secret hashes to it, nobody logs in as it.
 */
export const GATEWAY_MANAGED = '!zigbee';
export interface DeviceRow {
  id: string;
  household: string;
  kind: string;
  secret_hash: string;
  enrolled_at: number;
  label: string | null;
}
export const USER_COLUMNS = 'username, role, team, household, password_hash';
export interface UserRow {
  username: string;
  role: Role;
  team: string | null;
  household: string | null;
  password_hash: string;
}
