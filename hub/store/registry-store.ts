/**
 * The registry over SQLite: teams, households, devices, users and login sessions.
 *
 * Reads on the connect and alarm paths come from an in-memory index (devices, households,
 * team membership, users) built once and dropped on every write, so a whole province
 * reconnecting after a power cut costs a map lookup and one HMAC per device. Writes made by
 * another process (e.g. `smokehub import` while the hub runs) are noticed through SQLite's
 * `PRAGMA data_version`, checked at most once a second.
 */
import { dirname } from 'node:path';
import { ERROR_CODES, NotFoundError, SmokehubError, ValidationError } from '../protocol/errors.ts';
import { isValidId } from '../protocol/topics.ts';
import { DEVICE_KINDS, type DeviceKind } from '../protocol/schema.ts';
import type { Role } from '../core/acl.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { migrate, type Db } from './database.ts';
import { CARD_FIELDS, type Device, type Household, type HouseholdCard, type RegistryStore, type Team, type User } from './registry-types.ts';
import { DEFAULT_COUNTRY_CODE, PHONE_LIST_SEPARATOR, validPhones } from '../sms/phone-number.ts';
import {
  DeviceSecretHasher,
  dummyPasswordHash,
  generateDeviceSecret,
  generatePassword,
  generateSessionToken,
  hashPassword,
  hashSessionToken,
  loadOrCreateHubKey,
  passwordProblem,
  verifyPassword,
} from './credentials.ts';
import { CsvImportError, type CsvProblem, type ImportPlan, type ImportResult, type ImportTarget } from './csv-import.ts';

export type { ImportCounts, ImportResult } from './csv-import.ts';

export const ROLES: readonly Role[] = ['station', 'team-leader', 'household'];
/** A session ends after this long without use (sliding). */
export const SESSION_IDLE_MS = 7 * 24 * 3600 * 1000;
/** last_seen/expiry are written at most this often per session (not on every request). */
const SESSION_TOUCH_MS = 60 * 1000;
/** How often other processes' writes are looked for. */
const FRESHNESS_CHECK_MS = 1000;

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
];

const HOUSEHOLD_COLUMNS = 'id, team, name, address, phone, phones, lat, lon, access, hazards, vulnerable, water';
interface HouseholdRow extends HouseholdCard {
  id: string;
  team: string;
  name: string;
  address: string;
  phone: string;
  phones: string | null;
  lat: number | null;
  lon: number | null;
}

function copyHousehold(h: Household): Household {
  return { ...h, phones: [...h.phones], card: { ...h.card } };
}
interface DeviceRow {
  id: string;
  household: string;
  kind: string;
  secret_hash: string;
  enrolled_at: number;
}
interface UserRow {
  username: string;
  role: Role;
  team: string | null;
  household: string | null;
  password_hash: string;
}
interface SessionRow {
  username: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
}

interface Index {
  households: Map<string, Household>;
  byTeam: Map<string, Household[]>;
  devices: Map<string, { device: Device; secretHash: string }>;
  devicesByHousehold: Map<string, Device[]>;
  teams: Team[];
}

export interface AddUserInput {
  username: string;
  role: Role;
  team?: string | null;
  household?: string | null;
  /** When absent a readable password is generated and returned. */
  password?: string | null;
}

/** A resolved session: the user, and whether its expiry was just pushed forward (re-send the cookie). */
export interface ResolvedSession {
  user: User;
  expiresAt: number;
  refreshed: boolean;
}

export interface RegistryStoreOptions {
  /** Where hub.key lives; defaults to the database file's directory. */
  dataDir?: string;
  /** The HMAC key for device secrets (tests); read from DATA/hub.key when absent. */
  hubKey?: Buffer;
  clock?: Clock;
  /** Country code for `phone` cells stored before numbers were normalised (default 84). */
  countryCode?: number;
}

export class SqliteRegistryStore implements RegistryStore, ImportTarget {
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly hasher: DeviceSecretHasher;
  private readonly countryCode: number;
  private index: Index | null = null;
  private users: Map<string, UserRow> | null = null;
  private dataVersion = -1;
  private lastFreshnessCheck = 0;

  constructor(db: Db, opts: RegistryStoreOptions = {}) {
    this.db = db;
    this.clock = opts.clock ?? systemClock;
    this.countryCode = opts.countryCode ?? DEFAULT_COUNTRY_CODE;
    migrate(db, 'registry', MIGRATIONS);
    const key = opts.hubKey ?? loadOrCreateHubKey(opts.dataDir ?? dirname(db.name));
    this.hasher = new DeviceSecretHasher(key);
    this.dataVersion = this.readDataVersion();
    this.lastFreshnessCheck = Date.now();
  }

