/**
 * The reconnect storm after a power cut, grown step by step: for 3,000, 6,000, 12,000 and 18,000
 * device connections (BENCH_STORM_SIZES), the hub (its own process) is killed with SIGKILL once
 * everyone is connected and started again on the same port and data; every device retries 1–2 s
 * after its connection dropped, and gives up on an attempt without CONNACK after 30 s, as the
 * bridges do. Measured per size:
 *  - time until every device is connected and subscribed again (from the kill), and how many were not;
 *  - CONNACK latency p50/p99/max of the storm's attempts; refused, timed-out and failed attempts;
 *  - the hub's CPU (both cores: 200 % = all) and how long it takes to answer GET /health (its main
 *    thread's responsiveness) during the storm; `conn_errors` are attempts whose socket failed
 *    (ECONNREFUSED while the hub restarts, resets);
 *  - one alarm per second during the storm, at a team whose devices are all back ("back") or one
 *    with neighbours still reconnecting ("mixed"): latency to every neighbour device connected at
 *    the publish, and for the others from their return.
 * The sandbox allows 20,000 open files per process: one load worker holds at most 9,000 connections.
 * Baseline, same run (BENCH_STORM_BASELINE=off skips it): the same hub with Node's default accept
 * queue of 511 on the MQTT port, as before the fix. Prints a table and writes bench/results/reconnect-storm.json (BENCH_STORM_RESULTS=FILE elsewhere).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../hub/store/database.ts';
import { SqliteRegistryStore } from '../hub/store/registry-store.ts';
import { importCsv } from '../hub/store/csv-import.ts';
import { freePort } from '../test/helpers/ports.ts';
import { startHubProcess, stopHubProcess, writeResults, runAsMain, type HubProcess } from './lib/hub-process.ts';
import { cpuSeconds, median, percentile, printTable, round } from './lib/stats.ts';

const SIZES = (process.env.BENCH_STORM_SIZES ?? '3000,6000,12000,18000').split(',').map(Number);
const PER_WORKER = 9000;
const TEAM_SIZE = 10;
const STORM_LIMIT_MS = Number(process.env.BENCH_STORM_LIMIT_S ?? 300) * 1000;

interface Team {
  id: string;
  households: Array<{ id: string; devices: Array<{ device: string; secret: string }> }>;
}

class LoadWorker {
  readonly child: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, (m: any) => void>();
  readonly ready: Promise<void>;
  constructor(file: string) {
    this.child = fork('bench/lib/storm-worker.ts', [file], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let readyFn!: () => void;
    this.ready = new Promise((r) => (readyFn = r));
    this.child.on('message', (m: any) => {
      if (m.op === 'ready') return readyFn();
      if (m.op === 'error') console.error('storm worker error:', m.message);
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
  }
  ask(msg: Record<string, unknown>): Promise<any> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ ...msg, id });
    });
  }
}

function neighbourhood(households: number): { csv: string } {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let h = 0; h < households; h++) {
    const lat = (20.9 + (h % 400) * 0.0005).toFixed(6);
    const lon = (107.0 + Math.floor(h / 400) * 0.0005).toFixed(6);
    for (const kind of ['smoke', 'panic'])
      rows.push(`T${Math.floor(h / TEAM_SIZE)},H${h},Nhà H${h},${h} Lê Lợi,0900000000,${lat},${lon},H${h}-${kind},${kind},`);
  }
  return { csv: rows.join('\n') + '\n' };
}

function enrol(dataDir: string, households: number): Team[] {
  const db = openDatabase(dataDir);
  const registry = new SqliteRegistryStore(db, { dataDir });
  const { credentials } = importCsv(registry, neighbourhood(households).csv);
  db.close();
  const teams = new Map<string, Team>();
  for (const c of credentials) {
    const teamId = `T${Math.floor(Number(c.household.slice(1)) / TEAM_SIZE)}`;
    const team = teams.get(teamId) ?? { id: teamId, households: [] };
    teams.set(teamId, team);
    let h = team.households.find((x) => x.id === c.household);
    if (!h) team.households.push((h = { id: c.household, devices: [] }));
    h.devices.push({ device: c.device, secret: c.secret });
  }
  return [...teams.values()];
}

/** How long the hub takes to answer GET /health: its main thread's responsiveness, seen from outside. */
async function healthMs(httpPort: number): Promise<number> {
  const t0 = performance.now();
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/health`, { signal: AbortSignal.timeout(10_000) });
    await r.text();
    return performance.now() - t0;
  } catch {
    return NaN;
  }
}

async function stormAt(connections: number, backlog: number | null): Promise<Record<string, number | string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-bench-storm-'));
  const teams = enrol(dataDir, connections / 2);
  const perWorkerTeams = Math.ceil(PER_WORKER / (TEAM_SIZE * 2));
  const files: string[] = [];
  for (let i = 0; i * perWorkerTeams < teams.length; i++) {
    const f = join(dataDir, `teams-${i}.json`);
    writeFileSync(f, JSON.stringify(teams.slice(i * perWorkerTeams, (i + 1) * perWorkerTeams)));
    files.push(f);
  }
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const env: Record<string, string> = { SMOKEHUB_MQTT_PORT: String(mqttPort), SMOKEHUB_HTTP_PORT: String(httpPort) };
  if (backlog !== null) env.HUB_CHILD_LISTEN_BACKLOG = String(backlog);
  let hub: HubProcess | null = await startHubProcess(dataDir, env);
  const workers = files.map((f) => new LoadWorker(f));
  try {
    await Promise.all(workers.map((w) => w.ready));
    const first = await Promise.all(workers.map((w) => w.ask({ op: 'connect', port: mqttPort })));
    const connected = first.reduce((s, r) => s + r.connections, 0);
    await new Promise((r) => setTimeout(r, 2000));
    await Promise.all(workers.map((w) => w.ask({ op: 'storm-begin' })));
    const t0 = performance.now();
    hub.child.kill('SIGKILL');
    await new Promise((r) => hub!.child.once('exit', r));
    hub = await startHubProcess(dataDir, env);
    const restartMs = performance.now() - t0;
    // During the storm: the hub's CPU and event-loop delay, one alarm per second.
    const cpu: number[] = [];
    const loopMax: number[] = [];
    const alarms: Array<{ kind: 'back' | 'mixed'; already: number[]; later: number[] }> = [];
    let stormOver = false;
    const sampler = (async () => {
      let lastCpu = cpuSeconds(hub!.child.pid!);
      let lastAt = performance.now();
      let n = 0;
      const pending: Promise<void>[] = [];
      while (!stormOver) {
        await new Promise((r) => setTimeout(r, 1000));
        const c = cpuSeconds(hub!.child.pid!);
        const at = performance.now();
        cpu.push(((c - lastCpu) / ((at - lastAt) / 1000)) * 100);
        lastCpu = c;
        lastAt = at;
        loopMax.push(await healthMs(httpPort));
        const kind = n++ % 2 === 0 ? 'back' : 'mixed';
        const w = workers[n % workers.length]!;
        pending.push(w.ask({ op: 'alarm', back: kind === 'back' }).then((r) => void (r.team && alarms.push({ kind, already: r.already, later: r.later }))));
      }
      await Promise.all(pending);
    })();
    const results = await Promise.all(workers.map((w) => w.ask({ op: 'storm-wait', timeoutMs: STORM_LIMIT_MS })));
    stormOver = true;
    await sampler;
    const connack = results.flatMap((r) => r.connackMs as number[]);
    const already = alarms.flatMap((a) => a.already);
    const later = alarms.flatMap((a) => a.later);
    const finite = (xs: number[]) => xs.filter(Number.isFinite);
    return {
      accept_queue: backlog === null ? 'smokehub' : `${backlog} (Node default)`,
      connections: connected,
      restart_s: round(restartMs / 1000, 2),
      all_back_s: round(Math.max(...results.map((r) => r.backMs)) / 1000, 2),
      not_back: results.reduce((s, r) => s + r.notBack, 0),
      attempts: results.reduce((s, r) => s + r.attempts, 0),
      refused: results.reduce((s, r) => s + r.refused, 0),
      timed_out: results.reduce((s, r) => s + r.timedOut, 0),
      conn_errors: results.reduce((s, r) => s + r.errors, 0),
      connack_p50_ms: round(median(connack), 1),
      connack_p99_ms: round(percentile(connack, 99), 1),
      connack_max_ms: round(Math.max(...connack), 1),
      hub_cpu_pct_median: round(median(cpu), 0),
      health_p50_ms: round(median(loopMax.filter(Number.isFinite)), 1),
      health_max_ms: round(Math.max(...loopMax.filter(Number.isFinite)), 1),
      alarms: alarms.length,
      alarm_back_p50_ms: round(median(finite(already)), 1),
      alarm_back_max_ms: round(Math.max(0, ...finite(already)), 1),
      alarm_later_p50_ms: round(median(finite(later)), 1),
      alarm_later_max_ms: round(Math.max(0, ...finite(later)), 1),
      alarm_missed: already.length + later.length - finite(already).length - finite(later).length,
    };
  } finally {
    for (const w of workers) w.child.send({ op: 'close' });
    await stopHubProcess(hub?.child ?? null);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<unknown> {
  const rows: Array<Record<string, number | string>> = [];
  // Baseline in the same run: Node's default accept queue (511), the hub's before the fix.
  const baseline = process.env.BENCH_STORM_BASELINE !== 'off';
  for (const n of SIZES) {
    for (const backlog of baseline ? [511, null] : [null]) {
      const r = await stormAt(n, backlog);
      rows.push(r);
      console.log(JSON.stringify(r));
    }
  }
  for (const r of rows) {
    const smallest = rows.find((b) => b.accept_queue === r.accept_queue)!;
    r.time_per_conn_vs_smallest = round(Number(r.all_back_s) / Number(r.connections) / (Number(smallest.all_back_s) / Number(smallest.connections)), 2);
    const base = rows.find((b) => b.connections === r.connections && b.accept_queue !== 'smokehub');
    r.time_vs_baseline = base ? round(Number(r.all_back_s) / Number(base.all_back_s), 2) : NaN;
  }
  printTable('Reconnect storm after kill -9 + restart (every device retries 1–2 s after a drop; 30 s CONNACK timeout)', rows);
  const out = { sizes: SIZES, rows };
  writeResults(process.env.BENCH_STORM_RESULTS ?? 'bench/results/reconnect-storm.json', out);
  return out;
}

runAsMain(import.meta.url, run);
