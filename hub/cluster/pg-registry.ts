/**
 * The registry over PostgreSQL, shared by every node of a cluster: `PgRegistryStore` implements
 * `RegistryStore` (hub/store/registry-types.ts) as `SqliteRegistryStore` does.
 *
 * Reads are synchronous and served from an in-memory index (the SQLite store's: buildRegistryIndex,
 * RegistryReads, UserReads), loaded by `await load()` and reloaded when any node, the CLI or psql
 * writes (NOTIFY smokehub_registry from the tables' triggers, heard on a dedicated LISTEN connection
 * that reconnects; each reconnection reloads, since notifications may have been missed). A reload
 * that fails keeps the old index (reads go on answering), is logged and counted (`stats`), and is
 * retried. A node's own write reloads its index before the write answers (read your writes).
 *
 * Writes and sessions are async (PostgreSQL round trips): applyImport, moveProblems, addUser,
 * setPassword, removeUser, ensureAdmin, createSession, resolveSession, revokeSession, countSessions.
 * Device secrets are HMACs under the hub key, which every node must share (DATA/hub.key copied).
 */
import type pg from 'pg';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import { DEFAULT_COUNTRY_CODE } from '../sms/phone-number.ts';
import { DeviceSecretHasher } from '../store/credentials.ts';
import type { AsyncImportTarget, CsvProblem, ImportPlan, ImportResult } from '../store/csv-import.ts';
import { buildRegistryIndex, type RegistryIndex } from '../store/registry-cache.ts';
import { RegistryReads, unknownTeamError } from '../store/registry-reads.ts';
import { DEVICE_COLUMNS, type DeviceRow, HOUSEHOLD_COLUMNS, type HouseholdRow, USER_COLUMNS, type UserRow } from '../store/registry-schema.ts';
import type { ResolvedSession } from '../store/registry-sessions.ts';
import type { Device, Household, RegistryStore, Team, User } from '../store/registry-types.ts';
import type { AddUserInput } from '../store/registry-users.ts';
import { PgListener } from './pg-listener.ts';
import { isConnectionError } from './pg-pool.ts';
import { PgRegistryEnrolment } from './pg-registry-enrolment.ts';
import { migratePgRegistry, openPgPool, REGISTRY_CHANNEL } from './pg-registry-schema.ts';
import { PgRegistrySessions } from './pg-registry-sessions.ts';
import { PgRegistryUsers } from './pg-registry-users.ts';

export interface PgRegistryStoreOptions {
  /** postgres://… — the LISTEN connection's, and the pool's when none is given. */
  url: string;
  /**
   * A pool to share (not closed by close()); one is opened from `url` otherwise (openPgPool). A
   * shared pool must hear every connection's 'error', checked out or not (PgPool's does).
   */
  pool?: pg.Pool;
  /** The HMAC key of device secrets: the same on every node (DATA/hub.key). */
  hubKey: Buffer;
  clock?: Clock;
  /** Country code for `phone` cells stored before numbers were normalised (default 84). */
  countryCode?: number;
  logger?: Pick<Logger, 'warn' | 'info'>;
  /** Run the registry's migrations in load() (default true). */
  migrate?: boolean;
  /** Delay before retrying a failed reload (ms, default 1000). */
  reloadRetryMs?: number;
  /** LISTEN connection: first reconnect delay, its cap, heartbeat (ms). */
  listenRetryMs?: number;
  listenMaxRetryMs?: number;
  heartbeatMs?: number;
}

export interface PgRegistryStats {
  /** Index reloads done (the first load included). */
  reloads: number;
  /** Reloads that failed (the old index kept). */
  reloadFailures: number;
  /** Times the LISTEN connection came back after losing PostgreSQL. */
  listenReconnects: number;
  listening: boolean;
}

type Scope = 'users' | 'all';