  // --- cache -------------------------------------------------------------------------------

  private readDataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Drops the caches when another connection (another process) committed since the last look. */
  private checkFreshness(): void {
    const now = Date.now();
    if (now - this.lastFreshnessCheck < FRESHNESS_CHECK_MS) return;
    this.lastFreshnessCheck = now;
    const v = this.readDataVersion();
    if (v !== this.dataVersion) {
      this.dataVersion = v;
      this.invalidate();
    }
  }

  /** Forget everything cached; the next read reloads. Called after every write. */
  invalidate(): void {
    this.index = null;
    this.users = null;
  }

  /** User writes leave the (large) device/household index alone. */
  private invalidateUsers(): void {
    this.users = null;
  }

  private idx(): Index {
    this.checkFreshness();
    if (this.index) return this.index;
    const households = new Map<string, Household>();
    const byTeam = new Map<string, Household[]>();
    for (const r of this.db.prepare(`SELECT ${HOUSEHOLD_COLUMNS} FROM households ORDER BY id`).all() as HouseholdRow[]) {
      const h: Household = {
        id: r.id,
        team: r.team,
        name: r.name,
        address: r.address,
        phone: r.phone,
        phones: this.phonesOf(r),
        lat: r.lat,
        lon: r.lon,
        card: { access: r.access, hazards: r.hazards, vulnerable: r.vulnerable, water: r.water },
      };
      households.set(h.id, h);
      let list = byTeam.get(h.team);
      if (!list) byTeam.set(h.team, (list = []));
      list.push(h);
    }
    const devices = new Map<string, { device: Device; secretHash: string }>();
    const devicesByHousehold = new Map<string, Device[]>();
    for (const r of this.db.prepare('SELECT id, household, kind, secret_hash, enrolled_at FROM devices ORDER BY id').all() as DeviceRow[]) {
      const team = households.get(r.household)?.team ?? '';
      const device: Device = { id: r.id, household: r.household, team, kind: r.kind as DeviceKind, enrolledAt: r.enrolled_at };
      devices.set(r.id, { device, secretHash: r.secret_hash });
      let list = devicesByHousehold.get(r.household);
      if (!list) devicesByHousehold.set(r.household, (list = []));
      list.push(device);
    }
    const teams = (this.db.prepare('SELECT id FROM teams ORDER BY id').all() as Team[]).map((t) => ({ id: t.id }));
    this.index = { households, byTeam, devices, devicesByHousehold, teams };
    return this.index;
  }

  /** Stored E.164 numbers; rows imported before they were stored get theirs from `phone` (valid parts only). */
  private phonesOf(r: HouseholdRow): string[] {
    if (r.phones === null) return validPhones(r.phone, this.countryCode);
    return r.phones === '' ? [] : r.phones.split(PHONE_LIST_SEPARATOR);
  }

  private userMap(): Map<string, UserRow> {
    this.checkFreshness();
    if (this.users) return this.users;
    const m = new Map<string, UserRow>();
    for (const r of this.db.prepare('SELECT username, role, team, household, password_hash FROM users').all() as UserRow[]) m.set(r.username, r);
    this.users = m;
    return m;
  }

  // --- RegistryStore -----------------------------------------------------------------------

  getHousehold(id: string): Household | undefined {
    const h = this.idx().households.get(id);
    return h ? copyHousehold(h) : undefined;
  }

  getDevice(id: string): Device | undefined {
    const d = this.idx().devices.get(id);
    return d ? { ...d.device } : undefined;
  }

  householdsOfTeam(team: string): Household[] {
    return (this.idx().byTeam.get(team) ?? []).map(copyHousehold);
  }

  teamOf(household: string): string | undefined {
    return this.idx().households.get(household)?.team;
  }

  listHouseholds(filter: { team?: string } = {}): Household[] {
    const idx = this.idx();
    const list = filter.team !== undefined ? (idx.byTeam.get(filter.team) ?? []) : [...idx.households.values()];
    return list.map(copyHousehold);
  }

