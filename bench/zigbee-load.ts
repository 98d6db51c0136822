/**
 * Zigbee2MQTT gateways under load (issue 15): "1,000 Zigbee devices under 100 gateways enrol and
 * report without slowing the alarm path". One hub process; a neighbourhood like bench/hub-fanout.ts
 * (BENCH_HOUSEHOLDS, default 2,000, teams of 10, a smoke detector and a panic button each, every
 * device connected from a load-generator process and subscribed to its household's alert), plus
 * BENCH_GATEWAYS households (default 100, in teams of their own) with a `zigbee2mqtt` gateway each.
 *
 *  A. baseline, same run: fan-out of BENCH_SAMPLES alarms (default 100, each from another team,
 *     resolved by the station before the next) — origin's smoke publish → the last neighbour
 *     device's receipt of the `active` alert — with no gateway connected;
 *  B. the gateways connect (Z2M stand-ins, MQTT.js, in a process of their own), each publishes a
 *     `bridge/devices` of BENCH_ZIGBEE_PER_GATEWAY devices (default 10: smoke, CO, gas, sirens,
 *     cloned from test/fixtures/z2m/) and every device's availability; enrolment is timed until
 *     `smokehub_zigbee_devices` on /metrics counts them all and `GET /api/devices/health` shows them
 *     all online. Then every device reports its whole state (battery, link quality, temperature on
 *     some) every BENCH_ZIGBEE_REPORT_S (default 10 s: 100 messages/s for 1,000 devices) and, after
 *     one report period, the same fan-out measurement runs again at other teams.
 *
 * Prints a table and writes bench/results/zigbee-load.json (BENCH_ZIGBEE_RESULTS=FILE elsewhere).
 * The hub logs at warn to a file; its warnings and errors are counted and quoted in the results.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../hub/store/database.ts';
import { SqliteRegistryStore } from '../hub/store/registry-store.ts';
import { importCsv } from '../hub/store/csv-import.ts';
import { startHubProcess, stopHubProcess, writeResults, runAsMain, type HubProcess } from './lib/hub-process.ts';
import { cpuSeconds, median, percentile, printTable, round, rssKiB } from './lib/stats.ts';

const HOUSEHOLDS = Number(process.env.BENCH_HOUSEHOLDS ?? 2000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const GATEWAYS = Number(process.env.BENCH_GATEWAYS ?? 100);
const PER_GATEWAY = Number(process.env.BENCH_ZIGBEE_PER_GATEWAY ?? 10);
const REPORT_MS = Number(process.env.BENCH_ZIGBEE_REPORT_S ?? 10) * 1000;
/** Pause after each sample's resolution (every phase): 100 samples take ~17 s here, well over one report period. */
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 150);
const TEAM_SIZE = 10;
/** Every third Zigbee device adds a temperature to its state. */
const TEMPERATURE_EVERY = 3;
const ENROL_LIMIT_MS = 60_000;

