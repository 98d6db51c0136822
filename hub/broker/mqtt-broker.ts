/**
 * The Aedes adapter: MQTT 3.1.1 on TCP (TCP_NODELAY) and on WebSocket at /mqtt of the HTTP server.
 * Authentication (devices by secret, people by password or session token), ACL hooks, presence,
 * and catch-up of open alarms when a household or the station subscribes.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
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
import { IngressScheduler, type SchedulableClient } from './ingress-scheduler.ts';
import { LoginThrottle } from '../core/login-throttle.ts';
import { TOPIC_ROOT, topics } from '../protocol/topics.ts';

/** Where rejected publishes are sent instead of being forwarded (nobody may subscribe to it). */
const SINK_TOPIC = '$SYS/smokehub/rejected';
/** Largest MQTT packet accepted on TCP (payload limit checks happen later, per channel). */
export const MAX_PACKET_BYTES = 64 * 1024;

export interface BrokerDeps {
  registry: RegistryStore;
  /** Checks a dashboard session token presented as the MQTT password. */
  verifySessionToken?: (username: string, token: string) => User | null;
  bus: HubBus;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Acknowledges events and responses once their journal entries are on disk (wal-durability.ts). */
  durability?: { whenDurable(cb: (err: Error | null) => void): void };
  /** Longest run of telemetry handled per event-loop turn before sockets are read again (default 2 ms; 0 = no scheduler, as plain Aedes — benchmarks compare). */
  ingressSliceMs?: number;
}

