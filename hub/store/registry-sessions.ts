/**
 * Login sessions (table `sessions`): opened for a user, resolved with a sliding idle expiry,
 * revoked on logout. Only a hash of each token is stored. Time comes from the injected clock.
 */
import type { Clock } from '../core/clock.ts';
import { NotFoundError } from '../protocol/errors.ts';
import { generateSessionToken, hashSessionToken } from './credentials.ts';
import type { Db } from './database.ts';
import type { User } from './registry-types.ts';

/** A session ends after this long without use (sliding). */
export const SESSION_IDLE_MS = 7 * 24 * 3600 * 1000;
/** last_seen/expiry are written at most this often per session (not on every request). */
export const SESSION_TOUCH_MS = 60 * 1000;

interface SessionRow {
  username: string;
  created_at: number;
  last_seen: number;
  expires_at: number;
}

/** A resolved session: the user, and whether its expiry was just pushed forward (re-send the cookie). */
export interface ResolvedSession {
  user: User;
  expiresAt: number;
  refreshed: boolean;
}

/** What sessions need to know of users (the port is owned here). */
export interface SessionUsers {
  getUser(username: string): User | undefined;
}

/** Ends every session of a user (a password change); for the caller's transaction. */
export function endSessionsOf(db: Db, username: string): void {
  db.prepare('DELETE FROM sessions WHERE username = ?').run(username);
}

export class RegistrySessions {
  private readonly db: Db;
  private readonly users: SessionUsers;
  private readonly clock: Clock;

  constructor(db: Db, opts: { users: SessionUsers; clock: Clock }) {
    this.db = db;
    this.users = opts.users;
    this.clock = opts.clock;
  }

  /** Opens a session for a user; returns the token (only its hash is stored). */
  createSession(username: string): { token: string; expiresAt: number } {
    if (!this.users.getUser(username)) throw new NotFoundError(`user "${username}" does not exist`);
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
    const user = this.users.getUser(row.username);
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
}
