/**
 * `GET /api/devices/health` through a real hub: real MQTT.js detectors send telemetry with a
 * battery level, answer (or ignore) the weekly self-test, report a fault, drop out and flap; the
 * bulk listing shows each of them as the per-household routes do, and every role sees exactly its
 * scope (403 outside it, 400 for bad query values).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { startTestHub, neighbourhoodCsv, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, sleep } from '../../helpers/mqtt-clients.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';

let th: TestHub;
const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-devhealth-'));
const pool = new ClientPool();
const ext = supervisionExtension({ sweepIntervalMs: 100, disconnectGraceMs: 200 });
const LEADER = { username: 'leader-t1', password: 'leader-password-1' };
const HOME = { username: 'home-t1h2', password: 'home-password-1' };

before(async () => {
  // 2 teams of 3 households, each with a smoke detector and a panic button: 12 devices.
  th = await startTestHub({ dataDir, csv: neighbourhoodCsv(2, 3), config: { selfTestTimeoutS: 1, supervisionWindowS: 600, flapCycles: 2 }, extensions: [ext] });
  await th.hub.registry.addUser({ username: LEADER.username, role: 'team-leader', team: 't1', password: LEADER.password });
  await th.hub.registry.addUser({ username: HOME.username, role: 'household', household: 't1-h2', password: HOME.password });
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function get(token: string | null, path: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${th.httpUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, body: await r.json() };
}
const topic = (device: string, channel: string) => `smokehub/h/${device.replace(/-(smoke|panic)$/, '')}/d/${device}/${channel}`;

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Connects a device with its own credentials (client id = device id). */
async function connect(device: string): Promise<MqttClient> {
  return pool.device(th.mqttUrl, th.device(device), { clean: true });
}

