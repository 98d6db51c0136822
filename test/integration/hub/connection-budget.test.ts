/**
 * The connection budget: the pure admission rule, and a real hub in a child process started under
 * `prlimit --nofile=N:N` attacked by slow HTTP clients (unfinished headers and half-sent bodies,
 * sockets that never close their side). The web budget fills, the rest is refused at once, every
 * enrolled detector still connects and an A→B alarm arrives; the slow connections are closed by
 * the header / request timeouts and half-open MQTT connections by the connect timeout (10 s).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { openDatabase } from '../../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { decideAdmission, normalizeAddress, type BudgetState } from '../../../hub/app/connection-budget.ts';
import { neighbourhoodCsv } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import type { MqttClient } from 'mqtt';

const fdsOf = (child: ChildProcess): number | null => {
  try {
    return readdirSync(`/proc/${child.pid}/fd`).length;
  } catch {
    return null;
  }
};

const base: BudgetState = {
  limit: 1000,
  other: 60,
  spare: 32,
  web: 0,
  webOfAddress: 0,
  mqtt: 0,
  devices: 500,
  connectedDevices: 0,
  maxWeb: 2048,
  maxWebPerAddress: 256,
  webFloor: 16,
};

test('admission rule: web connections are refused before they touch the devices’ reserve; MQTT only at the limit', () => {
  // 1000 - 60 - 32 - 500 = 408 descriptors for the web while no device is connected.
  assert.equal(decideAdmission('web', { ...base, web: 407 }), null);
  assert.equal(decideAdmission('web', { ...base, web: 408 }), 'device_reserve');
  // Connected devices hold their descriptors already: the reserve is what is still missing.
  assert.equal(decideAdmission('web', { ...base, web: 407, mqtt: 500, connectedDevices: 500 }), null);
  assert.equal(decideAdmission('web', { ...base, web: 408, mqtt: 500, connectedDevices: 500 }), 'fd_limit');
  // Persons' and unauthenticated MQTT connections do not shrink the reserve (they take from the web's share).
  assert.equal(decideAdmission('web', { ...base, web: 398, mqtt: 10, connectedDevices: 0 }), 'device_reserve');
  assert.equal(decideAdmission('web', { ...base, web: 397, mqtt: 10, connectedDevices: 0 }), null);
  // MQTT: up to the limit less half the process' spare, whatever the web holds.
  assert.equal(decideAdmission('mqtt', { ...base, web: 408, mqtt: 515 }), null);
  assert.equal(decideAdmission('mqtt', { ...base, web: 408, mqtt: 516 }), 'fd_limit');
  // Caps.
  assert.equal(decideAdmission('web', { ...base, limit: Infinity, web: 2048 }), 'web_total');
  assert.equal(decideAdmission('web', { ...base, limit: Infinity, webOfAddress: 256 }), 'web_per_address');
  // A limit too low for the devices still lets the station in (the floor), never beyond the limit.
  assert.equal(decideAdmission('web', { ...base, limit: 400, web: 15 }), null);
  assert.equal(decideAdmission('web', { ...base, limit: 400, web: 16 }), 'device_reserve');
  assert.equal(decideAdmission('web', { ...base, limit: 100, web: 8 }), 'fd_limit');
  // Unknown limit: only the caps.
  assert.equal(decideAdmission('web', { ...base, limit: Infinity, web: 2000, devices: 1e6 }), null);
  assert.equal(normalizeAddress('::ffff:10.0.0.5'), '10.0.0.5');
  assert.equal(normalizeAddress('fe80::1'), 'fe80::1');
});

const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-budget-'));
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
const pool = new ClientPool();
after(async () => {
  for (const s of sockets) s.destroy();
  await pool.closeAll();
  for (const c of children) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const FD_LIMIT = 260;
const HEADERS_S = 10;
const REQUEST_S = 12;

async function startChild(): Promise<{ child: ChildProcess; mqttPort: number; httpPort: number; logs: any[] }> {
  const child = spawn('prlimit', [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, process.execPath, '--import', 'tsx', 'test/helpers/hub-child.ts'], {
    env: {
      ...process.env,
      SMOKEHUB_DATA: dataDir,
      SMOKEHUB_HOST: '127.0.0.1',
      SMOKEHUB_MQTT_PORT: '0',
      SMOKEHUB_HTTP_PORT: '0',
      SMOKEHUB_MQTTS_PORT: '0',
      SMOKEHUB_HTTPS_PORT: '0',
      SMOKEHUB_VERIFY_WINDOW_S: '0',
      SMOKEHUB_HTTP_HEADERS_TIMEOUT_S: String(HEADERS_S),
      SMOKEHUB_HTTP_REQUEST_TIMEOUT_S: String(REQUEST_S),
      // One attacking address here: the per-address cap would stop it first; this test is about the reserve.
      SMOKEHUB_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '100000',
      HUB_CHILD_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: any[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    try {
      logs.push(JSON.parse(l));
    } catch {
      logs.push({ msg: l });
    }
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hub exited with ${code}: ${logs.map((l) => l.msg).join(' | ')}`)));
    setTimeout(() => reject(new Error('hub did not start in 30 s')), 30_000).unref();
  });
  return { child, ...JSON.parse(line), logs };
}

interface Raw {
  socket: Socket;
  openedAt: number;
  closedAfter: number | null;
  got: string;
}

/** A raw client that never closes its side; `closedAfter` is set when the server closes (FIN or reset). */
function raw(port: number): Promise<Raw> {
  return new Promise((resolve) => {
    const r: Raw = { socket: connect({ port, host: '127.0.0.1', allowHalfOpen: true }), openedAt: Date.now(), closedAfter: null, got: '' };
    sockets.push(r.socket);
    const closed = () => (r.closedAfter ??= Date.now() - r.openedAt);
    r.socket.on('data', (d) => (r.got += d.toString('latin1')));
    r.socket.on('end', closed);
    r.socket.on('error', closed);
    r.socket.once('connect', () => resolve(r));
    r.socket.once('error', () => resolve(r));
  });
}

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('with the HTTP budget full of slow clients, every enrolled detector connects and an A→B alarm arrives (prlimit --nofile=260)', async () => {
  const db = openDatabase(dataDir);
  const store = new SqliteRegistryStore(db, { dataDir });
  const creds = importCsv(store, neighbourhoodCsv(2, 25)).credentials; // 100 devices
  db.close();
  assert.equal(creds.length, 100);
  const hub = await startChild();
  const mqttUrl = `mqtt://127.0.0.1:${hub.mqttPort}`;
  // Half-open MQTT connections (silent, or a CONNECT cut short): closed by the connect timeout (step 4).
  const mqttSilent = await raw(hub.mqttPort);
  const mqttHalf = await raw(hub.mqttPort);
  mqttHalf.socket.write(Buffer.from([0x10, 0x20, 0x00, 0x04]));

  // 1. 300 slow HTTP clients: half stop in the headers, half in the body; none closes its side.
  const attack: Raw[] = [];
  for (let i = 0; i < 300; i += 50) attack.push(...(await Promise.all(Array.from({ length: 50 }, () => raw(hub.httpPort)))));
  const headersPhase = attack.filter((_, i) => i % 2 === 0);
  const bodyPhase = attack.filter((_, i) => i % 2 === 1);
  for (const a of headersPhase) a.socket.write('GET /health HTTP/1.1\r\nHost: hub\r\nX-Slow: ');
  for (const a of bodyPhase)
    a.socket.write('POST /api/login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"username":');
  // The budget fills (fewer than 100 web connections fit: 260 less the process' own, the spare and 100 devices); the rest is refused at once.
  await waitFor('the web budget to fill and the rest to be refused', () => attack.filter((a) => a.closedAfter !== null).length >= 200, 10_000);
  assert.ok(
    attack.some((a) => a.got.startsWith('HTTP/1.1 503 ')),
    'told 503',
  );

  // 2. Every enrolled device connects while the slow clients hold the web budget.
  const clients: MqttClient[] = [];
  const failures: string[] = [];
  for (let i = 0; i < creds.length; i += 20) {
    const batch = await Promise.all(
      creds.slice(i, i + 20).map((c) => pool.device(mqttUrl, c).catch((err: Error) => (failures.push(`${c.device}: ${err.message}`), null))),
    );
    for (const c of batch) if (c) clients.push(c);
  }
  const why = () =>
    JSON.stringify({
      failures: failures.slice(0, 3),
      hubFds: fdsOf(hub.child),
      log: hub.logs.filter((l) => l.module === 'connections' || l.level >= 50).slice(-5),
    });
  assert.equal(clients.length, 100, `every device connects: ${why()}`);
  const b = clients.find((c) => c.options.clientId === 't1-h2-smoke')!;
  const a = clients.find((c) => c.options.clientId === 't1-h1-smoke')!;
  const inbox = new Inbox(b);
  await b.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  await a.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'budget-1', type: 'smoke' }), { qos: 1 });
  const alert = (await inbox.next((m) => m.json().state === 'active', 5000, 'the A→B alert')).json();
  assert.equal(alert.origin.household, 't1-h1');
  const stillHeld = attack.filter((x) => x.closedAfter === null).length;
  assert.ok(stillHeld >= 20, `the slow clients still held the web budget when the alarm arrived (${stillHeld} open)`);
  const refusedLogs = hub.logs.filter((l) => l.msg === 'connection refused: over its budget' && l.reason === 'device_reserve');
  assert.ok(refusedLogs.length >= 1 && refusedLogs.length <= 3, `refusals logged, rate-limited (${refusedLogs.length} lines)`);

  // 3. The admitted slow clients are closed by the timeouts (server side), headers first, then bodies.
  await waitFor('every slow connection closed by the hub', () => attack.every((x) => x.closedAfter !== null), (REQUEST_S + 3) * 1000);
  // Refused at accept (at once), or admitted and then closed by a timeout — nothing in between.
  const refusedAtOnce = attack.filter((x) => x.closedAfter! < 3000);
  const held = attack.filter((x) => x.closedAfter! >= 3000);
  assert.ok(held.length >= 20 && held.length < 100, `${held.length} slow connections admitted`);
  for (const x of held) {
    const limitMs = (headersPhase.includes(x) ? HEADERS_S : REQUEST_S) * 1000;
    assert.ok(x.closedAfter! >= limitMs - 1500 && x.closedAfter! < limitMs + 2000, `closed after ${x.closedAfter} ms (timeout ${limitMs} ms)`);
  }
  await waitFor('half-open MQTT connections closed', () => mqttSilent.closedAfter !== null && mqttHalf.closedAfter !== null, 1000);
  for (const m of [mqttSilent, mqttHalf]) assert.ok(m.closedAfter! >= 9000 && m.closedAfter! < 12_500, `half-open MQTT closed after ${m.closedAfter} ms`);

  // 4. Counted: what was refused, what timed out; nothing of the attack is still open.
  const text = await (await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => '\\' + c)} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  assert.equal(metric('smokehub_connections_refused_total{reason="device_reserve"}'), refusedAtOnce.length);
  assert.equal(metric('smokehub_http_rejects_total{reason="request_timeout"}'), held.length);
  assert.ok(metric('smokehub_connections_open{kind="web"}') <= 2, 'web connections given back');
  assert.equal(metric('smokehub_open_files_limit'), FD_LIMIT);
  assert.equal(metric('smokehub_connected_devices'), 100);
  await pool.closeAll();
  hub.child.kill('SIGTERM');
});