export class PgRegistryStore implements RegistryStore, AsyncImportTarget {
  private readonly pool: pg.Pool;
  private readonly ownPool: boolean;
  private readonly opts: PgRegistryStoreOptions;
  private readonly countryCode: number;
  private readonly listener: PgListener;
  private current: RegistryIndex | null = null;
  private userRows: Map<string, UserRow> = new Map();
  readonly reads: RegistryReads;
  readonly users: PgRegistryUsers;
  readonly sessions: PgRegistrySessions;
  readonly enrolment: PgRegistryEnrolment;
  private wanted: Scope | null = null;
  private running: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private counts = { reloads: 0, reloadFailures: 0 };

  constructor(opts: PgRegistryStoreOptions) {
    this.opts = opts;
    const clock = opts.clock ?? systemClock;
    this.countryCode = opts.countryCode ?? DEFAULT_COUNTRY_CODE;
    this.ownPool = !opts.pool;
    this.pool = opts.pool ?? openPgPool(opts.url, { onError: (err) => opts.logger?.warn({ err }, 'registry: PostgreSQL connection lost') });
    const hasher = new DeviceSecretHasher(opts.hubKey);
    this.reads = new RegistryReads({ index: () => this.index() }, hasher);
    const afterWrite = (scope: Scope) => () => this.requestReload(scope);
    this.users = new PgRegistryUsers(this.pool, {
      rows: { users: () => this.userRows },
      scopes: this.reads,
      clock,
      afterWrite: afterWrite('users'),
    });
    this.sessions = new PgRegistrySessions(this.pool, { clock, teamOf: (h) => this.current?.households.get(h)?.team });
    this.enrolment = new PgRegistryEnrolment(this.pool, { hasher, clock, afterWrite: afterWrite('all') });
    this.listener = new PgListener({
      url: opts.url,
      channel: REGISTRY_CHANNEL,
      onNotify: (table) => void this.requestReload(table === 'users' ? 'users' : 'all'),
      // Back after an outage: whatever was written meanwhile was not heard.
      onConnected: () => {
        if (this.current) void this.requestReload('all');
      },
      onError: (err) => opts.logger?.warn({ err: err.message }, 'registry: LISTEN connection lost; reconnecting'),
      retryMs: opts.listenRetryMs,
      maxRetryMs: opts.listenMaxRetryMs,
      heartbeatMs: opts.heartbeatMs,
    });
  }

  /** Migrates (unless told not to), starts listening and loads the index. Throws when PostgreSQL cannot be read. */
  async load(): Promise<this> {
    if (this.opts.migrate !== false) await migratePgRegistry(this.pool, () => (this.opts.clock ?? systemClock).now());
    await this.listener.start();
    await this.reloadNow('all');
    return this;
  }

  /** Opens and loads a store. */
  static async open(opts: PgRegistryStoreOptions): Promise<PgRegistryStore> {
    return new PgRegistryStore(opts).load();
  }

  get stats(): PgRegistryStats {
    return { ...this.counts, listenReconnects: this.listener.reconnects, listening: this.listener.connected };
  }

  private index(): RegistryIndex {
    if (!this.current) throw new Error('PgRegistryStore: await load() before reading');
    return this.current;
  }

  /**
   * Reloads now; throws on failure (the old index kept). A connection error (a pooled connection
   * that died with a PostgreSQL restart) is tried once more on a new connection: a read is safe to repeat.
   */
  private async reloadNow(scope: Scope): Promise<void> {
    try {
      await this.reloadOnce(scope);
    } catch (err) {
      if (!isConnectionError(err) || this.closed) throw err;
      await this.reloadOnce(scope);
    }
  }

