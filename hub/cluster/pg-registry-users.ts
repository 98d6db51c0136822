/**
 * People in the PostgreSQL registry: the same checks, hashing and errors as
 * hub/store/registry-users.ts (shared: checkNewUser, choosePassword, UserReads), the writes in
 * PostgreSQL. Reads (getUser, listUsers, verifyUserPassword) come from the node's index; each
 * write reloads the writer's user map before it answers, and the others' through NOTIFY.
 */
import type pg from 'pg';
import type { Clock } from '../core/clock.ts';
import { ERROR_CODES, NotFoundError, SmokehubError } from '../protocol/errors.ts';
import { hashPassword } from '../store/credentials.ts';
import type { User } from '../store/registry-types.ts';
import { type AddUserInput, checkNewUser, choosePassword, userExistsError, UserReads, type UserRowSource, type UserScopes } from '../store/registry-users.ts';
import { inTransaction, PG_FOREIGN_KEY_VIOLATION, PG_UNIQUE_VIOLATION, pgErrorCode, queryRetrying } from './pg-registry-schema.ts';

export class PgRegistryUsers extends UserReads {
  private readonly pool: pg.Pool;
  private readonly clock: Clock;
  private readonly afterWrite: () => Promise<void>;

  constructor(pool: pg.Pool, opts: { rows: UserRowSource; scopes: UserScopes; clock: Clock; afterWrite: () => Promise<void> }) {
    super(opts.rows, opts.scopes);
    this.pool = pool;
    this.clock = opts.clock;
    this.afterWrite = opts.afterWrite;
  }

  /** Adds a person. Returns the user and the password (generated when none was given). */
  async addUser(input: AddUserInput): Promise<{ user: User; password: string; generated: boolean }> {
    const { username, role } = input;
    const { team, household, password, generated } = checkNewUser(input, this.scopes);
    if (this.cache.users().has(username)) throw userExistsError(username);
    const hash = await hashPassword(password);
    try {
      await inTransaction(this.pool, (c) =>
        c.query('INSERT INTO users (username, role, team, household, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          username,
          role,
          team,
          household,
          hash,
          this.clock.now(),
        ]),
      );
    } catch (err) {
      if (pgErrorCode(err) === PG_UNIQUE_VIOLATION) throw userExistsError(username);
      if (pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION) throw new NotFoundError(`the team or household of "${username}" no longer exists`);
      throw err;
    } finally {
      await this.afterWrite();
    }
    const user = this.getUser(username);
    // Removed by another node between the insert and the reload: report it as created.
    return { user: user ?? { username, role, team, household }, password, generated };
  }

  /** Sets a new password (generated when none is given) and ends the user's sessions. */
  async setPassword(username: string, password?: string | null): Promise<{ password: string; generated: boolean }> {
    if (!this.cache.users().has(username)) throw new NotFoundError(`user "${username}" does not exist`);
    const chosen = choosePassword(password);
    const hash = await hashPassword(chosen.password);
    const changed = await inTransaction(this.pool, async (c) => {
      const r = await c.query('UPDATE users SET password_hash = $1 WHERE username = $2', [hash, username]);
      await c.query('DELETE FROM sessions WHERE username = $1', [username]);
      return r.rowCount ?? 0;
    });
    await this.afterWrite();
    if (changed === 0) throw new NotFoundError(`user "${username}" does not exist`);
    return chosen;
  }

  /** Removes a user and (ON DELETE CASCADE) their sessions. */
  async removeUser(username: string): Promise<void> {
    const r = await inTransaction(this.pool, (c) => c.query('DELETE FROM users WHERE username = $1', [username]));
    await this.afterWrite();
    if ((r.rowCount ?? 0) === 0) throw new NotFoundError(`user "${username}" does not exist`);
  }

  /** First start of the cluster: with no users at all, creates the station user `admin`; returns its password once. */
  async ensureAdmin(): Promise<string | null> {
    const { rows } = await queryRetrying<{ n: number }>(this.pool, 'SELECT COUNT(*) AS n FROM users');
    if ((rows[0]?.n ?? 0) > 0) return null;
    try {
      const { password } = await this.addUser({ username: 'admin', role: 'station' });
      return password;
    } catch (err) {
      // Another node created it between the count and the insert.
      if (err instanceof SmokehubError && err.code === ERROR_CODES.CONFLICT) return null;
      throw err;
    }
  }
}
