/**
 * Load-generator worker for bench/reconnect-storm.ts: holds the device connections of whole teams
 * (raw MQTT 3.1.1, light-mqtt-client.ts) and behaves as bridges do when the hub goes away: each
 * device retries 1–2 s after its connection drops, gives up on an attempt with no CONNACK after
 * `connectTimeoutMs` (MQTT.js' default 30 s) and tries again.
 *
 * Messages from the parent (each answer carries the request's `id`):
 *   {op:'connect', port}                 → {op:'connected', connections, failed, ms}
 *   {op:'storm-begin'}                    → {op:'storm-begun'}  (counters reset; timed from here)
 *   {op:'storm-wait', timeoutMs}         → {op:'storm', backMs, notBack, attempts, refused, timedOut, errors, connackMs:[...]}
 *   {op:'alarm', back:boolean}           → {op:'alarm', team, origin, already:[ms], later:[ms after the device was back]}
 *   {op:'close'}
 */
import { readFileSync } from 'node:fs';
import { LightClient } from './light-mqtt-client.ts';

interface Device {
  device: string;
  secret: string;
}
interface Team {
  id: string;
  households: Array<{ id: string; devices: Device[] }>;
}

const teams: Team[] = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
const localAddresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const CONNECT_TIMEOUT_MS = Number(process.env.BENCH_STORM_CONNECT_TIMEOUT_MS ?? 30_000);
let port = 0;
const clients = new Map<string, LightClient>();
/** The latest connection (or attempt) of each device. */
const latest = new Map<string, LightClient>();
/** When each device was last connected and subscribed (performance.now()). */
const backAt = new Map<string, number>();
const waiters = new Map<string, (payload: Buffer) => void>();
let down = 0;
let allBack: (() => void) | null = null;
const storm = { t0: 0, attempts: 0, refused: 0, timedOut: 0, errors: 0, connackMs: [] as number[] };
let alarmSeq = 0;
/** Teams that already had an alarm (a second smoke there joins the open alarm: no new 'active'). */
const usedTeams = new Set<string>();

async function connectOne(household: string, dev: Device, i: number): Promise<void> {
  const c = new LightClient({
    port,
    localAddress: localAddresses[i % localAddresses.length],
    clientId: dev.device,
    username: dev.device,
    password: dev.secret,
    keepalive: 0,
  });
  latest.set(dev.device, c);
  c.onMessage = (topic, payload) => waiters.get(`${dev.device}|${topic}`)?.(payload);
  c.onClose = () => {
    clients.delete(dev.device);
    down++;
    reconnectLater(household, dev, i);
  };
  const started = performance.now();
  storm.attempts++;
  let timer: NodeJS.Timeout | null = null;
  try {
    await Promise.race([
      c.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          storm.timedOut++;
          c.destroy();
          reject(new Error('no CONNACK'));
        }, CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    if (timer) clearTimeout(timer);
    if (/CONNACK \d/.test((err as Error).message)) storm.refused++;
    else if (!/no CONNACK/.test((err as Error).message)) storm.errors++;
    c.onClose = null;
    c.destroy();
    throw err;
  }
  if (timer) clearTimeout(timer);
  storm.connackMs.push(performance.now() - started);
  await c.subscribe(`smokehub/h/${household}/alert`, 1);
  clients.set(dev.device, c);
  backAt.set(dev.device, performance.now());
}

function reconnectLater(household: string, dev: Device, i: number): void {
  const attempt = () => {
    connectOne(household, dev, i).then(
      () => {
        if (--down === 0) allBack?.();
      },
      () => setTimeout(attempt, 1000 + Math.random() * 1000),
    );
  };
  setTimeout(attempt, 1000 + Math.random() * 1000);
}

async function connectAll(): Promise<{ ms: number; failed: number }> {
  const t0 = performance.now();
  const jobs: Array<() => Promise<void>> = [];
  let i = 0;
  for (const t of teams)
    for (const h of t.households)
      for (const d of h.devices) {
        const idx = i++;
        jobs.push(() => connectOne(h.id, d, idx));
      }
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        await job().catch(() => failed++);
      }
    }),
  );
  return { ms: performance.now() - t0, failed };
}

