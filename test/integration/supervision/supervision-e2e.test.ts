/**
 * Supervision against a real hub and real MQTT.js clients with a 2 s window: a detector that goes
 * silent and one whose TCP connection drops get a `trouble` notice on their household topic (seen by
 * the team leader and the station), then a `restored` notice when back; nothing reaches neighbours.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';

let th: TestHub;
const pool = new ClientPool();
const ext = supervisionExtension({ sweepIntervalMs: 200, disconnectGraceMs: 300 });
let keepAlive: NodeJS.Timeout | undefined;

before(async () => {
  th = await startTestHub({ config: { supervisionWindowS: 2 }, extensions: [ext] });
  await th.hub.registry.addUser({ username: 'leader1', role: 'team-leader', team: 't1', password: 'leader-password-1' });
});
after(async () => {
  clearInterval(keepAlive);
  await pool.closeAll();
  await th?.stop();
});

const tele = (c: MqttClient, h: string, d: string, battery = 80) => c.publishAsync(`smokehub/h/${h}/d/${d}/telemetry`, JSON.stringify({ battery }), { qos: 0 });

test('silent and dropped detectors: trouble then restored to household, team leader and station; never to neighbours', async () => {
  const station = await pool.connect(th.mqttUrl, { username: 'admin', password: th.adminPassword, clientId: 'station-1' });
  const stationIn = new Inbox(station);
  await station.subscribeAsync(['smokehub/h/+/notice', 'smokehub/station/notice', 'smokehub/station/alarm', 'smokehub/h/+/alert'], { qos: 1 });
  const leader = await pool.connect(th.mqttUrl, { username: 'leader1', password: 'leader-password-1', clientId: 'leader-1' });
  const leaderIn = new Inbox(leader);
  await leader.subscribeAsync('smokehub/h/t1-h2/notice', { qos: 1 });
  // a neighbour's phone-like device listening on its own household's notices
  const neighbour = await pool.device(th.mqttUrl, th.device('t1-h1-panic'));
  const neighbourIn = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h1/notice', { qos: 1 });

  const a = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const b = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  let c = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'), { reconnectPeriod: 0 });
  // a and the neighbour keep talking; b says one thing and goes silent
  let bBack = false;
  keepAlive = setInterval(() => {
    void tele(a, 't1-h1', 't1-h1-smoke').catch(() => {});
    if (bBack) void tele(b, 't1-h2', 't1-h2-smoke').catch(() => {});
    void tele(neighbour, 't1-h1', 't1-h1-panic').catch(() => {});
    void tele(c, 't1-h3', 't1-h3-smoke').catch(() => {});
  }, 400);
  await tele(b, 't1-h2', 't1-h2-smoke');
  const silentSince = Date.now();

  const isFor = (device: string, notice: string) => (m: { topic: string; json(): any }) =>
    m.topic.endsWith('/notice') && m.json().device === device && m.json().notice === notice;
  const trouble = await stationIn.next(
    (m) => m.topic === 'smokehub/h/t1-h2/notice' && isFor('t1-h2-smoke', 'offline')(m),
    6000,
    'offline notice for the silent detector',
  );
  const n = trouble.json();
  assert.equal(n.severity, 'trouble');
  assert.equal(n.household, 't1-h2');
  assert.match(n.text, /not been heard for 2 s/);
  assert.ok(Date.now() - silentSince >= 1900, 'not before the window');
  // The shared Notice shape, exactly: since issue 14.1 with its params (what a client needs to say it in its language).
  assert.deepEqual(Object.keys(n).sort(), ['at', 'device', 'household', 'notice', 'params', 'severity', 'text']);
  assert.deepEqual(n.params, { kind: 'smoke', reason: 'silent', seconds: 2 });
  await stationIn.next((m) => m.topic === 'smokehub/station/notice' && isFor('t1-h2-smoke', 'offline')(m), 2000, 'station copy');
  await leaderIn.next(isFor('t1-h2-smoke', 'offline'), 2000, 'team leader copy');

  // c's TCP connection drops (no DISCONNECT packet)
  (c as unknown as { stream: { destroy(): void } }).stream.destroy();
  const dropped = (
    await stationIn.next((m) => m.topic === 'smokehub/h/t1-h3/notice' && isFor('t1-h3-smoke', 'offline')(m), 4000, 'offline notice for the dropped detector')
  ).json();
  assert.match(dropped.text, /connection dropped/);
  assert.equal(dropped.severity, 'trouble');

  // both come back, and b keeps talking (else, on a loaded machine, the rest of the test outlasts
  // its 2 s window and b is rightly reported offline a second time)
  await tele(b, 't1-h2', 't1-h2-smoke');
  bBack = true;
  c = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  const restoredB = (await stationIn.next((m) => m.topic === 'smokehub/h/t1-h2/notice' && isFor('t1-h2-smoke', 'restored')(m), 3000, 'restored b')).json();
  assert.equal(restoredB.severity, 'info');
  await stationIn.next((m) => m.topic === 'smokehub/h/t1-h3/notice' && isFor('t1-h3-smoke', 'restored')(m), 3000, 'restored c');
  await leaderIn.next(isFor('t1-h2-smoke', 'restored'), 2000, 'team leader sees restored');
  await sleep(500);

  // never to neighbours: each household topic carries only its own household's notices
  for (const m of stationIn.messages.filter((x) => /^smokehub\/h\/[^/]+\/notice$/.test(x.topic))) {
    assert.equal(m.json().household, m.topic.split('/')[2], `${m.topic} carried ${m.payload}`);
  }
  assert.equal(
    neighbourIn.count((m) => ['t1-h2-smoke', 't1-h3-smoke'].includes(m.json().device)),
    0,
    'the neighbour heard nothing about b or c',
  );
  assert.equal(
    stationIn.count((m) => m.topic.endsWith('/alert') || m.topic === 'smokehub/station/alarm'),
    0,
    'supervision never raises an alarm',
  );
  assert.equal(
    stationIn.count((m) => m.topic.endsWith('/notice') && !['info', 'warning', 'trouble'].includes(m.json().severity)),
    0,
  );

  // the API lists them, scoped
  const admin = await th.login('admin', th.adminPassword);
  const all = await th.api(admin, '/api/notices?household=t1-h2');
  assert.equal(all.status, 200);
  assert.deepEqual(
    all.body.notices.map((x: any) => x.notice),
    ['restored', 'offline'],
  );
  const troubles = await th.api(admin, '/api/notices?severity=trouble');
  assert.ok(troubles.body.notices.every((x: any) => x.severity === 'trouble'));
  const leaderToken = await th.login('leader1', 'leader-password-1');
  const mine = await th.api(leaderToken, '/api/notices');
  assert.ok(mine.body.notices.length >= 4 && mine.body.notices.every((x: any) => x.team === 't1'));
  assert.equal((await th.api(leaderToken, '/api/notices?household=t2-h1')).status, 403);
  assert.equal((await th.api(admin, '/api/notices?severity=alarm')).status, 400);
  const health = await th.api(admin, '/api/households/t1-h2/health');
  assert.equal(health.status, 200);
  const smoke = health.body.devices.find((d: any) => d.device === 't1-h2-smoke');
  assert.equal(smoke.online, true);
  assert.equal(smoke.battery, 80);
  assert.equal((await th.api(leaderToken, '/api/households/t2-h1/health')).status, 403);
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /smokehub_notices_total\{notice="offline",severity="trouble"\} [1-9]/);
  assert.match(metrics, /smokehub_devices_offline \d+/);
});
