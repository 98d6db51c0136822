/**
 * The telemetry load generator of bench/telemetry-ingest.ts, in its own process: device clients
 * publishing readings (QoS 1). Kept apart from the process that times alarm fan-out, so the
 * fan-out figure measures the hub and not the load generator's busy event loop.
 *
 * BENCH_LOAD_CLIENT=mqttjs (default) uses MQTT.js, the client the bridge uses; =light uses the
 * bench's minimal client (bench/lib/light-mqtt-client.ts), which needs about a third of the CPU: on
 * a 2-core machine the generator otherwise competes with the hub it measures.
 *
 * IPC from the parent:
 *   {op:'connect', port, creds}                     → {op:'connected'}
 *   {op:'publish', id, from, to, base, rate?}       → {op:'published', id, at}   (Date.now() when all were acknowledged)
 *   {op:'close'}                                    → exits
 */
import { LightClient } from './lib/light-mqtt-client.ts';
import { connectDevice, type Cred } from './lib/neighbourhood.ts';

const WINDOW = 64; // QoS 1 publishes in flight per client
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The reading number `i` of the run: the same values in every phase, for the line protocol baseline too. */
export function reading(i: number, base: number): { ts: number; battery: number; temperature: number; humidity: number; smoke: number } {
  // smoke stays within its valid range (0..100,000) so the hub stores every field.
  return { ts: base + i, battery: 50 + (i % 50), temperature: 20 + (i % 15), humidity: 40 + (i % 40), smoke: i % 100_000 };
}

/** One publishing device connection, whichever client library holds it. */
export interface LoadClient {
  cred: Cred;
  /** QoS 1; resolves on PUBACK. */
  publish(topic: string, payload: string): Promise<unknown>;
  close(): Promise<void>;
}

export async function connectLoadClient(port: number, cred: Cred, kind = process.env.BENCH_LOAD_CLIENT ?? 'mqttjs'): Promise<LoadClient> {
  if (kind === 'light') {
    const c = new LightClient({ port, clientId: cred.device, username: cred.device, password: cred.secret });
    await c.connect();
    return { cred, publish: (topic, payload) => c.publish(topic, payload, 1), close: async () => c.destroy() };
  }
  const c = await connectDevice(port, cred);
  return { cred, publish: (topic, payload) => c.publishAsync(topic, payload, { qos: 1 }), close: () => c.endAsync(true).then(() => undefined) };
}

/** Publishes readings [from, to) round-robin over the clients, at most WINDOW in flight per client; `rate` points/s when given. */
export async function publishRange(clients: LoadClient[], from: number, to: number, base: number, rate?: number): Promise<void> {
  const started = Date.now();
  const per = clients.length;
  await Promise.all(
    clients.map(async (c, ci) => {
      const cred = c.cred;
      const topic = `smokehub/h/${cred.household}/d/${cred.device}/telemetry`;
      const inflight = new Set<Promise<unknown>>();
      for (let i = from + ci; i < to; i += per) {
        if (rate) {
          const due = started + ((i - from) * 1000) / rate;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
        }
        const p = c.publish(topic, JSON.stringify(reading(i, base)));
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= WINDOW) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    }),
  );
}

type FromParent =
  | { op: 'connect'; port: number; creds: Cred[] }
  | { op: 'publish'; id: number; from: number; to: number; base: number; rate?: number }
  | { op: 'close' };

if (process.send && import.meta.url === `file://${process.argv[1]}`) {
  const clients: LoadClient[] = [];
  process.on('message', (m: FromParent) => {
    if (m.op === 'connect') {
      void (async () => {
        for (const cred of m.creds) clients.push(await connectLoadClient(m.port, cred));
        process.send!({ op: 'connected' });
      })();
    } else if (m.op === 'publish') {
      void publishRange(clients, m.from, m.to, m.base, m.rate).then(() => process.send!({ op: 'published', id: m.id, at: Date.now() }));
    } else if (m.op === 'close') {
      void Promise.all(clients.map((c) => c.close().catch(() => {}))).then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}
