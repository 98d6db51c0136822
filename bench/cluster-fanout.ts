/**
 * Cluster benchmark (issue 16 figures), against the single box measured in the same run:
 *  - fan-out latency: the origin's smoke publish → the last neighbour's receipt of the `active`
 *    alert (verify window 0), p50/p99; in the cluster the origin is on node 1 and its neighbours on
 *    node 2 (the alert crosses Redis after its PostgreSQL commit);
 *  - alarms per second: BENCH_CLUSTER_BURST teams (default 200) alarming within BENCH_CLUSTER_BURST_S
 *    seconds (default 10), origins spread over both nodes: every alarm's time to its last alert;
 *  - failover: node 1 killed (-9) with BENCH_CLUSTER_MOVERS devices (default 500) and a pre-alarm
 *    pending on it → every device reconnected to node 2, and the pending deadline fired there.
 *
 * Real PostgreSQL and redis-server (the test helpers start them on free ports). Teams of 5
 * households, one smoke detector each. Writes bench/results/cluster-fanout.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startPostgres } from '../test/helpers/postgres-server.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { freshDatabase } from '../test/helpers/pg-database.ts';
import { HubCluster, type HubNode } from '../test/helpers/cluster-hubs.ts';
import { median, percentile, printTable, round } from './lib/stats.ts';
import { openDatabase } from '../hub/store/database.ts';
import { SqliteRegistryStore } from '../hub/store/registry-store.ts';
import { importCsv } from '../hub/store/csv-import.ts';

const TEAMS = Number(process.env.BENCH_CLUSTER_TEAMS ?? 300);
const PER_TEAM = 5;
const SAMPLES = Number(process.env.BENCH_CLUSTER_SAMPLES ?? 60);
const BURST = Math.min(TEAMS - SAMPLES, Number(process.env.BENCH_CLUSTER_BURST ?? 200));
const BURST_S = Number(process.env.BENCH_CLUSTER_BURST_S ?? 10);
const MOVERS = Number(process.env.BENCH_CLUSTER_MOVERS ?? 500);
const SETTINGS = { SMOKEHUB_VERIFY_WINDOW_S: '0', SMOKEHUB_ESCALATE_AFTER_S: '600', SMOKEHUB_SUPERVISION_WINDOW_S: '3600', SMOKEHUB_LOG_LEVEL: 'warn' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function csv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let t = 0; t < TEAMS; t++)
    for (let h = 0; h < PER_TEAM; h++) {
      const id = `T${t}H${h}`;
      // Teams 2 km apart: no "nearby" households of other teams.
      rows.push(
        `T${t},${id},Nhà ${id},${h} Lê Lợi,0900000000,${(10 + t * 0.02).toFixed(5)},${(106 + h * 0.0001).toFixed(5)},${id}-smoke,smoke,secret-of-device-${id}`,
      );
    }
  return rows.join('\n') + '\n';
}

const cred = (household: string) => ({ clientId: `${household}-smoke`, username: `${household}-smoke`, password: `secret-of-device-${household}` });

async function connect(url: string, household: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { ...cred(household), reconnectPeriod: 0, connectTimeout: 10_000, ...extra });
}

interface Setup {
  originUrl(team: number): string;
  neighbourUrl(team: number): string;
}

/** Connects every team's neighbours; resolves each team's last `active` receipt. */
async function measure(s: Setup, teams: number[], fire: (team: number, origin: MqttClient, sent: () => void) => Promise<void>) {
  const clients: MqttClient[] = [];
  const done = new Map<number, { sent: number; got: Set<string>; last: number; resolve: () => void }>();
  const finished: Array<Promise<void>> = [];
  for (const t of teams) {
    const state = { sent: 0, got: new Set<string>(), last: 0, resolve: () => {} };
    finished.push(new Promise<void>((r) => (state.resolve = r)));
    done.set(t, state);
    for (let h = 1; h < PER_TEAM; h++) {
      const c = await connect(s.neighbourUrl(t), `T${t}H${h}`);
      clients.push(c);
      c.on('message', (_topic, payload) => {
        const v = JSON.parse(payload.toString());
        if (v.state !== 'active' || state.got.has(`T${t}H${h}`)) return;
        state.got.add(`T${t}H${h}`);
        if (state.got.size === PER_TEAM - 1) {
          state.last = performance.now();
          state.resolve();
        }
      });
      await c.subscribeAsync(`smokehub/h/T${t}H${h}/alert`, { qos: 1 });
    }
  }
  const origins = new Map<number, MqttClient>();
  for (const t of teams) {
    const c = await connect(s.originUrl(t), `T${t}H0`);
    clients.push(c);
    origins.set(t, c);
  }
  const start = performance.now();
  const firing = teams.map(async (t) => {
    const st = done.get(t)!;
    await fire(t, origins.get(t)!, () => (st.sent = performance.now()));
  });
  await Promise.all(firing);
  const all = await Promise.race([Promise.all(finished).then(() => true), sleep(60_000).then(() => false)]);
  const latencies = teams.flatMap((t) => {
    const st = done.get(t)!;
    return st.last ? [st.last - st.sent] : [];
  });
  const wall = (Math.max(...teams.map((t) => done.get(t)!.last || 0)) - start) / 1000;
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  return { latencies, complete: all, wall };
}

