/**
 * Password guesses an attacker gets checked per minute, per protocol (HTTP `POST /api/login`, MQTT
 * CONNECT), from one address and from 100 (127.0.2.1–100), spraying user names or aiming at one
 * (`admin`). Each address keeps 4 attempts in flight and sends the next as soon as one is answered,
 * as a script would. "Checked" = answered 401 / CONNACK 4 (a password was compared); throttled (429,
 * CONNACK 3) and busy (503) answers were not checked. Baseline, same run: the same hub with the
 * throttles off (HUB_CHILD_LOGIN_FREE), where only the bound on scrypt checks at once holds.
 *
 * BENCH_LOGIN_S: seconds per scenario (default 60). Prints a table and writes
 * bench/results/login-guessing.json (BENCH_LOGIN_RESULTS=FILE elsewhere).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawConnect } from '../test/helpers/raw-mqtt-connect.ts';
import { loginFrom } from '../test/helpers/http-login.ts';
import { startHubProcess, stopHubProcess, writeResults, runAsMain, type HubProcess } from './lib/hub-process.ts';
import { printTable, round } from './lib/stats.ts';

type Protocol = 'http' | 'mqtt';
interface Scenario {
  protocol: Protocol;
  addresses: number;
  target: 'spray' | 'admin';
  throttles: boolean;
}

const SECONDS = Number(process.env.BENCH_LOGIN_S ?? 60);
const IN_FLIGHT_PER_ADDRESS = 4;

async function attempt(hub: HubProcess, s: Scenario, n: number, localAddress: string): Promise<'checked' | 'throttled' | 'busy' | 'other'> {
  const username = s.target === 'admin' ? 'admin' : `name-${localAddress}-${n}`;
  if (s.protocol === 'http') {
    const { status } = await loginFrom(hub.httpPort, username, 'guess-password', localAddress);
    return status === 401 ? 'checked' : status === 429 ? 'throttled' : status === 503 ? 'busy' : 'other';
  }
  const r = await rawConnect(hub.mqttPort, { clientId: `atk-${n}`, username, password: 'guess-password', localAddress });
  // CONNACK 3 is given for both throttled and busy; the hub's metrics tell them apart (not needed here).
  return r.returnCode === 4 ? 'checked' : r.returnCode === 3 ? 'throttled' : 'other';
}

async function scenario(s: Scenario): Promise<Record<string, string | number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-bench-login-'));
  const hub = await startHubProcess(dataDir, s.throttles ? {} : { HUB_CHILD_LOGIN_FREE: '1000000000' });
  const counts = { checked: 0, throttled: 0, busy: 0, other: 0 };
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  try {
    const loops: Promise<void>[] = [];
    for (let a = 0; a < s.addresses; a++) {
      const address = s.addresses === 1 ? '127.0.2.1' : `127.0.2.${a + 1}`;
      for (let w = 0; w < IN_FLIGHT_PER_ADDRESS; w++) {
        loops.push(
          (async () => {
            while (Date.now() < end) counts[await attempt(hub, s, n++, address)]++;
          })(),
        );
      }
    }
    await Promise.all(loops);
  } finally {
    await stopHubProcess(hub.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const perMin = (x: number) => round((x * 60) / SECONDS, 1);
  return {
    protocol: s.protocol,
    addresses: s.addresses,
    names: s.target === 'admin' ? 'one (admin)' : 'sprayed',
    throttles: s.throttles ? 'on' : 'off (baseline)',
    checked_per_min: perMin(counts.checked),
    refused_unchecked_per_min: perMin(counts.throttled + counts.busy),
    other: counts.other,
  };
}

export async function run(): Promise<unknown> {
  const scenarios: Scenario[] = [];
  for (const protocol of ['http', 'mqtt'] as Protocol[]) {
    scenarios.push({ protocol, addresses: 1, target: 'spray', throttles: false });
    scenarios.push({ protocol, addresses: 1, target: 'spray', throttles: true });
    scenarios.push({ protocol, addresses: 100, target: 'spray', throttles: false });
    scenarios.push({ protocol, addresses: 100, target: 'spray', throttles: true });
    scenarios.push({ protocol, addresses: 100, target: 'admin', throttles: true });
  }
  const rows: Array<Record<string, string | number>> = [];
  for (const s of scenarios) rows.push(await scenario(s));
  for (const r of rows) {
    const base = rows.find((b) => b.protocol === r.protocol && b.addresses === r.addresses && b.throttles !== 'on');
    r.ratio_to_baseline = base ? round(Number(r.checked_per_min) / Number(base.checked_per_min), 3) : NaN;
  }
  printTable(
    `Password guesses checked per minute (${SECONDS} s per scenario, ${IN_FLIGHT_PER_ADDRESS} in flight per address; refusals answered after 1 s)`,
    rows,
  );
  const out = { seconds: SECONDS, inFlightPerAddress: IN_FLIGHT_PER_ADDRESS, rows };
  writeResults(process.env.BENCH_LOGIN_RESULTS ?? 'bench/results/login-guessing.json', out);
  return out;
}

runAsMain(import.meta.url, run);
