/** `GET /health` and `GET /metrics`: public, for supervisors and Prometheus. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../core/clock.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import type { Router } from './router.ts';

export interface HealthRouteDeps {
  metrics: MetricsRegistry;
  clock: Clock;
  /** When the hub started (clock ms). */
  startedAt: number;
  version?: string;
  /** Reasons the hub is degraded now (`journal`, …): 503 while any. */
  degraded?: () => string[];
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

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

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
    { auth: 'none' },
  );
  router.get('/metrics', () => ({ body: deps.metrics.render(), contentType: PROMETHEUS_CONTENT_TYPE }), { auth: 'none' });
}