interface Team {
  id: string;
  households: Array<{ id: string; devices: Array<{ device: string; secret: string }> }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A forked worker answering one message per request, in order (bench/lib/fanout-worker.ts, z2m-load-worker.ts). */
class Worker {
  readonly child: ChildProcess;
  private queue: Array<(m: any) => void> = [];
  readonly ready: Promise<unknown>;
  constructor(
    file: string,
    args: string[],
    name: string,
    private readonly stopOp: string,
  ) {
    this.child = fork(file, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((r) => this.queue.push(r));
    this.child.on('message', (m: any) => {
      if (m.op === 'error') console.error(`${name} error:`, m.message);
      this.queue.shift()?.(m);
    });
  }
  ask(msg: Record<string, unknown>, timeoutMs = 120_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not answer ${String(msg.op)} in ${timeoutMs} ms`)), timeoutMs);
      this.queue.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.child.send(msg);
    });
  }
  /** Asks it to finish (its stop message), SIGKILL after `ms` if it has not exited. */
  async end(ms = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      this.child.send({ op: this.stopOp });
    } catch {}
    await Promise.race([exited, sleep(ms)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

function neighbourhoodCsv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  const row = (h: number, device: string, kind: string) => {
    const lat = (20.9 + (h % 400) * 0.0005).toFixed(6);
    const lon = (107.0 + Math.floor(h / 400) * 0.0005).toFixed(6);
    rows.push(`T${Math.floor(h / TEAM_SIZE)},H${h},Nhà H${h},${h} Lê Lợi,0900000000,${lat},${lon},${device},${kind},`);
  };
  for (let h = 0; h < HOUSEHOLDS; h++) {
    row(h, `H${h}-smoke`, 'smoke');
    row(h, `H${h}-panic`, 'panic');
  }
  // The gateways' households come after, in teams of their own (no alarm sample is taken there).
  const first = Math.ceil(HOUSEHOLDS / TEAM_SIZE) * TEAM_SIZE;
  for (let g = 0; g < GATEWAYS; g++) row(first + g, `H${first + g}-z2m`, 'zigbee2mqtt');
  return rows.join('\n') + '\n';
}

/** Prometheus text: the sum of a family's series whose labels include `match` (e.g. `channel="z2m"`). */
function metric(text: string, name: string, match = ''): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (match && !rest.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  return found ? sum : NaN;
}

async function http(port: number, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json };
}

/** How long each /metrics answer took (ms): the hub's main thread's responsiveness, seen from outside. */
let metricsTimes: number[] = [];
async function metricsText(port: number): Promise<string> {
  const t0 = performance.now();
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(20_000) })).text();
  metricsTimes.push(performance.now() - t0);
  return text;
}

/** What changes over a phase: the hub's CPU, messages in, rejects, event-loop delay, hub-side fan-out. */
interface Snapshot {
  at: number;
  cpu: number;
  rssKiB: number;
  heapUsedMiB: number;
  z2mIn: number;
  allIn: number;
  rejects: number;
  loopSum: number;
  loopCount: number;
  fanoutSum: number;
  fanoutCount: number;
}

async function snapshot(hub: HubProcess): Promise<Snapshot> {
  const text = await metricsText(hub.httpPort);
  return {
    at: performance.now(),
    cpu: cpuSeconds(hub.child.pid!),
    rssKiB: rssKiB(hub.child.pid!),
    heapUsedMiB: round(metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20, 1),
    z2mIn: metric(text, 'smokehub_messages_in_total', 'channel="z2m"') || 0,
    allIn: metric(text, 'smokehub_messages_in_total') || 0,
    rejects: metric(text, 'smokehub_rejects_total') || 0,
    loopSum: metric(text, 'smokehub_event_loop_delay_seconds_sum'),
    loopCount: metric(text, 'smokehub_event_loop_delay_seconds_count'),
    fanoutSum: metric(text, 'smokehub_fanout_seconds_sum'),
    fanoutCount: metric(text, 'smokehub_fanout_seconds_count'),
  };
}

function between(a: Snapshot, b: Snapshot) {
  const s = (b.at - a.at) / 1000;
  return {
    seconds: round(s, 1),
    hubCpuPct: round(((b.cpu - a.cpu) / s) * 100, 0),
    z2mMessagesPerS: round((b.z2mIn - a.z2mIn) / s, 1),
    messagesInPerS: round((b.allIn - a.allIn) / s, 1),
    rejects: b.rejects - a.rejects,
    eventLoopDelayMeanMs: round(((b.loopSum - a.loopSum) / (b.loopCount - a.loopCount)) * 1000, 3),
    hubSideFanoutMeanMs: round(((b.fanoutSum - a.fanoutSum) / (b.fanoutCount - a.fanoutCount)) * 1000, 3),
  };
}

/** One alarm per team, in turn: the fan-out time, then the station resolves it (and its `resolved` alerts go out) before the next. */
async function samples(
  fanout: Worker,
  hub: HubProcess,
  token: string,
  teams: string[],
  stop: () => boolean = () => false,
): Promise<{ latencies: number[]; missed: number }> {
  const latencies: number[] = [];
  let missed = 0;
  for (const team of teams) {
    if (stop()) break;
    const r = await fanout.ask({ op: 'fanout', teams: [team], gapMs: 0 }, 30_000);
    if (Array.isArray(r.latencies) && r.latencies.length === 1) latencies.push(r.latencies[0]);
    else missed++;
    const open = await http(hub.httpPort, 'GET', `/api/alarms?state=open&team=${team}`, token);
    for (const a of (open.json?.alarms ?? []) as Array<{ alarm: string }>) {
      const done = await http(hub.httpPort, 'POST', `/api/alarms/${a.alarm}/resolve`, token);
      if (done.status !== 200) throw new Error(`resolve ${a.alarm}: ${done.status}`);
    }
    await sleep(GAP_MS);
  }
  return { latencies, missed };
}

/** Zigbee devices of the gateways' teams that `GET /api/devices/health` shows online (and with a battery reading). */
async function zigbeeHealth(hub: HubProcess, token: string, teams: string[]): Promise<{ online: number; withBattery: number; listed: number }> {
  const out = { online: 0, withBattery: 0, listed: 0 };
  for (const team of teams) {
    const r = await http(hub.httpPort, 'GET', `/api/devices/health?team=${team}`, token);
    for (const d of (r.json?.devices ?? []) as Array<{ device: string; online: boolean; battery: number | null; kind: string }>) {
      if (d.kind === 'zigbee2mqtt') continue;
      out.listed++;
      if (d.online) out.online++;
      if (d.battery !== null) out.withBattery++;
    }
  }
  return out;
}

/** Polls `probe` every `everyMs` until it is true; the time it took, NaN after `limitMs`. */
async function until(probe: () => Promise<boolean>, t0: number, everyMs: number, limitMs: number): Promise<number> {
  while (performance.now() - t0 < limitMs) {
    if (await probe()) return performance.now() - t0;
    await sleep(everyMs);
  }
  return NaN;
}

/** The hub's log (pino JSON at warn): counts by level and the distinct messages. */
function readHubLog(file: string): { warnings: number; errors: number; messages: Array<{ level: number; msg: string; count: number }> } {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {}
  const seen = new Map<string, { level: number; msg: string; count: number }>();
  let warnings = 0;
  let errors = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let level = 0;
    let msg = line.slice(0, 200);
    try {
      const j = JSON.parse(line);
      level = j.level;
      msg = String(j.msg).slice(0, 200);
    } catch {}
    if (level >= 50) errors++;
    else warnings++;
    const k = `${level} ${msg}`;
    const e = seen.get(k) ?? { level, msg, count: 0 };
    e.count++;
    seen.set(k, e);
  }
  return { warnings, errors, messages: [...seen.values()].slice(0, 20) };
}

export async function run(): Promise<unknown> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-bench-zigbee-'));
  const logFile = join(dataDir, 'hub.log');
  let hub: HubProcess | null = null;
  let logFd: number | null = null;
  const workers: Worker[] = [];
  try {
    // Enrol through the hub's own CSV import: households, their devices and the gateways.
    const db = openDatabase(dataDir);
    const credentials = importCsv(new SqliteRegistryStore(db, { dataDir }), neighbourhoodCsv()).credentials;
    db.close();
    const teams: Team[] = [];
    const gateways: Array<{ gateway: string; secret: string; household: string; index: number }> = [];
    for (const c of credentials) {
      const h = Number(c.household.slice(1));
      if (h >= HOUSEHOLDS) {
        gateways.push({ gateway: c.device, secret: c.secret, household: c.household, index: gateways.length });
        continue;
      }
      const tid = `T${Math.floor(h / TEAM_SIZE)}`;
      if (teams.at(-1)?.id !== tid) teams.push({ id: tid, households: [] });
      const t = teams.at(-1)!;
      if (t.households.at(-1)?.id !== c.household) t.households.push({ id: c.household, devices: [] });
      t.households.at(-1)!.devices.push({ device: c.device, secret: c.secret });
    }
    const gatewayTeams = [...new Set(gateways.map((g) => `T${Math.floor(Number(g.household.slice(1)) / TEAM_SIZE)}`))];
    const teamsFile = join(dataDir, 'teams.json');
    writeFileSync(teamsFile, JSON.stringify(teams));
    const gatewaysFile = join(dataDir, 'gateways.json');
    writeFileSync(gatewaysFile, JSON.stringify(gateways));
    // Phase A takes the even teams, phase B the odd ones (the same teams again if there are fewer than 2 × SAMPLES).
    const sampleTeams = (phase: 0 | 1) => Array.from({ length: SAMPLES }, (_, i) => teams[(2 * i + phase) % teams.length]!.id);

    logFd = openSync(logFile, 'a');
    hub = await startHubProcess(dataDir, { HUB_CHILD_LOG_LEVEL: 'warn' }, logFd);
    const login = await http(hub.httpPort, 'POST', '/api/login', null, { username: 'admin', password: hub.adminPassword });
    if (login.status !== 200) throw new Error(`login: ${login.status}`);
    const token = login.json.token as string;

    const fanout = new Worker('bench/lib/fanout-worker.ts', [teamsFile], 'fan-out worker', 'close');
    workers.push(fanout);
    await fanout.ready;
    const connectT0 = performance.now();
    const conn = await fanout.ask({ op: 'connect', port: hub.mqttPort, mode: 'hub' });
    const connectS = (performance.now() - connectT0) / 1000;
    console.log(`${conn.connections} device connections (${conn.failed} failed) in ${round(connectS, 1)} s`);
    await sleep(2000);

    // The same /metrics poll as during enrolment, idle: what its answer takes without gateways.
    metricsTimes = [];
    for (let i = 0; i < 20; i++) {
      await metricsText(hub.httpPort);
      await sleep(100);
    }
    const idlePoll = [...metricsTimes];

    // A: the baseline, no gateway connected.
    const a0 = await snapshot(hub);
    const phaseA = await samples(fanout, hub, token, sampleTeams(0));
    const a1 = await snapshot(hub);

    // B: the gateways enrol their devices.
    const z2m = new Worker('bench/lib/z2m-load-worker.ts', [gatewaysFile, String(PER_GATEWAY)], 'z2m load worker', 'stop');
    workers.push(z2m);
    await z2m.ready;
    const expected = GATEWAYS * PER_GATEWAY;
    const e0 = await snapshot(hub);
    metricsTimes = [];
    const enrolT0 = performance.now();
    const enrolling = z2m.ask({ op: 'enrol', url: `mqtt://127.0.0.1:${hub.mqttPort}` });
    // Alarms meanwhile (phase A's teams again, resolved since), until every device is online in health.
    let enrolDone = false;
    const duringEnrolment = samples(fanout, hub, token, sampleTeams(0), () => enrolDone);
    const enrolledMs = await until(async () => metric(await metricsText(hub!.httpPort), 'smokehub_zigbee_devices') >= expected, enrolT0, 200, ENROL_LIMIT_MS);
    const enrolPoll = [...metricsTimes];
    const sent = await enrolling;
    let health = { online: 0, withBattery: 0, listed: 0 };
    const onlineMs = await until(
      async () => {
        health = await zigbeeHealth(hub!, token, gatewayTeams);
        return health.online >= expected;
      },
      enrolT0,
      250,
      ENROL_LIMIT_MS,
    );
    enrolDone = true;
    const phaseE = await duringEnrolment;
    const enrolled = await snapshot(hub);
    const enrolCpu = between(e0, enrolled);
    console.log(
      `gateways: ${GATEWAYS - sent.failed} connected, ${sent.devices} devices announced in ${round(sent.ms / 1000, 2)} s; ` +
        `enrolled (metric) after ${round(enrolledMs / 1000, 2)} s, online in health after ${round(onlineMs / 1000, 2)} s (${health.online}/${expected})`,
    );

    // …and report, then the same measurement again under that load.
    await z2m.ask({ op: 'report', intervalMs: REPORT_MS, temperatureEvery: TEMPERATURE_EVERY });
    await sleep(REPORT_MS + 1000);
    const b0 = await snapshot(hub);
    const genCpu0 = cpuSeconds(z2m.child.pid!);
    const genSent0 = (await z2m.ask({ op: 'stats' })).sent as number;
    const rssSeries: number[] = [];
    const rssTimer = setInterval(() => rssSeries.push(round(rssKiB(hub!.child.pid!) / 1024, 1)), 5000);
    const phaseB = await samples(fanout, hub, token, sampleTeams(1)).finally(() => clearInterval(rssTimer));
    const b1 = await snapshot(hub);
    const gen = await z2m.ask({ op: 'stats' });
    const genCpuPct = ((cpuSeconds(z2m.child.pid!) - genCpu0) / ((b1.at - b0.at) / 1000)) * 100;
    const reported = await zigbeeHealth(hub, token, gatewayTeams);

    await z2m.end();
    await fanout.end();
    await stopHubProcess(hub.child);
    hub = null;
    const log = readHubLog(logFile);

    const pa = { p50: median(phaseA.latencies), p99: percentile(phaseA.latencies, 99) };
    const pb = { p50: median(phaseB.latencies), p99: percentile(phaseB.latencies, 99) };
    const during = { a: between(a0, a1), b: between(b0, b1) };
    const result = {
      at: new Date().toISOString(),
      households: HOUSEHOLDS,
      deviceConnections: conn.connections,
      failedConnects: conn.failed,
      gateways: GATEWAYS,
      zigbeeDevices: expected,
      reportIntervalS: REPORT_MS / 1000,
      samplesPerPhase: SAMPLES,
      phaseA: {
        fanoutP50Ms: round(pa.p50, 3),
        fanoutP99Ms: round(pa.p99, 3),
        fanoutMaxMs: round(Math.max(...phaseA.latencies), 3),
        missed: phaseA.missed,
        ...during.a,
      },
      phaseB: {
        fanoutP50Ms: round(pb.p50, 3),
        fanoutP99Ms: round(pb.p99, 3),
        fanoutMaxMs: round(Math.max(...phaseB.latencies), 3),
        missed: phaseB.missed,
        ...during.b,
        generatorSentPerS: round((gen.sent - genSent0) / ((b1.at - b0.at) / 1000), 1),
        generatorCpuPct: round(genCpuPct, 0),
        generatorLagMaxMs: gen.lagMaxMs,
        generatorSendErrors: gen.sendErrors,
      },
      ratios: { p50BOverA: round(pb.p50 / pa.p50, 2), p99BOverA: round(pb.p99 / pa.p99, 2) },
      duringEnrolment: {
        alarms: phaseE.latencies.length,
        fanoutP50Ms: round(median(phaseE.latencies), 3),
        fanoutMaxMs: round(Math.max(...phaseE.latencies), 3),
        missed: phaseE.missed,
        p50OverA: round(median(phaseE.latencies) / pa.p50, 2),
      },
      enrolment: {
        gatewaysFailed: sent.failed,
        announcedS: round(sent.ms / 1000, 2),
        enrolledMetricS: round(enrolledMs / 1000, 2),
        onlineInHealthS: round(onlineMs / 1000, 2),
        online: health.online,
        hubCpuPct: enrolCpu.hubCpuPct,
        rejects: enrolCpu.rejects,
        metricsAnswerIdleP50Ms: round(median(idlePoll), 1),
        metricsAnswerIdleMaxMs: round(Math.max(...idlePoll), 1),
        metricsAnswerEnrollingP50Ms: round(median(enrolPoll), 1),
        metricsAnswerEnrollingMaxMs: round(Math.max(...enrolPoll), 1),
      },
      zigbeeWithBatteryReading: reported.withBattery,
      zigbeeListed: reported.listed,
      sirenCommands: gen.commands,
      rssMiB: {
        beforeGateways: round(a1.rssKiB / 1024, 1),
        enrolled: round(enrolled.rssKiB / 1024, 1),
        reportingStart: round(b0.rssKiB / 1024, 1),
        afterReporting: round(b1.rssKiB / 1024, 1),
        everyFiveSecondsInPhaseB: rssSeries,
      },
      heapUsedMiB: { beforeGateways: a1.heapUsedMiB, enrolled: enrolled.heapUsedMiB, reportingStart: b0.heapUsedMiB, afterReporting: b1.heapUsedMiB },
      hubLog: log,
    };
    const ratio = (x: number, base: number) => round(x / base, 2);
    const phaseRow = (phase: string, lat: number[], d: ReturnType<typeof between>) => ({
      phase,
      alarms: lat.length,
      'p50 ms': round(median(lat), 2),
      'p99 ms': round(percentile(lat, 99), 2),
      'max ms': round(Math.max(...lat), 2),
      'p50 ratio': ratio(median(lat), pa.p50),
      'p99 ratio': ratio(percentile(lat, 99), pa.p99),
      'z2m msg/s': d.z2mMessagesPerS,
      'hub CPU %': d.hubCpuPct,
      'loop delay ms': d.eventLoopDelayMeanMs,
      'hub-side fan-out ms': d.hubSideFanoutMeanMs,
    });
    printTable(
      `Zigbee2MQTT load — ${HOUSEHOLDS} households (${conn.connections} device connections), ${GATEWAYS} gateways × ${PER_GATEWAY} Zigbee devices; fan-out = origin's publish → last of ${2 * (TEAM_SIZE - 1)} neighbour devices' active alert`,
      [
        phaseRow('A: no gateways (baseline)', phaseA.latencies, during.a),
        phaseRow(`enrolment of ${expected} (not a p99: few alarms)`, phaseE.latencies, enrolCpu),
        phaseRow(`B: ${expected} Zigbee devices reporting`, phaseB.latencies, during.b),
      ],
    );
    printTable('Enrolment, memory, load', [
      { measure: `${GATEWAYS} gateways: bridge/devices + availability published (s)`, value: result.enrolment.announcedS },
      { measure: `all ${expected} in smokehub_zigbee_devices (s)`, value: result.enrolment.enrolledMetricS },
      { measure: `all ${expected} online in /api/devices/health (s)`, value: result.enrolment.onlineInHealthS },
      { measure: 'hub CPU during enrolment (%)', value: result.enrolment.hubCpuPct },
      {
        measure: '/metrics answer p50 / max, idle vs enrolling (ms)',
        value: `${result.enrolment.metricsAnswerIdleP50Ms} / ${result.enrolment.metricsAnswerIdleMaxMs} vs ${result.enrolment.metricsAnswerEnrollingP50Ms} / ${result.enrolment.metricsAnswerEnrollingMaxMs}`,
      },
      {
        measure: 'hub RSS (MiB): before gateways, enrolled, reporting start, end',
        value: `${result.rssMiB.beforeGateways}, ${result.rssMiB.enrolled}, ${result.rssMiB.reportingStart}, ${result.rssMiB.afterReporting}`,
      },
      {
        measure: 'hub heap used (MiB): same points',
        value: `${a1.heapUsedMiB}, ${enrolled.heapUsedMiB}, ${b0.heapUsedMiB}, ${b1.heapUsedMiB}`,
      },
      { measure: 'z2m messages/s handled by the hub (phase B)', value: result.phaseB.z2mMessagesPerS },
      { measure: 'state messages/s sent by the generator', value: result.phaseB.generatorSentPerS },
      { measure: 'Zigbee devices with a battery reading in health', value: `${reported.withBattery} / ${reported.listed}` },
      { measure: 'rejects (enrolment / phase B)', value: `${result.enrolment.rejects} / ${result.phaseB.rejects}` },
      { measure: 'hub log warnings / errors', value: `${log.warnings} / ${log.errors}` },
      { measure: 'missed alarms (A / enrolment / B)', value: `${phaseA.missed} / ${phaseE.missed} / ${phaseB.missed}` },
    ]);
    for (const m of log.messages) console.log(`hub log (level ${m.level}) ×${m.count}: ${m.msg}`);
    writeResults(process.env.BENCH_ZIGBEE_RESULTS ?? 'bench/results/zigbee-load.json', result);
    return result;
  } finally {
    for (const w of workers) await w.end(2000);
    await stopHubProcess(hub?.child ?? null);
    if (logFd !== null) closeSync(logFd);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runAsMain(import.meta.url, run);
