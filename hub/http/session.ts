/**
 * HTTP sessions: where the token comes from (cookie or bearer), the cookie itself, and the
 * store interface the server needs (implemented by SqliteRegistryStore).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { User } from '../store/registry-types.ts';
import type { UserPrincipal } from './router.ts';

export const SESSION_COOKIE = 'smokehub_session';

export interface ResolvedSessionLike {
  user: User;
  expiresAt: number;
  /** The expiry was just pushed forward: re-send the cookie. */
  refreshed: boolean;
}

/** What the HTTP server needs from the user/session store. */
export interface SessionStore {
  verifyUserPassword(username: string, password: string): Promise<User | null>;
  // Synchronous on a single box (SQLite), a Promise in a cluster (PostgreSQL: a session made on one node works on all).
  createSession(username: string): { token: string; expiresAt: number } | Promise<{ token: string; expiresAt: number }>;
  resolveSession(token: string): ResolvedSessionLike | null | Promise<ResolvedSessionLike | null>;
  revokeSession(token: string): boolean | Promise<boolean>;
}

/** Cookie header → name/value map (first occurrence wins; malformed pairs skipped). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === '') continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!out.has(name)) {
      try {
        out.set(name, decodeURIComponent(value));
      } catch {
        out.set(name, value);
      }
    }
  }
  return out;
}

export type TokenSource = 'bearer' | 'cookie';

/** The session token of a request: `Authorization: Bearer` first, then the session cookie. */
export function extractToken(headers: IncomingHttpHeaders): { token: string; via: TokenSource } | null {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return { token: m[1]!, via: 'bearer' };
  }
  const cookie = parseCookies(headers.cookie).get(SESSION_COOKIE);
  if (cookie) return { token: cookie, via: 'cookie' };
  return null;
}

/**
 * The session cookie. HttpOnly + SameSite=Strict keep it from scripts and other sites; `Secure`
 * when the request came over HTTPS (`secure`), so the browser never sends it over plain HTTP —
 * not on the plain port, where a browser would drop a Secure cookie.
 */
export function sessionCookie(token: string, maxAgeS: number, secure = false): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeS))}${secure ? '; Secure' : ''}`;
}

export function clearSessionCookie(secure = false): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** Did the request come over TLS (the hub's HTTPS port)? */
export function overTls(req: { socket: unknown }): boolean {
  return (req.socket as { encrypted?: boolean } | null)?.encrypted === true;
}

export function toPrincipal(user: User): UserPrincipal {
  return { type: 'user', username: user.username, role: user.role, team: user.team, household: user.household };
}
