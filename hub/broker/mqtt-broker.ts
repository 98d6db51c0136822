/**
 * The Aedes adapter: MQTT 3.1.1 on TCP (TCP_NODELAY), TLS and WebSocket at /mqtt of the HTTP
 * server (transports.ts). Authentication (devices by secret, people by password or session token),
 * ACL hooks, presence, and catch-up of open alarms when a household or the station subscribes.
 * Sessions on disk (session-store.ts), or bus and sessions shared with other nodes (`shared`,
 * hub/cluster/redis-mqtt.ts); a slow subscriber delays nobody else (slow-client-guard.ts).
 *
 * Everything it hands on goes through the ports it is given at construction (ports.ts): the alarm
 * service, the hub's bus; it imports nothing from hub/app.
 */
import type { Socket } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as TlsServer, TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Principal } from '../core/acl.ts';
import { canSubscribe } from '../core/acl.ts';
import type { BrokerAlarmPort, DeviceEventSink, DeviceRef, PublishOptions, Publisher, TreeRoutes } from './ports.ts';
import type { RegistryStore, User } from '../store/registry-types.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter } from '../observability/metrics.ts';
import type { Clock } from '../core/clock.ts';
import { MessageRouter } from './message-router.ts';
import { DevicePresence } from './device-presence.ts';
import { IngressScheduler } from './ingress-scheduler.ts';
import { SlowClientGuard } from './slow-client-guard.ts';
import { startPublishCounterAt } from './aedes-internals.ts';
import { SessionStore } from './session-store.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { LoginChecker } from '../auth/login-checker.ts';
import { MqttAuthenticator, type ConnackError } from './mqtt-authenticator.ts';
import { MAX_GATEWAY_PACKET_BYTES, MqttTransports, remoteAddress } from './transports.ts';
import { alertHouseholdOfFilter, filterMatches, isJournalledTopic, topics } from '../protocol/topics.ts';
import { ERROR_CODES } from '../protocol/errors.ts';

export { LISTEN_BACKLOG, MAX_GATEWAY_PACKET_BYTES, MAX_PACKET_BYTES } from './transports.ts';

/** Where rejected publishes are sent instead of being forwarded (nobody may subscribe to it). */
const SINK_TOPIC = '$SYS/smokehub/rejected';

export interface BrokerDeps {
  registry: RegistryStore;
  /** Inbound events and responses go there; an event's PUBACK waits for its journal entry; subscribers' catch-up. */
  alarms: BrokerAlarmPort;
  /** Checks a dashboard session token presented as the MQTT password. */
  verifySessionToken?: (username: string, token: string) => User | null | Promise<User | null>;
  /** Password checks and their throttles, shared with HTTP (auth/login-checker.ts); absent: the broker's own. */
  logins?: LoginChecker;
  bus: DeviceEventSink;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Longest run of telemetry handled per event-loop turn before sockets are read again (default 2 ms; 0 = no scheduler, as plain Aedes — benchmarks compare). */
  ingressSliceMs?: number;
  /** A connection that cannot drain its deliveries for this long is closed (slow-client-guard.ts; default 30 s). */
  slowClientTimeoutS?: number;
  /** What one connection may hold in unsent deliveries (default 1 MiB). */
  maxBufferedBytesPerClient?: number;
  /** Directory of the on-disk session store (session-store.ts); without it sessions live in memory. */
  sessionsDir?: string;
  /** Messages queued for one disconnected persistent session (default 100). */
  maxQueuedPerClient?: number;
  /** The MQTT ports' accept queue (default LISTEN_BACKLOG; benchmarks compare with Node's 511). */
  listenBacklog?: number;
  /** Admission of each accepted MQTT socket (app/connection-budget.ts): false means it was closed. */
  admitConnection?: (socket: Socket) => boolean;
  /** Aedes' bus and persistence shared with other hub nodes (hub/cluster/redis-mqtt.ts); absent: the single box's own (in-process bus, `sessionsDir`). */
  shared?: SharedMqttBackend;
}

