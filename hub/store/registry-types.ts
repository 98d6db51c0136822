/**
 * The registry's data model and the interface the rest of the hub reads it through
 * (implemented over SQLite by registry-store.ts). Lookups on the connect and alarm paths
 * (`getDevice`, `getHousehold`, `householdsOfTeam`, `teamOf`) must be fast (cached or by primary key).
 */
import type { DeviceKind } from '../protocol/schema.ts';
import type { Role } from '../core/acl.ts';

export interface Team {
  id: string;
}
/** The dispatch card: what the fire brigade needs to know about a household (optional CSV columns). */
// The dispatch card is part of the HTTP contract: one definition, in hub/protocol/http/households.ts.
import { CARD_FIELDS, type CardField, type HouseholdCard } from '../protocol/http/households.ts';
export { CARD_FIELDS, type CardField, type HouseholdCard };

export interface Household {
  id: string;
  team: string;
  name: string;
  address: string;
  /** The `phone` cell as written in the CSV (kept for compatibility and display). */
  phone: string;
  /** The household's numbers in E.164 (`+84901000002`), in the order written; [] when none. */
  phones: string[];
  lat: number | null;
  lon: number | null;
  card: HouseholdCard;
}
export interface Device {
  id: string;
  household: string;
  team: string;
  kind: DeviceKind;
  /** When the device was enrolled (ms); supervision uses it for end-of-life reminders. */
  enrolledAt: number;
  /** A Zigbee device: the Zigbee2MQTT gateway that speaks for it (it has no secret and no `cmd` topic). */
  gateway?: string;
  /** The name people know it by (a Zigbee device's friendly name). */
  label?: string;
}
export interface User {
  username: string;
  role: Role;
  team: string | null;
  household: string | null;
}

export interface RegistryStore {
  getHousehold(id: string): Household | undefined;
  getDevice(id: string): Device | undefined;
  /** Households of a team, including the given one. */
  householdsOfTeam(team: string): Household[];
  teamOf(household: string): string | undefined;
  listHouseholds(filter?: { team?: string }): Household[];
  listDevices(filter?: { household?: string; team?: string }): Device[];
  listTeams(): Team[];
  /** Checks a device's secret (keyed hash, constant time). Returns the device or null. */
  verifyDeviceSecret(deviceId: string, secret: string): Device | null;
  /** Checks a person's password (scrypt). Returns the user or null. */
  verifyUserPassword(username: string, password: string): Promise<User | null>;
  getUser(username: string): User | undefined;
  /** Every user (cached; other processes' additions show within a second). */
  listUsers(): User[];
  /**
   * Re-reads these devices after another writer added, changed or removed them (Zigbee enrolment),
   * without reloading the whole registry (which costs tens of ms at a province's size).
   */
  reloadDevices(ids: readonly string[]): void;
}
