/**
 * A hub node's MQTT side for the cluster tests, built in this process the way app/hub.ts builds
 * the single box (registry, journal, journal writer, alarm engine, alarm service, late-bound
 * publisher, MqttBroker, bus) but with its Aedes bus and sessions in Redis (cluster/redis-mqtt.ts)
 * and its device presence there too (cluster/presence.ts). Each node has its own SQLite registry
 * enrolled from the same CSV with fixed secrets, so a device may connect to either.
 *
 * `stop()` is a clean stop; `crash()` is a node dying: its presence connection is cut first (no
 * cleanup reaches Redis), then its sockets and the rest are closed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlarmEngine } from '../../hub/core/alarm-engine.ts';
import { systemClock } from '../../hub/core/clock.ts';
import { householdsNear } from '../../hub/core/geo.ts';
import { openDatabase } from '../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../hub/store/registry-store.ts';
import { AlarmJournal } from '../../hub/store/alarm-journal.ts';
import { importCsv } from '../../hub/store/csv-import.ts';
import { MqttBroker } from '../../hub/broker/mqtt-broker.ts';
import { AlarmService } from '../../hub/app/alarm-service.ts';
import { EventBus } from '../../hub/app/event-bus.ts';
import { JournalWriter } from '../../hub/app/journal-writer.ts';
import { HubHealth } from '../../hub/app/hub-health.ts';
import { LateBoundPublisher } from '../../hub/app/late-publisher.ts';
import { MetricsRegistry } from '../../hub/observability/metrics.ts';
import { createLogger, silentLogger } from '../../hub/observability/logger.ts';
import { RedisMqtt } from '../../hub/cluster/redis-mqtt.ts';
import { ClusterPresence } from '../../hub/cluster/presence.ts';

/** Team t1 of `perTeam` households (t1-h1 …), each with a smoke detector with a fixed secret. */
export function clusterCsv(perTeam = 3): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let h = 1; h <= perTeam; h++) {
    const id = `t1-h${h}`;
    rows.push(
      `t1,${id},Nhà ${h},${h} Lê Lợi,09000100${String(h).padStart(2, '0')},${(20.96 + h * 0.0003).toFixed(6)},107.080300,${id}-smoke,smoke,secret-of-${id}-smoke`,
    );
  }
  return rows.join('\n') + '\n';
}

export function clusterCredential(device: string): { device: string; secret: string } {
  return { device, secret: `secret-of-${device}` };
}

export interface ClusterNode {
  readonly nodeId: string;
  readonly broker: MqttBroker;
  readonly shared: RedisMqtt;
  readonly presence: ClusterPresence;
  readonly mqttUrl: string;
  readonly port: number;
  stop(): Promise<void>;
  crash(): Promise<void>;
}

export async function startClusterNode(o: { redisUrl: string; nodeId: string; csv?: string; presenceTtlMs?: number; port?: number }): Promise<ClusterNode> {
  const clock = systemClock;
  const logger = process.env.SMOKEHUB_TEST_LOG ? createLogger({ level: process.env.SMOKEHUB_TEST_LOG }) : silentLogger();
  const metrics = new MetricsRegistry();
  const bus = new EventBus(metrics, logger, clock);
  const health = new HubHealth();
  const dir = mkdtempSync(join(tmpdir(), `smokehub-${o.nodeId}-`));
  const db = openDatabase(dir);
  const undo: Array<() => Promise<void> | void> = [
    () => {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  ];
  const unwind = async () => {
    for (const f of undo.splice(0).reverse()) await Promise.resolve(f()).catch(() => {});
  };
  try {
    const registry = new SqliteRegistryStore(db, { dataDir: dir, clock });
    importCsv(registry, o.csv ?? clusterCsv());
    const journal = new AlarmJournal(db);
    const engine = new AlarmEngine(
      { verifyWindowMs: 0, escalateAfterMs: 60_000, resolveQuietMs: 300_000, hushPeriodMs: 300_000 },
      {
        household: (id) => registry.getHousehold(id),
        householdsOfTeam: (team) => registry.householdsOfTeam(team).map((h) => h.id),
        nearbyHouseholds: (id) => {
          const origin = registry.getHousehold(id);
          return origin ? householdsNear(origin, registry.listHouseholds(), 150) : [];
        },
      },
      (now) => `A${now.toString(36)}${o.nodeId}${Math.random().toString(36).slice(2, 6)}`,
    );
    const writer = new JournalWriter({ journal, health, clock, logger, metrics });
    const publisher = new LateBoundPublisher();
    const alarms = new AlarmService({
      ...{ engine, journal, writer, mqtt: publisher, clock, bus, logger, metrics },
      devicesOf: (household) => registry.listDevices({ household }),
      allHouseholds: () => registry.listHouseholds().map((h) => h.id),
    });
    undo.push(() => alarms.stop());
    const shared = await RedisMqtt.open({ url: o.redisUrl, nodeId: o.nodeId, logger, openTimeoutMs: 5000 });
    undo.push(() => shared.close());
    const presenceConn = shared.connection();
    const presence = new ClusterPresence({ redis: presenceConn, nodeId: o.nodeId, clock, logger, ttlMs: o.presenceTtlMs });
    bus.on('presence', 'device-connected', (ref, at) => presence.connected(ref.device, at));
    bus.on('presence', 'device-disconnected', (ref, at) => presence.disconnected(ref.device, at));
    await presence.start();
    let crashed = false;
    undo.push(() => (crashed ? undefined : presence.stop()));
    const broker = new MqttBroker({ registry, alarms, ...{ bus, clock, logger, metrics }, shared });
    publisher.bind(broker);
    await broker.init();
    undo.push(() => broker.close());
    alarms.start();
    const port = await broker.listenTcp(o.port ?? 0, '127.0.0.1');
    let ended = false;
    return {
      nodeId: o.nodeId,
      broker,
      shared,
      presence,
      port,
      mqttUrl: `mqtt://127.0.0.1:${port}`,
      async stop() {
        if (ended) return;
        ended = true;
        await unwind();
      },
      async crash() {
        if (ended) return;
        ended = true;
        // Its presence connection is cut before anything it would write on its way down.
        crashed = true;
        presence.abandon();
        presenceConn.disconnect();
        await unwind();
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