type AuthError = Error & { returnCode: number };
function authError(message: string, returnCode: 4 | 5): AuthError {
  return Object.assign(new Error(message), { returnCode });
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
  private readonly throttle: LoginThrottle;
  private readonly log: Logger;
  private readonly messagesOut: Counter;
  private readonly authFailures: Counter;
  private readonly rejects: Counter;
  private guardWarned = false;
  private schedulerWarned = false;
  private readonly ingress: IngressScheduler;

  constructor(private readonly d: BrokerDeps) {
    this.log = d.logger.child({ module: 'broker' });
    this.presence = new DevicePresence();
    // MQTT answers are delayed (not refused) while an address is throttled: devices keep retrying.
    this.throttle = new LoginThrottle({ baseDelayMs: 500, maxDelayMs: 30_000 });
    this.messagesOut = d.metrics.counter('smokehub_messages_out_total', 'MQTT messages published by the hub');
    this.authFailures = d.metrics.counter('smokehub_auth_failures_total', 'Refused MQTT connections by reason');
    this.rejects = d.metrics.counter('smokehub_rejects_total', 'Rejected inputs by reason (error code) and channel');
    d.metrics.gauge('smokehub_connected_devices', 'Devices connected now', () => this.presence.connectedCount());
    d.metrics.gauge('smokehub_connected_clients', 'MQTT clients connected now (devices and people)', () => this.aedes?.connectedClients ?? 0);
    const deferred = d.metrics.counter('smokehub_ingress_deferred_total', 'Telemetry packets that waited for a slice so that alarm traffic went first');
    this.ingress = new IngressScheduler({ sliceMs: d.ingressSliceMs, onDeferred: () => deferred.inc() });
    d.metrics.gauge('smokehub_ingress_queue_depth', 'Telemetry packets waiting for a slice of the main thread', () => this.ingress.depth);
    d.metrics.gauge('smokehub_ingress_held_connections', 'Connections not read because too much of their telemetry waits', () => this.ingress.held);
    d.metrics.gauge('smokehub_ingress_telemetry_paused', '1 while telemetry is held back because its storage pipeline is full', () => (this.ingress.paused ? 1 : 0));
  }

  /** Wires the parts that need the broker to exist first. */
  attach(router: MessageRouter, alarms: AlarmService): void {
    this.router = router;
    this.alarms = alarms;
  }

  async init(): Promise<void> {
    this.aedes = await Aedes.createBroker({
      id: 'smokehub',
      maxClientsIdLength: 64,
      drainTimeout: 10_000,
      concurrency: 200,
      heartbeatInterval: 60_000,
      connectTimeout: 10_000,
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
    });
    this.aedes.on('client', (client) => this.onClientReady(client));
    this.aedes.on('clientDisconnect', (client) => this.onClientGone(client));
    this.aedes.on('subscribe', (subs, client) => this.onSubscribed(subs, client));
    this.aedes.on('clientError', (client, err) => this.log.debug({ clientId: client?.id, err: err.message }, 'client error'));
    this.aedes.on('connectionError', (_client, err) => this.log.debug({ err: err.message }, 'connection error'));
  }

  listenTcp(port: number, host: string): Promise<number> {
    this.tcp = createNetServer({ noDelay: true }, (socket: Socket) => this.hookParser(this.aedes.handle(socket), socket));
    return new Promise((resolve, reject) => {
      this.tcp!.once('error', reject);
      this.tcp!.listen(port, host, () => {
        this.tcp!.off('error', reject);
        const addr = this.tcp!.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** MQTT over WebSocket at `/mqtt` of an HTTP server. */
  attachWebSocket(server: HttpServer): void {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/mqtt') {
        socket.destroy();
        return;
      }
      (socket as Socket).setNoDelay?.(true);
      this.wss!.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        this.hookParser(this.aedes.handle(stream, req), stream); // ws' maxPayload bounds each frame; the guard each packet
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
    const parser = (client as unknown as { _parser?: { parse(buf: Buffer): number } })._parser;
    if (!parser || typeof parser.parse !== 'function') {
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
    if (!this.ingress.attach(client as unknown as SchedulableClient) && !this.schedulerWarned) {
      this.schedulerWarned = true;
      this.log.warn('Aedes internals changed: telemetry is handled without the ingress scheduler (alarms may wait behind it)');
    }
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): void {
    this.messagesOut.inc();
    this.aedes.publish(
      { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false },
      (err) => {
        if (err) this.log.error({ err, topic }, 'publish failed');
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
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await tcpClosed;
  }

  // ---- hooks --------------------------------------------------------------------------------

  private authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthError | null, ok: boolean | null) => void): void {
    const ip = remoteAddress(client);
    const now = this.d.clock.now();
    const verdict = this.throttle.check(ip, now);
    const wait = verdict.allowed ? 0 : verdict.retryAfterMs;
    const finish = (err: AuthError | null, ok: boolean) => {
      if (err) {
        this.throttle.fail(ip, now);
        this.authFailures.inc({ reason: err.returnCode === 4 ? 'bad_credentials' : 'not_authorized' });
        this.log.warn({ clientId: client.id, username, ip, reason: err.message }, 'MQTT connection refused');
      } else {
        this.throttle.succeed(ip);
      }
      // Repeated failures from one address are slowed down (the answer is delayed).
      if (wait > 0) setTimeout(() => done(err, ok), wait).unref();
      else done(err, ok);
    };
    if (!username || !password) return finish(authError('user name and password are required', 4), false);
    const secret = password.toString('utf8');
    const device = this.d.registry.getDevice(username);
    if (device) {
      if (!this.d.registry.verifyDeviceSecret(username, secret)) return finish(authError(`bad secret for device ${username}`, 4), false);
      if (client.id !== username) return finish(authError(`device ${username} must connect with client id ${username}`, 5), false);
      this.principals.set(client, { type: 'device', device: device.id, household: device.household, team: device.team });
      this.deviceRefs.set(client, { team: device.team, household: device.household, device: device.id, kind: device.kind });
      return finish(null, true);
    }
    const byToken = this.d.verifySessionToken?.(username, secret) ?? null;
    const asUser = (u: User) => {
      this.principals.set(client, { type: 'user', username: u.username, role: u.role, team: u.team, household: u.household });
      finish(null, true);
    };
    if (byToken) return asUser(byToken);
    this.d.registry.verifyUserPassword(username, secret).then(
      (u) => (u ? asUser(u) : finish(authError(`bad user name or password for ${username}`, 4), false)),
      (err) => {
        this.log.error({ err }, 'password check failed');
        finish(authError('password check failed', 5), false);
      },
    );
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (!client) return done(null); // the hub's own publications
    const principal = this.principals.get(client);
    const waitForDisk = this.d.durability !== undefined && journalled(packet.topic);
    let outcome: 'forward' | 'drop' = 'drop';
    try {
      if (principal && this.router) outcome = this.router.route(principal, client.id, packet.topic, packet.payload as Buffer);
    } catch (err) {
      this.log.error({ err, clientId: client.id, topic: packet.topic }, 'message handling failed');
      this.rejects.inc({ reason: 'internal', channel: 'any' });
    }
    if (outcome === 'drop') {
      // Acknowledge but do not forward: never an error here (that disconnects, and the client would
      // resend the same QoS 1 message after every reconnect, forever).
      packet.topic = SINK_TOPIC;
      packet.retain = false;
    }
    // An event or a response is journalled: the alarm is already announced, the PUBACK waits until
    // the journal is on disk (the device sends it again if the hub loses power before). A duplicate
    // waits too: its original may not be on disk yet.
    if (waitForDisk) this.d.durability!.whenDurable(() => done(null));
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
      const household = alertHousehold(s.topic);
      const views =
        household !== null
          ? this.alarms.concerning(household).map((v) => ({ topic: topics.household(household, 'alert'), v }))
          : covers(s.topic, topics.station('alarm'))
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

/** Publishes whose handling writes the alarm journal (device events, household responses). */
function journalled(topic: string): boolean {
  return topic.endsWith('/event') || topic.endsWith('/response');
}

/** The household whose alert topic a filter names (`smokehub/h/H/alert`, `.../H/#`, `.../H/+`). */
function alertHousehold(filter: string): string | null {
  const p = filter.split('/');
  if (p[0] !== TOPIC_ROOT || p[1] !== 'h' || !p[2] || p[2] === '+' || p[2] === '#') return null;
  return covers(filter, topics.household(p[2], 'alert')) ? p[2] : null;
}

/** Does an MQTT filter match a concrete topic? */
export function covers(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function remoteAddress(client: Client): string {
  const req = (client as Client & { req?: IncomingMessage }).req;
  const conn = client.conn as Socket & { remoteAddress?: string };
  return req?.socket?.remoteAddress ?? conn.remoteAddress ?? 'unknown';
}