test('bulk device health: content for every device, and each role sees only its scope', async () => {
  const admin = await th.login('admin', th.adminPassword);
  const leader = await th.login(LEADER.username, LEADER.password);
  const home = await th.login(HOME.username, HOME.password);

  // t1-h1: answers the self-test and reports 87 % battery.
  const good = await connect('t1-h1-smoke');
  await good.subscribeAsync(topic('t1-h1-smoke', 'cmd'), { qos: 1 });
  good.on('message', (t, payload) => {
    const cmd = JSON.parse(payload.toString());
    if (t.endsWith('/cmd') && cmd.cmd === 'test')
      void good.publishAsync(topic('t1-h1-smoke', 'event'), JSON.stringify({ id: `st-${cmd.round}`, type: 'test' }), { qos: 1 });
  });
  const batteryTs = Date.now() - 30_000;
  await good.publishAsync(topic('t1-h1-smoke', 'telemetry'), JSON.stringify({ ts: batteryTs, battery: 87, smoke: 3 }), { qos: 1 });
  // t1-h2: connected, low battery, never answers the self-test.
  const mute = await connect('t1-h2-smoke');
  await mute.publishAsync(topic('t1-h2-smoke', 'telemetry'), JSON.stringify({ battery: 15 }), { qos: 1 });
  // t1-h3: drops its connection (offline before the round: it cannot answer).
  const gone = await connect('t1-h3-smoke');
  await gone.endAsync(true);
  // t2-h1: reports a fault.
  const faulty = await connect('t2-h1-smoke');
  await faulty.publishAsync(topic('t2-h1-smoke', 'event'), JSON.stringify({ id: 'fault-1', type: 'fault' }), { qos: 1 });
  // t2-h2: drops out twice in the flap window (flapCycles 2): flapping.
  for (let i = 0; i < 2; i++) {
    const c = await connect('t2-h2-smoke');
    await until('t2-h2 up', async () => (ext.handle!.tracker.view('t2-h2-smoke')!.status === 'online' ? true : undefined));
    await c.endAsync(true);
    await until(`t2-h2 down #${i + 1}`, async () => (ext.handle!.tracker.view('t2-h2-smoke')!.status === 'offline' ? true : undefined));
  }
  await until('t1-h3 offline', async () => (ext.handle!.tracker.view('t1-h3-smoke')!.status === 'offline' ? true : undefined));

  const run = await ext.handle!.jobs.runNow('self-test');
  assert.equal(run.outcome, 'ok', run.error ?? '');
  const round = (run.summary as { round: string }).round;
  const roundAt = (await get(admin, '/api/households/t1-h1/self-test')).body.devices[0].lastTest.at as number;
  assert.ok(roundAt >= run.startedAt && roundAt <= run.finishedAt!, 'the round began within the job run');
  assert.match(round, /^ST/);

  const all = await until('battery and fault recorded', async () => {
    const r = await get(admin, '/api/devices/health');
    assert.equal(r.status, 200);
    const byId = new Map<string, any>(r.body.devices.map((d: any) => [d.device, d]));
    return byId.get('t1-h2-smoke')?.battery === 15 && byId.get('t2-h1-smoke')?.fault === true ? r.body.devices : undefined;
  });
  // Every device once, sorted by id, with exactly the documented fields.
  assert.equal(all.length, 12);
  assert.deepEqual(
    all.map((d: any) => d.device),
    [...all.map((d: any) => d.device)].sort(),
  );
  for (const d of all) {
    assert.deepEqual(Object.keys(d).sort(), [
      'battery',
      'batteryAt',
      'device',
      'enrolledAt',
      'fault',
      'household',
      'kind',
      'label',
      'lastSeen',
      'lastTest',
      'offlineReason',
      'online',
      'replaceBy',
      'since',
      'supervision',
      'team',
    ]);
  }
  const by = (id: string) => all.find((d: any) => d.device === id);

  const h1 = by('t1-h1-smoke');
  assert.equal(h1.household, 't1-h1');
  assert.equal(h1.team, 't1');
  assert.equal(h1.kind, 'smoke');
  assert.equal(h1.online, true);
  assert.equal(h1.supervision, 'ok');
  assert.equal(h1.battery, 87);
  assert.equal(h1.batteryAt, batteryTs);
  assert.ok(h1.lastSeen >= roundAt - 10_000, 'heard recently');
  assert.deepEqual(h1.lastTest, { at: roundAt, outcome: 'pass', reason: null });
  assert.equal(h1.fault, false);

  const h2 = by('t1-h2-smoke');
  assert.deepEqual([h2.online, h2.supervision, h2.battery, h2.lastTest.outcome, h2.lastTest.reason], [true, 'ok', 15, 'fail', 'no-answer']);
  assert.ok(h2.batteryAt >= roundAt - 10_000 && h2.batteryAt <= Date.now());

  const h3 = by('t1-h3-smoke');
  assert.deepEqual(
    [h3.online, h3.supervision, h3.battery, h3.batteryAt, h3.lastTest.outcome, h3.lastTest.reason],
    [false, 'offline', null, null, 'fail', 'offline'],
  );

  assert.deepEqual([by('t2-h1-smoke').fault, by('t2-h1-smoke').online, by('t2-h1-smoke').supervision], [true, true, 'ok']);
  assert.deepEqual([by('t2-h2-smoke').supervision, by('t2-h2-smoke').online], ['flapping', false]);
  // Panic buttons are not self-tested; a device never heard has no lastSeen.
  assert.deepEqual(
    [by('t1-h1-panic').lastTest, by('t1-h1-panic').lastSeen, by('t1-h1-panic').online, by('t1-h1-panic').supervision],
    [null, null, false, 'ok'],
  );

  // The per-household route answers the same device-health item as the bulk one (issue 12: one shape).
  const one = await get(admin, '/api/households/t1-h2/health');
  const dev = one.body.devices.find((d: any) => d.device === 't1-h2-smoke');
  assert.deepEqual([dev.battery, dev.batteryAt, dev.lastTest.at, dev.lastTest.outcome], [h2.battery, h2.batteryAt, h2.lastTest.at, 'fail']);
  assert.deepEqual(Object.keys(dev).sort(), Object.keys(h2).sort());
  assert.deepEqual(
    [dev.household, dev.team, dev.kind, dev.enrolledAt, dev.replaceBy, dev.fault],
    [h2.household, h2.team, h2.kind, h2.enrolledAt, h2.replaceBy, h2.fault],
  );

  // state filter
  const offline = await get(admin, '/api/devices/health?state=offline');
  assert.deepEqual(
    offline.body.devices.map((d: any) => d.device),
    ['t1-h3-smoke'],
  );
  const flapping = await get(admin, '/api/devices/health?state=flapping');
  assert.deepEqual(
    flapping.body.devices.map((d: any) => d.device),
    ['t2-h2-smoke'],
  );
  const okOrOffline = await get(admin, '/api/devices/health?state=ok,offline');
  assert.equal(okOrOffline.body.devices.length, 11);
  const teamOk = await get(admin, '/api/devices/health?team=t2&state=ok');
  assert.deepEqual(
    teamOk.body.devices.map((d: any) => d.device),
    ['t2-h1-panic', 't2-h1-smoke', 't2-h2-panic', 't2-h3-panic', 't2-h3-smoke'],
  );
  const hh = await get(admin, '/api/devices/health?household=t2-h1');
  assert.deepEqual(
    hh.body.devices.map((d: any) => d.device),
    ['t2-h1-panic', 't2-h1-smoke'],
  );

  // A passing test (the test button) clears the fault.
  await faulty.publishAsync(topic('t2-h1-smoke', 'event'), JSON.stringify({ id: 'button-1', type: 'test' }), { qos: 1 });
  await until('fault cleared', async () => {
    const r = await get(admin, '/api/devices/health?household=t2-h1');
    return r.body.devices.find((d: any) => d.device === 't2-h1-smoke').fault === false ? true : undefined;
  });

  // Team leader: its team only.
  const lt = await get(leader, '/api/devices/health');
  assert.equal(lt.status, 200);
  assert.equal(lt.body.devices.length, 6);
  assert.ok(lt.body.devices.every((d: any) => d.team === 't1'));
  assert.equal((await get(leader, '/api/devices/health?team=t1')).body.devices.length, 6);
  assert.deepEqual(
    (await get(leader, '/api/devices/health?household=t1-h2')).body.devices.map((d: any) => d.device),
    ['t1-h2-panic', 't1-h2-smoke'],
  );
  const lOut = await get(leader, '/api/devices/health?team=t2');
  assert.deepEqual([lOut.status, lOut.body.error], [403, 'forbidden']);
  assert.equal((await get(leader, '/api/devices/health?household=t2-h1')).status, 403);

  // Household user: its own household only, even when it names its team.
  const own = await get(home, '/api/devices/health');
  assert.deepEqual(
    own.body.devices.map((d: any) => d.device),
    ['t1-h2-panic', 't1-h2-smoke'],
  );
  assert.deepEqual(
    (await get(home, '/api/devices/health?team=t1')).body.devices.map((d: any) => d.device),
    ['t1-h2-panic', 't1-h2-smoke'],
  );
  assert.equal((await get(home, '/api/devices/health?household=t1-h1')).status, 403);
  assert.equal((await get(home, '/api/devices/health?team=t2')).status, 403);

  // Bad values: 400 with the reason; no session: 401.
  const badState = await get(admin, '/api/devices/health?state=broken');
  assert.equal(badState.status, 400);
  assert.match(badState.body.message, /state must be one or more .*ok, offline, flapping/);
  const badTeam = await get(admin, '/api/devices/health?team=' + encodeURIComponent('t1/../x'));
  assert.deepEqual([badTeam.status, badTeam.body.message], [400, 'team is not a valid id']);
  assert.equal((await get(admin, '/api/devices/health?household=' + encodeURIComponent('a b'))).status, 400);
  assert.equal((await get(admin, '/api/devices/health?state=ok,')).status, 400);
  assert.equal((await get(null, '/api/devices/health')).status, 401);
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /smokehub_http_requests_total\{route="\/api\/devices\/health",status="400"\} 4/);
});

