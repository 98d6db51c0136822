/**
 * The broker's listeners: MQTT on TCP (TCP_NODELAY), on TLS, and on WebSocket at /mqtt of the HTTP
 * server; and what every accepted connection gets before Aedes reads from it: the packet size guard,
 * the ingress scheduler (alarm traffic before telemetry) and the slow-client guard.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Client } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../observability/logger.ts';
import type { Counter } from '../observability/metrics.ts';
import type { RateLimitedLog } from '../observability/rate-limited-log.ts';
import { PacketSizeGuard } from './packet-size-guard.ts';
import type { IngressScheduler } from './ingress-scheduler.ts';
import type { GuardedConnection, SlowClientGuard } from './slow-client-guard.ts';
import { deliveryHooksOf, parserOf, readLoopOf } from './aedes-internals.ts';

/**
 * The accept queue asked of the kernel for the MQTT ports (Linux caps it at net.core.somaxconn,
 * 4096 on current kernels). Node's default, 511, overflowed when thousands of devices reconnected at
 * once after a power cut: the kernel dropped their handshakes and each device waited out TCP's SYN
 * retransmissions (1, 3, 7, 15 s …) although the hub was idle (bench/reconnect-storm.ts, docs/benchmarks.md).
 */
export const LISTEN_BACKLOG = 32_768;
/** Largest MQTT packet accepted on TCP (payload limit checks happen later, per channel). */
export const MAX_PACKET_BYTES = 64 * 1024;
/**
 * Largest packet from an authenticated Zigbee2MQTT gateway: its retained `bridge/devices` (every
 * device's exposes) and, in Z2M 2.x, `bridge/definitions` are larger than any contract message.
 */
export const MAX_GATEWAY_PACKET_BYTES = 2 * 1024 * 1024;

export interface TransportDeps {
  /** Hands a connection to Aedes. */
  handle(stream: Duplex, req?: IncomingMessage): Client;
  /** Who a connection is, for logs (device and household, or user name). */
  who(client: Client): Record<string, unknown>;
  ingress: IngressScheduler;
  /** False: telemetry is handled without the ingress scheduler (ingressSliceMs 0, as plain Aedes). */
  scheduleIngress: boolean;
  slow: SlowClientGuard;
  log: Logger;
  /** Accept errors, rate-limited. */
  slowLog: RateLimitedLog;
  rejects: Counter;
  /** The MQTT ports' accept queue (default LISTEN_BACKLOG). */
  listenBacklog?: number;
  /** Admission of each accepted MQTT socket (app/connection-budget.ts): false means it was closed. */
  admitConnection?: (socket: Socket) => boolean;
}

export class MqttTransports {
  private tcp: NetServer | null = null;
  private wss: WebSocketServer | null = null;
  private guardWarned = false;
  private schedulerWarned = false;
  private slowGuardWarned = false;

  private readonly guards = new WeakMap<Client, PacketSizeGuard>();

  constructor(private readonly d: TransportDeps) {}

  /** Lets an authenticated connection send packets up to `bytes` (a Zigbee2MQTT gateway). */
  raisePacketLimit(client: Client, bytes: number): void {
    this.guards.get(client)?.setLimit(bytes);
  }

  listenTcp(port: number, host: string): Promise<number> {
    this.tcp = createNetServer({ noDelay: true }, (socket: Socket) => {
      if (this.d.admitConnection && !this.d.admitConnection(socket)) return; // over the budget: already closed
      const client = this.d.handle(socket);
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
          this.d.slowLog.error(`accept|${err.code}`, { err: err.message }, 'MQTT server could not accept a connection'),
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
      const client = this.d.handle(socket);
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
          this.d.slowLog.error(`accept-tls|${err.code}`, { err: err.message }, 'MQTTS server could not accept a connection'),
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
        const client = this.d.handle(stream, req);
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
   * Stops accepting and terminates the WebSocket clients; resolves once the TCP server is closed,
   * which is only once every connection has ended (the caller closes Aedes, which ends them).
   */
  close(): Promise<void> {
    const tcpClosed = new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
    return tcpClosed;
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
      if (!this.guardWarned) this.d.log.warn('Aedes internals changed: the packet size guard is off');
      this.guardWarned = true;
    } else {
      const sizes = new PacketSizeGuard(MAX_PACKET_BYTES);
      this.guards.set(client, sizes);
      const parse = parser.parse.bind(parser);
      parser.parse = (buf: Buffer) => {
        const problem = sizes.feed(buf);
        if (problem === null) return parse(buf);
        this.d.rejects.inc({ reason: 'oversize', channel: 'packet' });
        this.d.log.warn({ clientId: client.id, ip: remoteAddress(client), problem }, 'connection cut: oversize MQTT packet');
        socket.destroy();
        return 0;
      };
    }
    if (!this.d.scheduleIngress) return;
    const loop = readLoopOf(client);
    if (!(loop && this.d.ingress.attach(loop)) && !this.schedulerWarned) {
      this.schedulerWarned = true;
      this.d.log.warn('Aedes internals changed: telemetry is handled without the ingress scheduler (alarms may wait behind it)');
    }
  }

  /** Deliveries never wait for a slow socket; a stuck connection is bounded and cut (slow-client-guard.ts). */
  private guardSlow(client: Client, conn: GuardedConnection): void {
    const hooks = deliveryHooksOf(client);
    if ((hooks && this.d.slow.attach(hooks, conn)) || this.slowGuardWarned) return;
    this.slowGuardWarned = true;
    this.d.log.warn('Aedes internals changed: the slow-client guard is off (one stuck connection can delay every delivery)');
  }

  /** Who a connection is, for logs. */
  private describe(client: Client, transport: 'tcp' | 'ws'): Record<string, unknown> {
    return { clientId: client.id, ...this.d.who(client), ip: remoteAddress(client), transport };
  }
}

export function remoteAddress(client: Client): string {
  const req = (client as Client & { req?: IncomingMessage }).req;
  const conn = client.conn as Socket & { remoteAddress?: string };
  return req?.socket?.remoteAddress ?? conn.remoteAddress ?? 'unknown';
}
