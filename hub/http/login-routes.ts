/**
 * `POST /api/login`, `POST /api/logout`, `GET /api/me`.
 * Failed logins are slowed down per client address and per user name (LoginThrottle):
 * a blocked attempt is answered 429 with Retry-After before any password is checked.
 */
import { AuthError, ERROR_CODES, RateLimitedError, ValidationError } from '../protocol/errors.ts';
import type { Clock } from '../core/clock.ts';
import { LoginThrottle } from '../core/login-throttle.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import type { User } from '../store/registry-types.ts';
import type { Router } from './router.ts';
import { clearSessionCookie, extractToken, overTls, sessionCookie, type SessionStore } from './session.ts';

export interface LoginThrottles {
  /** Per client address: long blocks (an address guessing many names). */
  ip: LoginThrottle;
  /**
   * Per user name: short blocks (capped at 60 s), so someone guessing the admin's password
   * from many addresses is slowed down without locking the fire station out for long.
   */
  user: LoginThrottle;
}

export function defaultLoginThrottles(): LoginThrottles {
  return {
    ip: new LoginThrottle({ freeFailures: 5, windowMs: 15 * 60_000, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 }),
    user: new LoginThrottle({ freeFailures: 5, windowMs: 15 * 60_000, baseDelayMs: 1000, maxDelayMs: 60_000 }),
  };
}

export interface LoginRouteDeps {
  sessions: SessionStore;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  throttles?: LoginThrottles;
}

const MAX_USERNAME = 64;
const MAX_PASSWORD = 1024;

function publicUser(u: User): { username: string; role: User['role']; team: string | null; household: string | null } {
  return { username: u.username, role: u.role, team: u.team, household: u.household };
}

export function registerLoginRoutes(router: Router, deps: LoginRouteDeps): LoginThrottles {
  const throttles = deps.throttles ?? defaultLoginThrottles();
  const logins = deps.metrics.counter('smokehub_http_logins_total', 'HTTP login attempts by result');
  const log = deps.logger.child({ module: 'http-login' });

  router.post(
    '/api/login',
    async (req) => {
      const b = req.body as { username?: unknown; password?: unknown } | undefined;
      if (!b || typeof b !== 'object' || Array.isArray(b)) {
        throw new ValidationError(ERROR_CODES.BAD_REQUEST, 'send {"username","password"} as JSON');
      }
      const { username, password } = b;
      if (typeof username !== 'string' || username.length === 0 || username.length > MAX_USERNAME) {
        throw new ValidationError(ERROR_CODES.BAD_FIELD, `username must be a string of 1 to ${MAX_USERNAME} characters`);
      }
      if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD) {
        throw new ValidationError(ERROR_CODES.BAD_FIELD, `password must be a string of 1 to ${MAX_PASSWORD} characters`);
      }
      const now = deps.clock.now();
      const userKey = username.toLowerCase();
      const byIp = throttles.ip.check(req.ip, now);
      const byUser = throttles.user.check(userKey, now);
      if (!byIp.allowed || !byUser.allowed) {
        const wait = Math.max(byIp.allowed ? 0 : byIp.retryAfterMs, byUser.allowed ? 0 : byUser.retryAfterMs);
        logins.inc({ result: 'throttled' });
        log.warn({ ip: req.ip, username, retryAfterMs: wait }, 'login refused: too many failed attempts');
        throw new RateLimitedError(wait);
      }
      const user = await deps.sessions.verifyUserPassword(username, password);
      const after = deps.clock.now();
      if (!user) {
        throttles.ip.fail(req.ip, after);
        throttles.user.fail(userKey, after);
        logins.inc({ result: 'failed' });
        log.warn({ ip: req.ip, username, failures: throttles.ip.failures(req.ip, after) }, 'login failed: bad user name or password');
        throw new AuthError('bad user name or password');
      }
      throttles.ip.succeed(req.ip);
      throttles.user.succeed(userKey);
      const { token, expiresAt } = deps.sessions.createSession(user.username);
      logins.inc({ result: 'ok' });
      log.info({ ip: req.ip, username: user.username, role: user.role }, 'login');
      return {
        body: { token, user: publicUser(user), expiresAt },
        headers: { 'Set-Cookie': sessionCookie(token, (expiresAt - after) / 1000, overTls(req.raw)) },
      };
    },
    { auth: 'none' },
  );

  router.post('/api/logout', (req) => {
    const t = extractToken(req.headers);
    if (t) deps.sessions.revokeSession(t.token);
    log.info({ ip: req.ip, username: req.user?.username }, 'logout');
    return { body: { ok: true }, headers: { 'Set-Cookie': clearSessionCookie(overTls(req.raw)) } };
  });

  router.get('/api/me', (req) => ({ body: { user: publicUser(req.user!) } }));

  return throttles;
}
