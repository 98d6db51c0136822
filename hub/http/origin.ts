/**
 * Which web pages may talk to the hub with a user's browser: the hub's own origins (the origin the
 * request's Host header names, over http or https) and the operator's list (`--allowed-origins`).
 * A request without Origin comes from a non-browser client (curl, Prometheus, MQTT.js on Node, the
 * bridge) and carries no ambient credential: allowed. `Origin: null` (sandboxed frames, file:) is
 * not. One rule for the API's CSRF guard (http-server.ts) and the MQTT WebSocket upgrade at /mqtt
 * (`upgradeOriginGuard`, used by broker/mqtt-broker.ts before the upgrade).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { ConfigError, ERROR_CODES } from '../protocol/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { normalizeAddress } from '../app/connection-budget.ts';

/** `scheme://host[:port]` as browsers send it (lower case, default port dropped); null if not one. */
export function normalizeOrigin(origin: string): string | null {
  if (origin === 'null') return null;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return null;
  return u.origin;
}

/** Parses `--allowed-origins` (comma-separated); a bad entry is a start-up error. */
export function parseAllowedOrigins(list: string | null | undefined): string[] {
  if (!list) return [];
  const out: string[] = [];
  for (const raw of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const o = normalizeOrigin(raw);
    if (!o) {
      throw new ConfigError(`allowedOrigins: "${raw.slice(0, 100)}" is not an origin (scheme://host[:port], http or https, nothing after the port)`);
    }
    out.push(o);
  }
  return out;
}

/**
 * May a request with this Origin (and Host) act with the user's credentials? No Origin: yes
 * (not a browser). Otherwise its host must be the Host header's, over http or https, or the origin
 * must be in `allowed` (normalised by parseAllowedOrigins).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[] = []): boolean {
  if (origin === undefined) return true;
  const o = normalizeOrigin(origin);
  if (o === null) return false;
  if (allowed.includes(o)) return true;
  if (!host) return false;
  const scheme = o.slice(0, o.indexOf(':'));
  let own: string;
  try {
    own = new URL(`${scheme}://${host}`).origin; // the Host header read with the origin's scheme (default ports alike)
  } catch {
    return false;
  }
  return own === o;
}

export interface UpgradeGuardDeps {
  allowedOrigins: readonly string[];
  logger: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
}

/**
 * The check of a WebSocket upgrade: true lets it through; false means it was refused with 403
 * (and the socket closed) before any upgrade. Counted in `smokehub_http_rejects_total{reason="forbidden_origin"}`.
 */
export function upgradeOriginGuard(deps: UpgradeGuardDeps): (req: IncomingMessage, socket: Duplex) => boolean {
  const rejects = deps.metrics.counter('smokehub_http_rejects_total', 'HTTP requests refused, by reason');
  const log = new RateLimitedLog(deps.logger.child({ module: 'http' }), deps.clock, 60_000);
  return (req, socket) => {
    const origin = req.headers.origin;
    if (originAllowed(origin, req.headers.host, deps.allowedOrigins)) return true;
    rejects.inc({ reason: 'forbidden_origin' });
    const ip = normalizeAddress((socket as Socket).remoteAddress);
    log.warn(
      `origin|${ip}`,
      { ip, origin: String(origin).slice(0, 100), host: String(req.headers.host).slice(0, 100), path: (req.url ?? '').slice(0, 100) },
      'WebSocket upgrade refused: the page is not one of the hub’s origins',
    );
    const body = JSON.stringify({ error: ERROR_CODES.FORBIDDEN, message: 'this origin may not open MQTT over WebSocket on the hub' });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
    return false;
  };
}
