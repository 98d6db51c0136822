/**
 * `POST /api/login`, `POST /api/logout`, `GET /api/me`.
 * Passwords are checked by the hub's LoginChecker (auth/login-checker.ts), shared with MQTT: per
 * address and per user name throttles counted while in flight (429 + Retry-After, unchecked), a bound
 * on password checks at once (503 + Retry-After, unchecked), and every refusal answered no sooner
 * than its floor (1 s), so timing does not tell which user names exist.
 */
import { AuthError, BusyError, ERROR_CODES, RateLimitedError, ValidationError } from '../protocol/errors.ts';
import type { LoginChecker } from '../auth/login-checker.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import type { User } from '../store/registry-types.ts';
import type { Router } from './router.ts';
import { clearSessionCookie, extractToken, overTls, sessionCookie, type SessionStore } from './session.ts';
import { LoginAnswer, LoginBody, LogoutAnswer, MeAnswer } from '../protocol/http/session.ts';

export interface LoginRouteDeps {
  sessions: SessionStore;
  logins: LoginChecker;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  /** The hub's configured time zone, told to the dashboard with the user (absent: not told). */
  timezone?: string;
}

const MAX_USERNAME = 64;
const MAX_PASSWORD = 1024;

function publicUser(u: User): { username: string; role: User['role']; team: string | null; household: string | null } {
  return { username: u.username, role: u.role, team: u.team, household: u.household };
}

export function registerLoginRoutes(router: Router, deps: LoginRouteDeps): void {
  const logins = deps.metrics.counter('smokehub_http_logins_total', 'HTTP login attempts by result');
  const log = deps.logger.child({ module: 'http-login' });
  const tz = deps.timezone ? { timezone: deps.timezone } : {};

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
      const r = await deps.logins.checkPassword('http', req.ip, username, password);
      if (!r.ok) {
        logins.inc({ result: r.reason === 'bad_credentials' ? 'failed' : r.reason });
        if (r.reason === 'throttled') throw new RateLimitedError(r.retryAfterMs);
        if (r.reason === 'busy') throw new BusyError('too many logins are being checked; try again shortly', r.retryAfterMs);
        throw new AuthError('bad user name or password');
      }
      const user = r.user;
      const after = deps.clock.now();
      const { token, expiresAt } = await deps.sessions.createSession(user.username);
      logins.inc({ result: 'ok' });
      log.info({ ip: req.ip, username: user.username, role: user.role }, 'login');
      return {
        body: { token, user: publicUser(user), expiresAt, ...tz },
        headers: { 'Set-Cookie': sessionCookie(token, (expiresAt - after) / 1000, overTls(req.raw)) },
      };
    },
    { auth: 'none', schema: { summary: 'Log in: a session token and the HttpOnly session cookie', body: LoginBody, response: { 200: LoginAnswer } } },
  );

  router.post(
    '/api/logout',
    async (req) => {
      const t = extractToken(req.headers);
      if (t) await deps.sessions.revokeSession(t.token);
      log.info({ ip: req.ip, username: req.user?.username }, 'logout');
      return { body: { ok: true }, headers: { 'Set-Cookie': clearSessionCookie(overTls(req.raw)) } };
    },
    { schema: { summary: 'Log out: the session ends, the cookie is cleared', response: { 200: LogoutAnswer } } },
  );

  router.get('/api/me', (req) => ({ body: { user: publicUser(req.user!), ...tz } }), {
    schema: { summary: 'The logged-in user', response: { 200: MeAnswer } },
  });
}
