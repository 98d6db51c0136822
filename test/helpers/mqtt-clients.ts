/** Real MQTT.js clients for tests, closed by `closeAll()`; and a collector of received messages. */
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';

export interface Received {
  topic: string;
  payload: string;
  json(): any;
}

export class ClientPool {
  private clients: MqttClient[] = [];

  async connect(url: string, opts: IClientOptions): Promise<MqttClient> {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    this.clients.push(c);
    return c;
  }

  /** Connects a device with its credentials (client id = device id). */
  device(url: string, cred: { device: string; secret: string }, opts: IClientOptions = {}): Promise<MqttClient> {
    return this.connect(url, { clientId: cred.device, username: cred.device, password: cred.secret, ...opts });
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync(true).catch(() => {})));
    this.clients = [];
  }
}

/** Collects messages of a client; `next(pred, ms)` waits for the next matching one. */
export class Inbox {
  readonly messages: Received[] = [];
  private waiters: Array<{ pred: (m: Received) => boolean; resolve: (m: Received) => void }> = [];

  constructor(client: MqttClient) {
    client.on('message', (topic, payload) => {
      const m: Received = { topic, payload: payload.toString(), json: () => JSON.parse(payload.toString()) };
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(m)) {
          w.resolve(m);
          return false;
        }
        return true;
      });
    });
  }

  next(pred: (m: Received) => boolean, ms = 3000, what = 'message'): Promise<Received> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  count(pred: (m: Received) => boolean): number {
    return this.messages.filter(pred).length;
  }

  clear(): void {
    this.messages.length = 0;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
