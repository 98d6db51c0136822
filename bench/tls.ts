/**
 * TLS benchmark (issue 13 part 5), plain MQTT measured in the same run as the baseline. For each
 * transport a fresh hub process (test/helpers/hub-child.ts, the whole hub with its extensions) on
 * a copy of the same enrolled neighbourhood, then:
 *  - connect rate: BENCH_TLS_DEVICES devices (default 2,000) connect (TCP, TLS handshake checked
 *    against DATA/tls/ca.pem, MQTT CONNECT with the device secret, CONNACK), 50 in flight;
 *  - memory per idle device connection: the hub's RSS once they are connected and subscribed
 *    (alert, alarms and cmd topics, as the bridge does) minus its RSS before, per connection;
 *  - fan-out: a household's smoke event → the last device of its team (10 households, 20
 *    devices) holding the active alert, p50/p99 over BENCH_TLS_SAMPLES alarms (default 100).
 * Rounds alternate plain, TLS, TLS, plain (BENCH_TLS_ROUNDS pairs, default 1); medians reported.
 * Prints a table and writes bench/results/tls.json (BENCH_TLS_RESULTS=FILE elsewhere).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { openDatabase } from '../hub/store/database.ts';
import { SqliteRegistryStore } from '../hub/store/registry-store.ts';
import { importCsv } from '../hub/store/csv-import.ts';
import { cpuSeconds, median, percentile, printTable, round, rssKiB } from './lib/stats.ts';
import { runAsMain, startHubProcess, stopHubProcess, writeResults } from './lib/hub-process.ts';

const DEVICES = Number(process.env.BENCH_TLS_DEVICES ?? 2000);
const SAMPLES = Number(process.env.BENCH_TLS_SAMPLES ?? 100);
const ROUNDS = Number(process.env.BENCH_TLS_ROUNDS ?? 1);
const IN_FLIGHT = 50;
const TEAM_SIZE = 10;

type Transport = 'mqtt' | 'mqtts';
interface Cred {
  household: string;
  device: string;
  secret: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function neighbourhood(households: number): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  for (let h = 0; h < households; h++) {
    const team = `T${Math.floor(h / TEAM_SIZE)}`;
    const lat = (20.9 + (h % 400) * 0.0005).toFixed(6);
    const lon = (107.0 + Math.floor(h / 400) * 0.0005).toFixed(6);
    for (const kind of ['smoke', 'panic']) rows.push(`${team},H${h},Nhà H${h},${h} Lê Lợi,0900000000,${lat},${lon},H${h}-${kind},${kind},`);
  }
  return rows.join('\n') + '\n';
}

/** One device connection: a raw socket (TCP or TLS) speaking MQTT 3.1.1 through mqtt-packet. */
class DeviceConn {
  private nextId = 1;
  private readonly pending = new Map<number, () => void>();
  onPublish: ((topic: string, payload: Buffer) => void) | null = null;
  private constructor(readonly socket: Socket) {}

  static open(transport: Transport, port: number, ca: Buffer, c: Cred): Promise<DeviceConn> {
    return new Promise((resolve, reject) => {
      const s = transport === 'mqtts' ? tlsConnect({ host: '127.0.0.1', port, ca }) : netConnect({ host: '127.0.0.1', port, noDelay: true });
      s.setNoDelay(true);
      const conn = new DeviceConn(s);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let settled = false;
      parser.on('packet', (p: any) => {
        if (p.cmd === 'connack') {
          settled = true;
          if (p.returnCode === 0) resolve(conn);
          else reject(new Error(`CONNACK ${p.returnCode}`));
        } else if (p.cmd === 'suback' || p.cmd === 'puback') {
          conn.pending.get(p.messageId)?.();
          conn.pending.delete(p.messageId);
        } else if (p.cmd === 'publish') {
          if (p.qos === 1) s.write(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId } as any));
          conn.onPublish?.(p.topic, p.payload as Buffer);
        }
      });
      s.on('data', (d: Buffer) => parser.parse(d));
      s.on('error', (err) => {
        if (!settled) reject(err);
        settled = true;
      });
      s.once(transport === 'mqtts' ? 'secureConnect' : 'connect', () => {
        s.write(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clean: true,
            clientId: c.device,
            keepalive: 0,
            username: c.device,
            password: Buffer.from(c.secret),
          } as any),
        );
      });
    });
  }

  subscribe(topics: string[]): Promise<void> {
    const messageId = this.id();
    return new Promise((resolve) => {
      this.pending.set(messageId, resolve);
      this.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: topics.map((topic) => ({ topic, qos: 1 })) } as any));
    });
  }

  publish(topic: string, payload: string): Promise<void> {
    const messageId = this.id();
    return new Promise((resolve) => {
      this.pending.set(messageId, resolve);
      this.socket.write(mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false } as any));
    });
  }

  private id(): number {
    this.nextId = (this.nextId % 65535) + 1;
    return this.nextId;
  }
}

