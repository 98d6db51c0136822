/**
 * The composition root: builds the hub's parts around the pure core and starts them in order,
 * stops them in reverse (drain MQTT, stop extensions — they flush —, close HTTP, close the DB).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import type { HubConfig } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import { systemClock } from '../core/clock.ts';
import { AlarmEngine } from '../core/alarm-engine.ts';
import { householdsNear } from '../core/geo.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { MetricsRegistry } from '../observability/metrics.ts';
import { EventLoopDelayMonitor } from '../observability/event-loop-delay.ts';
import type { WalDurabilityOptions } from '../store/wal-durability.ts';
import { openHubDatabase } from './hub-database.ts';
import { SqliteRegistryStore } from '../store/registry-store.ts';
import { AlarmJournal } from '../store/alarm-journal.ts';
import { MqttBroker } from '../broker/mqtt-broker.ts';
import { Router } from '../http/router.ts';
import { createHttpServers } from '../http/http-server.ts';
import { registerRegistryRoutes } from '../http/registry-routes.ts';
import { registerAlarmRoutes } from '../http/alarm-routes.ts';
import { registerStationRoutes } from '../http/station-routes.ts';
import { registerMapRoutes } from '../http/map-routes.ts';
import { AlarmService } from './alarm-service.ts';
import { EventBus } from './event-bus.ts';
import { JournalWriter } from './journal-writer.ts';
import { HubHealth, healthNotice } from './hub-health.ts';
import { LateBoundPublisher } from './late-publisher.ts';
import { DiskReserve, DEFAULT_RESERVE_BYTES } from '../store/disk-reserve.ts';
import { topics } from '../protocol/topics.ts';
import { acceptQueueCap, acceptQueueWarning, openFilesLimit, openFilesWarning } from './resource-limits.ts';
import { defaultExtensions } from './extensions.ts';
import { ConnectionBudget } from './connection-budget.ts';
import { metricsAccessFor } from '../http/health-routes.ts';
import { parseAllowedOrigins, upgradeOriginGuard } from '../http/origin.ts';
import { TLS_SERVER_OPTIONS, TlsService } from '../tls/tls-service.ts';
import { listenOn, watchTlsServer, type WatchedTlsServer } from '../tls/tls-listeners.ts';
import { registerTlsRoutes } from '../tls/tls-routes.ts';
import { SINGLE_BOX, type AlarmDetailProvider, type AlarmPort, type HubBus, type HubContext, type HubExtension } from './context.ts';
import { LoginChecker } from '../auth/login-checker.ts';
import type { AlarmActions, AlarmJournalReads, DrillResponses } from '../http/alarm-ports.ts';
import type { BrokerAlarmPort } from '../broker/ports.ts';
import type { User } from '../store/registry-types.ts';
import type { ResolvedSession } from '../store/registry-sessions.ts';
import { openClusterNode, type ClusterNodeParts } from '../cluster/cluster-node.ts';
import type { PgRegistryStore } from '../cluster/pg-registry.ts';
import { ClusterAlarmService } from '../cluster/cluster-alarm-service.ts';
import { wireClusterNode, type ClusterWiring } from '../cluster/cluster-wiring.ts';
import type { LoginGuardOptions } from '../core/login-guard.ts';

export interface StartHubOptions {
  clock?: Clock;
  logger?: Logger;
  /** Replaces the default extensions (tests). */
  extensions?: HubExtension[];
  /** The broker's telemetry slice (ingress-scheduler.ts); 0 turns the scheduler off (benchmarks). */
  ingressSliceMs?: number;
  /**
   * 'async' (default): commits are fsynced off the event loop and acknowledgements wait for it.
   * 'full': every commit is fsynced on the event loop (synchronous=FULL) — benchmarks compare.
   */
  journalSync?: 'async' | 'full';
  /** Test hook: the fsync of the database WAL (wal-durability.ts). */
  fsyncFile?: WalDurabilityOptions['fsyncFile'];
  /** Size of the data dir's reserve file (default 16 MiB; 0: none) — tests on a small tmpfs. */
  reserveBytes?: number;
  /** The wall clock TLS certificates are dated and checked by (default: the system clock) — renewal tests. */
  tlsClock?: Clock;
  /** No login refusal (HTTP, MQTT) is answered sooner than this (default 1,000 ms; auth/login-checker.ts) — tests that refuse many. */
  loginRefusalFloorMs?: number;
  /** The login throttles' settings (default core/login-guard.ts DEFAULT_LOGIN_GUARD) — benchmarks measure without them. */
  loginGuard?: LoginGuardOptions;
  /** The MQTT ports' accept queue (default broker/mqtt-broker.ts LISTEN_BACKLOG) — benchmarks compare with Node's 511. */
  listenBacklog?: number;
}

