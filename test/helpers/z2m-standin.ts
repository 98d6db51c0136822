/**
 * A Zigbee2MQTT stand-in: an MQTT.js client that behaves on the wire as Z2M does with
 * `base_topic: smokehub/h/H/z2m` — will and retained `bridge/state`, retained `bridge/devices`,
 * retained availability per device, the whole state JSON on every change (QoS 0, not retained, as
 * Z2M's defaults), a subscription to `base/#` — and records the `<friendly_name>/set` commands it gets.
 * Shapes: test/fixtures/z2m/ (recorded from Z2M's source and docs).
 */
import mqtt, { type MqttClient } from 'mqtt';

export interface StandInOptions {
  url: string;
  gateway: string;
  secret: string;
  household: string;
  /** Z2M < 1.28 / `legacy_availability_payload`: plain `online` / `offline`. */
  legacy?: boolean;
}

export interface Received {
  device: string;
  payload: Record<string, unknown>;
}

export class Z2mStandIn {
  readonly base: string;
  readonly commands: Received[] = [];
  private waiters: Array<{ pred: (c: Received) => boolean; resolve: (c: Received) => void }> = [];
  client: MqttClient | null = null;

  constructor(private readonly o: StandInOptions) {
    this.base = `smokehub/h/${o.household}/z2m`;
  }

  private online(state: 'online' | 'offline'): string {
    return this.o.legacy ? state : JSON.stringify({ state });
  }

  /** Connects as Z2M does and announces itself (bridge/state online). */
  async start(): Promise<void> {
    const c = await mqtt.connectAsync(this.o.url, {
      clientId: this.o.gateway,
      username: this.o.gateway,
      password: this.o.secret,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      will: { topic: `${this.base}/bridge/state`, payload: Buffer.from(this.online('offline')), qos: 1, retain: true },
    });
    this.client = c;
    c.on('message', (topic, payload) => {
      if (!topic.startsWith(`${this.base}/`) || !topic.endsWith('/set')) return;
      const device = topic.slice(this.base.length + 1, -'/set'.length);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(payload.toString());
      } catch {
        return;
      }
      const r = { device, payload: parsed };
      this.commands.push(r);
      this.waiters = this.waiters.filter((w) => (w.pred(r) ? (w.resolve(r), false) : true));
    });
    await c.subscribeAsync(`${this.base}/#`, { qos: 1 });
    await c.publishAsync(`${this.base}/bridge/state`, this.online('online'), { qos: 1, retain: true });
  }

  /** The retained device list (what Z2M publishes after start and after every join, rename, removal). */
  async devices(list: unknown[]): Promise<void> {
    await this.client!.publishAsync(`${this.base}/bridge/devices`, JSON.stringify(list), { qos: 1, retain: true });
  }

  async availability(friendlyName: string, state: 'online' | 'offline'): Promise<void> {
    await this.client!.publishAsync(`${this.base}/${friendlyName}/availability`, this.online(state), { qos: 1, retain: true });
  }

  /** A device's whole state. QoS 1 here so the test knows the hub has it (Z2M's default is 0). */
  async state(friendlyName: string, state: Record<string, unknown> | string): Promise<void> {
    await this.client!.publishAsync(`${this.base}/${friendlyName}`, typeof state === 'string' ? state : JSON.stringify(state), { qos: 1 });
  }

  /** Publishes on any topic (to try what the ACL refuses). */
  async raw(topic: string, payload: string): Promise<void> {
    await this.client!.publishAsync(topic, payload, { qos: 1 });
  }

  /** The next command matching `pred` (one already received counts). */
  command(pred: (c: Received) => boolean, ms = 5000, what = 'a siren command'): Promise<Received> {
    const seen = this.commands.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      this.waiters.push({
        pred,
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
      });
    });
  }

  /** Drops the connection as a crash would (the will says offline). */
  async crash(): Promise<void> {
    this.client?.stream.destroy();
    this.client?.end(true);
    this.client = null;
  }

  async stop(): Promise<void> {
    if (!this.client) return;
    await this.client.publishAsync(`${this.base}/bridge/state`, this.online('offline'), { qos: 1, retain: true }).catch(() => {});
    await this.client.endAsync(true).catch(() => {});
    this.client = null;
  }
}
