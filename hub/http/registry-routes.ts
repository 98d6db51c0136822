/**
 * The registry engineer's HTTP routes in one call for the composition root:
 * `GET /health`, `GET /metrics`, `GET /api/households`, `GET /api/households/:id`.
 * (Login, logout and /api/me are registered by createHttpServer, which owns the sessions.)
 */
import type { Clock } from '../core/clock.ts';
import type { MetricsRegistry } from '../observability/metrics.ts';
import type { RegistryStore } from '../store/registry-types.ts';
import type { Router } from './router.ts';
import { registerHealthRoutes, type MetricsAccess } from './health-routes.ts';
import { registerHouseholdRoutes, type DeviceStatusFn } from './household-routes.ts';

export type { DeviceStatusFn } from './household-routes.ts';

export interface RegistryRouteDeps {
  registry: RegistryStore;
  metrics: MetricsRegistry;
  clock: Clock;
  startedAt: number;
  deviceStatus?: DeviceStatusFn;
  version?: string;
  degraded?: () => string[];
  /** Who may read /metrics (health-routes.ts metricsAccessFor); default public. */
  metricsAccess?: MetricsAccess;
}

export function registerRegistryRoutes(router: Router, deps: RegistryRouteDeps): void {
  registerHealthRoutes(router, {
    metrics: deps.metrics,
    clock: deps.clock,
    startedAt: deps.startedAt,
    version: deps.version,
    degraded: deps.degraded,
    metricsAccess: deps.metricsAccess,
  });
  registerHouseholdRoutes(router, { registry: deps.registry, deviceStatus: deps.deviceStatus });
}
