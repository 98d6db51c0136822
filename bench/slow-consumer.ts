/**
 * Slow-consumer benchmark (issue 9, point 4): station connections subscribed to `smokehub/#` that
 * stop reading (a frozen tab on bad Wi-Fi) while ~1,500 telemetry readings/s flow. For 0, 1 and 10
 * such subscribers, other households' alarm latency (origin's smoke publish → a neighbour's
 * `active` alert, fresh connections per sample: bench/lib/neighbourhood.ts) p50/p99/max and the
 * hub's RSS, measured once every stuck subscriber holds its full 1 MiB in the hub (the guard drops
 * what it cannot take: hub/broker/slow-client-guard.ts). The 0-subscriber phase is the baseline.
 *
 * The hub runs in its own process with --slow-client-timeout 300, so that the stuck subscribers stay
 * connected (at their bound) through a phase; the test (test/integration/hub/broker-resilience.test.ts) covers
 * the cut. Telemetry comes from bench/telemetry-load.ts in another process (100 device connections,
 * QoS 1, the light client unless BENCH_LOAD_CLIENT says otherwise).
 *
 * Env: BENCH_SLOW_STUCK (default "0,1,10"), BENCH_SLOW_RATE (readings/s, default 1500),
 * BENCH_SLOW_SAMPLES (alarms per phase, default 100), BENCH_SLOW_WAIT_S (wait this long after the
 * subscribers stop reading instead of watching the hub's metrics: for a hub without the guard).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../hub/store/database.ts';
import { SqliteRegistryStore } from '../hub/store/registry-store.ts';
import { median, percentile, printTable, round, rssKiB } from './lib/stats.ts';
import { alarmSamples, enrolTeams, type Cred } from './lib/neighbourhood.ts';
import { LightClient } from './lib/light-mqtt-client.ts';
import { runAsMain, startHubProcess, stopHubProcess, writeResults, type HubProcess } from './lib/hub-process.ts';

const STUCK = (process.env.BENCH_SLOW_STUCK ?? '0,1,10').split(',').map(Number);
const RATE = Number(process.env.BENCH_SLOW_RATE ?? 1500);
const SAMPLES = Number(process.env.BENCH_SLOW_SAMPLES ?? 100);
const LOAD_TEAMS = 10; // 100 telemetry devices
const STATION = { username: 'bench-station', password: 'bench-station-password' };
const MiB = 1024 * 1024;
const FIXED_WAIT_S = process.env.BENCH_SLOW_WAIT_S ? Number(process.env.BENCH_SLOW_WAIT_S) : null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (what: string) => process.stderr.write(`[slow-consumer ${new Date().toISOString().slice(11, 19)}] ${what}\n`);

/** The load generator (bench/telemetry-load.ts) publishing `rate` readings/s until closed. */
async function startLoad(port: number, creds: Cred[], rate: number): Promise<{ pid: number; close(): Promise<void> }> {
  const child = fork('bench/telemetry-load.ts', [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_LOAD_CLIENT: process.env.BENCH_LOAD_CLIENT ?? 'light' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: { op: string }) => m.op === 'connected' && resolve());
    child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    child.send({ op: 'connect', port, creds });
  });
  child.send({ op: 'publish', id: 1, from: 0, to: rate * 3600, base: Date.now(), rate });
  return {
    pid: child.pid!,
    async close() {
      if (child.exitCode !== null) return;
      child.send({ op: 'close' });
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Reads the hub's /metrics: `name{labels}` → value (labels as printed). */
async function metrics(hub: HubProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
const telemetryIn = (m: Map<string, number>) => m.get('smokehub_messages_in_total{channel="telemetry"}') ?? 0;
const droppedQos0 = (m: Map<string, number>) => m.get('smokehub_deliveries_dropped_total{qos="0",reason="slow_client"}') ?? 0;
const cuts = (m: Map<string, number>) => [...m].filter(([k]) => k.startsWith('smokehub_slow_client_disconnects_total{')).reduce((s, [, v]) => s + v, 0);

interface Phase {
  stuck: number;
  samples: number;
  alertP50Ms: number;
  alertP99Ms: number;
  alertMaxMs: number;
  pubackP50Ms: number;
  telemetryPerS: number;
  hubRssMaxMiB: number;
  /** Seconds from the subscribers' last read until all of them held their full bound. */
  secondsToBound: number;
  heldMiB: number;
  droppedDeliveries: number;
  disconnects: number;
}

async function phase(hub: HubProcess, creds: Cred[], n: number, teams: number[]): Promise<Phase> {
  const stuck: LightClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = new LightClient({ port: hub.mqttPort, clientId: `frozen-${n}-${i}`, ...STATION });
    await c.connect();
    await c.subscribe('smokehub/#', 0);
    stuck.push(c);
  }
  const t0 = performance.now();
  for (const c of stuck) c.socket!.pause(); // never read again
  // Until every stuck subscriber holds its full bound (the kernel's socket buffers fill first).
  let m = await metrics(hub);
  if (n > 0 && FIXED_WAIT_S !== null) {
    await sleep(FIXED_WAIT_S * 1000);
    m = await metrics(hub);
  }
  while (
    n > 0 &&
    FIXED_WAIT_S === null &&
    !((m.get('smokehub_slow_clients') ?? 0) >= n && (m.get('smokehub_slow_client_buffered_bytes') ?? 0) >= n * 0.95 * MiB)
  ) {
    if (performance.now() - t0 > 120_000) throw new Error(`the ${n} stuck subscribers did not reach their bound in 120 s`);
    await sleep(250);
    m = await metrics(hub);
  }
  const secondsToBound = (performance.now() - t0) / 1000;
  const heldMiB = (m.get('smokehub_slow_client_buffered_bytes') ?? 0) / MiB;
  progress(`${n} stuck: at their bound after ${secondsToBound.toFixed(1)} s; sampling ${teams.length} alarms`);
  let rssMax = rssKiB(hub.child.pid!);
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, rssKiB(hub.child.pid!))), 200);
  const before = m;
  const s0 = performance.now();
  const r = await alarmSamples(hub.mqttPort, creds, teams, `slow-${n}`);
  const seconds = (performance.now() - s0) / 1000;
  clearInterval(rssTimer);
  const after = await metrics(hub);
  for (const c of stuck) c.destroy();
  return {
    stuck: n,
    samples: r.alert.length,
    alertP50Ms: round(median(r.alert), 2),
    alertP99Ms: round(percentile(r.alert, 99), 2),
    alertMaxMs: round(Math.max(...r.alert), 2),
    pubackP50Ms: round(median(r.puback), 2),
    telemetryPerS: Math.round((telemetryIn(after) - telemetryIn(before)) / seconds),
    hubRssMaxMiB: round(rssMax / 1024, 1),
    secondsToBound: round(secondsToBound, 1),
    heldMiB: round(heldMiB, 2),
    droppedDeliveries: droppedQos0(after) - droppedQos0(before),
    disconnects: cuts(after) - cuts(before),
  };
}