export interface RunningHub {
  ctx: HubContext;
  /** The plain ports; 0 with `--plain off` (nothing listens there). */
  mqttPort: number;
  httpPort: number;
  /** MQTT over TLS, and HTTPS (API, dashboard, MQTT over secure WebSocket at /mqtt). */
  mqttsPort: number;
  httpsPort: number;
  /** The certificate in use (hub/tls/). */
  tls: TlsService;
  /** The single box's alarm service, or a cluster node's (`--postgres`/`--redis`). */
  alarms: AlarmService | ClusterAlarmService;
  health: HubHealth;
  broker: MqttBroker;
  registry: SqliteRegistryStore | PgRegistryStore;
  /** A cluster node's shared parts (null on a single box). */
  cluster: ClusterNodeParts | null;
  /** Set on first start with an empty user table: the generated password of `admin`. */
  adminPassword: string | null;
  stop(): Promise<void>;
}

/** The built dashboard: `dist/dashboard` under the project root (found from source or compiled tree). */
export function dashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'dashboard');
}

/** The user of a session token given as an MQTT password, if it is that user's (sync on SQLite, a Promise on PostgreSQL). */
function sessionUser(s: ResolvedSession | null | Promise<ResolvedSession | null>, username: string): User | null | Promise<User | null> {
  const of = (r: ResolvedSession | null) => (r && r.user.username === username ? r.user : null);
  return s instanceof Promise ? s.then(of) : of(s);
}

function newAlarmId(now: number): string {
  return `A${now.toString(36)}${randomBytes(4).toString('hex')}`;
}