/**
 * One alarm at a team whose origin device is connected: `back` picks a team whose neighbours are all
 * back, otherwise one with neighbours still reconnecting. Resolves with each neighbour device's
 * latency: from the publish for those connected then, from its return for the others.
 */
async function alarm(wantAllBack: boolean): Promise<{ team: string | null; already: number[]; later: number[] }> {
  const devicesOf = (t: Team) => t.households.flatMap((h) => h.devices.map((d) => d.device));
  const candidates = teams.filter(
    (t) =>
      !usedTeams.has(t.id) &&
      clients.has(t.households[0]!.devices[0]!.device) &&
      devicesOf(t)
        .slice(2)
        .every((d) => clients.has(d)) === wantAllBack,
  );
  const team = candidates[Math.floor(Math.random() * candidates.length)];
  if (!team) return { team: null, already: [], later: [] };
  usedTeams.add(team.id);
  // Only this alarm's copy counts (nearby households of other teams get other teams' alarms too).
  const mine = `"origin":{"household":"${team.households[0]!.id}"`;
  const [origin, ...neighbours] = team.households;
  const t0 = performance.now();
  const already: number[] = [];
  const later: number[] = [];
  const receipts = neighbours.flatMap((h) =>
    h.devices.map(
      (d) =>
        new Promise<void>((resolve) => {
          const wasBack = clients.has(d.device);
          const key = `${d.device}|smokehub/h/${h.id}/alert`;
          const timer = setTimeout(() => {
            waiters.delete(key);
            (wasBack ? already : later).push(Infinity);
            resolve();
          }, 120_000);
          waiters.set(key, (payload) => {
            if (!payload.includes('"state":"active"') || !payload.includes(mine)) return;
            clearTimeout(timer);
            waiters.delete(key);
            const now = performance.now();
            if (wasBack) already.push(now - t0);
            // From its return: the SUBACK of its new subscription (a catch-up arrives right behind it).
            else later.push(now - Math.max(t0, latest.get(d.device)?.lastSubackAt ?? t0));
            resolve();
          });
        }),
    ),
  );
  const dev = origin!.devices[0]!;
  void clients
    .get(dev.device)!
    .publish(`smokehub/h/${origin!.id}/d/${dev.device}/event`, JSON.stringify({ id: `storm-${process.pid}-${++alarmSeq}-${Date.now()}`, type: 'smoke' }), 1);
  await Promise.all(receipts);
  return { team: team.id, already, later };
}

process.on('message', async (m: any) => {
  const send = (r: Record<string, unknown>) => process.send!({ ...r, id: m.id });
  try {
    if (m.op === 'connect') {
      port = m.port;
      const r = await connectAll();
      send({ op: 'connected', ...r, connections: clients.size });
    } else if (m.op === 'storm-begin') {
      Object.assign(storm, { t0: performance.now(), attempts: 0, refused: 0, timedOut: 0, errors: 0, connackMs: [] });
      send({ op: 'storm-begun' });
    } else if (m.op === 'storm-wait') {
      if (down > 0) await Promise.race([new Promise<void>((r) => (allBack = r)), new Promise((r) => setTimeout(r, m.timeoutMs))]);
      const last = Math.max(0, ...[...backAt.values()]);
      send({
        op: 'storm',
        backMs: last - storm.t0,
        notBack: down,
        attempts: storm.attempts,
        refused: storm.refused,
        timedOut: storm.timedOut,
        errors: storm.errors,
        connackMs: storm.connackMs,
      });
    } else if (m.op === 'alarm') {
      send({ op: 'alarm', ...(await alarm(m.back)) });
    } else if (m.op === 'close') {
      for (const c of clients.values()) {
        c.onClose = null;
        c.destroy();
      }
      process.exit(0);
    }
  } catch (err) {
    send({ op: 'error', message: (err as Error).message });
  }
});
process.send!({ op: 'ready' });