/**
 * The seam of a cluster: what Aedes takes as `mq` and `persistence` when they are shared with other
 * hub nodes, and whether they can be reached. While `healthy()` is false the broker refuses every
 * CONNECT with CONNACK 3 (server unavailable) and closes the connections it has, so that devices
 * move to a node that can reach the shared engine rather than split the bus; it accepts them again
 * as soon as it is healthy, without a restart. `broker.close()` closes `mq` (Aedes does); the
 * caller closes the rest (the persistence's connection) after it.
 */
export interface SharedMqttBackend {
  /** Aedes' broker id: one per node, stable across its restarts (queued messages and wills are keyed by it). */
  readonly brokerId: string;
  /** An MQEmitter (mqemitter-redis). */
  readonly mq: unknown;
  /** An Aedes 1.x async persistence (aedes-persistence-redis' asyncPersistence). */
  readonly persistence: unknown;
  healthy(): boolean;
  /** Calls `listener` on each change of health; returns the function that removes it. */
  onHealthChange(listener: (healthy: boolean) => void): () => void;
}

/** Also the hub's publisher and its ingress control (app/context.ts `MqttPublisher`, `IngressControl`). */
export class MqttBroker implements Publisher {
  readonly presence: DevicePresence;
  private aedes!: Aedes;
  private readonly principals = new WeakMap<Client, Principal>();
  private readonly deviceRefs = new WeakMap<Client, DeviceRef>();
  private readonly router: MessageRouter;
  /** Where extensions handle the household trees (`z2m`, `homeassistant`). */
  get trees(): TreeRoutes {
    return this.router;
  }
  private readonly transports: MqttTransports;
  private readonly auth: MqttAuthenticator;
  private readonly log: Logger;
  private readonly messagesOut: Counter;
  private readonly rejects: Counter;
  private readonly ingress: IngressScheduler;
  private readonly slow: SlowClientGuard;
  private readonly slowLog: RateLimitedLog;
  private sessions: SessionStore | null = null;
  private readonly sessionDropped: (n: number) => void;
  private unwatchShared: (() => void) | null = null;

