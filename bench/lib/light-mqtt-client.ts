/**
 * A minimal MQTT 3.1.1 client over a raw socket (mqtt-packet), light enough to hold tens of
 * thousands of connections in one load-generator process. Bench-only: no queueing, no QoS 2.
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface LightClientOptions {
  port: number;
  host?: string;
  localAddress?: string;
  clientId: string;
  username?: string;
  password?: string;
  keepalive?: number;
}

export class LightClient {
  socket: Socket | null = null;
  connected = false;
  private nextId = 1;
  private pending = new Map<number, () => void>();
  onMessage: ((topic: string, payload: Buffer) => void) | null = null;
  /** performance.now() of the last SUBACK, set as it is parsed (before any message behind it). */
  lastSubackAt = 0;
  onClose: (() => void) | null = null;

  constructor(readonly opts: LightClientOptions) {}

  /** Connects; resolves on CONNACK 0, rejects on refusal or socket error. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ port: this.opts.port, host: this.opts.host ?? '127.0.0.1', localAddress: this.opts.localAddress, noDelay: true });
      this.socket = s;
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let settled = false;
      parser.on('packet', (p: any) => {
        switch (p.cmd) {
          case 'connack':
            settled = true;
            if (p.returnCode === 0) {
              this.connected = true;
              resolve();
            } else {
              reject(new Error(`CONNACK ${p.returnCode}`));
              s.destroy();
            }
            break;
          case 'suback':
          case 'puback':
            if (p.cmd === 'suback') this.lastSubackAt = performance.now();
            this.pending.get(p.messageId)?.();
            this.pending.delete(p.messageId);
            break;
          case 'publish':
            if (p.qos === 1) s.write(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId } as any));
            this.onMessage?.(p.topic, p.payload as Buffer);
            break;
        }
      });
      s.on('data', (d) => parser.parse(d));
      s.on('error', (err) => {
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      s.on('close', () => {
        const was = this.connected;
        this.connected = false;
        if (!settled) {
          settled = true;
          reject(new Error('closed before CONNACK'));
        }
        if (was) this.onClose?.();
      });
      s.on('connect', () => {
        s.write(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clean: true,
            clientId: this.opts.clientId,
            keepalive: this.opts.keepalive ?? 0,
            username: this.opts.username,
            password: this.opts.password === undefined ? undefined : Buffer.from(this.opts.password),
          } as any),
        );
      });
    });
  }

  subscribe(topic: string, qos: 0 | 1 = 1): Promise<void> {
    const messageId = this.id();
    return new Promise((resolve) => {
      this.pending.set(messageId, resolve);
      this.socket!.write(mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] } as any));
    });
  }

  publish(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    if (qos === 0) {
      this.socket!.write(mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false } as any));
      return Promise.resolve();
    }
    const messageId = this.id();
    return new Promise((resolve) => {
      this.pending.set(messageId, resolve);
      this.socket!.write(mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false } as any));
    });
  }

  destroy(): void {
    this.socket?.destroy();
  }

  private id(): number {
    this.nextId = (this.nextId % 65535) + 1;
    return this.nextId;
  }
}
