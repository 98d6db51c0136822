/**
 * The registry over SQLite: teams, households, devices, users and login sessions.
 *
 * A composition of one module per job, sharing one connection and one read cache:
 * registry-schema.ts (tables, migrations), registry-cache.ts (read cache, other processes' writes),
 * registry-reads.ts (households, devices, teams, device secrets), registry-users.ts (people and
 * passwords), registry-sessions.ts (login sessions), registry-enrolment.ts (CSV import plans).
 * `SqliteRegistryStore` only wires them and forwards; a consumer that needs one job can take the
 * piece (`store.sessions`, `store.users`, …) instead.
 */
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../core/clock.ts';
import { DEFAULT_COUNTRY_CODE } from '../sms/phone-number.ts';
import { DeviceSecretHasher, loadOrCreateHubKey } from './credentials.ts';
import type { CsvProblem, ImportPlan, ImportResult, ImportTarget } from './csv-import.ts';
import type { Db } from './database.ts';
import { RegistryCache } from './registry-cache.ts';
import { RegistryEnrolment } from './registry-enrolment.ts';
import { RegistryReads, unknownTeamError } from './registry-reads.ts';
import { migrateRegistry } from './registry-schema.ts';
import { RegistrySessions, type ResolvedSession } from './registry-sessions.ts';
import type { Device, Household, RegistryStore, Team, User } from './registry-types.ts';
import { type AddUserInput, RegistryUsers } from './registry-users.ts';

export type { ImportCounts, ImportResult } from './csv-import.ts';
export { SESSION_IDLE_MS, type ResolvedSession } from './registry-sessions.ts';
export { ROLES, type AddUserInput } from './registry-users.ts';

export interface RegistryStoreOptions {
  /** Where hub.key lives; defaults to the database file's directory. */
  dataDir?: string;
  /** The HMAC key for device secrets (tests); read from DATA/hub.key when absent. */
  hubKey?: Buffer;
  /** Time for sessions, row dates and the cache's freshness checks (default: the system clock). */
  clock?: Clock;
  /** Country code for `phone` cells stored before numbers were normalised (default 84). */
  countryCode?: number;
}

export class SqliteRegistryStore implements RegistryStore, ImportTarget {
  private readonly cache: RegistryCache;
  readonly reads: RegistryReads;
  readonly users: RegistryUsers;
  readonly sessions: RegistrySessions;
  readonly enrolment: RegistryEnrolment;

  constructor(db: Db, opts: RegistryStoreOptions = {}) {
    const clock = opts.clock ?? systemClock;
    migrateRegistry(db, clock);
    const hasher = new DeviceSecretHasher(opts.hubKey ?? loadOrCreateHubKey(opts.dataDir ?? dirname(db.name)));
    this.cache = new RegistryCache(db, { clock, countryCode: opts.countryCode ?? DEFAULT_COUNTRY_CODE });
    this.reads = new RegistryReads(this.cache, hasher);
    this.users = new RegistryUsers(db, { cache: this.cache, scopes: this.reads, clock });
    this.sessions = new RegistrySessions(db, { users: this.users, clock });
    this.enrolment = new RegistryEnrolment(db, { cache: this.cache, hasher, clock });
  }

  /** Forget everything cached; the next read reloads. */
  reloadDevices(ids: readonly string[]): void {
    this.cache.reloadDevices(ids);
  }

  invalidate(): void {
    this.cache.invalidate();
  }

  // --- reads (RegistryStore) ---------------------------------------------------------------

  getHousehold(id: string): Household | undefined {
    return this.reads.getHousehold(id);
  }
  getDevice(id: string): Device | undefined {
    return this.reads.getDevice(id);
  }
  householdsOfTeam(team: string): Household[] {
    return this.reads.householdsOfTeam(team);
  }
  teamOf(household: string): string | undefined {
    return this.reads.teamOf(household);
  }
  listHouseholds(filter: { team?: string } = {}): Household[] {
    return this.reads.listHouseholds(filter);
  }
  listDevices(filter: { household?: string; team?: string } = {}): Device[] {
    return this.reads.listDevices(filter);
  }
  listTeams(): Team[] {
    return this.reads.listTeams();
  }
  /** Whether the team exists (has households, or was created by an import). */
  hasTeam(team: string): boolean {
    return this.reads.hasTeam(team);
  }
  /** Throws the NotFoundError every command gives for a team not on record. */
  requireTeam(team: string): void {
    if (!this.reads.hasTeam(team)) throw unknownTeamError(team);
  }
  verifyDeviceSecret(deviceId: string, secret: string): Device | null {
    return this.reads.verifyDeviceSecret(deviceId, secret);
  }

  // --- users -------------------------------------------------------------------------------

  verifyUserPassword(username: string, password: string): Promise<User | null> {
    return this.users.verifyUserPassword(username, password);
  }
  getUser(username: string): User | undefined {
    return this.users.getUser(username);
  }
  listUsers(): User[] {
    return this.users.listUsers();
  }
  addUser(input: AddUserInput): Promise<{ user: User; password: string; generated: boolean }> {
    return this.users.addUser(input);
  }
  setPassword(username: string, password?: string | null): Promise<{ password: string; generated: boolean }> {
    return this.users.setPassword(username, password);
  }
  removeUser(username: string): void {
    this.users.removeUser(username);
  }
  ensureAdmin(): Promise<string | null> {
    return this.users.ensureAdmin();
  }

  // --- sessions ----------------------------------------------------------------------------

  createSession(username: string): { token: string; expiresAt: number } {
    return this.sessions.createSession(username);
  }
  resolveSession(token: string): ResolvedSession | null {
    return this.sessions.resolveSession(token);
  }
  revokeSession(token: string): boolean {
    return this.sessions.revokeSession(token);
  }
  countSessions(username?: string): number {
    return this.sessions.countSessions(username);
  }

  // --- enrolment (ImportTarget) ------------------------------------------------------------

  moveProblems(devices: ImportPlan['devices']): CsvProblem[] {
    return this.enrolment.moveProblems(devices);
  }
  applyImport(plan: ImportPlan, opts: { allowMoves?: boolean } = {}): ImportResult {
    return this.enrolment.applyImport(plan, opts);
  }
}
