/**
 * People who log in (table `users`): adding them with a role and scope, passwords (scrypt;
 * generated when none is given), removal, and the first-start `admin`. Reads come from the
 * read cache; every write drops the cached user map.
 */
import type { Role } from '../core/acl.ts';
import type { Clock } from '../core/clock.ts';
import { ERROR_CODES, NotFoundError, SmokehubError, ValidationError } from '../protocol/errors.ts';
import { isValidId } from '../protocol/topics.ts';
import { dummyPasswordHash, generatePassword, hashPassword, passwordProblem, verifyPassword } from './credentials.ts';
import type { Db } from './database.ts';
import type { RegistryCache } from './registry-cache.ts';
import type { UserRow } from './registry-schema.ts';
import { unknownTeamError } from './registry-reads.ts';
import { endSessionsOf } from './registry-sessions.ts';
import type { Household, User } from './registry-types.ts';

export const ROLES: readonly Role[] = ['station', 'team-leader', 'household'];

export interface AddUserInput {
  username: string;
  role: Role;
  team?: string | null;
  household?: string | null;
  /** When absent a readable password is generated and returned. */
  password?: string | null;
}

/** What users need to know of households and teams (the port is owned here). */
export interface UserScopes {
  getHousehold(id: string): Household | undefined;
  teamOf(household: string): string | undefined;
  hasTeam(team: string): boolean;
}

/**
 * For an import that moves households between teams: their household users' stored team follows
 * (prepared once; run inside the import's transaction).
 */
export function householdUsersFollower(db: Db): (household: string, team: string) => void {
  const update = db.prepare("UPDATE users SET team = ? WHERE role = 'household' AND household = ?");
  return (household, team) => void update.run(team, household);
}

/** Where user reads find the user rows: the SQLite read cache, or hub/cluster/pg-registry.ts's index. */
export interface UserRowSource {
  users(): ReadonlyMap<string, UserRow>;
}

/** The password to store: the one given (checked), or a generated one. */
export function choosePassword(password?: string | null): { password: string; generated: boolean } {
  const generated = password === undefined || password === null;
  const pw = generated ? generatePassword() : password!;
  const problem = passwordProblem(pw);
  if (problem) throw new ValidationError(ERROR_CODES.BAD_FIELD, problem);
  return { password: pw, generated };
}

/**
 * Checks a new user's name, role, scope and password (not whether the name is taken); returns the
 * row's team and household and the password. Throws the errors `addUser` gives, whichever store.
 */
export function checkNewUser(input: AddUserInput, scopes: UserScopes): { team: string | null; household: string | null; password: string; generated: boolean } {
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
    if (!scopes.hasTeam(input.team)) throw unknownTeamError(input.team);
    team = input.team;
  } else if (role === 'household') {
    if (!input.household) throw new ValidationError(ERROR_CODES.BAD_FIELD, 'a household user needs --household');
    const h = scopes.getHousehold(input.household);
    if (!h) throw new NotFoundError(`household "${input.household}" does not exist; import it first`);
    if (input.team && input.team !== h.team)
      throw new ValidationError(ERROR_CODES.BAD_FIELD, `household "${h.id}" belongs to team "${h.team}", not "${input.team}"`);
    household = h.id;
    team = h.team;
  } else if (input.team || input.household) {
    throw new ValidationError(ERROR_CODES.BAD_FIELD, 'a station user sees every team; do not give --team or --household');
  }
  return { team, household, ...choosePassword(input.password) };
}

export function userExistsError(username: string): SmokehubError {
  return new SmokehubError(ERROR_CODES.CONFLICT, `user "${username}" already exists`);
}

/** Reads of people: password checks (scrypt), lookups, the list. */
export class UserReads {
  protected readonly cache: UserRowSource;
  protected readonly scopes: UserScopes;

  constructor(cache: UserRowSource, scopes: UserScopes) {
    this.cache = cache;
    this.scopes = scopes;
  }

  async verifyUserPassword(username: string, password: string): Promise<User | null> {
    if (typeof username !== 'string' || typeof password !== 'string') return null;
    const row = this.cache.users().get(username);
    const ok = await verifyPassword(password, row?.password_hash ?? (await dummyPasswordHash()));
    if (!ok || !row) return null;
    // The user may have been removed while scrypt ran.
    return this.getUser(username) ?? null;
  }

  getUser(username: string): User | undefined {
    const r = this.cache.users().get(username);
    return r ? { username: r.username, role: r.role, team: this.userTeam(r), household: r.household } : undefined;
  }

  /** A household user's team follows its household (households may be moved between teams). */
  private userTeam(r: UserRow): string | null {
    if (r.role === 'household' && r.household) return this.scopes.teamOf(r.household) ?? r.team;
    return r.team;
  }

  listUsers(): User[] {
    return [...this.cache.users().keys()].sort().map((u) => this.getUser(u)!);
  }
}

export class RegistryUsers extends UserReads {
  private readonly db: Db;
  private readonly registryCache: RegistryCache;
  private readonly clock: Clock;

  constructor(db: Db, opts: { cache: RegistryCache; scopes: UserScopes; clock: Clock }) {
    super(opts.cache, opts.scopes);
    this.db = db;
    this.registryCache = opts.cache;
    this.clock = opts.clock;
  }

  /** Adds a person. Returns the user and the password (generated when none was given). */
  async addUser(input: AddUserInput): Promise<{ user: User; password: string; generated: boolean }> {
    const { username, role } = input;
    const { team, household, password, generated } = checkNewUser(input, this.scopes);
    if (this.cache.users().has(username)) throw userExistsError(username);
    const hash = await hashPassword(password);
    try {
      this.db
        .prepare('INSERT INTO users (username, role, team, household, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(username, role, team, household, hash, this.clock.now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw userExistsError(username);
      throw err;
    } finally {
      this.registryCache.invalidateUsers();
    }
    return { user: this.getUser(username)!, password, generated };
  }

  /** Sets a new password (generated when none is given) and ends the user's sessions. */
  async setPassword(username: string, password?: string | null): Promise<{ password: string; generated: boolean }> {
    if (!this.cache.users().has(username)) throw new NotFoundError(`user "${username}" does not exist`);
    const { password: pw, generated } = choosePassword(password);
    const hash = await hashPassword(pw);
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(hash, username);
      endSessionsOf(this.db, username);
    })();
    this.registryCache.invalidateUsers();
    return { password: pw, generated };
  }

  /** Removes a user and (by the foreign key's ON DELETE CASCADE) their sessions. */
  removeUser(username: string): void {
    const r = this.db.prepare('DELETE FROM users WHERE username = ?').run(username);
    this.registryCache.invalidateUsers();
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
}
