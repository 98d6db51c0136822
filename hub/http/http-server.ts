/**
 * The hub's HTTP server (node:http; the caller listens). For every request:
 *   security headers → route match on the Router → authentication (bearer token or session
 *   cookie) → role check → CSRF guard for state-changing requests → bounded JSON body →
 *   handler → JSON answer; typed errors become 4xx `{"error","message"}`, anything else a
 *   logged 500. Paths outside /api that match no route are the dashboard (static files with
 *   SPA fallback). Counted in `smokehub_http_requests_total{route,status}`.
 * It also registers `POST /api/login`, `POST /api/logout` and `GET /api/me` on the router.
 * WebSocket upgrades (MQTT at /mqtt) are left to whoever listens for 'upgrade'.
 * `createHttpServers` also gives an HTTPS server with the same handler: the session cookie is
 * `Secure` on it, and `Strict-Transport-Security` is sent there when plain HTTP is off (`hsts`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TlsOptions } from 'node:tls';
import { ERROR_CODES, BusyError, ForbiddenError, RateLimitedError, SmokehubError, ValidationError } from '../protocol/errors.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import { AuthError } from '../protocol/errors.ts';
import { sendResponse, statusForError, type ApiRequest, type Router, type UserPrincipal } from './router.ts';
import { isJsonContentType, OversizeBodyError, readJsonBodyBounded } from './body.ts';
import { extractToken, overTls, sessionCookie, toPrincipal, type SessionStore, type TokenSource } from './session.ts';
import { registerLoginRoutes } from './login-routes.ts';
import { LoginChecker } from '../auth/login-checker.ts';
import { StaticFiles } from './static-files.ts';
import { guardConnections, resolveTimeouts, serverTimeoutOptions, type HttpTimeouts } from './connection-guard.ts';
import { originAllowed } from './origin.ts';
import type { ConnectionBudget } from '../app/connection-budget.ts';

export interface HttpServerDeps {
  router: Router;
  sessions: SessionStore;
  logger: Logger;
  metrics: MetricsRegistry;
  /** The built dashboard; null/absent: no static files (non-API paths answer 404). */
  staticDir?: string | null;
  clock?: Clock;
  /** Password checks and their throttles, shared with MQTT (auth/login-checker.ts); absent: the server's own, defaults. */
  logins?: LoginChecker;
  /** Header, request, keep-alive and idle timeouts (defaults: connection-guard.ts). */
  timeouts?: Partial<HttpTimeouts>;
  /** Admission of accepted sockets, HTTP and HTTPS alike (app/connection-budget.ts); absent: only the timeouts apply. */
  budget?: ConnectionBudget | null;
  /** Origins besides the hub's own whose pages may send state-changing requests (origin.ts). */
  allowedOrigins?: readonly string[];
  /** Send `Strict-Transport-Security` on HTTPS answers (the hub sets it when plain HTTP is off). */
  hsts?: boolean;
}

/** One year; no includeSubDomains (the hub's name may be a household router's). */
export const HSTS_HEADER = 'max-age=31536000';

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

function clientIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * CSRF guard for a state-changing request. A cross-site page can make a browser send the
 * session cookie with a form post (text/plain, urlencoded, multipart) but cannot send
 * `Content-Type: application/json` cross-origin without a CORS preflight this server never
 * grants; the Origin check refuses the rest. Bearer-token requests carry no ambient credential.
 */
function checkCsrf(req: IncomingMessage, via: TokenSource | null, allowedOrigins: readonly string[]): void {
  const origin = req.headers.origin;
  // The same rule as the MQTT WebSocket upgrade (origin.ts): the hub's own origins and the configured list.
  if (!originAllowed(origin, req.headers.host, allowedOrigins)) {
    throw new ForbiddenError(
      `cross-origin request refused (Origin ${String(origin).slice(0, 100)} is neither the hub's own — Host ${String(req.headers.host).slice(0, 100)} — nor an allowed origin)`,
    );
  }
  if (via === 'cookie') {
    if (req.headers['sec-fetch-site'] === 'cross-site') throw new ForbiddenError('cross-site request refused');
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new ForbiddenError('a request authenticated by the session cookie must be sent as Content-Type: application/json');
    }
  }
}

export function createHttpServer(deps: HttpServerDeps): Server {
  return createHttpServers(deps, null).http;
}