  listDevices(filter: { household?: string; team?: string } = {}): Device[] {
    const idx = this.idx();
    let list: Device[];
    if (filter.household !== undefined) list = idx.devicesByHousehold.get(filter.household) ?? [];
    else if (filter.team !== undefined) list = (idx.byTeam.get(filter.team) ?? []).flatMap((h) => idx.devicesByHousehold.get(h.id) ?? []);
    else list = [...idx.devices.values()].map((d) => d.device);
    if (filter.team !== undefined) list = list.filter((d) => d.team === filter.team);
    return list.map((d) => ({ ...d }));
  }

  listTeams(): Team[] {
    return this.idx().teams.map((t) => ({ ...t }));
  }

  verifyDeviceSecret(deviceId: string, secret: string): Device | null {
    if (typeof secret !== 'string') return null;
    const entry = this.idx().devices.get(deviceId);
    // The HMAC runs whether or not the device exists: timing does not reveal device ids.
    const ok = this.hasher.verify(secret, entry?.secretHash);
    return ok && entry ? { ...entry.device } : null;
  }

  async verifyUserPassword(username: string, password: string): Promise<User | null> {
    if (typeof username !== 'string' || typeof password !== 'string') return null;
    const row = this.userMap().get(username);
    const ok = await verifyPassword(password, row?.password_hash ?? (await dummyPasswordHash()));
    if (!ok || !row) return null;
    // The user may have been removed while scrypt ran.
    return this.getUser(username) ?? null;
  }

  getUser(username: string): User | undefined {
    const r = this.userMap().get(username);
    return r ? { username: r.username, role: r.role, team: this.userTeam(r), household: r.household } : undefined;
  }

  /** A household user's team follows its household (households may be moved between teams). */
  private userTeam(r: UserRow): string | null {
    if (r.role === 'household' && r.household) return this.teamOf(r.household) ?? r.team;
    return r.team;
  }

  // --- users -------------------------------------------------------------------------------

  listUsers(): User[] {
    return [...this.userMap().keys()].sort().map((u) => this.getUser(u)!);
  }