export async function run(): Promise<unknown> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-bench-slow-'));
  let hub: HubProcess | null = null;
  let load: { close(): Promise<void> } | null = null;
  try {
    const creds = enrolTeams(dataDir, LOAD_TEAMS + STUCK.length * SAMPLES);
    const db = openDatabase(dataDir);
    await new SqliteRegistryStore(db, { dataDir }).addUser({ username: STATION.username, role: 'station', password: STATION.password });
    db.close();
    hub = await startHubProcess(dataDir, { SMOKEHUB_SLOW_CLIENT_TIMEOUT_S: '300' });
    const loadCreds = creds.filter((c) => Number(/^T(\d+)H/.exec(c.household)![1]) < LOAD_TEAMS);
    load = await startLoad(hub.mqttPort, loadCreds, RATE);
    await sleep(3000);
    const phases: Phase[] = [];
    for (let p = 0; p < STUCK.length; p++) {
      const teams = Array.from({ length: SAMPLES }, (_, i) => LOAD_TEAMS + p * SAMPLES + i);
      phases.push(await phase(hub, creds, STUCK[p]!, teams));
      await sleep(2000);
    }
    const base = phases.find((x) => x.stuck === 0);
    const result = {
      at: new Date().toISOString(),
      telemetryRate: RATE,
      samplesPerPhase: SAMPLES,
      hubSlowClientTimeoutS: 300,
      phases: phases.map((x) => ({
        ...x,
        p99OverBaseline: base ? round(x.alertP99Ms / base.alertP99Ms, 2) : null,
      })),
    };
    printTable(
      `Alarm latency with stuck smokehub/# subscribers — ~${RATE} telemetry readings/s, ${SAMPLES} alarms per phase`,
      phases.map((x) => ({
        'stuck subscribers': x.stuck,
        'alert p50 (ms)': x.alertP50Ms,
        'alert p99 (ms)': x.alertP99Ms,
        'alert max (ms)': x.alertMaxMs,
        'telemetry/s': x.telemetryPerS,
        'hub RSS max (MiB)': x.hubRssMaxMiB,
        'held for them (MiB)': x.heldMiB,
        'dropped deliveries': x.droppedDeliveries,
        's to bound': x.secondsToBound,
      })),
    );
    writeResults('bench/results/slow-consumer.json', result);
    return result;
  } finally {
    await load?.close();
    await stopHubProcess(hub?.child ?? null);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runAsMain(import.meta.url, run);
