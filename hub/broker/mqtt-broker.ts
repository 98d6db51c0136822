/**
 * The Aedes adapter: MQTT 3.1.1 on TCP (TCP_NODELAY) and on WebSocket at /mqtt of the HTTP server.
 * Authentication (devices by secret, people by password or session token), ACL hooks, presence,
 * and catch-up of open alarms when a household or the station subscribes. Sessions on disk
 * (session-store.ts); a slow subscriber delays nobody else (slow-client-guard.ts).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Principal } from '../core/acl.ts';
import { canSubscribe } from '../core/acl.ts';
import type { DeviceRef, HubBus, IngressControl, MqttPublisher, PublishOptions } from '../app/context.ts';
import type { AlarmService } from '../app/alarm-service.ts';
import type { RegistryStore, User } from '../store/registry-types.ts';
import type { Logger } from '../observability/logger.ts';
import type { MetricsRegistry, Counter } from '../observability/metrics.ts';
import type { Clock } from '../core/clock.ts';
import type { MessageRouter } from './message-router.ts';
import { DevicePresence } from './device-presence.ts';
import { PacketSizeGuard } from './packet-size-guard.ts';
import { IngressScheduler } from './ingress-scheduler.ts';
import { SlowClientGuard, type GuardedConnection } from './slow-client-guard.ts';
import { deliveryHooksOf, parserOf, readLoopOf, startPublishCounterAt } from './aedes-internals.ts';
import { SessionStore } from './session-store.ts';
import { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { LoginChecker } from '../auth/login-checker.ts';
import { MqttAuthenticator, type ConnackError } from './mqtt-authenticator.ts';
import { alertHouseholdOfFilter, filterMatches, isJournalledTopic, topics } from '../protocol/topics.ts';
import { ERROR_CODES } from '../protocol/errors.ts';

/** Where rejected publishes are sent instead of being forwarded (nobody may subscribe to it). */
const SINK_TOPIC = '$SYS/smokehub/rejected';
/**
 * The accept queue asked of the kernel for the MQTT ports (Linux caps it at net.core.somaxconn,
 * 4096 on current kernels). Node's default, 511, overflowed when thousands of devices reconnected at
 * once after a power cut: the kernel dropped their handshakes and each device waited out TCP's SYN
 * retransmissions (1, 3, 7, 15 s …) although the hub was idle (bench/reconnect-storm.ts, docs/benchmarks.md).
 */
export const LISTEN_BACKLOG = 32_768;
/** Largest MQTT packet accepted on TCP (payload limit checks happen later, per channel). */
export const MAX_PACKET_BYTES = 64 * 1024;

export interface BrokerDeps {
  registry: RegistryStore;
  /** Checks a dashboard session token presented as the MQTT password. */
  verifySessionToken?: (username: string, token: string) => User | null;
  /** Password checks and their throttles, shared with HTTP (auth/login-checker.ts); absent: the broker's own. */
  logins?: LoginChecker;
  bus: HubBus;
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
}