/** The HTTP server and, with `tls`, an HTTPS server sharing its request handler (the caller listens them). */
export function createHttpServers(deps: HttpServerDeps, tls: TlsOptions | null): { http: Server; https: HttpsServer | null } {
  const { router, sessions, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ module: 'http' });
  const requests = metrics.counter('smokehub_http_requests_total', 'HTTP requests by route and status');
  const rejects = metrics.counter('smokehub_http_rejects_total', 'HTTP requests refused, by reason');
  const statics = deps.staticDir ? new StaticFiles(deps.staticDir) : null;
  const logins = deps.logins ?? new LoginChecker({ verifyPassword: (u, p) => sessions.verifyUserPassword(u, p), clock, logger: deps.logger, metrics });
  registerLoginRoutes(router, { sessions, logins, clock, logger: deps.logger, metrics });

  const sendError = (req: IncomingMessage, res: ServerResponse, err: unknown, who: string | null, route: string): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof SmokehubError) {
      const status = statusForError(err);
      rejects.inc({ reason: err.code });
      log.warn({ ip: clientIp(req), user: who, method: req.method, path: route, status, code: err.code, reason: err.message }, 'http request refused');
      const headers: Record<string, string> = {};
      if (err instanceof RateLimitedError || err instanceof BusyError) headers['Retry-After'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
      if (err instanceof OversizeBodyError) headers.Connection = 'close';
      sendResponse(res, { status, body: { error: err.code, message: err.message }, headers });
      return;
    }
    log.error({ err, ip: clientIp(req), user: who, method: req.method, path: route }, 'http handler failed');
    rejects.inc({ reason: ERROR_CODES.INTERNAL });
    sendResponse(res, { status: 500, body: { error: ERROR_CODES.INTERNAL, message: 'internal error; see the hub log' } });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let routeLabel = 'unmatched';
    let who: string | null = null;
    res.once('finish', () => requests.inc({ route: routeLabel, status: String(res.statusCode) }));
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const secure = overTls(req);
    if (secure && deps.hsts) res.setHeader('Strict-Transport-Security', HSTS_HEADER);
    const method = (req.method ?? 'GET').toUpperCase();
    let path = '/';
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://hub.invalid');
      } catch {
        throw new ValidationError(ERROR_CODES.BAD_REQUEST, 'malformed request URL');
      }
      path = url.pathname;
      if (!KNOWN_METHODS.has(method)) {
        res.setHeader('Allow', 'GET, HEAD, POST, DELETE');
        throw new SmokehubError(ERROR_CODES.BAD_REQUEST, `method ${method.slice(0, 16)} is not supported`);
      }
      const m = router.match(method, path);
      if ('route' in m) {
        const route = m.route;
        routeLabel = '/' + route.parts.join('/');
        let user: UserPrincipal | null = null;
        let via: TokenSource | null = null;
        const t = route.opts.auth === 'none' ? null : extractToken(req.headers);
        const s = t ? sessions.resolveSession(t.token) : null;
        if (route.opts.auth !== 'none' && route.opts.auth !== 'optional') {
          if (!t) throw new AuthError('log in first: send the session cookie or Authorization: Bearer <token>');
          if (!s) throw new AuthError('the session is unknown or has expired; log in again');
        }
        if (t && s) {
          user = toPrincipal(s.user);
          who = user.username;
          via = t.via;
          if (s.refreshed && via === 'cookie') res.setHeader('Set-Cookie', sessionCookie(t.token, (s.expiresAt - clock.now()) / 1000, secure));
          if (route.opts.roles && !route.opts.roles.includes(user.role)) {
            throw new ForbiddenError(`this needs the role ${route.opts.roles.join(' or ')}`);
          }
        }
        let body: unknown;
        if (STATE_CHANGING.has(method)) {
          checkCsrf(req, via, deps.allowedOrigins ?? []);
          body = await readJsonBodyBounded(req);
          if (body !== undefined && via !== 'bearer' && !isJsonContentType(req.headers['content-type'])) {
            throw new ValidationError(ERROR_CODES.BAD_REQUEST, 'request body must be sent as Content-Type: application/json');
          }
        }
        const apiReq: ApiRequest = {
          method,
          path,
          params: m.params,
          query: url.searchParams,
          body,
          user,
          ip: clientIp(req),
          headers: req.headers,
          raw: req,
        };
        const r = await route.handler(apiReq);
        if (method === 'HEAD') {
          sendResponse(res, { ...r, body: undefined });
          return;
        }
        sendResponse(res, r);
        return;
      }
      if (isApiPath(path)) {
        if (m.methodMismatch) {
          routeLabel = ERROR_CODES.METHOD_NOT_ALLOWED;
          rejects.inc({ reason: ERROR_CODES.METHOD_NOT_ALLOWED });
          sendResponse(res, { status: 405, body: { error: ERROR_CODES.METHOD_NOT_ALLOWED, message: `${method} is not allowed on ${path}` } });
        } else {
          sendResponse(res, { status: 404, body: { error: ERROR_CODES.NOT_FOUND, message: `no such API route: ${method} ${path}` } });
        }
        return;
      }
      if ((method === 'GET' || method === 'HEAD') && statics) {
        routeLabel = 'static';
        if (await statics.serve(req, res, path)) return;
      }
      if (method !== 'GET' && method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        sendResponse(res, { status: 405, body: { error: ERROR_CODES.METHOD_NOT_ALLOWED, message: `${method} is not allowed on ${path}` } });
        return;
      }
      sendResponse(res, {
        status: 404,
        body: { error: ERROR_CODES.NOT_FOUND, message: statics ? `not found: ${path}` : 'the dashboard is not built (run npm run build)' },
      });
    } catch (err) {
      sendError(req, res, err, who, routeLabel === 'unmatched' ? path : routeLabel);
    }
  };

  const timeouts = resolveTimeouts(deps.timeouts);
  const options = serverTimeoutOptions(timeouts);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err) => {
      // Last resort: never let a request take the process down.
      log.error({ err }, 'http request failed');
      if (!res.headersSent) sendResponse(res, { status: 500, body: { error: ERROR_CODES.INTERNAL, message: 'internal error' } });
      else res.destroy();
    });
  };
  // Timeouts, client errors (answered, then the socket destroyed) and the connection budget: connection-guard.ts.
  const guard = { timeouts, budget: deps.budget, logger: deps.logger, metrics, clock };
  const server = createServer(options, onRequest);
  guardConnections(server, guard);
  // A TLS handshake gets no longer than the headers (Node's default: 120 s).
  const secureServer = tls ? createHttpsServer({ ...options, handshakeTimeout: timeouts.headersMs, ...tls }, onRequest) : null;
  if (secureServer) guardConnections(secureServer, guard);
  return { http: server, https: secureServer };
}
