/**
 * After any restart (SIGTERM or kill -9) every client learns the truth from the retained open-alarm
 * state: a household that saw `active`, went offline while the alarm was closed, and re-subscribes
 * after the restart gets `{"open":[]}` (mosquitto_sub, an independent client, reads it).
 * Also the reproduced hush bug end to end: a hush no longer closes an escalated fire.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openDatabase } from '../../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { neighbourhoodCsv, type Credential } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-retained-'));
const children: ChildProcess[] = [];
const pool = new ClientPool();
after(async () => {
  await pool.closeAll();
  for (const c of children) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

let creds: Credential[] = [];
const cred = (d: string) => creds.find((c) => c.device === d)!;
{
  const db = openDatabase(dataDir);
  const store = new SqliteRegistryStore(db, { dataDir });
  creds = importCsv(store, neighbourhoodCsv(1, 3)).credentials;
  await store.addUser({ username: 'chief', role: 'station', password: 'station-password-1' });
  db.close();
}

interface Child {
  child: ChildProcess;
  mqttPort: number;
  httpPort: number;
}

async function startChild(env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hub-child.ts'], {
    env: {
      ...process.env,
      SMOKEHUB_DATA: dataDir,
      SMOKEHUB_HOST: '127.0.0.1',
      SMOKEHUB_MQTT_PORT: '0',
      SMOKEHUB_HTTP_PORT: '0',
      SMOKEHUB_VERIFY_WINDOW_S: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hub exited with ${code}`)));
    setTimeout(() => reject(new Error('hub did not start in 20 s')), 20_000).unref();
  });
  return { child, ...JSON.parse(line) };
}

function stopChild(c: Child, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    c.child.once('exit', () => resolve());
    c.child.kill(signal);
  });
}

async function login(c: Child): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${c.httpPort}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'chief', password: 'station-password-1' }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).token;
}

/** One retained message read by Debian's mosquitto_sub as household t1-h2's smoke detector. */
function retainedFor(c: Child, topic: string, device: Credential): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(
      'mosquitto_sub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(c.mqttPort),
        '-V',
        'mqttv311',
        '-i',
        device.device,
        '-u',
        device.device,
        '-P',
        device.secret,
        '-t',
        topic,
        '-q',
        '1',
        '-C',
        '1',
        '-W',
        '5',
        '--retained-only',
      ],
      { timeout: 8000 },
      (err, stdout, stderr) => (err ? reject(new Error(`mosquitto_sub: ${err.message} ${stderr}`)) : resolve(JSON.parse(stdout))),
    );
  });
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`a household that was offline while its alarm closed learns it after a restart (${signal})`, async () => {
    let hub = await startChild();
    const b = cred('t1-h2-smoke');
    const bClient = await pool.device(`mqtt://127.0.0.1:${hub.mqttPort}`, b);
    const bIn = new Inbox(bClient);
    await bClient.subscribeAsync(['smokehub/h/t1-h2/alarms', 'smokehub/h/t1-h2/alert'], { qos: 1 });
    await bIn.next((m) => m.topic.endsWith('/alarms') && m.json().open.length === 0, 3000, 'the retained state exists from the start');
    const origin = await pool.device(`mqtt://127.0.0.1:${hub.mqttPort}`, cred('t1-h1-smoke'));
    await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: `ret-${signal}`, type: 'smoke' }), { qos: 1 });
    const active = (await bIn.next((m) => m.topic.endsWith('/alert') && m.json().state === 'active', 3000, 'B sees active')).json();
    const state = (await bIn.next((m) => m.topic.endsWith('/alarms') && m.json().open.length === 1, 3000, 'B state lists it')).json();
    assert.equal(state.open[0].alarm, active.alarm);
    await pool.closeAll(); // B goes offline

    const token = await login(hub);
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/alarms/${active.alarm}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(r.status, 200);
    await stopChild(hub, signal);

    hub = await startChild();
    const after = await retainedFor(hub, 'smokehub/h/t1-h2/alarms', b);
    assert.deepEqual(after.open, [], 'the stand-down B missed is in the retained state');
    const station = await pool.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { clientId: `st-${signal}`, username: 'chief', password: 'station-password-1' });
    const sIn = new Inbox(station);
    await station.subscribeAsync('smokehub/station/alarms', { qos: 1 });
    assert.deepEqual((await sIn.next(() => true, 3000, 'station state')).json().open, []);
    await pool.closeAll();
    await stopChild(hub, 'SIGTERM');
  });
}

test('the reproduced bug end to end: after escalation one hush silences but never closes the alarm, and telemetry no longer goes unseen', async () => {
  const hub = await startChild({ SMOKEHUB_ESCALATE_AFTER_S: '1', SMOKEHUB_HUSH_PERIOD_S: '5' });
  try {
    const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
    const neighbour = await pool.device(url, cred('t1-h3-smoke'));
    const nIn = new Inbox(neighbour);
    await neighbour.subscribeAsync('smokehub/h/t1-h3/alert', { qos: 1 });
    const a = await pool.device(url, cred('t1-h1-smoke'));
    const aIn = new Inbox(a);
    await a.subscribeAsync('smokehub/h/t1-h1/d/t1-h1-smoke/cmd', { qos: 1 });
    await a.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'bug-1', type: 'smoke' }), { qos: 1 });
    const esc = (await nIn.next((m) => m.json().state === 'escalated', 5000, 'escalated')).json();
    await a.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'bug-2', type: 'hush' }), { qos: 1 });
    const silenced = (await nIn.next((m) => m.json().silencedAt != null, 3000, 'silenced')).json();
    assert.equal(silenced.state, 'escalated', 'still escalated: neighbours are not stood down');
    assert.deepEqual((await aIn.next(() => true, 3000, 'silence command')).json(), { cmd: 'silence', alarm: esc.alarm });
    const token = await login(hub);
    const read = await (await fetch(`http://127.0.0.1:${hub.httpPort}/api/alarms/${esc.alarm}`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert.equal(read.state, 'escalated');
    assert.deepEqual(read.timeline.at(-1).by, { kind: 'device', id: 't1-h1-smoke' });
    assert.deepEqual(read.timeline.find((t: any) => t.transition === 'escalated').by, { kind: 'hub', reason: 'escalate-after' });
    // a different household's detector whose event was lost: its telemetry shows 180 °C → a heat alarm
    const other = await pool.device(url, cred('t1-h2-smoke'));
    await other.publishAsync('smokehub/h/t1-h2/d/t1-h2-smoke/telemetry', JSON.stringify({ smoke: 90000, temperature: 180 }), { qos: 1 });
    const heat = (await nIn.next((m) => m.json().origin.household === 't1-h2', 3000, 'heat alarm from telemetry')).json();
    assert.equal(heat.kind, 'heat');
  } finally {
    await pool.closeAll();
    await stopChild(hub, 'SIGKILL');
  }
});
