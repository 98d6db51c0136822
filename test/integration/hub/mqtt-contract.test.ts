/**
 * The MQTT contract v1 end to end: a real hub (Aedes on a real TCP port), real MQTT.js clients and
 * mosquitto_pub/mosquitto_sub. Every row of the topic table, the ACL matrix and the bad inputs.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';

const run = promisify(execFile);
let th: TestHub;
const pool = new ClientPool();

before(async () => {
  th = await startTestHub({ config: { verifyWindowS: 0 } });
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});
beforeEach(async () => {
  await pool.closeAll();
  // every test starts with no open alarm
  for (const v of th.hub.alarms.openViews()) th.hub.alarms.resolve(v.alarm, { by: { kind: 'user', id: 'test', role: 'station' }, via: 'http' });
});

let seq = 0;
const evt = (type: string, extra: Record<string, unknown> = {}) => JSON.stringify({ id: `e${++seq}-${Date.now()}`, type, ...extra });

async function station() {
  const c = await pool.connect(th.mqttUrl, { clientId: `station-${++seq}`, username: 'admin', password: th.adminPassword });
  const inbox = new Inbox(c);
  await c.subscribeAsync('smokehub/#', { qos: 1 });
  return { c, inbox };
}

test('devices authenticate with their secret; wrong secret, wrong client id and unknown users are refused', async () => {
  const cred = th.device('t1-h1-smoke');
  const ok = await pool.device(th.mqttUrl, cred);
  assert.ok(ok.connected);
  await assert.rejects(pool.device(th.mqttUrl, { ...cred, secret: 'wrong-secret-wrong-secret' }), (e: any) => e.code === 4);
  await assert.rejects(pool.connect(th.mqttUrl, { clientId: 'other-id', username: cred.device, password: cred.secret }), (e: any) => e.code === 5);
  await assert.rejects(pool.connect(th.mqttUrl, { clientId: 'x', username: 'nobody', password: 'whatever-password' }), (e: any) => e.code === 4);
  await assert.rejects(pool.connect(th.mqttUrl, { clientId: 'anon' }), (e: any) => e.code === 4);
});

test("nobody takes a detector's client id: a person using a device id as client id is refused (CONNACK 5) and the detector stays connected", async () => {
  const cred = th.device('t1-h2-smoke');
  const detector = await pool.device(th.mqttUrl, cred);
  let dropped = false;
  detector.on('close', () => (dropped = true));
  await th.hub.registry.addUser({ username: `kicker${++seq}`, role: 'household', household: 't2-h1', password: 'household-password-k' }).catch(() => {});
  for (const username of ['admin', `kicker${seq}`]) {
    const password = username === 'admin' ? th.adminPassword : 'household-password-k';
    await assert.rejects(
      pool.connect(th.mqttUrl, { clientId: cred.device, username, password, reconnectPeriod: 0 }),
      (e: any) => e.code === 5,
      `${username} may not take it`,
    );
  }
  await sleep(200);
  assert.equal(dropped, false, 'the real detector was never kicked off');
  assert.ok(detector.connected);
  // people with their own client ids connect as before
  const ok = await pool.connect(th.mqttUrl, { clientId: `web-${seq}`, username: 'admin', password: th.adminPassword });
  assert.ok(ok.connected);
});

test('smoke from one home reaches every household of the team and the station, never another team', async () => {
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const neighbours = await Promise.all(['t1-h2-smoke', 't1-h3-panic'].map((d) => pool.device(th.mqttUrl, th.device(d))));
  const inboxes = neighbours.map((n) => new Inbox(n));
  await neighbours[0]!.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  await neighbours[1]!.subscribeAsync('smokehub/h/t1-h3/#', { qos: 1 });
  const other = await pool.device(th.mqttUrl, th.device('t2-h1-smoke'));
  const otherInbox = new Inbox(other);
  await other.subscribeAsync('smokehub/h/t2-h1/alert', { qos: 1 });
  const st = await station();

  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', evt('smoke', { level: 412 }), { qos: 1 });
  const views = await Promise.all(inboxes.map((i) => i.next((m) => m.topic.endsWith('/alert') && m.json().state === 'active', 3000, 'alert')));
  for (const v of views.map((m) => m.json())) {
    assert.equal(v.kind, 'smoke');
    assert.equal(v.team, 't1');
    assert.equal(v.origin.household, 't1-h1');
    assert.equal(v.origin.device, 't1-h1-smoke');
    assert.equal(v.origin.name, 'Nhà Nguyễn 1.1');
    assert.equal(typeof v.origin.lat, 'number');
    assert.ok(Array.isArray(v.responders));
    assert.ok(v.raisedAt > 0 && v.updatedAt >= v.raisedAt);
  }
  const s = await st.inbox.next((m) => m.topic === 'smokehub/station/alarm' && m.json().state === 'active', 3000, 'station alarm');
  assert.equal(s.json().alarm, views[0]!.json().alarm);
  await sleep(200);
  assert.equal(
    otherInbox.count((m) => m.topic.endsWith('/alert')),
    0,
    'another team is not alerted',
  );
});

test('a duplicate event id (QoS 1 redelivery) never fans out twice', async () => {
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const st = await station();
  const payload = evt('smoke');
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', payload, { qos: 1 });
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', payload, { qos: 1 });
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', evt('smoke'), { qos: 1 }); // same device repeating
  await st.inbox.next((m) => m.topic === 'smokehub/station/alarm', 3000);
  await sleep(300);
  const alarms = st.inbox.messages.filter((m) => m.topic === 'smokehub/station/alarm');
  assert.equal(alarms.length, 1, 'raised and activated at once (window 0): one view, once');
  assert.equal(alarms[0]!.json().state, 'active');
  assert.equal(new Set(alarms.map((m) => m.json().alarm)).size, 1);
});

test("responses are recorded and re-published; the origin household's false-alarm hushes (neighbours stand down)", async () => {
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-panic'));
  const neighbour = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  const inbox = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-panic/event', evt('panic'), { qos: 1 });
  const alert = await inbox.next((m) => m.json().state === 'active');
  const alarm = alert.json().alarm;
  await neighbour.publishAsync('smokehub/h/t1-h2/response', JSON.stringify({ alarm, response: 'coming' }), { qos: 1 });
  const withResponder = await inbox.next((m) => m.json().responders.length === 1);
  assert.deepEqual(
    withResponder.json().responders.map((r: any) => [r.household, r.response]),
    [['t1-h2', 'coming']],
  );
  await origin.publishAsync('smokehub/h/t1-h1/response', JSON.stringify({ alarm, response: 'false-alarm' }), { qos: 1 });
  const standDown = await inbox.next((m) => m.json().state === 'hushed');
  assert.equal(standDown.json().alarm, alarm);
  assert.ok(standDown.json().hushUntil > standDown.json().hushedAt, 'the hub watches it');
});

test('a household that (re)connects is sent every open alarm of its team at once', async () => {
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', evt('smoke'), { qos: 1 });
  await sleep(100);
  const late = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  const inbox = new Inbox(late);
  await late.subscribeAsync('smokehub/h/t1-h3/alert', { qos: 1 });
  const m = await inbox.next((x) => x.topic === 'smokehub/h/t1-h3/alert', 2000, 'catch-up alert');
  assert.equal(m.json().origin.household, 't1-h1');
  assert.equal(m.json().state, 'active');
});

test('ACL: a device may publish and subscribe only under its own household', async () => {
  const st = await station();
  const dev = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const inbox = new Inbox(dev);
  await dev.subscribeAsync('smokehub/h/t1-h1/d/t1-h1-smoke/error', { qos: 0 });
  // publishing as another household / device / channel is acknowledged but dropped and explained
  for (const topic of [
    'smokehub/h/t1-h2/d/t1-h2-smoke/event',
    'smokehub/h/t1-h1/d/t1-h1-panic/event',
    'smokehub/h/t1-h1/alert',
    'smokehub/station/alarm',
    'smokehub/h/t1-h1/d/t1-h1-smoke/cmd',
    'elsewhere/topic',
  ]) {
    await dev.publishAsync(topic, evt('smoke'), { qos: 1 });
  }
  await inbox.next((m) => m.json().error === 'forbidden', 2000, 'forbidden error');
  await sleep(200);
  assert.equal(
    inbox.count((m) => m.json().error === 'forbidden'),
    6,
  );
  assert.ok(dev.connected, 'no disconnect loop');
  assert.equal(
    st.inbox.count((m) => m.topic === 'smokehub/station/alarm'),
    0,
    'nothing raised',
  );
  // subscriptions outside its household are refused with SUBACK 0x80
  const granted = await dev
    .subscribeAsync(['smokehub/h/t1-h2/alert', 'smokehub/#', 'smokehub/station/alarm', 'smokehub/h/t1-h1/alert'])
    .catch((e: any) => e.packet?.granted ?? e.granted);
  const codes = Array.isArray(granted) ? granted.map((g: any) => (typeof g === 'number' ? g : g.qos)) : [];
  assert.deepEqual(codes, [128, 128, 128, 0]);
});

test('ACL: station users subscribe to everything and publish only responses; team leaders see their team', async () => {
  const leader = await th.hub.registry.addUser({ username: 'leader1', role: 'team-leader', team: 't1', password: 'leader-password-1' });
  assert.equal(leader.user.team, 't1');
  const lc = await pool.connect(th.mqttUrl, { clientId: 'leader1-c', username: 'leader1', password: 'leader-password-1' });
  const g1 = await lc.subscribeAsync(['smokehub/h/t1-h1/alert', 'smokehub/h/t2-h1/alert', 'smokehub/#']).catch((e: any) => e.packet?.granted);
  assert.deepEqual(
    g1.map((g: any) => (typeof g === 'number' ? g : g.qos)),
    [0, 128, 128],
  );
  const st = await station();
  const stErr = new Inbox(st.c);
  await st.c.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', evt('smoke'), { qos: 1 });
  await sleep(300);
  assert.equal(
    stErr.count((m) => m.topic === 'smokehub/station/alarm'),
    0,
    'a station user cannot raise device events',
  );
  assert.ok(st.c.connected);
});

test('bad input gets a clear error on the device error topic, the hub keeps running, nothing is raised', async () => {
  const dev = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  const inbox = new Inbox(dev);
  await dev.subscribeAsync('smokehub/h/t1-h2/d/t1-h2-smoke/error');
  const st = await station();
  const faults: string[] = [];
  const onEvent = (ref: any, e: any) => e.type === 'fault' && faults.push(ref.device);
  const offEvent = th.hub.ctx.bus.on('test', 'device-event', onEvent);
  const base = 'smokehub/h/t1-h2/d/t1-h2-smoke';
  const cases: Array<[string, string | Buffer, string]> = [
    [`${base}/event`, '{not json', 'bad_json'],
    [`${base}/event`, JSON.stringify({ id: 'x1', type: 'fire' }), 'unknown_type'],
    [`${base}/event`, JSON.stringify({ id: 42, type: 'smoke' }), 'bad_field'],
    [`${base}/event`, JSON.stringify({ id: 'x2', type: 'smoke', level: 'high' }), 'bad_field'],
    [`${base}/event`, JSON.stringify([1, 2]), 'bad_payload'],
    [`${base}/event`, Buffer.alloc(5000, 0x41), 'oversize'],
    [`${base}/telemetry`, JSON.stringify({ battery: 250 }), 'bad_field'],
    [`${base}/status`, 'maybe', 'bad_payload'],
  ];
  for (const [topic, payload, code] of cases) {
    inbox.clear();
    await dev.publishAsync(topic, payload, { qos: 1 });
    const m = await inbox.next(() => true, 2000, `error ${code}`);
    assert.equal(m.json().error, code, `${topic} ${String(payload).slice(0, 30)}`);
    assert.ok(m.json().issues[0].message.length > 5);
  }
  offEvent();
  assert.ok(faults.length >= 5 && faults.every((d) => d === 't1-h2-smoke'), 'a malformed detector message marks it fault');
  assert.ok(dev.connected);
  assert.equal(
    st.inbox.count((m) => m.topic === 'smokehub/station/alarm'),
    0,
    'garbage never raises (or clears) an alarm',
  );
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /smokehub_rejects_total\{channel="event",reason="bad_json"\} [1-9]/);
});

test('telemetry: valid fields are kept while invalid fields are reported one by one', async () => {
  const dev = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  const inbox = new Inbox(dev);
  await dev.subscribeAsync('smokehub/h/t1-h3/d/t1-h3-smoke/error');
  const got: any[] = [];
  const onT = (_ref: any, r: any) => got.push(r);
  const offT = th.hub.ctx.bus.on('test', 'telemetry', onT);
  await dev.publishAsync('smokehub/h/t1-h3/d/t1-h3-smoke/telemetry', JSON.stringify({ smoke: 12, battery: 'full', temperature: 31.5, foo: 1 }), { qos: 1 });
  const err = await inbox.next(() => true, 2000);
  offT();
  assert.deepEqual(
    err
      .json()
      .issues.map((i: any) => i.field)
      .sort(),
    ['battery', 'foo'],
  );
  assert.deepEqual(got[0].values, { smoke: 12, temperature: 31.5 });
});

test('status (retained, with a last will) and the station sees it', async () => {
  const cred = th.device('t2-h2-smoke');
  const dev = await pool.device(th.mqttUrl, cred, {
    will: { topic: 'smokehub/h/t2-h2/d/t2-h2-smoke/status', payload: Buffer.from('offline'), retain: true, qos: 1 },
  });
  await dev.publishAsync('smokehub/h/t2-h2/d/t2-h2-smoke/status', 'online', { retain: true, qos: 1 });
  const st = await station();
  const m = await st.inbox.next((x) => x.topic === 'smokehub/h/t2-h2/d/t2-h2-smoke/status', 2000, 'retained status');
  assert.equal(m.payload, 'online');
  dev.stream.destroy(); // an abrupt drop: the will fires
  const w = await st.inbox.next((x) => x.topic === 'smokehub/h/t2-h2/d/t2-h2-smoke/status' && x.payload === 'offline', 3000, 'last will');
  assert.equal(w.payload, 'offline');
});

test('the hub sends commands on the device cmd topic', async () => {
  const dev = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const inbox = new Inbox(dev);
  await dev.subscribeAsync('smokehub/h/t1-h1/d/t1-h1-smoke/cmd', { qos: 1 });
  th.hub.ctx.mqtt.publish('smokehub/h/t1-h1/d/t1-h1-smoke/cmd', JSON.stringify({ cmd: 'test' }), { qos: 1 });
  const m = await inbox.next(() => true, 2000);
  assert.equal(m.json().cmd, 'test');
});

test('mosquitto_pub and mosquitto_sub speak the contract too', async () => {
  const port = String(th.hub.mqttPort);
  const sub = th.device('t1-h2-smoke');
  const child = spawn('mosquitto_sub', [
    '-h',
    '127.0.0.1',
    '-p',
    port,
    '-i',
    sub.device,
    '-u',
    sub.device,
    '-P',
    sub.secret,
    '-t',
    'smokehub/h/t1-h2/alert',
    '-q',
    '1',
    '-C',
    '1',
    '-W',
    '10',
  ]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // 'close', not 'exit': stdout may still hold the message when the process exits.
  const exited = new Promise<number | null>((r) => child.on('close', r));
  try {
    await sleep(500);
    const pub = th.device('t1-h1-smoke');
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-i',
      pub.device,
      '-u',
      pub.device,
      '-P',
      pub.secret,
      '-t',
      'smokehub/h/t1-h1/d/t1-h1-smoke/event',
      '-q',
      '1',
      '-m',
      evt('smoke'),
    ]);
    assert.equal(await exited, 0);
    const view = JSON.parse(out.trim());
    assert.equal(view.origin.household, 't1-h1');
    assert.equal(view.state, 'active');
  } finally {
    child.kill();
  }
  // a wrong password is refused by CONNACK
  await assert.rejects(
    run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-i', 't1-h1-smoke', '-u', 't1-h1-smoke', '-P', 'nope-nope-nope', '-t', 'x', '-m', 'y']),
  );
});

test('an oversize MQTT packet cuts that connection before it is buffered; the hub keeps serving', async () => {
  const { connect } = await import('node:net');
  const mqttPacket = (await import('mqtt-packet')).default;
  const cred = th.device('t2-h3-smoke');
  const s = connect(th.hub.mqttPort, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const connack = new Promise<Buffer>((r) => s.once('data', r));
  s.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: cred.device,
      keepalive: 0,
      username: cred.device,
      password: Buffer.from(cred.secret),
    } as any),
  );
  assert.deepEqual([...(await connack)], [0x20, 0x02, 0x00, 0x00], 'CONNACK accepted');
  // announce a 10 MB publish; send only its first bytes
  const header = mqttPacket
    .generate({
      cmd: 'publish',
      topic: 'smokehub/h/t2-h3/d/t2-h3-smoke/telemetry',
      payload: Buffer.alloc(10 * 1024 * 1024),
      qos: 0,
      retain: false,
      dup: false,
    } as any)
    .subarray(0, 4096);
  const closed = new Promise((r) => s.once('close', () => r('closed')));
  s.write(header);
  assert.equal(await Promise.race([closed, sleep(5000).then(() => 'still open')]), 'closed');
  s.destroy();
  const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
  assert.match(metrics, /smokehub_rejects_total\{channel="packet",reason="oversize"\} [1-9]/);
  const ok = await pool.device(th.mqttUrl, cred);
  assert.ok(ok.connected);
});

test('MQTT over WebSocket at /mqtt: a device raises an alarm; an oversize packet spread over frames is cut', async () => {
  const cred = th.device('t2-h2-panic');
  const dev = await pool.connect(th.wsUrl, { clientId: cred.device, username: cred.device, password: cred.secret });
  const st = await station();
  await dev.publishAsync('smokehub/h/t2-h2/d/t2-h2-panic/event', evt('panic'), { qos: 1 });
  const m = await st.inbox.next((x) => x.topic === 'smokehub/station/alarm' && x.json().origin.household === 't2-h2', 3000, 'alarm over ws');
  assert.equal(m.json().kind, 'panic');

  const { WebSocket } = await import('ws');
  const mqttPacket = (await import('mqtt-packet')).default;
  const ws = new WebSocket(th.wsUrl, 'mqtt');
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const closed = new Promise((r) => ws.once('close', () => r('closed')));
  const other = th.device('t2-h3-panic');
  ws.send(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: other.device,
      keepalive: 0,
      username: other.device,
      password: Buffer.from(other.secret),
    } as any),
  );
  await new Promise((r) => ws.once('message', r)); // CONNACK
  const big = mqttPacket.generate({
    cmd: 'publish',
    topic: 'smokehub/h/t2-h3/d/t2-h3-panic/telemetry',
    payload: Buffer.alloc(1024 * 1024),
    qos: 0,
    retain: false,
    dup: false,
  } as any);
  for (let i = 0; i < 4; i++) ws.send(big.subarray(i * 32 * 1024, (i + 1) * 32 * 1024));
  assert.equal(await Promise.race([closed, sleep(5000).then(() => 'still open')]), 'closed');
});

test('a bus listener that throws cannot break the alarm path: the alert goes out, deadlines are armed, the failure is counted', async () => {
  th.hub.ctx.bus.on('thrower', 'alarm-changed', () => {
    throw new Error('listener bug');
  });
  th.hub.ctx.bus.on('thrower', 'device-event', () => {
    throw new Error('listener bug');
  });
  try {
    const origin = await pool.device(th.mqttUrl, th.device('t2-h1-smoke'));
    const neighbour = await pool.device(th.mqttUrl, th.device('t2-h2-smoke'));
    const inbox = new Inbox(neighbour);
    await neighbour.subscribeAsync('smokehub/h/t2-h2/alert', { qos: 1 });
    await origin.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/event', evt('smoke'), { qos: 1 });
    const alert = (await inbox.next((m) => m.json().state === 'active', 2000, 'alert despite the throwing listener')).json();
    const open = th.hub.alarms.openViews().find((v) => v.alarm === alert.alarm);
    assert.ok(open, 'the alarm is open');
    // the escalation deadline is armed (verify window 0: active at once, escalates after escalate-after)
    const record = (th.hub.alarms as any).d.engine.get(alert.alarm);
    assert.ok(record.escalateDeadline > Date.now(), 'the escalation deadline is armed');
    assert.ok((th.hub.alarms as any).timerAt !== null, 'the service timer is set');
    const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
    assert.match(metrics, /smokehub_bus_listener_errors_total\{event="alarm-changed",owner="thrower"\} [1-9]/);
    assert.match(metrics, /smokehub_bus_listener_errors_total\{event="device-event",owner="thrower"\} [1-9]/);
  } finally {
    th.hub.ctx.bus.removeOwner('thrower');
  }
});
