/**
 * The hub's HTTP server: fastify 5 on node:http (and node:https with the same handler), mounting
 * the route table (router.ts). For every request:
 *   security headers → route match (fastify) → authentication (bearer token or session cookie) →
 *   role check → CSRF guard for state-changing requests (all before the body is read) → bounded
 *   JSON body → schema validation (the route's TypeBox schemas, Ajv) → handler → answer; errors
 *   become `{"error","message"}` with the hub's codes (error-reply.ts). Paths outside /api that
 *   match no route are the dashboard (dashboard-files.ts, SPA fallback). Counted in
 *   `smokehub_http_requests_total{route,status}`.
 * It also declares `POST /api/login`, `POST /api/logout`, `GET /api/me` and `GET /api/openapi.json`.
 * The caller listens the servers; the table is mounted at the first request (or `ready()`), after
 * which declaring a route throws. WebSocket upgrades (MQTT at /mqtt) are left to whoever listens
 * for 'upgrade'. Timeouts, client errors and the connection budget: connection-guard.ts.
 * The session cookie is `Secure` over HTTPS, where `Strict-Transport-Security` is sent when plain
 * HTTP is off (`hsts`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { Readable } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ERROR_CODES, ForbiddenError, ValidationError } from '../protocol/errors.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import { AuthError } from '../protocol/errors.ts';
import { MAX_BODY_BYTES, type ApiResponse, type Route, type Router, type UserPrincipal } from './router.ts';
import { extractToken, overTls, sessionCookie, toPrincipal, type SessionStore, type TokenSource } from './session.ts';
import { registerLoginRoutes } from './login-routes.ts';
import { LoginChecker } from '../auth/login-checker.ts';
import { guardConnections, resolveTimeouts, serverTimeoutOptions, type HttpTimeouts } from './connection-guard.ts';
import { originAllowed } from './origin.ts';
import { answerForError, BadJsonError } from './error-reply.ts';
import { isClientRoute, registerDashboardFiles, serveIndex } from './dashboard-files.ts';
import { registerOpenApiRoute } from './openapi-route.ts';
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
  /** The hub's configured time zone, told to the dashboard by /api/login and /api/me. */
  timezone?: string;
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