  constructor(private readonly d: BrokerDeps) {
    this.log = d.logger.child({ module: 'broker' });
    this.presence = new DevicePresence();
    const logins =
      d.logins ?? new LoginChecker({ verifyPassword: (u, p) => d.registry.verifyUserPassword(u, p), clock: d.clock, logger: d.logger, metrics: d.metrics });
    this.auth = new MqttAuthenticator({
      registry: d.registry,
      verifySessionToken: d.verifySessionToken,
      logins,
      clock: d.clock,
      logger: d.logger,
      metrics: d.metrics,
    });
    this.messagesOut = d.metrics.counter('smokehub_messages_out_total', 'MQTT messages published by the hub');
    this.rejects = d.metrics.counter('smokehub_rejects_total', 'Rejected inputs by reason (error code) and channel');
    d.metrics.gauge('smokehub_connected_devices', 'Devices connected now', () => this.presence.connectedCount());
    d.metrics.gauge('smokehub_connected_clients', 'MQTT clients connected now (devices and people)', () => this.aedes?.connectedClients ?? 0);
    const deferred = d.metrics.counter('smokehub_ingress_deferred_total', 'Telemetry packets that waited for a slice so that alarm traffic went first');
    this.ingress = new IngressScheduler({ sliceMs: d.ingressSliceMs, onDeferred: () => deferred.inc() });
    d.metrics.gauge('smokehub_ingress_queue_depth', 'Telemetry packets waiting for a slice of the main thread', () => this.ingress.depth);
    d.metrics.gauge('smokehub_ingress_held_connections', 'Connections not read because too much of their telemetry waits', () => this.ingress.held);
    d.metrics.gauge('smokehub_ingress_telemetry_paused', '1 while telemetry is held back because its storage pipeline is full', () =>
      this.ingress.paused ? 1 : 0,
    );
    this.slowLog = new RateLimitedLog(this.log, d.clock, 60_000);
    const dropped = d.metrics.counter(
      'smokehub_deliveries_dropped_total',
      'Deliveries to subscribers not made, by reason (slow_client: over its buffer bound; session_queue_full: oldest queued message of a disconnected session deleted)',
    );
    const cuts = d.metrics.counter('smokehub_slow_client_disconnects_total', 'Connections closed because they could not take their deliveries, by reason');
    this.slow = new SlowClientGuard({
      timeoutMs: (d.slowClientTimeoutS ?? 30) * 1000,
      maxBufferedBytes: d.maxBufferedBytesPerClient,
      clock: d.clock,
      onDropped: (qos) => dropped.inc({ reason: 'slow_client', qos: String(qos) }),
      onDropping: (who, bufferedBytes) =>
        this.slowLog.warn(
          `dropping|${String(who.clientId)}`,
          { ...who, bufferedBytes },
          'slow MQTT connection: QoS 0 deliveries to it are dropped until it drains',
        ),
      onCut: (info) => {
        cuts.inc({ reason: info.reason });
        this.slowLog.warn(
          `cut|${String(info.who.clientId)}`,
          { ...info.who, reason: info.reason, bufferedBytes: info.bufferedBytes, dropped: info.dropped, stuckMs: info.stuckMs },
          'slow MQTT connection closed',
        );
      },
    });
    d.metrics.gauge('smokehub_slow_clients', 'Connections holding more unsent deliveries than their socket buffer, not drained since', () => this.slow.blocked);
    d.metrics.gauge('smokehub_slow_client_buffered_bytes', 'Unsent bytes held for those connections', () => this.slow.blockedBytes);
    d.metrics.gauge(
      'smokehub_slow_client_max_buffered_bytes',
      'Unsent bytes held for the most backed-up connection (bounded at 1 MiB)',
      () => this.slow.maxHeldBytes,
    );
    d.metrics.gauge('smokehub_session_queued_messages', 'QoS 1 messages queued in persistent sessions (on disk)', () => this.sessions?.totalQueued ?? 0);
    this.sessionDropped = (n) => dropped.inc({ reason: 'session_queue_full' }, n);
    // Rejections are answered on the device's `error` topic, published by the broker itself.
    const { registry, alarms, bus, clock, logger, metrics } = d;
    this.router = new MessageRouter({ registry, alarms, bus, mqtt: this, clock, logger, metrics });
    this.transports = new MqttTransports({
      handle: (stream, req) => this.aedes.handle(stream, req),
      who: (client) => {
        const p = this.principals.get(client);
        return !p ? {} : p.type === 'device' ? { device: p.device, household: p.household } : { user: p.username };
      },
      ingress: this.ingress,
      scheduleIngress: d.ingressSliceMs !== 0,
      slow: this.slow,
      log: this.log,
      slowLog: this.slowLog,
      rejects: this.rejects,
      listenBacklog: d.listenBacklog,
      admitConnection: d.admitConnection,
    });
  }

  async init(): Promise<void> {
    const shared = this.d.shared;
    if (this.d.sessionsDir && !shared) {
      this.sessions = await SessionStore.open({
        dir: this.d.sessionsDir,
        maxQueuedPerClient: this.d.maxQueuedPerClient,
        onDropped: (clientId, n) => {
          this.sessionDropped(n);
          this.slowLog.warn(`session-full|${clientId}`, { clientId, dropped: n }, 'persistent session queue full: its oldest messages were deleted');
        },
        onError: (err) => this.log.error({ err }, 'MQTT session store write failed'),
      });
    }
    this.aedes = await Aedes.createBroker({
      // One id across restarts, so that a session's queued messages keep their order (see below).
      id: shared?.brokerId ?? 'smokehub',
      ...(shared ? { mq: shared.mq, persistence: shared.persistence } : { persistence: this.sessions?.persistence }),
      maxClientsIdLength: 64,
      // Aedes' own drain timeout is only a backstop: the slow-client guard closes a stuck connection first.
      drainTimeout: ((this.d.slowClientTimeoutS ?? 30) + 10) * 1000,
      concurrency: 200,
      heartbeatInterval: 60_000,
      connectTimeout: 10_000,
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
    });
    // Messages queued in the session store are keyed by broker id and this counter, and delivered in
    // key order: starting it from the clock keeps a restart's messages after (and never on top of)
    // those queued before it. (Aedes starts it at 0; ~1,000 per millisecond would be needed to overtake.)
    if (!startPublishCounterAt(this.aedes, Date.now() * 1000))
      this.log.warn('Aedes internals changed: queued session messages may be delivered out of order after a restart');
    this.aedes.on('client', (client) => this.onClientReady(client));
    this.aedes.on('clientDisconnect', (client) => this.onClientGone(client));
    this.aedes.on('subscribe', (subs, client) => this.onSubscribed(subs, client));
    this.aedes.on('clientError', (client, err) => this.log.debug({ clientId: client?.id, err: err.message }, 'client error'));
    this.aedes.on('connectionError', (_client, err) => this.log.debug({ err: err.message }, 'connection error'));
    if (shared) this.watchShared(shared);
  }