function smoke(origin: MqttClient, team: number, id: string, sent: () => void) {
  sent();
  return origin.publishAsync(`smokehub/h/T${team}H0/d/T${team}H0-smoke/event`, JSON.stringify({ id, type: 'smoke' }), { qos: 1 }).then(() => {});
}

async function sequential(s: Setup, label: string) {
  const teams = Array.from({ length: SAMPLES }, (_, i) => i);
  // One team at a time: the latency of one alarm on an otherwise idle hub.
  const latencies: number[] = [];
  for (const t of teams) {
    const r = await measure(s, [t], (team, origin, sent) => smoke(origin, team, `${label}-seq-${team}`, sent));
    latencies.push(...r.latencies);
  }
  return latencies;
}

async function burst(s: Setup, label: string) {
  const teams = Array.from({ length: BURST }, (_, i) => SAMPLES + i);
  const gap = (BURST_S * 1000) / BURST;
  let k = 0;
  return measure(s, teams, async (team, origin, sent) => {
    await sleep(gap * k++);
    await smoke(origin, team, `${label}-burst-${team}`, sent);
  });
}

async function singleBox() {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-bench-single-'));
  const db = openDatabase(dir);
  importCsv(new SqliteRegistryStore(db, { dataDir: dir }), csv());
  db.close();
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hub-child.ts'], {
    env: { ...process.env, ...SETTINGS, SMOKEHUB_DATA: dir, SMOKEHUB_HOST: '127.0.0.1', SMOKEHUB_MQTT_PORT: '0', SMOKEHUB_HTTP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const url = `mqtt://127.0.0.1:${JSON.parse(line).mqttPort}`;
  try {
    const s: Setup = { originUrl: () => url, neighbourUrl: () => url };
    return { seq: await sequential(s, 'single'), burst: await burst(s, 'single') };
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function failover(n1: HubNode, n2: HubNode) {
  const servers = [
    { host: '127.0.0.1', port: n1.mqttPort },
    { host: '127.0.0.1', port: n2.mqttPort },
  ];
  const movers: MqttClient[] = [];
  // Devices of teams not used above: each connected to node 1, node 2 as its next server.
  for (let i = 0; i < MOVERS; i++) {
    const t = Math.floor(i / PER_TEAM) % TEAMS;
    const household = `T${t}H${i % PER_TEAM}`;
    movers.push(await connect(n1.mqttUrl, household, { servers, reconnectPeriod: 500, reconnectOnConnackError: true, clean: false }));
  }
  // A pre-alarm pending on node 1 (verify window 5 s on these nodes): its deadline must fire after the kill.
  const watcher = await connect(n2.mqttUrl, `T${TEAMS - 1}H1`);
  let activeAt = 0;
  watcher.on('message', (_t, p) => {
    if (JSON.parse(p.toString()).state === 'active' && !activeAt) activeAt = performance.now();
  });
  await watcher.subscribeAsync(`smokehub/h/T${TEAMS - 1}H1/alert`, { qos: 1 });
  const origin = await connect(n1.mqttUrl, `T${TEAMS - 1}H0`, { servers, reconnectPeriod: 500, reconnectOnConnackError: true });
  let raised = 0;
  await smoke(origin, TEAMS - 1, 'failover-1', () => (raised = performance.now()));
  await sleep(1000);
  const killedAt = performance.now();
  await n1.kill();
  let allBackAt = 0;
  for (;;) {
    if (!allBackAt && movers.every((c) => c.connected)) allBackAt = performance.now();
    if (allBackAt && activeAt) break;
    if (performance.now() - killedAt > 90_000) break;
    await sleep(20);
  }
  const reconnectedS = allBackAt ? (allBackAt - killedAt) / 1000 : Number.NaN;
  const result = { devices: MOVERS, reconnectedS: round(reconnectedS), deadlineLateMs: activeAt ? Math.round(activeAt - (raised + 5000)) : 'never' };
  await Promise.all([...movers, watcher, origin].map((c) => c.endAsync(true).catch(() => {})));
  return result;
}

export async function run(): Promise<unknown> {
  const postgres = await startPostgres();
  const redis = await startRedis();
  const clusters: HubCluster[] = [];
  try {
    const single = await singleBox();
    const c = new HubCluster(freshDatabase(postgres, 'bench'), redis.url, SETTINGS);
    clusters.push(c);
    await c.seed(csv(), []);
    const n1 = await c.start('bench-n1');
    const n2 = await c.start('bench-n2');
    const s: Setup = { originUrl: () => n1.mqttUrl, neighbourUrl: () => n2.mqttUrl };
    const clusterSeq = await sequential(s, 'cluster');
    const spread: Setup = { originUrl: (t) => (t % 2 ? n1.mqttUrl : n2.mqttUrl), neighbourUrl: (t) => (t % 2 ? n2.mqttUrl : n1.mqttUrl) };
    const clusterBurst = await burst(spread, 'cluster');
    await n1.stop();
    await n2.stop();
    // Failover on two fresh nodes with a 5 s verify window.
    const f = new HubCluster(freshDatabase(postgres, 'benchf'), `${redis.url}/1`, { ...SETTINGS, SMOKEHUB_VERIFY_WINDOW_S: '5' });
    clusters.push(f);
    await f.seed(csv(), []);
    const f1 = await f.start('bench-f1');
    const f2 = await f.start('bench-f2');
    const fo = await failover(f1, f2);

    const row = (phase: string, v: number[], base: number[]) => ({
      phase,
      n: v.length,
      'p50 ms': round(median(v)),
      'p99 ms': round(percentile(v, 99)),
      'p50 ratio': round(median(v) / median(base)),
      'p99 ratio': round(percentile(v, 99) / percentile(base, 99)),
    });
    const rows = [
      row('single box, one alarm at a time', single.seq, single.seq),
      row('2 nodes, origin n1 → neighbours n2', clusterSeq, single.seq),
      row(`single box, ${BURST} teams in ${BURST_S} s`, single.burst.latencies, single.burst.latencies),
      row(`2 nodes, ${BURST} teams in ${BURST_S} s`, clusterBurst.latencies, single.burst.latencies),
    ];
    printTable('fan-out: smoke publish → last neighbour alerted (verify window 0)', rows);
    const rate = (b: { latencies: number[]; wall: number }) => round(b.latencies.length / b.wall);
    printTable('alarms sustained', [
      { setup: 'single box', alarms: single.burst.latencies.length, complete: String(single.burst.complete), 'alarms/s': rate(single.burst) },
      { setup: '2 nodes', alarms: clusterBurst.latencies.length, complete: String(clusterBurst.complete), 'alarms/s': rate(clusterBurst) },
    ]);
    printTable('failover: node 1 killed (-9)', [{ ...fo }]);
    const out = {
      teams: TEAMS,
      perTeam: PER_TEAM,
      fanout: rows,
      burst: { single: { ...single.burst, latencies: undefined }, cluster: { ...clusterBurst, latencies: undefined } },
      failover: fo,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(join('bench/results', 'cluster-fanout.json'), JSON.stringify(out, null, 2));
    return out;
  } finally {
    for (const c of clusters) await c.close();
    await redis.stop();
    await postgres.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run().then(() => process.exit(0));