interface RoundResult {
  transport: Transport;
  connected: number;
  connectS: number;
  connectsPerS: number;
  /** CPU time the hub process spent per connection while they connected (TLS handshake, auth, subscriptions). */
  hubCpuMsPerConnect: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  /** (RSS with all − RSS before) / connections: what a hub pays on average, warm-up included. */
  kibPerConnection: number;
  /** (RSS with all − RSS with half) / second half: what one more connection costs. */
  marginalKibPerConnection: number;
  fanoutMs: number[];
}

async function measure(transport: Transport, template: string, creds: Cred[]): Promise<RoundResult> {
  const dataDir = mkdtempSync(join(tmpdir(), `smokehub-bench-tls-${transport}-`));
  cpSync(template, dataDir, { recursive: true });
  let hub: Awaited<ReturnType<typeof startHubProcess>> | null = null;
  const connOf = new Map<string, DeviceConn>();
  try {
    hub = await startHubProcess(dataDir, { SMOKEHUB_MQTTS_PORT: '0', SMOKEHUB_HTTPS_PORT: '0' });
    const port = transport === 'mqtts' ? (hub as unknown as { mqttsPort: number }).mqttsPort : hub.mqttPort;
    const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'));
    await sleep(2000);
    const rssBefore = rssKiB(hub.child.pid!);
    let connectMs = 0;
    let hubCpuS = 0;
    const connectAll = async (list: Cred[]) => {
      const cpu0 = cpuSeconds(hub!.child.pid!);
      const t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < list.length) {
            const c = list[next++]!;
            const conn = await DeviceConn.open(transport, port, ca, c);
            connOf.set(c.device, conn);
            await conn.subscribe([`smokehub/h/${c.household}/alert`, `smokehub/h/${c.household}/alarms`, `smokehub/h/${c.household}/d/${c.device}/cmd`]);
          }
        }),
      );
      connectMs += performance.now() - t0;
      hubCpuS += cpuSeconds(hub!.child.pid!) - cpu0;
    };
    // Two halves: the second half's growth is the cost of one more connection (the first also
    // pays for warming up the hub: code paths compiled, heap grown).
    const half = Math.floor(creds.length / 2);
    await connectAll(creds.slice(0, half));
    await sleep(3000);
    const rssHalf = rssKiB(hub.child.pid!);
    await connectAll(creds.slice(half));
    const connectS = connectMs / 1000;
    await sleep(3000);
    const rssAfter = rssKiB(hub.child.pid!);

    // Fan-out: each sample a team not used before, its first household's smoke detector.
    const teams = Math.floor(creds.length / 2 / TEAM_SIZE);
    const fanoutMs: number[] = [];
    for (let t = 0; t < Math.min(SAMPLES, teams); t++) {
      const members = creds.filter((c) => Math.floor(Number(c.household.slice(1)) / TEAM_SIZE) === t);
      const waiting = new Set(members.map((m) => m.device));
      const done = new Promise<number>((resolve) => {
        for (const m of members) {
          const conn = connOf.get(m.device)!;
          conn.onPublish = (topic, payload) => {
            if (!topic.endsWith('/alert') || !waiting.has(m.device)) return;
            if ((JSON.parse(payload.toString()) as { state?: string }).state !== 'active') return;
            waiting.delete(m.device);
            if (waiting.size === 0) resolve(performance.now());
          };
        }
      });
      const origin = members.find((m) => m.device.endsWith('-smoke'))!;
      const sent = performance.now();
      await connOf
        .get(origin.device)!
        .publish(
          `smokehub/h/${origin.household}/d/${origin.device}/event`,
          JSON.stringify({ id: `bench-${transport}-${t}-${Date.now()}`, type: 'smoke', level: 600 }),
        );
      const timeout = sleep(10_000).then(() => NaN);
      const at = await Promise.race([done, timeout]);
      fanoutMs.push(at - sent);
      for (const m of members) connOf.get(m.device)!.onPublish = null;
      await sleep(20);
    }
    return {
      transport,
      connected: connOf.size,
      connectS,
      connectsPerS: connOf.size / connectS,
      hubCpuMsPerConnect: (hubCpuS * 1000) / connOf.size,
      rssBeforeKiB: rssBefore,
      rssAfterKiB: rssAfter,
      kibPerConnection: (rssAfter - rssBefore) / connOf.size,
      marginalKibPerConnection: (rssAfter - rssHalf) / (connOf.size - half),
      fanoutMs: fanoutMs.filter((x) => Number.isFinite(x)),
    };
  } finally {
    for (const c of connOf.values()) c.socket.destroy();
    await stopHubProcess(hub?.child ?? null);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const template = mkdtempSync(join(tmpdir(), 'smokehub-bench-tls-template-'));
  try {
    const db = openDatabase(template);
    const store = new SqliteRegistryStore(db, { dataDir: template });
    const creds: Cred[] = importCsv(store, neighbourhood(Math.ceil(DEVICES / 2))).credentials.slice(0, DEVICES);
    db.close();
    const rounds: RoundResult[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order: Transport[] = r % 2 === 0 ? ['mqtt', 'mqtts', 'mqtts', 'mqtt'] : ['mqtts', 'mqtt', 'mqtt', 'mqtts'];
      for (const t of order) {
        const res = await measure(t, template, creds);
        console.log(
          `  ${t}: ${res.connected} connected in ${round(res.connectS, 2)} s, ${round(res.kibPerConnection, 1)} KiB each (${round(res.marginalKibPerConnection, 1)} KiB marginal), fan-out p50 ${round(median(res.fanoutMs), 2)} ms`,
        );
        rounds.push(res);
      }
    }
    const summary = (t: Transport) => {
      const rs = rounds.filter((r) => r.transport === t);
      const fan = rs.flatMap((r) => r.fanoutMs);
      return {
        transport: t,
        devices: DEVICES,
        connectsPerS: round(median(rs.map((r) => r.connectsPerS)), 0),
        hubCpuMsPerConnect: round(median(rs.map((r) => r.hubCpuMsPerConnect)), 2),
        kibPerConnection: round(median(rs.map((r) => r.kibPerConnection)), 1),
        marginalKibPerConnection: round(median(rs.map((r) => r.marginalKibPerConnection)), 1),
        rssConnectedMiB: round(median(rs.map((r) => r.rssAfterKiB)) / 1024, 0),
        fanoutP50Ms: round(median(fan), 2),
        fanoutP99Ms: round(percentile(fan, 99), 2),
        samples: fan.length,
      };
    };
    const plain = summary('mqtt');
    const tls = summary('mqtts');
    const base = median(rounds.map((r) => r.rssBeforeKiB)) / 1024;
    const extra32k = (kib: number) => round((kib * 32_000) / 1024, 0);
    const ratios = {
      connectRateTlsVsPlain: round(tls.connectsPerS / plain.connectsPerS, 2),
      hubCpuPerConnectTlsVsPlain: round(tls.hubCpuMsPerConnect / plain.hubCpuMsPerConnect, 2),
      memoryTlsVsPlain: round(tls.kibPerConnection / plain.kibPerConnection, 2),
      marginalMemoryTlsVsPlain: round(tls.marginalKibPerConnection / plain.marginalKibPerConnection, 2),
      fanoutP50TlsVsPlain: round(tls.fanoutP50Ms / plain.fanoutP50Ms, 2),
      fanoutP99TlsVsPlain: round(tls.fanoutP99Ms / plain.fanoutP99Ms, 2),
    };
    const for32k = {
      hubBaseMiB: round(base, 0),
      plainMiB: round(base + extra32k(plain.kibPerConnection), 0),
      tlsMiB: round(base + extra32k(tls.kibPerConnection), 0),
      plainMarginalMiB: round(base + extra32k(plain.marginalKibPerConnection), 0),
      tlsMarginalMiB: round(base + extra32k(tls.marginalKibPerConnection), 0),
    };
    printTable(`TLS vs plain MQTT (${DEVICES} idle devices per run, ${rounds.length} runs, medians)`, [plain, tls]);
    printTable('TLS / plain', [ratios]);
    printTable('32,000 devices, extrapolated hub RSS in MiB (base + 32,000 x KiB each; average and marginal)', [for32k]);
    const out = {
      date: new Date().toISOString(),
      devices: DEVICES,
      samplesPerRun: SAMPLES,
      runs: rounds.map(({ fanoutMs, ...r }) => ({ ...r, fanoutP50Ms: median(fanoutMs), fanoutP99Ms: percentile(fanoutMs, 99) })),
      plain,
      tls,
      ratios,
      for32k,
    };
    writeResults(process.env.BENCH_TLS_RESULTS ?? 'bench/results/tls.json', out);
    return out;
  } finally {
    rmSync(template, { recursive: true, force: true });
  }
}

runAsMain(import.meta.url, run);