  /** Adds a person. Returns the user and the password (generated when none was given). */
  async addUser(input: AddUserInput): Promise<{ user: User; password: string; generated: boolean }> {
    const { username, role } = input;
    if (!isValidId(username))
      throw new ValidationError(
        ERROR_CODES.BAD_FIELD,
        `user name "${String(username).slice(0, 64)}" is not valid: use letters, digits, "_", "." or "-" (at most 64, starting with a letter or digit)`,
      );
    if (!ROLES.includes(role)) throw new ValidationError(ERROR_CODES.BAD_FIELD, `role must be one of ${ROLES.join(', ')}`);
    let team: string | null = null;
    let household: string | null = null;
    if (role === 'team-leader') {
      if (!input.team) throw new ValidationError(ERROR_CODES.BAD_FIELD, 'a team-leader needs --team');
      if (input.household) throw new ValidationError(ERROR_CODES.BAD_FIELD, 'a team-leader has no household; give --team only');
      if (!this.idx().byTeam.has(input.team) && !this.idx().teams.some((t) => t.id === input.team)) {
        throw new NotFoundError(`team "${input.team}" does not exist; import its households first`);
      }
      team = input.team;
    } else if (role === 'household') {
      if (!input.household) throw new ValidationError(ERROR_CODES.BAD_FIELD, 'a household user needs --household');
      const h = this.getHousehold(input.household);
      if (!h) throw new NotFoundError(`household "${input.household}" does not exist; import it first`);
      if (input.team && input.team !== h.team)
        throw new ValidationError(ERROR_CODES.BAD_FIELD, `household "${h.id}" belongs to team "${h.team}", not "${input.team}"`);
      household = h.id;
      team = h.team;
    } else if (input.team || input.household) {
      throw new ValidationError(ERROR_CODES.BAD_FIELD, 'a station user sees every team; do not give --team or --household');
    }
    const generated = input.password === undefined || input.password === null;
    const password = generated ? generatePassword() : input.password!;
    const problem = passwordProblem(password);
    if (problem) throw new ValidationError(ERROR_CODES.BAD_FIELD, problem);
    if (this.userMap().has(username)) throw new SmokehubError(ERROR_CODES.CONFLICT, `user "${username}" already exists`);
    const hash = await hashPassword(password);
    try {
      this.db
        .prepare('INSERT INTO users (username, role, team, household, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(username, role, team, household, hash, this.clock.now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
        throw new SmokehubError(ERROR_CODES.CONFLICT, `user "${username}" already exists`);
      throw err;
    } finally {
      this.invalidateUsers();
    }
    return { user: this.getUser(username)!, password, generated };
  }

  /** Sets a new password (generated when none is given) and ends the user's sessions. */
  async setPassword(username: string, password?: string | null): Promise<{ password: string; generated: boolean }> {
    if (!this.userMap().has(username)) throw new NotFoundError(`user "${username}" does not exist`);
    const generated = password === undefined || password === null;
    const pw = generated ? generatePassword() : password!;
    const problem = passwordProblem(pw);
    if (problem) throw new ValidationError(ERROR_CODES.BAD_FIELD, problem);
    const hash = await hashPassword(pw);
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(hash, username);
      this.db.prepare('DELETE FROM sessions WHERE username = ?').run(username);
    })();
    this.invalidateUsers();
    return { password: pw, generated };
  }

  /** Removes a user and their sessions. */
  removeUser(username: string): void {
    const r = this.db.prepare('DELETE FROM users WHERE username = ?').run(username);
    this.invalidateUsers();
    if (r.changes === 0) throw new NotFoundError(`user "${username}" does not exist`);
  }

  /**
   * First start: with no users at all, creates the station user `admin` with a generated
   * password and returns it (to be printed once). Otherwise returns null.
   */
  async ensureAdmin(): Promise<string | null> {
    const n = (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
    if (n > 0) return null;
    try {
      const { password } = await this.addUser({ username: 'admin', role: 'station' });
      return password;
    } catch (err) {
      // Another process created it between the count and the insert.
      if (err instanceof SmokehubError && err.code === ERROR_CODES.CONFLICT) return null;
      throw err;
    }
  }

  // --- sessions ----------------------------------------------------------------------------

  /** Opens a session for a user; returns the token (only its hash is stored). */
  createSession(username: string): { token: string; expiresAt: number } {
    if (!this.userMap().has(username)) throw new NotFoundError(`user "${username}" does not exist`);
    const now = this.clock.now();
    const token = generateSessionToken();
    const expiresAt = now + SESSION_IDLE_MS;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now);
      this.db
        .prepare('INSERT INTO sessions (token_hash, username, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(hashSessionToken(token), username, now, now, expiresAt);
    })();
    return { token, expiresAt };
  }

  /** The session's user, or null when the token is unknown, revoked or idle for too long (sliding expiry). */
  resolveSession(token: string): ResolvedSession | null {
    if (typeof token !== 'string' || token.length === 0 || token.length > 256) return null;
    const hash = hashSessionToken(token);
    const row = this.db.prepare('SELECT username, created_at, last_seen, expires_at FROM sessions WHERE token_hash = ?').get(hash) as SessionRow | undefined;
    if (!row) return null;
    const now = this.clock.now();
    if (row.expires_at <= now) {
      this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hash);
      return null;
    }
    const user = this.getUser(row.username);
    if (!user) return null;
    if (now - row.last_seen >= SESSION_TOUCH_MS) {
      const expiresAt = now + SESSION_IDLE_MS;
      this.db.prepare('UPDATE sessions SET last_seen = ?, expires_at = ? WHERE token_hash = ?').run(now, expiresAt, hash);
      return { user, expiresAt, refreshed: true };
    }
    return { user, expiresAt: row.expires_at, refreshed: false };
  }

  /** Ends a session (logout). Returns whether it existed. */
  revokeSession(token: string): boolean {
    return this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hashSessionToken(token)).changes > 0;
  }

  countSessions(username?: string): number {
    const row = (
      username === undefined
        ? this.db.prepare('SELECT COUNT(*) AS n FROM sessions').get()
        : this.db.prepare('SELECT COUNT(*) AS n FROM sessions WHERE username = ?').get(username)
    ) as { n: number };
    return row.n;
  }

  // --- enrolment ---------------------------------------------------------------------------

  /** Planned devices that would silently move from one household to another (refused without allowMoves). */
  moveProblems(devices: ImportPlan['devices']): CsvProblem[] {
    const get = this.db.prepare('SELECT household FROM devices WHERE id = ?');
    const problems: CsvProblem[] = [];
    for (const d of devices) {
      const existing = get.get(d.id) as { household: string } | undefined;
      if (existing && existing.household !== d.household) {
        problems.push({
          line: d.line,
          reason: `device "${d.id}" is enrolled in household "${existing.household}"; moving it to "${d.household}" needs --allow-moves`,
        });
      }
    }
    return problems;
  }

  /**
   * Applies a validated import plan in ONE transaction: teams, households and devices are
   * upserted; a blank secret enrols a new device with a generated secret and leaves an existing
   * device's secret alone. A device that already belongs to another household is refused
   * (reported with its line) unless `allowMoves`. On any problem nothing is written.
   */
  applyImport(plan: ImportPlan, opts: { allowMoves?: boolean } = {}): ImportResult {
    const now = this.clock.now();
    const result: ImportResult = {
      teamsCreated: 0,
      households: { created: 0, updated: 0, unchanged: 0 },
      devices: { created: 0, updated: 0, unchanged: 0, moved: 0 },
      credentials: [],
    };
    const getDevice = this.db.prepare('SELECT id, household, kind, secret_hash, enrolled_at FROM devices WHERE id = ?');
    const getHousehold = this.db.prepare(`SELECT ${HOUSEHOLD_COLUMNS} FROM households WHERE id = ?`);
    const insertTeam = this.db.prepare('INSERT OR IGNORE INTO teams (id, created_at) VALUES (?, ?)');
    const insertHousehold = this.db.prepare(
      `INSERT INTO households (id, team, name, address, phone, phones, lat, lon, access, hazards, vulnerable, water, created_at, updated_at)
       VALUES (@id, @team, @name, @address, @phone, @phones, @lat, @lon, @access, @hazards, @vulnerable, @water, @now, @now)`,
    );
    const updateHousehold = this.db.prepare(
      `UPDATE households SET team = @team, name = @name, address = @address, phone = @phone, phones = @phones, lat = @lat, lon = @lon,
         access = @access, hazards = @hazards, vulnerable = @vulnerable, water = @water, updated_at = @now WHERE id = @id`,
    );
    const insertDevice = this.db.prepare('INSERT INTO devices (id, household, kind, secret_hash, enrolled_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    const updateDevice = this.db.prepare('UPDATE devices SET household = ?, kind = ?, secret_hash = ?, updated_at = ? WHERE id = ?');
    const updateHouseholdUsers = this.db.prepare("UPDATE users SET team = ? WHERE role = 'household' AND household = ?");

    const run = this.db.transaction(() => {
      const problems = opts.allowMoves ? [] : this.moveProblems(plan.devices);
      if (problems.length > 0) throw new CsvImportError(problems);

      for (const team of plan.teams) result.teamsCreated += insertTeam.run(team, now).changes;
      for (const h of plan.households) {
        const existing = getHousehold.get(h.id) as HouseholdRow | undefined;
        // A card column missing from the file keeps the stored value (new households: '').
        const card = {} as HouseholdCard;
        for (const f of CARD_FIELDS) card[f] = h.card[f] ?? existing?.[f] ?? '';
        const row: HouseholdRow = {
          id: h.id,
          team: h.team,
          name: h.name,
          address: h.address,
          phone: h.phone,
          phones: h.phones.join(PHONE_LIST_SEPARATOR),
          lat: h.lat,
          lon: h.lon,
          ...card,
        };
        if (!existing) {
          insertHousehold.run({ ...row, now });
          result.households.created++;
        } else if ((Object.keys(row) as Array<keyof HouseholdRow>).some((k) => existing[k] !== row[k])) {
          updateHousehold.run({ ...row, now });
          if (existing.team !== h.team) updateHouseholdUsers.run(h.team, h.id);
          result.households.updated++;
        } else {
          result.households.unchanged++;
        }
      }
      for (const d of plan.devices) {
        const existing = getDevice.get(d.id) as DeviceRow | undefined;
        if (!existing) {
          let secret = d.secret;
          if (secret === null) {
            secret = generateDeviceSecret();
            result.credentials.push({ household: d.household, device: d.id, secret });
          }
          insertDevice.run(d.id, d.household, d.kind, this.hasher.hash(secret), now, now);
          result.devices.created++;
          continue;
        }
        const secretHash = d.secret === null ? existing.secret_hash : this.hasher.hash(d.secret);
        const moved = existing.household !== d.household;
        if (moved || existing.kind !== d.kind || secretHash !== existing.secret_hash) {
          updateDevice.run(d.household, d.kind, secretHash, now, d.id);
          result.devices.updated++;
          if (moved) result.devices.moved++;
        } else {
          result.devices.unchanged++;
        }
      }
    });
    try {
      run.immediate();
    } finally {
      this.invalidate();
    }
    return result;
  }

  /** Validates a device kind (used by callers outside the CSV path). */
  static isDeviceKind(kind: string): kind is DeviceKind {
    return (DEVICE_KINDS as readonly string[]).includes(kind);
  }
}
