/**
 * SMS ladder benchmark: how long people wait for their text when one GSM modem sends one part every
 * 3–6 s, and what the priorities and the neighbour calls do to that.
 *
 * A real hub (in this process, test/helpers/hub-harness.ts) with the SMS extension drives the modem
 * simulator (test/helpers/modem-simulator.ts) on real socat PTY pairs, at realistic latencies: each
 * `AT+CMGS` part is answered after a uniform random 3–6 s (seeded, reproducible), a dial alerts
 * after 2 s. The neighbourhood: team T1 of 10 households (T1H1 is the origin; 9 neighbours) and team
 * T2 of 10, 3 of whose homes are 11–31 m from the origin (nearby: texted too); one number each. The
 * verify window is 15 s, so the origin's pre-alarm text (2 parts, ≤ 12 s) is out before `active`.
 *
 * 1. Fan-out (BENCH_SMS_RUNS runs each, default 3; medians): from the moment the alarm becomes
 *    `active` (the hub's own bus event) to the first and the last of the 12 neighbour texts handed
 *    to the modem (its first `AT+CMGS` arrived) and confirmed (its last `+CMGS: <mr>`), with 1 modem,
 *    2 modems (`--modem A,B`, one shared queue) and 1 modem with `--sms-unaccented` (GSM-7).
 * 2. Escalation and calls (BENCH_SMS_ESCALATION_RUNS runs, default 1, with 1 and 2 modems): the
 *    defaults `--escalate-after 120`, `--call-after 60`, `--call-ring 30`, two station numbers (the
 *    first answers after 8 s of ringing). Nobody replies. Measured: how long the dispatch card
 *    (priority 0) waits behind the neighbour texts (priority 1) still queued at the escalation; the
 *    station call; the 9 neighbour calls (priority 2); and, with the station's "dispatched" posted
 *    when the first neighbour call starts, how long that update (priority 3, to everyone texted)
 *    waits behind the calls.
 *
 * BENCH_SMS_TIME_SCALE=0.1 shrinks every latency and setting tenfold to check the benchmark quickly
 * (the hub's own fixed delays do not shrink: only figures at 1, the default, are meaningful).
 * Writes bench/results/sms-ladder.json (BENCH_SMS_RESULTS=FILE).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startTestHub, type TestHub } from '../test/helpers/hub-harness.ts';
import { killAllSocat, startPtyModem, type PtyModem } from '../test/helpers/modem-pty.ts';
import type { CallRecord, SentSms } from '../test/helpers/modem-simulator.ts';
import { median, printTable, round } from './lib/stats.ts';
import { runAsMain, writeResults } from './lib/hub-process.ts';

const RUNS = Number(process.env.BENCH_SMS_RUNS ?? 3);
const ESCALATION_RUNS = Number(process.env.BENCH_SMS_ESCALATION_RUNS ?? 1);
const SCALE = Number(process.env.BENCH_SMS_TIME_SCALE ?? 1);
const SMS_MIN_MS = 3000 * SCALE;
const SMS_MAX_MS = 6000 * SCALE;
const DIAL_MS = 2000 * SCALE;
const VERIFY_S = 15 * SCALE;
const STATIONS = ['+842033825114', '+842033825115'];
const progress = (what: string) => process.stderr.write(`[sms-ladder ${new Date().toISOString().slice(11, 19)}] ${what}\n`);

/** mulberry32: a small seeded PRNG (the same latencies on every run of the benchmark). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const phone = (team: number, h: number) => `+849${team}${String(h).padStart(7, '0')}`;

/** T1: 10 households 33 m apart in a lane; T2: 3 homes 11–31 m from T1H1, 7 more than 1 km away. */
function neighbourhoodCsv(): string {
  const rows = ['team,household,name,address,phone,lat,lon,device,kind,secret'];
  const lat0 = 20.95;
  const lon0 = 107.08;
  const row = (t: number, h: number, lat: number, lon: number) =>
    rows.push(
      `T${t},T${t}H${h},Nhà ${t}.${h},"${h} ngõ ${t} Lê Lợi, Hồng Gai",0${phone(t, h).slice(3)},${lat.toFixed(6)},${lon.toFixed(6)},T${t}H${h}-smoke,smoke,`,
    );
  for (let h = 1; h <= 10; h++) row(1, h, lat0 + (h - 1) * 0.0003, lon0);
  row(2, 1, lat0 - 0.0001, lon0); // 11 m
  row(2, 2, lat0 - 0.0002, lon0); // 22 m
  row(2, 3, lat0, lon0 - 0.0003); // 31 m
  for (let h = 4; h <= 10; h++) row(2, h, lat0 - 0.01 - h * 0.0003, lon0);
  return rows.join('\n') + '\n';
}
const NEIGHBOURS = [...Array.from({ length: 9 }, (_, i) => phone(1, i + 2)), phone(2, 1), phone(2, 2), phone(2, 3)];
const TEAM_NEIGHBOURS = NEIGHBOURS.slice(0, 9);