test('after a restart the bulk listing still has batteries, self-tests and open faults', async () => {
  // The fault of t2-h1 was cleared above; t2-h3 reports a tamper.
  const c = await connect('t2-h3-smoke');
  await c.publishAsync(topic('t2-h3-smoke', 'event'), JSON.stringify({ id: 'tamper-1', type: 'tamper' }), { qos: 1 });
  await until('tamper recorded', async () => {
    const r = await get(await th.login('admin', th.adminPassword), '/api/devices/health?household=t2-h3');
    return r.body.devices.find((d: any) => d.device === 't2-h3-smoke').fault ? true : undefined;
  });
  await pool.closeAll();
  const first = th;
  th = undefined as unknown as TestHub;
  await first.stop();
  const ext2 = supervisionExtension({ sweepIntervalMs: 100, disconnectGraceMs: 200 });
  th = await startTestHub({ dataDir, csv: neighbourhoodCsv(2, 3), config: { supervisionWindowS: 600, flapCycles: 2 }, extensions: [ext2] });
  await ext2.handle!.sweep(); // a sweep within the new window must not restore what was down
  const r = await get(await th.login('admin', th.adminPassword), '/api/devices/health');
  assert.equal(r.status, 200);
  const by = (id: string) => r.body.devices.find((d: any) => d.device === id);
  assert.deepEqual([by('t2-h3-smoke').fault, by('t2-h1-smoke').fault], [true, false]);
  assert.deepEqual([by('t1-h1-smoke').battery, by('t1-h2-smoke').battery], [87, 15]);
  assert.deepEqual([by('t1-h1-smoke').lastTest.outcome, by('t1-h2-smoke').lastTest.outcome, by('t2-h1-smoke').lastTest.outcome], ['pass', 'fail', 'pass']);
  // Reported states continue; nobody has been heard since the restart.
  assert.deepEqual([by('t1-h3-smoke').supervision, by('t2-h2-smoke').supervision], ['offline', 'flapping']);
  assert.ok(r.body.devices.every((d: any) => d.online === false && d.lastSeen === null));
});
