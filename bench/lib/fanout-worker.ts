/**
 * Load-generator worker (forked by bench/hub-fanout.ts): holds the device connections of whole
 * teams, so an alarm's origin publish and every neighbour's receipt are timed on one clock.
 *
 * Messages from the parent:
 *   {op:'connect', port, mode:'hub'|'plain'}         → {op:'connected', ms, failed}
 *   {op:'fanout', teams:[...], gapMs}                 → {op:'fanout', latencies:[ms...]}
 *   {op:'await-reconnect', port}                      → {op:'reconnected', ms} (timed from the message)
 *   {op:'close'}
 */
import { readFileSync } from 'node:fs';
import { LightClient } from './light-mqtt-client.ts';

interface Team {
  id: string;
  households: Array<{ id: string; devices: Array<{ device: string; secret: string }> }>;
}

const teams: Team[] = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const localAddresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
let mode: 'hub' | 'plain' = 'hub';
let port = 0;
const clients = new Map<string, LightClient>();
/** alarm receipt waiters: topic → callback */
const waiters = new Map<string, (payload: Buffer) => void>();
let reconnecting = 0;
let reconnectDone: (() => void) | null = null;

function alertTopic(team: string, household: string): string {
  return mode === 'hub' ? `smokehub/h/${household}/alert` : `plain/team/${team}/alert`;
}

async function connectOne(team: Team, household: string, dev: { device: string; secret: string }, i: number): Promise<void> {
  const c = new LightClient({
    port,
    localAddress: localAddresses[i % localAddresses.length],
    clientId: dev.device,
    username: mode === 'hub' ? dev.device : undefined,
    password: mode === 'hub' ? dev.secret : undefined,
    keepalive: 0,
  });
  c.onMessage = (topic, payload) => waiters.get(`${dev.device}|${topic}`)?.(payload);
  c.onClose = () => scheduleReconnect(c, team, household, dev, i);
  await c.connect();
  await c.subscribe(alertTopic(team.id, household), 1);
  clients.set(dev.device, c);
}

/** Like a real bridge: retry ~1 s after a drop, with jitter, until the hub answers. */
function scheduleReconnect(c: LightClient, team: Team, household: string, dev: { device: string; secret: string }, i: number): void {
  reconnecting++;
  const attempt = () => {
    connectOne(team, household, dev, i).then(
      () => {
        reconnecting--;
        if (reconnecting === 0) reconnectDone?.();
      },
      () => setTimeout(attempt, 1000 + Math.random() * 1000),
    );
  };
  setTimeout(attempt, 1000 + Math.random() * 1000);
  void c;
}

async function connectAll(): Promise<{ ms: number; failed: number }> {
  const t0 = performance.now();
  const jobs: Array<() => Promise<void>> = [];
  let i = 0;
  for (const t of teams)
    for (const h of t.households)
      for (const d of h.devices) {
        const idx = i++;
        jobs.push(() => connectOne(t, h.id, d, idx));
      }
  let failed = 0;
  let next = 0;
  const lanes = Array.from({ length: 200 }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch {
        failed++;
      }
    }
  });
  await Promise.all(lanes);
  return { ms: performance.now() - t0, failed };
}

/** One alarm per team: origin's smoke → every neighbour device receives the active alert. */
async function fanout(teamIds: string[], gapMs: number): Promise<number[]> {
  const latencies: number[] = [];
  let seq = 0;
  for (const id of teamIds) {
    const team = teams.find((t) => t.id === id)!;
    const [origin, ...neighbours] = team.households;
    const receivers = neighbours.flatMap((h) => h.devices.map((d) => ({ key: `${d.device}|${alertTopic(team.id, h.id)}` })));
    const t0 = performance.now();
    const done = new Promise<number>((resolve, reject) => {
      let left = receivers.length;
      const timer = setTimeout(() => reject(new Error(`team ${id}: ${left} receipts missing after 10 s`)), 10_000);
      for (const r of receivers) {
        waiters.set(r.key, (payload) => {
          if (mode === 'hub' && !payload.includes('"state":"active"')) return;
          waiters.delete(r.key);
          if (--left === 0) {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          }
        });
      }
    });
    const dev = origin!.devices[0]!;
    const c = clients.get(dev.device)!;
    const body = JSON.stringify({ id: `bench-${process.pid}-${++seq}-${Date.now()}`, type: 'smoke' });
    void c.publish(mode === 'hub' ? `smokehub/h/${origin!.id}/d/${dev.device}/event` : alertTopic(team.id, origin!.id), body, 1);
    latencies.push(await done);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return latencies;
}

process.on('message', async (m: any) => {
  try {
    if (m.op === 'connect') {
      port = m.port;
      mode = m.mode;
      const r = await connectAll();
      process.send!({ op: 'connected', ...r, connections: clients.size });
    } else if (m.op === 'fanout') {
      process.send!({ op: 'fanout', latencies: await fanout(m.teams, m.gapMs) });
    } else if (m.op === 'await-reconnect') {
      port = m.port;
      const t0 = performance.now();
      if (reconnecting > 0) await new Promise<void>((r) => (reconnectDone = r));
      process.send!({ op: 'reconnected', ms: performance.now() - t0 });
    } else if (m.op === 'close') {
      for (const c of clients.values()) {
        c.onClose = null;
        c.destroy();
      }
      process.exit(0);
    }
  } catch (err) {
    process.send!({ op: 'error', message: (err as Error).message });
  }
});
process.send!({ op: 'ready' });