interface Rig {
  th: TestHub;
  ptys: PtyModem[];
  dir: string;
  /** When each transition happened (Date.now(), from the hub's bus). */
  transitions: Map<string, number>;
  sent(): SentSms[];
  calls(): CallRecord[];
  alarm(): string;
  stop(): Promise<void>;
}

async function startRig(o: { modems: number; unaccented: boolean; seed: number; escalateAfterS: number; callAfterS: number; callRingS: number }): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-bench-sms-'));
  const ptys: PtyModem[] = [];
  let th: TestHub | null = null;
  try {
    for (let i = 0; i < o.modems; i++) {
      const d = join(dir, `modem-${i}`);
      mkdirSync(d);
      const rng = seeded(o.seed * 100 + i);
      const p = await startPtyModem(d, { smsLatency: () => SMS_MIN_MS + rng() * (SMS_MAX_MS - SMS_MIN_MS), dialMs: DIAL_MS });
      p.sim.scriptCall(STATIONS[0]!, { answerAfterMs: 8000 * SCALE });
      ptys.push(p);
    }
    th = await startTestHub({
      csv: neighbourhoodCsv(),
      config: {
        verifyWindowS: VERIFY_S,
        escalateAfterS: o.escalateAfterS * SCALE,
        callAfterS: o.callAfterS * SCALE,
        callRingS: o.callRingS * SCALE,
        modem: ptys.map((p) => p.hubPath).join(','),
        smsUnaccented: o.unaccented,
        stationPhones: STATIONS.join(','),
      },
    });
  } catch (err) {
    for (const p of ptys) await p.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const hub = th;
  const transitions = new Map<string, number>();
  let alarm = '';
  hub.hub.ctx.bus.on('bench', 'alarm-changed', (view, transition) => {
    alarm = view.alarm;
    if (!transitions.has(transition)) transitions.set(transition, Date.now());
  });
  return {
    th: hub,
    ptys,
    dir,
    transitions,
    sent: () => ptys.flatMap((p) => p.sim.sent),
    calls: () => ptys.flatMap((p) => p.sim.calls),
    alarm: () => alarm,
    async stop() {
      await hub.stop();
      for (const p of ptys) await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function until<T>(check: () => T | undefined | null | false, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The origin's detector reports smoke (QoS 1); resolves at the PUBACK. */
async function smoke(rig: Rig, id: string): Promise<void> {
  const c = rig.th.device('T1H1-smoke');
  const client = await mqtt.connectAsync(rig.th.mqttUrl, { clientId: c.device, username: c.device, password: c.secret, reconnectPeriod: 0 });
  await client.publishAsync('smokehub/h/T1H1/d/T1H1-smoke/event', JSON.stringify({ id, type: 'smoke' }), { qos: 1 });
  await client.endAsync(true);
}

const s = (ms: number) => round(ms / 1000, 1);
const firstTo = (sent: SentSms[], to: string, after = 0) => sent.find((x) => x.to === to && x.startedAt >= after);

interface FanoutRun {
  preAlarmDoneBeforeActive: boolean;
  firstHandedS: number;
  firstConfirmedS: number;
  lastHandedS: number;
  lastConfirmedS: number;
  partsPerText: number;
}

async function fanoutRun(modems: number, unaccented: boolean, seed: number): Promise<FanoutRun> {
  const rig = await startRig({ modems, unaccented, seed, escalateAfterS: 3600, callAfterS: 3600, callRingS: 30 });
  try {
    await smoke(rig, `fanout-${seed}`);
    const active = await until(() => rig.transitions.get('activated'), VERIFY_S * 1000 + 10_000, 'active');
    const texts = await until(
      () => {
        const sent = rig.sent();
        const mine = NEIGHBOURS.map((n) => firstTo(sent, n));
        return mine.every(Boolean) ? (mine as SentSms[]) : null;
      },
      400_000,
      'every neighbour text',
    );
    const pre = rig.sent().find((x) => x.to === phone(1, 1));
    return {
      preAlarmDoneBeforeActive: pre !== undefined && pre.at <= active,
      firstHandedS: s(Math.min(...texts.map((t) => t.startedAt)) - active),
      firstConfirmedS: s(Math.min(...texts.map((t) => t.at)) - active),
      lastHandedS: s(Math.max(...texts.map((t) => t.startedAt)) - active),
      lastConfirmedS: s(Math.max(...texts.map((t) => t.at)) - active),
      partsPerText: round(texts.reduce((a, t) => a + t.parts, 0) / texts.length, 2),
    };
  } finally {
    await rig.stop();
  }
}

interface EscalationRun {
  neighbourTextsNotConfirmedAtEscalation: number;
  cardHandedAfterEscalationS: number[];
  cardConfirmedAfterEscalationS: number[];
  cardParts: number[];
  stationCallStartAfterEscalationS: number;
  stationCallOutcome: string;
  lastNeighbourTextConfirmedAfterActiveS: number;
  neighbourCalls: number;
  firstNeighbourCallAfterActiveS: number;
  lastNeighbourCallEndAfterActiveS: number;
  neighbourCallMedianS: number;
  dispatchedRecipients: number;
  dispatchedFirstConfirmedS: number;
  dispatchedLastConfirmedS: number;
}

async function escalationRun(modems: number, seed: number): Promise<EscalationRun> {
  const rig = await startRig({ modems, unaccented: false, seed, escalateAfterS: 120, callAfterS: 60, callRingS: 30 });
  try {
    await smoke(rig, `escalation-${seed}`);
    const active = await until(() => rig.transitions.get('activated'), VERIFY_S * 1000 + 10_000, 'active');
    progress(`  active; escalation in 120 s`);
    const escalated = await until(() => rig.transitions.get('escalated'), 130_000, 'escalated');
    const confirmedAtEscalation = rig.sent().filter((x) => x.at <= escalated && NEIGHBOURS.includes(x.to)).length;
    const cards = await until(
      () => {
        const c = STATIONS.map((n) => firstTo(rig.sent(), n));
        return c.every(Boolean) ? (c as SentSms[]) : null;
      },
      300_000,
      'the dispatch cards',
    );
    const stationCall = await until(() => rig.calls().find((c) => c.number === STATIONS[0] && c.endedAt !== undefined), 300_000, 'the station call');
    progress(`  cards out; neighbour texts and calls`);
    const texts = await until(
      () => {
        const mine = NEIGHBOURS.map((n) => firstTo(rig.sent(), n));
        return mine.every(Boolean) ? (mine as SentSms[]) : null;
      },
      400_000,
      'every neighbour text',
    );
    const firstCall = await until(() => rig.calls().find((c) => TEAM_NEIGHBOURS.includes(c.number)), 400_000, 'the first neighbour call');
    // The station says a truck is on its way while the neighbour calls are being made.
    const admin = await rig.th.login('admin', rig.th.adminPassword);
    const r = await rig.th.api(admin, `/api/alarms/${rig.alarm()}/dispatch`, { method: 'POST', body: JSON.stringify({ etaMin: 6 }) });
    if (r.status !== 200) throw new Error(`dispatch answered ${r.status}`);
    const dispatchedAt = await until(() => rig.transitions.get('dispatched'), 10_000, 'dispatched');
    const calls = await until(
      () => {
        const c = rig.calls().filter((x) => TEAM_NEIGHBOURS.includes(x.number) && x.endedAt !== undefined);
        return c.length === TEAM_NEIGHBOURS.length ? c : null;
      },
      900_000,
      'every neighbour call',
    );
    progress(`  calls made; the "dispatched" texts`);
    const texted = [phone(1, 1), ...NEIGHBOURS, ...STATIONS];
    const dispatched = await until(
      () => {
        const d = texted.map((n) => firstTo(rig.sent(), n, dispatchedAt));
        return d.every(Boolean) ? (d as SentSms[]) : null;
      },
      900_000,
      'the dispatched texts',
    );
    return {
      neighbourTextsNotConfirmedAtEscalation: NEIGHBOURS.length - confirmedAtEscalation,
      cardHandedAfterEscalationS: cards.map((c) => s(c.startedAt - escalated)),
      cardConfirmedAfterEscalationS: cards.map((c) => s(c.at - escalated)),
      cardParts: cards.map((c) => c.parts),
      stationCallStartAfterEscalationS: s(stationCall.startedAt - escalated),
      stationCallOutcome: stationCall.answeredAt !== undefined ? 'answered' : (stationCall.endedBy ?? 'unknown'),
      lastNeighbourTextConfirmedAfterActiveS: s(Math.max(...texts.map((t) => t.at)) - active),
      neighbourCalls: calls.length,
      firstNeighbourCallAfterActiveS: s(firstCall.startedAt - active),
      lastNeighbourCallEndAfterActiveS: s(Math.max(...calls.map((c) => c.endedAt!)) - active),
      neighbourCallMedianS: s(median(calls.map((c) => c.endedAt! - c.startedAt))),
      dispatchedRecipients: dispatched.length,
      dispatchedFirstConfirmedS: s(Math.min(...dispatched.map((d) => d.at)) - dispatchedAt),
      dispatchedLastConfirmedS: s(Math.max(...dispatched.map((d) => d.at)) - dispatchedAt),
    };
  } finally {
    await rig.stop();
  }
}

const med = (xs: number[]) => round(median(xs), 1);
const span = (xs: number[]) => (xs.length > 1 ? `${med(xs)} (${Math.min(...xs)}–${Math.max(...xs)})` : `${med(xs)}`);

export async function run(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: `${cpus().length} cores, Node ${process.version}`,
    method: {
      timeScale: SCALE,
      smsPartLatencyMs: [SMS_MIN_MS, SMS_MAX_MS],
      dialMs: DIAL_MS,
      verifyWindowS: VERIFY_S,
      neighbours: NEIGHBOURS.length,
      teamNeighbours: TEAM_NEIGHBOURS.length,
      nearby: 3,
      runs: RUNS,
      escalationRuns: ESCALATION_RUNS,
    },
  };
  try {
    const configs = [
      { name: '1 modem, UCS-2 (default)', modems: 1, unaccented: false },
      { name: '2 modems, UCS-2', modems: 2, unaccented: false },
      { name: '1 modem, --sms-unaccented (GSM-7)', modems: 1, unaccented: true },
    ];
    const fanout: Record<string, unknown> = {};
    const rows: Array<Record<string, string | number>> = [];
    for (const c of configs) {
      const runs: FanoutRun[] = [];
      for (let i = 0; i < RUNS; i++) {
        progress(`fan-out: ${c.name}, run ${i + 1}/${RUNS}`);
        runs.push(await fanoutRun(c.modems, c.unaccented, 1 + i));
      }
      const pick = (k: keyof FanoutRun) => runs.map((r) => r[k] as number);
      fanout[c.name] = {
        runs,
        median: {
          firstHandedS: med(pick('firstHandedS')),
          firstConfirmedS: med(pick('firstConfirmedS')),
          lastHandedS: med(pick('lastHandedS')),
          lastConfirmedS: med(pick('lastConfirmedS')),
        },
      };
      rows.push({
        modems: c.name,
        'parts/text': runs[0]!.partsPerText,
        'first handed (s)': span(pick('firstHandedS')),
        'first confirmed (s)': span(pick('firstConfirmedS')),
        'last handed (s)': span(pick('lastHandedS')),
        'last confirmed (s)': span(pick('lastConfirmedS')),
      });
    }
    out.fanout = fanout;
    printTable(`SMS fan-out — ${NEIGHBOURS.length} neighbour texts (9 team + 3 nearby), seconds after "active", median (min–max) of ${RUNS} runs`, rows);

    const escalation: Record<string, unknown> = {};
    const erows: Array<Record<string, string | number>> = [];
    for (const modems of [1, 2]) {
      const runs: EscalationRun[] = [];
      for (let i = 0; i < ESCALATION_RUNS; i++) {
        progress(`escalation: ${modems} modem(s), run ${i + 1}/${ESCALATION_RUNS}`);
        runs.push(await escalationRun(modems, 11 + i));
      }
      escalation[`${modems} modem${modems > 1 ? 's' : ''}`] = { runs };
      const r = runs[0]!;
      erows.push({
        modems,
        'texts waiting at escalation': r.neighbourTextsNotConfirmedAtEscalation,
        'cards handed / confirmed (s after escalation)': `${r.cardHandedAfterEscalationS.join(', ')} / ${r.cardConfirmedAfterEscalationS.join(', ')}`,
        'station call starts (s)': r.stationCallStartAfterEscalationS,
        'last neighbour text (s after active)': r.lastNeighbourTextConfirmedAfterActiveS,
        'neighbour calls: first start / last end (s after active)': `${r.firstNeighbourCallAfterActiveS} / ${r.lastNeighbourCallEndAfterActiveS}`,
        'call (s, median)': r.neighbourCallMedianS,
        '"dispatched" texts: first / last (s after dispatch)': `${r.dispatchedFirstConfirmedS} / ${r.dispatchedLastConfirmedS}`,
      });
    }
    out.escalation = escalation;
    printTable('SMS escalation — escalate-after 120 s, call-after 60 s, call-ring 30 s; "dispatched" posted when the first neighbour call starts', erows);
  } finally {
    killAllSocat();
  }
  writeResults(process.env.BENCH_SMS_RESULTS ?? 'bench/results/sms-ladder.json', out);
  return out;
}

runAsMain(import.meta.url, run);
