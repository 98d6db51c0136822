/**
 * Login sessions in PostgreSQL, shared by every node: a session opened on node 1 resolves on node 2,
 * one revoked on node 1 is refused on node 2 at once (sessions are never cached). The rules are
 * hub/store/registry-sessions.ts's: only a hash of the token is stored, sliding idle expiry of
 * SESSION_IDLE_MS written at most every SESSION_TOUCH_MS, expired rows deleted when seen and on
 * each login; time from the injected clock. Every method is async (a round trip to PostgreSQL).
 */
import type pg from 'pg';
import type { Clock } from '../core/clock.ts';
import { NotFoundError } from '../protocol/errors.ts';
import { generateSessionToken, hashSessionToken } from '../store/credentials.ts';
import type { UserRow } from '../store/registry-schema.ts';
import { type ResolvedSession, SESSION_IDLE_MS, SESSION_TOUCH_MS } from '../store/registry-sessions.ts';
import type { User } from '../store/registry-types.ts';
import { inTransaction, PG_FOREIGN_KEY_VIOLATION, pgErrorCode, queryRetrying } from './pg-registry-schema.ts';

interface SessionJoinRow extends Omit<UserRow, 'password_hash'> {
  last_seen: number;
  expires_at: number;
}

export class PgRegistrySessions {
  private readonly pool: pg.Pool;
  private readonly clock: Clock;
  /** A household's current team (a household user's team follows its household). */
  private readonly teamOf: (household: string) => string | undefined;

  constructor(pool: pg.Pool, opts: { clock: Clock; teamOf: (household: string) => string | undefined }) {
    this.pool = pool;
    this.clock = opts.clock;
    this.teamOf = opts.teamOf;
  }

  /** Opens a session for a user; returns the token (only its hash is stored). */
  async createSession(username: string): Promise<{ token: string; expiresAt: number }> {
    const now = this.clock.now();
    const token = generateSessionToken();
    const expiresAt = now + SESSION_IDLE_MS;
    try {
      await inTransaction(this.pool, async (c) => {
        await c.query('DELETE FROM sessions WHERE expires_at <= $1', [now]);
        await c.query('INSERT INTO sessions (token_hash, username, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $3, $4)', [
          hashSessionToken(token),
          username,
          now,
          expiresAt,
        ]);
      });
    } catch (err) {
      // The foreign key checks the user against the database itself, not a node's index.
      if (pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION) throw new NotFoundError(`user "${username}" does not exist`);
      throw err;
    }
    return { token, expiresAt };
  }

  /** The session's user, or null when the token is unknown, revoked or idle for too long (sliding expiry). */
  async resolveSession(token: string): Promise<ResolvedSession | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 256) return null;
    const hash = hashSessionToken(token);
    const { rows } = await queryRetrying<SessionJoinRow>(
      this.pool,
      `SELECT s.username, s.last_seen, s.expires_at, u.role, u.team, u.household
         FROM sessions s JOIN users u ON u.username = s.username WHERE s.token_hash = $1`,
      [hash],
    );
    const row = rows[0];
    if (!row) return null;
    const now = this.clock.now();
    if (row.expires_at <= now) {
      await queryRetrying(this.pool, 'DELETE FROM sessions WHERE token_hash = $1', [hash]);
      return null;
    }
    const team = row.role === 'household' && row.household ? (this.teamOf(row.household) ?? row.team) : row.team;
    const user: User = { username: row.username, role: row.role, team, household: row.household };
    if (now - row.last_seen >= SESSION_TOUCH_MS) {
      const expiresAt = now + SESSION_IDLE_MS;
      await queryRetrying(this.pool, 'UPDATE sessions SET last_seen = $1, expires_at = $2 WHERE token_hash = $3', [now, expiresAt, hash]);
      return { user, expiresAt, refreshed: true };
    }
    return { user, expiresAt: row.expires_at, refreshed: false };
  }

  /** Ends a session (logout). Returns whether it existed. */
  async revokeSession(token: string): Promise<boolean> {
    // In a transaction: retried only when it surely did not commit, so the answer stays true.
    const r = await inTransaction(this.pool, (c) => c.query('DELETE FROM sessions WHERE token_hash = $1', [hashSessionToken(token)]));
    return (r.rowCount ?? 0) > 0;
  }

  async countSessions(username?: string): Promise<number> {
    const { rows } =
      username === undefined
        ? await queryRetrying<{ n: number }>(this.pool, 'SELECT COUNT(*) AS n FROM sessions')
        : await queryRetrying<{ n: number }>(this.pool, 'SELECT COUNT(*) AS n FROM sessions WHERE username = $1', [username]);
    return rows[0]?.n ?? 0;
  }
}