export function isJsonContentType(header: string | string[] | undefined): boolean {
  const type = String(header ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
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

/**
 * `GET /api/me` answered 401 to a request carrying no credentials at all: the dashboard's
 * "am I logged in?" probe on every first load, not an event worth a warning (debug). A token or
 * session cookie that is presented but unknown or expired stays a warning: it is rare for a person
 * (a session slides while used) and is what guessing or replaying tokens looks like.
 */
function isLoginProbe(req: FastifyRequest, status: number): boolean {
  return status === 401 && (req.method === 'GET' || req.method === 'HEAD') && req.routeOptions.url === '/api/me' && extractToken(req.headers) === null;
}

declare module 'fastify' {
  interface FastifyRequest {
    smokehubUser: UserPrincipal | null;
  }
}

function send(reply: FastifyReply, r: ApiResponse): FastifyReply {
  reply.code(r.status ?? 200);
  for (const [k, v] of Object.entries(r.headers ?? {})) reply.header(k, v);
  if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
  if (r.body === undefined || r.body === null) return reply.send();
  if (typeof r.body === 'string' || Buffer.isBuffer(r.body) || r.body instanceof Readable) {
    return reply.type(r.contentType ?? 'text/plain; charset=utf-8').send(r.body);
  }
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(r.body));
}

export function createHttpServer(deps: HttpServerDeps): Server {
  return createHttpServers(deps, null).http;
}

/** The HTTP server and, with `tls`, an HTTPS server sharing its request handler (the caller listens them). */
export function createHttpServers(
  deps: HttpServerDeps,
  tls: TlsOptions | null,
): { http: Server; https: HttpsServer | null; ready: () => Promise<FastifyInstance> } {
  const { router, sessions, metrics } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ module: 'http' });
  const requests = metrics.counter('smokehub_http_requests_total', 'HTTP requests by route and status');
  const rejects = metrics.counter('smokehub_http_rejects_total', 'HTTP requests refused, by reason');
  const logins = deps.logins ?? new LoginChecker({ verifyPassword: (u, p) => sessions.verifyUserPassword(u, p), clock, logger: deps.logger, metrics });
  registerLoginRoutes(router, { sessions, logins, clock, logger: deps.logger, metrics, timezone: deps.timezone });
  registerOpenApiRoute(router);

  const timeouts = resolveTimeouts(deps.timeouts);
  const options = serverTimeoutOptions(timeouts);
  const server = createServer(options);
  // A TLS handshake gets no longer than the headers (Node's default: 120 s).
  const secureServer = tls ? createHttpsServer({ ...options, handshakeTimeout: timeouts.headersMs, ...tls }) : null;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const app = Fastify({
    serverFactory: (h) => {
      handler = h;
      return server;
    },
    bodyLimit: MAX_BODY_BYTES,
    logger: false,
    return503OnClosing: false,
    // connection-guard.ts answers client errors (one handler, not two writing to the socket).
    clientErrorHandler: () => {},
    routerOptions: { maxParamLength: 200 },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });

  const authenticate = async (route: Route, req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    req.smokehubUser = null;
    const auth = route.opts.auth ?? 'user';
    const t = auth === 'none' ? null : extractToken(req.headers);
    const s = t ? await sessions.resolveSession(t.token) : null;
    if (auth === 'user') {
      if (!t) throw new AuthError('log in first: send the session cookie or Authorization: Bearer <token>');
      if (!s) throw new AuthError('the session is unknown or has expired; log in again');
    }
    let via: TokenSource | null = null;
    if (t && s) {
      const user = toPrincipal(s.user);
      req.smokehubUser = user;
      via = t.via;
      if (s.refreshed && via === 'cookie') reply.header('Set-Cookie', sessionCookie(t.token, (s.expiresAt - clock.now()) / 1000, overTls(req.raw)));
      if (route.opts.roles && !route.opts.roles.includes(user.role)) throw new ForbiddenError(`this needs the role ${route.opts.roles.join(' or ')}`);
    }
    if (STATE_CHANGING.has(req.method)) checkCsrf(req.raw, via, deps.allowedOrigins ?? []);
  };

  const mount = async (): Promise<void> => {
    app.addHook('onRequest', async (req, reply) => {
      reply.headers(SECURITY_HEADERS);
      if (deps.hsts && overTls(req.raw)) reply.header('Strict-Transport-Security', HSTS_HEADER);
    });
    app.addHook('onResponse', async (req, reply) => {
      const url = req.routeOptions.url;
      const label = reply.statusCode === 405 ? ERROR_CODES.METHOD_NOT_ALLOWED : url === undefined ? 'unmatched' : url === '/*' ? 'static' : url;
      requests.inc({ route: label, status: String(reply.statusCode) });
    });
    // JSON bodies (and +json types): an empty body is no body; anything else must parse, with
    // fastify's own parser (secure-json-parse) refusing `__proto__` and `constructor.prototype` keys.
    const json = app.getDefaultJsonParser('error', 'error');
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(/^application\/([\w.-]+\+)?json(\s*;.*)?$/i, { parseAs: 'string' }, (req, text, done) => {
      if (String(text).length === 0) return done(null, undefined);
      json(req, String(text), (err, body) => (err ? done(new BadJsonError(), undefined) : done(null, body)));
    });
    // Any other type (or none) with a body is refused; bodiless requests pass.
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, buf, done) => {
      if ((buf as Buffer).length === 0) return done(null, undefined);
      done(new ValidationError(ERROR_CODES.BAD_REQUEST, 'request body must be sent as Content-Type: application/json'), undefined);
    });
    app.setErrorHandler((err, req, reply) => {
      const a = answerForError(err, MAX_BODY_BYTES);
      rejects.inc({ reason: a.code });
      const where = { ip: req.ip, user: req.smokehubUser?.username ?? null, method: req.method, path: req.routeOptions.url ?? pathOf(req) };
      if (a.internal) log.error({ err, ...where }, 'http handler failed');
      else if (isLoginProbe(req, a.status)) log.debug({ ...where, status: a.status, code: a.code }, 'not logged in (login probe)');
      else log.warn({ ...where, status: a.status, code: a.code, reason: a.message }, 'http request refused');
      reply.code(a.status).headers({ ...a.headers, 'Cache-Control': 'no-store' });
      return reply.type('application/json; charset=utf-8').send(JSON.stringify({ error: a.code, message: a.message }));
    });

    for (const route of router.routes(true)) {
      const s = route.opts.schema;
      app.route({
        method: route.method as 'GET',
        url: route.pattern,
        schema: s ? Object.fromEntries(Object.entries({ params: s.params, querystring: s.querystring, body: s.body }).filter(([, v]) => v)) : undefined,
        onRequest: (req, reply) => authenticate(route, req, reply),
        handler: async (req, reply) => {
          const url = req.raw.url ?? '/';
          const q = url.indexOf('?');
          const r = await route.handler({
            method: req.method,
            path: pathOf(req),
            params: req.params as Record<string, string>,
            query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
            body: req.body,
            user: req.smokehubUser ?? null,
            ip: req.ip,
            headers: req.headers,
            raw: req.raw,
          });
          return send(reply, r);
        },
      });
    }

    const notFound = (req: FastifyRequest, reply: FastifyReply) => {
      const path = pathOf(req);
      const methods = router.methodsFor(path);
      const getLike = req.method === 'GET' || req.method === 'HEAD';
      if (isApiPath(path) && methods.length === 0) {
        return send(reply, { status: 404, body: { error: ERROR_CODES.NOT_FOUND, message: `no such API route: ${req.method} ${path.slice(0, 200)}` } });
      }
      if (methods.length > 0 || !getLike) {
        rejects.inc({ reason: ERROR_CODES.METHOD_NOT_ALLOWED });
        const allow = methods.length > 0 ? methods.join(', ') : 'GET, HEAD';
        return send(reply, {
          status: 405,
          headers: { Allow: allow },
          body: { error: ERROR_CODES.METHOD_NOT_ALLOWED, message: `${req.method} is not allowed on ${path.slice(0, 200)}` },
        });
      }
      if (deps.staticDir && isClientRoute(path)) return serveIndex(reply);
      const message = deps.staticDir ? `not found: ${path.slice(0, 200)}` : 'the dashboard is not built (run npm run build)';
      return send(reply, { status: 404, body: { error: ERROR_CODES.NOT_FOUND, message } });
    };
    if (deps.staticDir) {
      const root = deps.staticDir;
      await app.register(async (files) => {
        await registerDashboardFiles(files, root);
        files.setNotFoundHandler(notFound);
      });
    } else {
      app.setNotFoundHandler(notFound);
    }
    await app.ready();
  };

  let mounted: Promise<void> | null = null;
  const ready = async (): Promise<FastifyInstance> => {
    mounted ??= mount();
    await mounted;
    return app;
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    ready().then(
      () => handler!(req, res),
      (err) => {
        // The table could not be mounted (a bad schema): every request is a logged 500, the hub lives on.
        log.error({ err }, 'the HTTP routes could not be mounted');
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ error: ERROR_CODES.INTERNAL, message: 'internal error; see the hub log' }));
        } else res.destroy();
      },
    );
  };
  server.on('request', onRequest);
  secureServer?.on('request', onRequest);
  const guard = { timeouts, budget: deps.budget, logger: deps.logger, metrics, clock };
  guardConnections(server, guard);
  if (secureServer) guardConnections(secureServer, guard);
  return { http: server, https: secureServer, ready };
}
