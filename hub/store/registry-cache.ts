/**
 * The registry's read cache. Reads on the connect and alarm paths come from an in-memory index
 * (devices, households, teams) and a user map, each built once and dropped on every write, so a
 * whole province reconnecting after a power cut costs a map lookup and one HMAC per device.
 * Writes made by another process (e.g. `smokehub import` while the hub runs) are noticed through
 * SQLite's `PRAGMA data_version`, checked at most once a second by the injected clock.
 *
 * Read-only: it never writes a table. The writers (enrolment, users) call `invalidate*()`.
 */
import type { Clock } from '../core/clock.ts';
import type { DeviceKind } from '../protocol/schema.ts';
import { PHONE_LIST_SEPARATOR, validPhones } from '../sms/phone-number.ts';
import type { Db } from './database.ts';
import { DEVICE_COLUMNS, GATEWAY_MANAGED, type DeviceRow, HOUSEHOLD_COLUMNS, type HouseholdRow, USER_COLUMNS, type UserRow } from './registry-schema.ts';
import type { Device, Household, Team } from './registry-types.ts';

/** How often other processes' writes are looked for. */
export const FRESHNESS_CHECK_MS = 1000;

/** The cached households, devices and teams. Shared objects: hand out copies only. */
export interface RegistryIndex {
  households: Map<string, Household>;
  byTeam: Map<string, Household[]>;
  devices: Map<string, { device: Device; secretHash: string }>;
  devicesByHousehold: Map<string, Device[]>;
  teams: Team[];
}

export interface RegistryCacheOptions {
  clock: Clock;
  /** Country code for `phone` cells stored before numbers were normalised. */
  countryCode: number;
}

export class RegistryCache {
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly countryCode: number;
  private cachedIndex: RegistryIndex | null = null;
  private cachedUsers: Map<string, UserRow> | null = null;
  private dataVersion: number;
  private lastFreshnessCheck: number;

  constructor(db: Db, opts: RegistryCacheOptions) {
    this.db = db;
    this.clock = opts.clock;
    this.countryCode = opts.countryCode;
    this.dataVersion = this.readDataVersion();
    this.lastFreshnessCheck = this.clock.now();
  }

  private readDataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Drops the caches when another connection (another process) committed since the last look. */
  private checkFreshness(): void {
    const now = this.clock.now();
    if (now - this.lastFreshnessCheck < FRESHNESS_CHECK_MS) return;
    this.lastFreshnessCheck = now;
    const v = this.readDataVersion();
    if (v !== this.dataVersion) {
      this.dataVersion = v;
      this.invalidate();
    }
  }

  /** Forget everything cached; the next read reloads. Called after every household/device write. */
  invalidate(): void {
    this.cachedIndex = null;
    this.cachedUsers = null;
  }

  /**
   * Re-reads a few devices into the cached index (added, changed or removed by another writer on
   * this connection: Zigbee enrolment), instead of dropping the whole index.
   */
  reloadDevices(ids: readonly string[]): void {
    const index = this.cachedIndex;
    if (!index) return; // nothing cached: the next read loads everything
    const select = this.db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`);
    for (const id of ids) {
      const old = index.devices.get(id);
      if (old) {
        const list = index.devicesByHousehold.get(old.device.household);
        if (list)
          index.devicesByHousehold.set(
            old.device.household,
            list.filter((d) => d.id !== id),
          );
        index.devices.delete(id);
      }
      const r = select.get(id) as DeviceRow | undefined;
      if (!r) continue;
      const device = deviceOf(r, index.households);
      index.devices.set(r.id, { device, secretHash: r.secret_hash });
      const list = index.devicesByHousehold.get(r.household) ?? [];
      list.push(device);
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      index.devicesByHousehold.set(r.household, list);
    }
  }

  /** User writes leave the (large) device/household index alone. */
  invalidateUsers(): void {
    this.cachedUsers = null;
  }

  index(): RegistryIndex {
    this.checkFreshness();
    if (this.cachedIndex) return this.cachedIndex;
    const households = this.db.prepare(`SELECT ${HOUSEHOLD_COLUMNS} FROM households ORDER BY id`).all() as HouseholdRow[];
    const devices = this.db.prepare(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id`).all() as DeviceRow[];
    const teams = this.db.prepare('SELECT id FROM teams ORDER BY id').all() as Team[];
    this.cachedIndex = buildRegistryIndex({ households, devices, teams }, this.countryCode);
    return this.cachedIndex;
  }

  /** Every user's row (with its password hash), by user name. */
  users(): ReadonlyMap<string, UserRow> {
    this.checkFreshness();
    if (this.cachedUsers) return this.cachedUsers;
    const m = new Map<string, UserRow>();
    for (const r of this.db.prepare(`SELECT ${USER_COLUMNS} FROM users`).all() as UserRow[]) m.set(r.username, r);
    this.cachedUsers = m;
    return m;
  }
}

/** Stored E.164 numbers; rows imported before they were stored get theirs from `phone` (valid parts only). */
function phonesOf(r: HouseholdRow, countryCode: number): string[] {
  if (r.phones === null) return validPhones(r.phone, countryCode);
  return r.phones === '' ? [] : r.phones.split(PHONE_LIST_SEPARATOR);
}

/**
 * The index from the tables' rows (households and devices ordered by id), whichever database they
 * came from: SQLite here, PostgreSQL in hub/cluster/pg-registry.ts (same row shapes).
 */
/** A device row as the hub reads it (a Zigbee device: its gateway and label). */
export function deviceOf(r: DeviceRow, households: ReadonlyMap<string, Household>): Device {
  const team = households.get(r.household)?.team ?? '';
  const device: Device = { id: r.id, household: r.household, team, kind: r.kind as DeviceKind, enrolledAt: r.enrolled_at };
  if (r.secret_hash === GATEWAY_MANAGED) device.gateway = r.id.slice(0, r.id.lastIndexOf('.'));
  if (r.label) device.label = r.label;
  return device;
}

export function buildRegistryIndex(rows: { households: HouseholdRow[]; devices: DeviceRow[]; teams: Team[] }, countryCode: number): RegistryIndex {
  const households = new Map<string, Household>();
  const byTeam = new Map<string, Household[]>();
  for (const r of rows.households) {
    const h: Household = {
      id: r.id,
      team: r.team,
      name: r.name,
      address: r.address,
      phone: r.phone,
      phones: phonesOf(r, countryCode),
      lat: r.lat,
      lon: r.lon,
      card: { access: r.access, hazards: r.hazards, vulnerable: r.vulnerable, water: r.water },
    };
    households.set(h.id, h);
    const list = byTeam.get(h.team) ?? [];
    if (list.length === 0) byTeam.set(h.team, list);
    list.push(h);
  }
  const devices = new Map<string, { device: Device; secretHash: string }>();
  const devicesByHousehold = new Map<string, Device[]>();
  for (const r of rows.devices) {
    const device = deviceOf(r, households);
    devices.set(r.id, { device, secretHash: r.secret_hash });
    const list = devicesByHousehold.get(r.household) ?? [];
    if (list.length === 0) devicesByHousehold.set(r.household, list);
    list.push(device);
  }
  const teams = rows.teams.map((t) => ({ id: t.id }));
  return { households, byTeam, devices, devicesByHousehold, teams };
}