  private async reloadOnce(scope: Scope): Promise<void> {
    const client = await this.pool.connect();
    let failure: unknown;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const users = await client.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users`);
      let index = this.current;
      if (scope === 'all' || !index) {
        const households = await client.query<HouseholdRow>(`SELECT ${HOUSEHOLD_COLUMNS} FROM households ORDER BY id COLLATE "C"`);
        const devices = await client.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id COLLATE "C"`);
        const teams = await client.query<Team>('SELECT id FROM teams ORDER BY id COLLATE "C"');
        index = buildRegistryIndex({ households: households.rows, devices: devices.rows, teams: teams.rows }, this.countryCode);
      }
      await client.query('COMMIT');
      this.current = index;
      this.userRows = new Map(users.rows.map((r) => [r.username, r]));
      this.counts.reloads++;
    } catch (err) {
      failure = err;
      if (!isConnectionError(err)) await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      // A connection that failed is closed, not handed out again.
      client.release(failure !== undefined && isConnectionError(failure) ? (failure as Error) : undefined);
    }
  }

  /**
   * Asks for a reload; resolves once a reload that STARTED after this call has ended (so a writer
   * sees its own commit), never rejects. Requests while one runs are folded into the next.
   */
  private requestReload(scope: Scope): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.wanted !== 'all') this.wanted = scope;
    this.running ??= this.runReloads();
    return this.running;
  }

  private async runReloads(): Promise<void> {
    try {
      while (this.wanted && !this.closed) {
        const scope = this.wanted;
        this.wanted = null;
        try {
          await this.reloadNow(scope);
        } catch (err) {
          this.counts.reloadFailures++;
          this.opts.logger?.warn({ err: (err as Error).message }, 'registry: reload from PostgreSQL failed; still answering from the last index');
          this.scheduleRetry(scope);
          return;
        }
      }
    } finally {
      // In the same turn as the loop's last check: a request after it starts a new run.
      this.running = null;
    }
  }

  private scheduleRetry(scope: Scope): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.requestReload(scope);
    }, this.opts.reloadRetryMs ?? 1000);
    this.retryTimer.unref();
  }

  /** Reloads in the background (RegistryStore: another writer changed the registry). */
  invalidate(): void {
    void this.requestReload('all');
  }

  /** Devices changed by another writer: everything is reloaded (PostgreSQL's NOTIFY does it for every node). */
  reloadDevices(_ids: readonly string[]): void {
    void this.requestReload('all');
  }

  /** Reloads and waits for it (tests, after a write made outside this store). */
  refresh(): Promise<void> {
    return this.requestReload('all');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.listener.stop();
    await this.running?.catch(() => {});
    if (this.ownPool) await this.pool.end();
  }

  // --- reads (RegistryStore), from memory ----------------------------------------------------

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
  hasTeam(team: string): boolean {
    return this.reads.hasTeam(team);
  }
  requireTeam(team: string): void {
    if (!this.reads.hasTeam(team)) throw unknownTeamError(team);
  }
  verifyDeviceSecret(deviceId: string, secret: string): Device | null {
    return this.reads.verifyDeviceSecret(deviceId, secret);
  }

  // --- users ---------------------------------------------------------------------------------

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
  /** Async here (sync in SqliteRegistryStore). */
  removeUser(username: string): Promise<void> {
    return this.users.removeUser(username);
  }
  ensureAdmin(): Promise<string | null> {
    return this.users.ensureAdmin();
  }

  // --- sessions (all async here; sync in SqliteRegistryStore) ---------------------------------

  createSession(username: string): Promise<{ token: string; expiresAt: number }> {
    return this.sessions.createSession(username);
  }
  resolveSession(token: string): Promise<ResolvedSession | null> {
    return this.sessions.resolveSession(token);
  }
  revokeSession(token: string): Promise<boolean> {
    return this.sessions.revokeSession(token);
  }
  countSessions(username?: string): Promise<number> {
    return this.sessions.countSessions(username);
  }

  // --- enrolment (AsyncImportTarget: importCsvAsync) -------------------------------------------

  moveProblems(devices: ImportPlan['devices']): Promise<CsvProblem[]> {
    return this.enrolment.moveProblems(devices);
  }
  applyImport(plan: ImportPlan, opts: { allowMoves?: boolean } = {}): Promise<ImportResult> {
    return this.enrolment.applyImport(plan, opts);
  }
}