export async function startHub(config: HubConfig, opts: StartHubOptions = {}): Promise<RunningHub> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const metrics = new MetricsRegistry();
  const loopDelay = new EventLoopDelayMonitor(metrics);
  const bus: HubBus = new EventBus(metrics, logger, clock);
  const health = new HubHealth();
  // Commits are not fsynced on the event loop: the WAL is fsynced on the thread pool, and an event is
  // acknowledged to its device once durable (store/wal-durability.ts).
  const { db, durability, checkpointer } = openHubDatabase(config.dataDir, { journalSync: opts.journalSync, fsyncFile: opts.fsyncFile, logger, metrics });
  const started: HubExtension[] = [];
  let broker: MqttBroker | null = null;
  let http: HttpServer | null = null;
  let tls: TlsService | null = null;
  let mqtts: WatchedTlsServer | null = null;
  let https: WatchedTlsServer | null = null;
  let alarms: AlarmService | ClusterAlarmService | null = null;
  let cluster: ClusterNodeParts | null = null;
  let wiring: ClusterWiring | null = null;
  let budget: ConnectionBudget | null = null;
  let pruneTimer: NodeJS.Timeout | null = null;
  let flushTimer: NodeJS.Timeout | null = null;

  const closeAll = async () => {
    if (pruneTimer) clearInterval(pruneTimer);
    if (flushTimer) clearInterval(flushTimer);
    loopDelay.stop();
    budget?.stop();
    await Promise.resolve(alarms?.stop()).catch((err) => logger.error({ err }, 'alarm service stop failed'));
    tls?.stop();
    for (const ext of [...started].reverse()) {
      try {
        await ext.beforeBrokerClose?.();
      } catch (err) {
        logger.error({ err, extension: ext.name }, 'extension last words failed');
      }
    }
    const mqttsClosed = mqtts?.close();
    if (broker) await broker.close().catch((err) => logger.error({ err }, 'broker close failed'));
    mqtts?.destroyAll();
    await mqttsClosed;
    for (const ext of [...started].reverse()) {
      try {
        await ext.stop?.();
      } catch (err) {
        logger.error({ err, extension: ext.name }, 'extension stop failed');
      }
    }
    if (http) {
      http.closeAllConnections?.();
      await new Promise<void>((resolve) => http!.close(() => resolve()));
    }
    if (https) {
      const closed = https.close();
      https.destroyAll();
      await closed;
    }
    await checkpointer?.close();
    await durability?.close();
    if (db.open) db.close();
    // Last: leases released (another node takes them at once), presence written offline, connections closed.
    await wiring?.stop();
    await cluster?.close().catch((err) => logger.error({ err }, 'cluster connections did not close cleanly'));
  };

  try {
    // The certificate first: a bad --tls-cert/--tls-key is one ConfigError before anything listens.
    tls = await TlsService.start(config, { logger, clock: opts.tlsClock });
    const tlsOptions = { ...TLS_SERVER_OPTIONS, ...tls.secureContextOptions() };
    // A cluster node: PostgreSQL and Redis are reached before anything listens (a start that cannot is a clear error).
    cluster = config.postgres ? await openClusterNode(config, { clock, logger }) : null;
    const registry: SqliteRegistryStore | PgRegistryStore =
      cluster?.registry ?? new SqliteRegistryStore(db, { dataDir: config.dataDir, clock, countryCode: config.countryCode });
    const adminPassword = await registry.ensureAdmin();
    // Web connections (HTTP, WebSocket) never take the descriptors held back for enrolled devices.
    const countSql = cluster ? null : db.prepare('SELECT count(*) FROM devices').pluck();
    const countDevices = { get: () => (countSql ? Number(countSql.get()) : registry.listDevices().length) };
    budget = new ConnectionBudget({
      fdLimit: openFilesLimit()?.soft ?? null,
      enrolledDevices: () => Number(countDevices.get()),
      connectedDevices: () => broker?.presence.connectedCount() ?? 0,
      maxWeb: config.httpMaxConnections,
      maxWebPerAddress: config.httpMaxConnectionsPerAddress,
      clock,
      logger,
      metrics,
    });
    const connections = budget;
    const allowedOrigins = parseAllowedOrigins(config.allowedOrigins);
    const directory = {
      household: (id: string) => registry.getHousehold(id),
      householdsOfTeam: (team: string) => registry.householdsOfTeam(team).map((h) => h.id),
      nearbyHouseholds: (id: string) => {
        const origin = registry.getHousehold(id);
        return origin ? householdsNear(origin, registry.listHouseholds(), config.nearbyRadiusM) : [];
      },
    };
    const engine = new AlarmEngine(
      {
        verifyWindowMs: config.verifyWindowS * 1000,
        escalateAfterMs: config.escalateAfterS * 1000,
        resolveQuietMs: config.resolveQuietS * 1000,
        hushPeriodMs: config.hushPeriodS * 1000,
      },
      directory,
      newAlarmId,
    );
    // One set of login throttles and one bound on password checks for MQTT and HTTP alike.
    const logins = new LoginChecker({
      verifyPassword: (u, p) => registry.verifyUserPassword(u, p),
      clock,
      logger,
      metrics,
      refusalFloorMs: opts.loginRefusalFloorMs,
      guard: opts.loginGuard,
    });
    const alarmLog = logger.child({ module: 'alarms' });
    // The alarm service publishes through the broker, which is built with it as its inbound port: the
    // broker is bound to this publisher as soon as it exists (before anything can be published).
    const publisher = new LateBoundPublisher();
    const devicesOf = (household: string) => registry.listDevices({ household });
    const allHouseholds = () => registry.listHouseholds().map((h) => h.id);
    // What the HTTP routes act and read through: the service and the journal themselves on a single
    // box; a cluster node's async variants (each action one PostgreSQL step, answered once committed).
    let actions: AlarmActions;
    let journalReads: AlarmJournalReads;
    let drillResponses: DrillResponses;
    let alarmPort: BrokerAlarmPort & AlarmPort;
    // Event ids are remembered for a week (de-duplication of redeliveries and replays).
    let pruneSeenEvents: (now: number) => unknown;
    if (cluster) {
      const c = cluster;
      const ca = new ClusterAlarmService({
        ...{ pool: c.pool, connectionString: config.postgres!, journal: c.journal, engine, directory, node: c.nodeId },
        ...{ mqtt: publisher, clock, bus, logger: alarmLog, metrics, health, devicesOf, allHouseholds },
      });
      alarms = ca;
      alarmPort = ca;
      actions = ca.actions();
      journalReads = c.journal;
      // Every node prunes the shared table (one DELETE, harmless twice).
      pruneSeenEvents = (now) => c.journal.pruneSeenEvents(now);
      drillResponses = (id) => ca.drillResponses(id);
    } else {
      // The single box's journal is its SQLite; a cluster node's is PostgreSQL (no journal, no reserve file here).
      const journal = new AlarmJournal(db);
      // Space held back for the journal on a full disk (released on its first failed write).
      const reserve = new DiskReserve(config.dataDir, opts.reserveBytes ?? DEFAULT_RESERVE_BYTES);
      if (!reserve.ensure() && (opts.reserveBytes ?? DEFAULT_RESERVE_BYTES) > 0)
        logger.warn({ path: reserve.path }, 'no room for the data directory reserve file: the alarm journal has no space held back for a full disk');
      const writer = new JournalWriter({ journal, durability: durability ?? undefined, reserve, health, clock, logger: alarmLog, metrics });
      const sa = new AlarmService({
        ...{ engine, journal, writer, mqtt: publisher, clock, bus, logger: alarmLog, metrics },
        ...{ devicesOf, allHouseholds },
      });
      alarms = sa;
      alarmPort = sa;
      actions = sa;
      journalReads = journal;
      drillResponses = (id) => engine.get(id)?.firstResponses ?? journal.record(id)?.firstResponses;
      pruneSeenEvents = (now) => journal.pruneSeenEvents(now);
    }
    broker = new MqttBroker({
      registry,
      alarms: alarmPort,
      logins,
      verifySessionToken: (username, token) => sessionUser(registry.resolveSession(token), username),
      ...{ bus, clock, logger, metrics },
      ingressSliceMs: opts.ingressSliceMs,
      listenBacklog: opts.listenBacklog,
      slowClientTimeoutS: config.slowClientTimeoutS,
      ...(cluster ? { shared: cluster.shared } : { sessionsDir: join(config.dataDir, 'mqtt-sessions') }),
      admitConnection: (socket) => connections.admit('mqtt', socket),
    });
    publisher.bind(broker);
    await broker.init();
    if (cluster) {
      const here = broker.presence;
      const devices = () => registry.listDevices().map((d) => d.id);
      wiring = await wireClusterNode(cluster, { bus, localPresence: here, devices, health, clock, logger });
    }
    // The station hears at once when the journal cannot be written (published from memory: the disk may be full).
    health.onChange((reason, problem) => {
      const n = healthNotice(reason, problem, clock.now());
      broker?.publish(topics.station('notice'), JSON.stringify(n), { qos: 1 });
      bus.emit('notice', n);
    });

    const httpRouter = new Router();
    const alarmDetails = new Map<string, AlarmDetailProvider>();
    const ctx: HubContext = {
      config,
      logger,
      metrics,
      db,
      clock,
      registry,
      bus,
      mqtt: broker,
      ingress: broker,
      mqttTrees: broker.trees,
      http: httpRouter,
      alarms: alarmPort,
      alarmDetails,
      singleton: wiring?.gate ?? SINGLE_BOX,
      cluster: cluster && wiring ? { nodeId: cluster.nodeId, pool: cluster.pool, activity: wiring.activity } : null,
    };
    const presence = broker.presence;
    registerRegistryRoutes(httpRouter, {
      registry,
      metrics,
      clock,
      startedAt: clock.now(),
      degraded: () => health.reasons(),
      metricsAccess: metricsAccessFor(config),
      deviceStatus: (id: string) => {
        if (wiring) return wiring.presence.status(id);
        const p = presence.info(id);
        return { online: p.online, lastSeen: p.since };
      },
    });
    registerAlarmRoutes(httpRouter, { alarms: actions, journal: journalReads, registry, details: alarmDetails });
    registerStationRoutes(httpRouter, { alarms: actions, journal: journalReads, registry, drillResponses });
    registerMapRoutes(httpRouter, { dir: join(config.dataDir, 'map'), nearbyRadiusM: config.nearbyRadiusM });
    const tlsNow = tls;
    registerTlsRoutes(httpRouter, () => tlsNow.material);
    const web = createHttpServers(
      {
        router: httpRouter,
        sessions: registry,
        logins,
        logger,
        metrics,
        staticDir: dashboardDir(),
        clock,
        hsts: config.plain === 'off',
        timezone: config.timezone,
        budget,
        allowedOrigins,
        timeouts: { headersMs: config.httpHeadersTimeoutS * 1000, requestMs: config.httpRequestTimeoutS * 1000 },
      },
      tlsOptions,
    );
    const server = web.http;
    http = server;
    broker.attachWebSocket(server, upgradeOriginGuard({ allowedOrigins, logger, metrics, clock }));
    // wss:// goes the same way as ws:// (one WebSocket server, one set of checks).
    const httpsServer = web.https!;
    httpsServer.on('upgrade', (req, socket, head) => server.emit('upgrade', req, socket, head));

    for (const ext of opts.extensions ?? defaultExtensions(config)) {
      await ext.start(ctx);
      started.push(ext);
    }
    await alarms.start();
    const prune = async () => {
      try {
        await pruneSeenEvents(clock.now());
      } catch (err) {
        logger.error({ err }, 'pruning seen event ids failed');
      }
    };
    await prune();
    pruneTimer = setInterval(() => void prune(), 6 * 3600 * 1000);
    pruneTimer.unref();
    // Writes nobody waits on (sessions, notices, supervision state) reach the disk within a second;
    // an idle hub does not fsync (an SD card wears).
    if (durability) {
      const changes = db.prepare('SELECT total_changes()').pluck();
      let flushed = changes.get();
      flushTimer = setInterval(() => {
        const now = changes.get();
        if (now === flushed) return;
        flushed = now;
        durability.flushSoon();
      }, 1000);
      flushTimer.unref();
    }

    // Every route is declared (the extensions' too): mount the table on fastify before anything listens.
    await web.ready();
    const plain = config.plain === 'on';
    const mqttPort = plain ? await broker.listenTcp(config.mqttPort, config.host) : 0;
    const mqttsListening = await broker.listenTls(config.mqttsPort, config.host, tlsOptions);
    mqtts = watchTlsServer(mqttsListening.server, 'mqtts', { metrics, logger, clock });
    const mqttsPort = mqttsListening.port;
    https = watchTlsServer(httpsServer, 'https', { metrics, logger, clock });
    const httpsPort = await listenOn(httpsServer, config.httpsPort, config.host);
    // A renewed certificate: new connections get it, open ones keep theirs.
    tls.onChange((o) => {
      mqttsListening.server.setSecureContext(o);
      httpsServer.setSecureContext(o);
    });
    const httpPort = !plain
      ? 0
      : await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.httpPort, config.host, () => {
            server.off('error', reject);
            const a = server.address();
            resolve(typeof a === 'object' && a ? a.port : config.httpPort);
          });
        });
    logger.info(
      { mqttPort, httpPort, mqttsPort, httpsPort, dataDir: config.dataDir, extensions: started.map((e) => e.name), node: cluster?.nodeId },
      cluster ? 'smokehub hub node started' : 'smokehub hub started',
    );
    const enrolled = registry.listDevices().length;
    const fdWarning = openFilesWarning(enrolled, openFilesLimit());
    if (fdWarning) logger.warn(fdWarning);
    const queueWarning = acceptQueueWarning(enrolled, acceptQueueCap());
    if (queueWarning) logger.warn(queueWarning);

    let stopping: Promise<void> | null = null;
    return {
      ctx,
      mqttPort,
      httpPort,
      mqttsPort,
      httpsPort,
      tls,
      alarms,
      health,
      broker,
      registry,
      cluster,
      adminPassword,
      stop: () => (stopping ??= closeAll().then(() => logger.info('smokehub hub stopped'))),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