export class MqttBroker implements MqttPublisher, IngressControl {
  readonly presence: DevicePresence;
  private aedes!: Aedes;
  private tcp: NetServer | null = null;
  private wss: WebSocketServer | null = null;
  private readonly principals = new WeakMap<Client, Principal>();
  private readonly deviceRefs = new WeakMap<Client, DeviceRef>();
  private router: MessageRouter | null = null;
  private alarms: AlarmService | null = null;
  private readonly auth: MqttAuthenticator;
  private readonly log: Logger;
  private readonly messagesOut: Counter;
  private readonly rejects: Counter;
  private guardWarned = false;
  private schedulerWarned = false;
  private readonly ingress: IngressScheduler;
  private readonly slow: SlowClientGuard;
  private readonly slowLog: RateLimitedLog;
  private slowGuardWarned = false;
  private sessions: SessionStore | null = null;
  private readonly sessionDropped: (n: number) => void;

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
  }

  /** Wires the parts that need the broker to exist first. */
  attach(router: MessageRouter, alarms: AlarmService): void {
    this.router = router;
    this.alarms = alarms;
  }

  async init(): Promise<void> {
    if (this.d.sessionsDir) {
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
      id: 'smokehub',
      persistence: this.sessions?.persistence,
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
  }

  listenTcp(port: number, host: string): Promise<number> {
    this.tcp = createNetServer({ noDelay: true }, (socket: Socket) => {
      if (this.d.admitConnection && !this.d.admitConnection(socket)) return; // over the budget: already closed
      const client = this.aedes.handle(socket);
      this.hookParser(client, socket);
      this.guardSlow(client, {
        buffered: () => socket.writableLength,
        drains: [socket],
        cut: () => socket.destroy(),
        describe: () => this.describe(client, 'tcp'),
      });
    });
    return new Promise((resolve, reject) => {
      this.tcp!.once('error', reject);
      this.tcp!.listen({ port, host, backlog: this.d.listenBacklog ?? LISTEN_BACKLOG }, () => {
        this.tcp!.off('error', reject);
        // An accept failure (EMFILE when libuv's reserve descriptor is gone) must not stop the hub.
        this.tcp!.on('error', (err: NodeJS.ErrnoException) =>
          this.slowLog.error(`accept|${err.code}`, { err: err.message }, 'MQTT server could not accept a connection'),
        );
        const addr = this.tcp!.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /**
   * MQTT over TLS (mqtts): the same path as TCP once the handshake is done (size guard, ingress
   * scheduler, slow-client guard). The caller keeps the server: `setSecureContext` for a renewed
   * certificate, `close()` when the hub stops.
   */
  listenTls(port: number, host: string, secureContextOptions: TlsOptions): Promise<{ port: number; server: TlsServer }> {
    const server = createTlsServer({ ...secureContextOptions, noDelay: true }, (socket: TLSSocket) => {
      const client = this.aedes.handle(socket);
      this.hookParser(client, socket);
      this.guardSlow(client, {
        buffered: () => socket.writableLength,
        drains: [socket],
        cut: () => socket.destroy(),
        describe: () => ({ ...this.describe(client, 'tcp'), transport: 'tls' }),
      });
    });
    // The raw TCP socket is admitted (or closed) before its TLS handshake: app/connection-budget.ts.
    if (this.d.admitConnection) server.prependListener('connection', (raw: Socket) => void this.d.admitConnection!(raw));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, backlog: this.d.listenBacklog ?? LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        // An accept error (EMFILE) is logged, never thrown.
        server.on('error', (err: NodeJS.ErrnoException) =>
          this.slowLog.error(`accept-tls|${err.code}`, { err: err.message }, 'MQTTS server could not accept a connection'),
        );
        const addr = server.address();
        resolve({ port: typeof addr === 'object' && addr ? addr.port : port, server });
      });
    });
  }

  /** MQTT over WebSocket at `/mqtt` of an HTTP server. */
  attachWebSocket(server: HttpServer, allowUpgrade?: (req: IncomingMessage, socket: Duplex) => boolean): void {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/mqtt') {
        socket.destroy();
        return;
      }
      if (allowUpgrade && !allowUpgrade(req, socket)) return; // refused before the upgrade (403, http/origin.ts)
      (socket as Socket).setNoDelay?.(true);
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        const client = this.aedes.handle(stream, req);
        this.hookParser(client, stream); // ws' maxPayload bounds each frame; the guard each packet
        // What waits for this connection: the stream's buffer, and ws' (bytes the socket has not sent).
        this.guardSlow(client, {
          buffered: () => stream.writableLength + ws.bufferedAmount,
          drains: [stream, socket],
          cut: () => ws.terminate(),
          describe: () => this.describe(client, 'ws'),
        });
      });
    });
  }

  /**
   * Two hooks on the client's parser (no extra stream per connection, which would cost memory at
   * 30,000 connections):
   *  - the size guard cuts a connection whose next packet announces more than MAX_PACKET_BYTES,
   *    before Aedes' parser buffers it (Aedes itself accepts up to 256 MB);
   *  - the ingress scheduler lets alarm traffic go before telemetry (ingress-scheduler.ts).
   */
  private hookParser(client: Client, socket: Duplex): void {
    const parser = parserOf(client);
    if (!parser) {
      if (!this.guardWarned) this.log.warn('Aedes internals changed: the packet size guard is off');
      this.guardWarned = true;
    } else {
      const sizes = new PacketSizeGuard(MAX_PACKET_BYTES);
      const parse = parser.parse.bind(parser);
      parser.parse = (buf: Buffer) => {
        const problem = sizes.feed(buf);
        if (problem === null) return parse(buf);
        this.rejects.inc({ reason: 'oversize', channel: 'packet' });
        this.log.warn({ clientId: client.id, ip: remoteAddress(client), problem }, 'connection cut: oversize MQTT packet');
        socket.destroy();
        return 0;
      };
    }
    if (this.d.ingressSliceMs === 0) return;
    const loop = readLoopOf(client);
    if (!(loop && this.ingress.attach(loop)) && !this.schedulerWarned) {
      this.schedulerWarned = true;
      this.log.warn('Aedes internals changed: telemetry is handled without the ingress scheduler (alarms may wait behind it)');
    }
  }

  /** Deliveries never wait for a slow socket; a stuck connection is bounded and cut (slow-client-guard.ts). */
  private guardSlow(client: Client, conn: GuardedConnection): void {
    const hooks = deliveryHooksOf(client);
    if ((hooks && this.slow.attach(hooks, conn)) || this.slowGuardWarned) return;
    this.slowGuardWarned = true;
    this.log.warn('Aedes internals changed: the slow-client guard is off (one stuck connection can delay every delivery)');
  }

  /** Who a connection is, for logs. */
  private describe(client: Client, transport: 'tcp' | 'ws'): Record<string, unknown> {
    const p = this.principals.get(client);
    const who = !p ? {} : p.type === 'device' ? { device: p.device, household: p.household } : { user: p.username };
    return { clientId: client.id, ...who, ip: remoteAddress(client), transport };
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
    // tcp.close() completes only once every connection has ended: aedes.close() ends them.
    const tcpClosed = new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
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
    this.auth.authenticate({ clientId: client.id, address: remoteAddress(client), username, password }, (err, who) => {
      if (who) {
        this.principals.set(client, who.principal);
        if (who.device) this.deviceRefs.set(client, who.device);
      }
      done(err, who !== null);
    });
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (!client) return done(null); // the hub's own publications
    const principal = this.principals.get(client);
    const waitForDisk = this.alarms !== null && isJournalledTopic(packet.topic);
    let outcome: 'forward' | 'drop' = 'drop';
    try {
      if (principal && this.router) outcome = this.router.route(principal, client.id, packet.topic, packet.payload as Buffer);
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
    if (waitForDisk) this.alarms!.whenDurable(() => done(null));
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
    if (!principal || !this.alarms) return;
    const sent = new Set<string>();
    for (const s of subs) {
      const household = alertHouseholdOfFilter(s.topic);
      const views =
        household !== null
          ? this.alarms.concerning(household).map((v) => ({ topic: topics.household(household, 'alert'), v }))
          : filterMatches(s.topic, topics.station('alarm'))
            ? this.alarms.openViews().map((v) => ({ topic: topics.station('alarm'), v }))
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

function remoteAddress(client: Client): string {
  const req = (client as Client & { req?: IncomingMessage }).req;
  const conn = client.conn as Socket & { remoteAddress?: string };
  return req?.socket?.remoteAddress ?? conn.remoteAddress ?? 'unknown';
}