  /** A shared backend's failures are logged (Aedes emits them as 'error'); its loss closes every connection. */
  private watchShared(shared: SharedMqttBackend): void {
    // Without a listener Aedes' 'error' (a failed enqueue, a will) would end the process.
    (this.aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) =>
      this.slowLog.warn('shared-error', { err: err.message }, 'shared MQTT backend (Redis) operation failed'),
    );
    const clients = new Set<Client>();
    this.aedes.on('client', (client) => {
      clients.add(client);
      if (!shared.healthy()) client.close(); // connected while the backend was being lost
    });
    this.aedes.on('clientDisconnect', (client) => clients.delete(client));
    this.unwatchShared = shared.onHealthChange((healthy) => {
      if (healthy) return this.log.info('shared MQTT backend (Redis) reachable again: accepting MQTT connections');
      this.log.warn({ clients: clients.size }, 'shared MQTT backend (Redis) unreachable: closing MQTT connections, refusing new ones');
      for (const c of [...clients]) c.close();
    });
  }

  listenTcp(port: number, host: string): Promise<number> {
    return this.transports.listenTcp(port, host);
  }

  /** MQTT over TLS (mqtts); the caller keeps the server (`setSecureContext`, `close()`). */
  listenTls(port: number, host: string, secureContextOptions: TlsOptions): Promise<{ port: number; server: TlsServer }> {
    return this.transports.listenTls(port, host, secureContextOptions);
  }

  /** MQTT over WebSocket at `/mqtt` of an HTTP server. */
  attachWebSocket(server: HttpServer, allowUpgrade?: (req: IncomingMessage, socket: Duplex) => boolean): void {
    this.transports.attachWebSocket(server, allowUpgrade);
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}, done?: (err: Error | null) => void): void {
    this.messagesOut.inc();
    this.aedes.publish(
      {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        qos: opts.qos ?? 0,
        retain: opts.retain ?? false,
        dup: false,
      },
      (err) => {
        if (err) this.log.error({ err, topic }, 'publish failed');
        done?.(err ?? null);
      },
    );
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Telemetry packets waiting for a slice of the main thread (ingress-scheduler.ts). */
  get ingressDepth(): number {
    return this.ingress.depth;
  }

  holdTelemetryWhile(check: () => boolean): void {
    this.ingress.holdWhile(check);
  }

  /** Stops accepting connections, closes every client (they reconnect to the next hub), stops Aedes. */
  async close(): Promise<void> {
    this.unwatchShared?.();
    // The TCP server is closed only once every connection has ended: aedes.close() ends them.
    const tcpClosed = this.transports.close();
    if (this.aedes) await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await tcpClosed;
    // The clients' last writes (wills, acknowledgements) were started by the close above.
    await new Promise((resolve) => setImmediate(resolve));
    await this.sessions?.close().catch((err) => this.log.error({ err }, 'closing the MQTT session store failed'));
  }

  // ---- hooks --------------------------------------------------------------------------------

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: ConnackError | null, ok: boolean | null) => void,
  ): void {
    if (this.d.shared && !this.d.shared.healthy()) {
      this.rejects.inc({ reason: 'unavailable', channel: 'connect' });
      return done(Object.assign(new Error('shared MQTT backend unreachable'), { returnCode: 3 as const }), null);
    }
    this.auth.authenticate({ clientId: client.id, address: remoteAddress(client), username, password }, (err, who) => {
      if (who) {
        this.principals.set(client, who.principal);
        if (who.device) this.deviceRefs.set(client, who.device);
        if (who.device?.kind === 'zigbee2mqtt') this.transports.raisePacketLimit(client, MAX_GATEWAY_PACKET_BYTES);
      }
      done(err, who !== null);
    });
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (!client) return done(null); // the hub's own publications
    const principal = this.principals.get(client);
    const waitForDisk = isJournalledTopic(packet.topic);
    let outcome: 'forward' | 'drop' = 'drop';
    try {
      if (principal) outcome = this.router.route(principal, client.id, packet.topic, packet.payload as Buffer);
    } catch (err) {
      this.log.error({ err, clientId: client.id, topic: packet.topic }, 'message handling failed');
      this.rejects.inc({ reason: ERROR_CODES.INTERNAL, channel: 'any' });
    }
    if (outcome === 'drop') {
      // Acknowledge but do not forward: never an error here (that disconnects, and the client would
      // resend the same QoS 1 message after every reconnect, forever).
      packet.topic = SINK_TOPIC;
      packet.retain = false;
    }
    // An event or a response is journalled: the alarm is already announced, the PUBACK waits until
    // the journal entry is committed and on disk — also while the disk is full and the write is
    // retried (the device keeps the message and sends it again if the hub stops before). A
    // duplicate waits too: its original may not be on disk yet.
    if (waitForDisk) this.d.alarms.whenDurable(() => done(null));
    else done(null);
  }

  private authorizeSubscribe(client: Client | null, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const principal = client ? this.principals.get(client) : undefined;
    if (principal && canSubscribe(principal, sub.topic, (h) => this.d.registry.teamOf(h))) {
      // QoS is capped at 1 (the contract's highest).
      return done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 });
    }
    this.rejects.inc({ reason: 'forbidden', channel: 'subscribe' });
    this.log.warn({ clientId: client?.id, topic: sub.topic.slice(0, 128) }, 'subscription refused');
    done(null, null); // SUBACK 0x80, the client stays connected
  }

  private onClientReady(client: Client): void {
    const ref = this.deviceRefs.get(client);
    if (!ref) return;
    const now = this.d.clock.now();
    this.presence.connected(ref.device, client, now);
    this.d.bus.emit('device-connected', ref, now);
  }

  private onClientGone(client: Client): void {
    const ref = this.deviceRefs.get(client);
    if (!ref) return;
    const now = this.d.clock.now();
    // A takeover (same client id reconnecting) disconnects the old client after the new one is up.
    if (this.presence.disconnected(ref.device, client, now)) this.d.bus.emit('device-disconnected', ref, now);
  }

  /** A household (device or phone) or the station subscribing gets every open alarm it must know. */
  private onSubscribed(subs: Subscription[], client: Client): void {
    const principal = this.principals.get(client);
    if (!principal) return;
    const sent = new Set<string>();
    for (const s of subs) {
      const household = alertHouseholdOfFilter(s.topic);
      const views =
        household !== null
          ? this.d.alarms.concerning(household).map((v) => ({ topic: topics.household(household, 'alert'), v }))
          : filterMatches(s.topic, topics.station('alarm'))
            ? this.d.alarms.openViews().map((v) => ({ topic: topics.station('alarm'), v }))
            : [];
      for (const { topic, v } of views) {
        const key = `${topic}|${v.alarm}`;
        if (sent.has(key)) continue;
        sent.add(key);
        client.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(v)), qos: 1, retain: false, dup: false }, () => {});
      }
    }
  }
}
