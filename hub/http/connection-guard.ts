/**
 * What keeps slow or idle clients from holding the HTTP server's sockets (and the hub's file
 * descriptors) — for the plain server and any TLS one alike:
 *  - headers must arrive within `headersMs` (≤ 20 s), the whole request (headers and body) within
 *    `requestMs`; Node checks both on a timer, `connectionsCheckingInterval` (default 30 s: a 20 s
 *    header timeout fired after up to 50 s), here every second;
 *  - an expired or malformed request is answered 408/431/400 and the socket DESTROYED: an HTTP
 *    server's sockets allow half-open connections, so the former `socket.end()` only sent a FIN and
 *    left the socket open for as long as the client kept its side open (found open past 75 s);
 *  - a keep-alive connection idle between requests is closed after `keepAliveMs`; a socket with no
 *    traffic at all for `idleMs` (a client that stopped reading its answer) is destroyed;
 *  - every accepted socket must fit the connection budget (app/connection-budget.ts).
 * Counted in `smokehub_http_rejects_total{reason}` (request_timeout, header_overflow, client_error).
 */
import type { Server as HttpServer, ServerOptions } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import type { ConnectionBudget } from '../app/connection-budget.ts';
import { normalizeAddress } from '../app/connection-budget.ts';

export interface HttpTimeouts {
  /** Request line and headers (from the connection, or from the start of the next request). */
  headersMs: number;
  /** The whole request, body included. */
  requestMs: number;
  /** Idle between two requests of a keep-alive connection. */
  keepAliveMs: number;
  /** No bytes either way on a socket with a request in progress. */
  idleMs: number;
  /** How often Node checks the header and request deadlines. */
  checkIntervalMs: number;
}

export const MAX_HEADERS_TIMEOUT_MS = 20_000;
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 15_000, requestMs: 30_000, keepAliveMs: 5_000, idleMs: 60_000, checkIntervalMs: 1_000 };

/** The timeouts with the defaults filled in; headers ≤ 20 s and ≤ the request timeout (Node refuses more). */
export function resolveTimeouts(t: Partial<HttpTimeouts> = {}): HttpTimeouts {
  const out = { ...DEFAULT_HTTP_TIMEOUTS, ...Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) } as HttpTimeouts;
  out.headersMs = Math.min(out.headersMs, MAX_HEADERS_TIMEOUT_MS, out.requestMs);
  // Checked at least four times per header timeout, so it fires within a quarter of it late.
  out.checkIntervalMs = Math.max(50, Math.min(out.checkIntervalMs, Math.floor(out.headersMs / 4)));
  return out;
}

/** Options for `http.createServer` / `https.createServer`. */
export function serverTimeoutOptions(t: HttpTimeouts): ServerOptions {
  return { headersTimeout: t.headersMs, requestTimeout: t.requestMs, keepAliveTimeout: t.keepAliveMs, connectionsCheckingInterval: t.checkIntervalMs };
}

export interface ConnectionGuardDeps {
  timeouts: HttpTimeouts;
  /** Without it only the timeouts apply (unit tests of the server). */
  budget?: ConnectionBudget | null;
  logger: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
}

const RESPONSES: Record<string, string> = {
  request_timeout: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
  header_overflow: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
  client_error: 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
};

/**
 * Applies the timeouts, the budget and the client-error handling to a server created with
 * `serverTimeoutOptions(timeouts)` (before it listens: Node starts its deadline checks on listen).
 */
export function guardConnections(server: HttpServer | HttpsServer, deps: ConnectionGuardDeps): void {
  const t = deps.timeouts;
  server.headersTimeout = t.headersMs;
  server.requestTimeout = t.requestMs;
  server.keepAliveTimeout = t.keepAliveMs;
  // Socket inactivity: Node destroys the socket when nobody handles 'timeout'.
  server.setTimeout(t.idleMs);
  const rejects = deps.metrics.counter('smokehub_http_rejects_total', 'HTTP requests refused, by reason');
  const log = deps.logger.child({ module: 'http' });
  const limited = new RateLimitedLog(log, deps.clock, 60_000);
  if (deps.budget) {
    const budget = deps.budget;
    // Before the HTTP parser is attached: a refused socket is closed without being read.
    server.prependListener('connection', (socket: Socket) => void budget.admit('web', socket));
  }
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const code = err.code ?? '';
    const reason =
      code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request_timeout'
        : code === 'HPE_HEADER_OVERFLOW'
          ? 'header_overflow'
          : code === 'ECONNRESET'
            ? 'client_reset'
            : 'client_error';
    rejects.inc({ reason });
    const ip = normalizeAddress((socket as Socket).remoteAddress);
    if (reason === 'request_timeout')
      limited.warn(
        `timeout|${ip}`,
        { ip, headersTimeoutMs: t.headersMs, requestTimeoutMs: t.requestMs },
        'HTTP request not received in time: connection closed',
      );
    else log.debug({ ip, err: err.message }, 'malformed HTTP request');
    // Answer only when no response of this socket has started (else the bytes would corrupt it).
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    const response = RESPONSES[reason];
    if (response && socket.writable && !inFlight?.headersSent) socket.write(response);
    socket.destroy();
  });
  // An accept failure (EMFILE…) is logged; without a listener it would be thrown and stop the hub.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.syscall === 'accept') limited.error(`accept|${err.code}`, { err: err.message }, 'HTTP server could not accept a connection');
  });
}
