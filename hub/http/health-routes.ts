/**
 * `GET /health` (public, for supervisors) and `GET /metrics` (Prometheus). `/metrics` is public only
 * when the hub listens on loopback or `--metrics-public` says so; otherwise it needs a station login
 * (cookie or bearer session token) or the configured `--metrics-token` (Prometheus
 * `authorization: { credentials: … }`, sent as `Authorization: Bearer …`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../core/clock.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import type { Router } from './router.ts';
import { AuthError, ConfigError, ForbiddenError } from '../protocol/errors.ts';
import { HealthAnswer } from '../protocol/http/health.ts';

/** Who may read `/metrics`. */
export interface MetricsAccess {
  /** No credentials needed. */
  public: boolean;
  /** A bearer token that may read it (besides a station session); null: none. */
  token: string | null;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

export const MIN_METRICS_TOKEN_LENGTH = 16;

/** The access rule from the configuration; a token too short to resist guessing is a start-up error. */
export function metricsAccessFor(config: { host: string; metricsPublic: boolean; metricsToken: string | null }): MetricsAccess {
  const token = config.metricsToken;
  if (token !== null && (token.length < MIN_METRICS_TOKEN_LENGTH || /\s/.test(token))) {
    throw new ConfigError(`metricsToken must be at least ${MIN_METRICS_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 24)`);
  }
  return { public: config.metricsPublic || isLoopbackHost(config.host), token };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compares in constant time (the token's length does not leak either). */
function sameToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function bearerOf(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

export interface HealthRouteDeps {
  metrics: MetricsRegistry;
  clock: Clock;
  /** When the hub started (clock ms). */
  startedAt: number;
  version?: string;
  /** Reasons the hub is degraded now (`journal`, …): 503 while any. */
  degraded?: () => string[];
  /** Who may read /metrics (default: public — the hub passes metricsAccessFor(config)). */
  metricsAccess?: MetricsAccess;
}

let cachedVersion: string | null = null;
/** The package version, found from the source tree or the compiled one. */
export function packageVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  cachedVersion = 'unknown';
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'smokehub' && pkg.version) {
          cachedVersion = pkg.version;
          break;
        }
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  return cachedVersion;
}

export function registerHealthRoutes(router: Router, deps: HealthRouteDeps): void {
  const version = deps.version ?? packageVersion();
  router.get(
    '/health',
    () => {
      const now = deps.clock.now();
      const reasons = deps.degraded?.() ?? [];
      return {
        status: reasons.length > 0 ? 503 : 200,
        body: {
          status: reasons.length > 0 ? 'degraded' : 'ok',
          ...(reasons.length > 0 ? { reasons } : {}),
          version,
          uptimeS: Math.max(0, Math.round((now - deps.startedAt) / 1000)),
          startedAt: deps.startedAt,
          time: now,
        },
      };
    },
    { auth: 'none', schema: { summary: 'Is the hub well? 503 while degraded (journal failing, …)', response: { 200: HealthAnswer, 503: HealthAnswer } } },
  );
  const access = deps.metricsAccess ?? { public: true, token: null };
  router.get(
    '/metrics',
    async (req) => {
      if (!access.public) {
        const bearer = bearerOf(req.headers.authorization);
        const byToken = access.token !== null && bearer !== null && sameToken(bearer, access.token);
        if (!byToken) {
          if (!req.user) throw new AuthError('/metrics needs a station login or the metrics token (Authorization: Bearer …)');
          if (req.user.role !== 'station') throw new ForbiddenError('/metrics is for the station (or Prometheus with the metrics token)');
        }
      }
      return { body: await deps.metrics.render(), contentType: deps.metrics.contentType };
    },
    {
      auth: 'optional',
      schema: {
        summary: 'Prometheus metrics (public on loopback or with --metrics-public; else the station or the metrics token)',
        produces: 'text/plain; version=0.0.4',
      },
    },
  );
}
