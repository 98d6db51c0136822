/**
 * What a hub node shares with the other nodes of a cluster (`smokehub start --postgres … --redis …`),
 * opened before anything listens and closed after everything else:
 * - PostgreSQL: the registry, users and sessions (pg-registry.ts, a cache invalidated by NOTIFY), the
 *   alarm journal with its deadlines (pg-journal.ts, through one pool: pg-pool.ts) and the leases of
 *   what runs once per cluster (leases.ts);
 * - Redis: Aedes' bus and persistence (redis-mqtt.ts) and the devices' presence (presence.ts).
 *
 * Each node keeps its own data directory for what is its own: DATA/hub.key (the same file on every
 * node: device secrets are hashed with it), the telemetry outbox, and extensions' node-local state.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { HubConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../observability/logger.ts';
import { loadOrCreateHubKey } from '../store/credentials.ts';
import { ERROR_CODES, SmokehubError } from '../protocol/errors.ts';
import { redactUrl } from '../observability/redact-url.ts';
import { LeaseKeeper, migrateLeases } from './leases.ts';
import { PgAlarmJournal } from './pg-journal.ts';
import { PgPool } from './pg-pool.ts';
import { PgRegistryStore } from './pg-registry.ts';
import { ClusterPresence } from './presence.ts';
import { RedisMqtt } from './redis-mqtt.ts';

export interface ClusterNodeParts {
  nodeId: string;
  /** The pool of the alarm journal, the deadlines and the leases. */
  pool: PgPool;
  registry: PgRegistryStore;
  journal: PgAlarmJournal;
  shared: RedisMqtt;
  presence: ClusterPresence;
  leases: LeaseKeeper;
  /** The rest is closed (broker, HTTP): leases released, presence cleared, connections closed. */
  close(): Promise<void>;
}

/** The node's name: `--node-id`, else the host name and a digest of the data directory (stable across restarts). */
export function clusterNodeId(config: Pick<HubConfig, 'nodeId' | 'dataDir'>): string {
  if (config.nodeId) return config.nodeId;
  const digest = createHash('sha256').update(config.dataDir).digest('hex').slice(0, 6);
  return `${hostname().replace(/[^A-Za-z0-9_.-]/g, '-')}-${digest}`;
}

/** A shared engine that cannot be reached at start is one clear error (the service manager restarts the node). */
async function reach<T>(what: string, url: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw new SmokehubError(ERROR_CODES.UNAVAILABLE, `cannot reach ${what} at ${redactUrl(url)}: ${(err as Error).message}`);
  }
}

export async function openClusterNode(config: HubConfig, d: { clock: Clock; logger: Logger }): Promise<ClusterNodeParts> {
  const postgres = config.postgres!;
  const redis = config.redis!;
  const nodeId = clusterNodeId(config);
  const log = d.logger.child({ module: 'cluster', node: nodeId });
  const undo: Array<() => Promise<unknown> | unknown> = [];
  const unwind = async () => {
    for (const f of undo.splice(0).reverse())
      await Promise.resolve()
        .then(f)
        .catch((err) => log.warn({ err }, 'cluster part did not close cleanly'));
  };
  try {
    const pool = new PgPool({
      connectionString: postgres,
      applicationName: `smokehub:${nodeId}`,
      attempts: 3,
      onError: (err) => log.warn({ err: err.message }, 'PostgreSQL connection lost (reconnected on next use)'),
    });
    undo.push(() => pool.end());
    const registry = await reach('PostgreSQL', postgres, () =>
      PgRegistryStore.open({ url: postgres, hubKey: loadOrCreateHubKey(config.dataDir), clock: d.clock, countryCode: config.countryCode, logger: log }),
    );
    undo.push(() => registry.close());
    const journal = new PgAlarmJournal(pool);
    await migrateLeases(pool, () => d.clock.now());
    const leases = new LeaseKeeper({ pool, node: nodeId, clock: d.clock });
    undo.push(() => leases.stop());
    const shared = await reach('Redis', redis, () => RedisMqtt.open({ url: redis, nodeId, logger: log }));
    undo.push(() => shared.close());
    const presence = new ClusterPresence({ redis: shared.connection(), nodeId, clock: d.clock, logger: log });
    await presence.start();
    undo.push(() => presence.stop());
    log.info(
      { postgres: redactUrl(postgres), redis: redactUrl(redis) },
      'cluster node: registry, journal and leases in PostgreSQL, MQTT bus and sessions in Redis',
    );
    return { nodeId, pool, registry, journal, shared, presence, leases, close: unwind };
  } catch (err) {
    await unwind();
    throw err;
  }
}
