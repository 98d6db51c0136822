/**
 * Home Assistant end to end (docs/home-assistant.md): a real hub with --homeassistant, an MQTT.js
 * client acting as HA (connected as the household's user, subscribed to its discovery prefix,
 * sending HA's birth message), a neighbour's detector raising an alarm, HA pressing "I'm coming",
 * the station resolving it; the ACL and bad presses; availability offline when the hub stops.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, type Received } from '../../helpers/mqtt-clients.ts';
import { canPublish, canSubscribe, type Principal } from '../../../hub/core/acl.ts';

const H = 't1-h2';
const PREFIX = `smokehub/h/${H}/homeassistant`;
const USER = 'lan';
const PASSWORD = 'household-password-lan';
/** HA's own rule for entity ids (homeassistant/core/helpers valid_entity_id). */
const ENTITY_ID_RE = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;
const principal: Principal = { type: 'user', username: USER, role: 'household', team: 't1', household: H };

let th: TestHub;
let restarted: TestHub | undefined;
const pool = new ClientPool();
let ha: MqttClient;
let inbox: Inbox;
let station: string;
let seq = 0;
const evt = (type: string) => JSON.stringify({ id: `ha-e${++seq}-${Date.now()}`, type });

/** The latest message on a topic (retained state is republished; the last one counts). */
const latest = (topic: string) => [...inbox.messages].reverse().find((m) => m.topic === topic);
/** Waits for a state on `…/state` that satisfies `pred` (seen already, or the next one). */
async function stateWhere(pred: (s: any) => boolean, what: string): Promise<any> {
  const topic = `${PREFIX}/state`;
  const last = latest(topic);
  if (last?.payload && pred(last.json())) return last.json();
  const m = await inbox.next((x: Received) => x.topic === topic && x.payload !== '' && pred(x.json()) && x === latest(topic), 5000, what);
  return m.json();
}
/** A counter's value for the given labels (0 when it has none yet). */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${th.httpUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

before(async () => {
  th = await startTestHub({ config: { homeassistant: true, verifyWindowS: 0 } });
  await th.hub.registry.addUser({ username: USER, role: 'household', household: H, password: PASSWORD });
  station = await th.login('admin', th.adminPassword);
  ha = await pool.connect(th.mqttUrl, { clientId: 'home-assistant-lan', username: USER, password: PASSWORD });
  inbox = new Inbox(ha);
  const granted = await ha.subscribeAsync(`${PREFIX}/#`, { qos: 1 });
  assert.equal(granted[0]!.qos, 1, 'HA may subscribe to its discovery prefix');
});
after(async () => {
  await pool.closeAll();
  await restarted?.stop();
  await th?.stop();
});

test("HA's birth message gets the household's discovery configs, availability online and the state OFF; every topic a config names is HA's to read or press", async () => {
  await ha.publishAsync(`${PREFIX}/status`, 'online', { qos: 1 });
  const configs = new Map<string, any>();
  for (const component of ['binary_sensor', 'sensor', 'button']) {
    await inbox.next((m) => m.topic.startsWith(`${PREFIX}/${component}/`) && m.topic.endsWith('/config'), 5000, `${component} config`);
  }
  await inbox.next((m) => m.topic === `${PREFIX}/availability` && m.payload === 'online', 5000, 'availability online');
  const state = await stateWhere((s) => s.alarm === 'OFF', 'state OFF');
  assert.equal(state.state, 'none');
  // All five have come (the broker delivers a publisher's messages in order; the state came last).
  for (const m of inbox.messages) if (m.topic.endsWith('/config')) configs.set(m.topic, m.json());
  assert.equal(configs.size, 5);
  const byName = new Map([...configs.values()].map((c) => [c.name, c]));
  assert.equal(byName.get('Fire alarm in my team')?.device_class, 'smoke');
  assert.deepEqual(
    ["I'm coming", 'Cannot come', 'Need help'].map((n) => byName.get(n)?.payload_press),
    ['coming', 'unable', 'need-help'],
  );
  const uniques = new Set<string>();
  for (const [topic, c] of configs) {
    assert.match(topic, new RegExp(`^${PREFIX}/(binary_sensor|sensor|button)/[A-Za-z0-9_-]+/config$`));
    assert.ok(!uniques.has(c.unique_id));
    uniques.add(c.unique_id);
    assert.match(c.default_entity_id, ENTITY_ID_RE);
    assert.equal(c.availability[0].topic, `${PREFIX}/availability`);
    for (const [k, v] of Object.entries(c))
      if (k.endsWith('_topic')) assert.ok(canSubscribe(principal, v as string, th.hub.registry.teamOf.bind(th.hub.registry)), `${k} readable`);
    if (c.command_topic) assert.ok(canPublish(principal, c.command_topic), 'command topic publishable');
  }
  // Retained: an HA that connects later gets them at once.
  const late = await pool.connect(th.mqttUrl, { clientId: 'home-assistant-lan-2', username: USER, password: PASSWORD });
  const lateInbox = new Inbox(late);
  await late.subscribeAsync(`${PREFIX}/+/+/config`, { qos: 1 });
  await lateInbox.next(() => lateInbox.count((m) => m.topic.endsWith('/config')) === 5, 5000, 'five retained configs');
  await late.endAsync();
});

test("a device's battery level becomes a battery sensor of its own", async () => {
  const det = await pool.device(th.mqttUrl, th.device(`${H}-smoke`));
  await det.publishAsync(`smokehub/h/${H}/d/${H}-smoke/telemetry`, JSON.stringify({ battery: 87 }), { qos: 1 });
  const cfg = await inbox.next((m) => m.topic.includes('/sensor/') && m.topic.includes('battery') && m.topic.endsWith('/config'), 5000, 'battery config');
  const c = cfg.json();
  assert.equal(c.device_class, 'battery');
  assert.equal(c.state_topic, `${PREFIX}/battery/${H}-smoke`);
  const st = await inbox.next((m) => m.topic === `${PREFIX}/battery/${H}-smoke`, 5000, 'battery state');
  assert.equal(st.json().battery, 87);
});

test("a neighbour's fire turns the binary sensor ON; \"I'm coming\" is journalled as the household user's response; the stand-down turns it OFF", async () => {
  const det = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  await det.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', evt('smoke'), { qos: 1 });
  const on = await stateWhere((s) => s.alarm === 'ON', 'state ON');
  assert.equal(on.state, 'active');
  assert.equal(on.kind, 'smoke');
  assert.equal(on.origin_household, 't1-h1');
  assert.equal(on.own, false);
  assert.equal(on.responders, 0);
  const alarmId: string = on.respond_to;
  assert.equal(alarmId, on.alarm_id);

  await ha.publishAsync(`${PREFIX}/respond`, 'coming', { qos: 1 });
  const answered = await stateWhere((s) => s.my_response === 'coming', 'my_response coming');
  assert.equal(answered.responders, 1);
  assert.equal(answered.coming, 1);
  const detail = await th.api(station, `/api/alarms/${alarmId}`);
  assert.equal(detail.status, 200);
  const r = detail.body.responders.find((x: any) => x.household === H);
  assert.equal(r?.response, 'coming');
  assert.deepEqual(r?.by, { kind: 'user', id: USER, role: 'household' });
  assert.equal(r?.via, 'mqtt');

  // Another household's buttons are not HA's to press (ACL); a garbage press does nothing.
  const aclBefore = await metric('smokehub_rejects_total', { channel: 'acl', reason: 'forbidden' });
  const badBefore = await metric('smokehub_rejects_total', { channel: 'homeassistant', reason: 'bad_payload' });
  await ha.publishAsync('smokehub/h/t1-h3/homeassistant/respond', 'coming', { qos: 1 });
  await ha.publishAsync(`${PREFIX}/respond`, 'launch-the-rockets', { qos: 1 });
  await ha.publishAsync(`${PREFIX}/respond`, JSON.stringify({ alarm: alarmId, response: 'need-help' }), { qos: 1 });
  // PUBACKs came: both were handled.
  assert.equal(await metric('smokehub_rejects_total', { channel: 'acl', reason: 'forbidden' }), aclBefore + 1);
  assert.equal(await metric('smokehub_rejects_total', { channel: 'homeassistant', reason: 'bad_payload' }), badBefore + 2);
  const after = (await th.api(station, `/api/alarms/${alarmId}`)).body;
  assert.deepEqual(
    after.responders.map((x: any) => [x.household, x.response]),
    [[H, 'coming']],
    'neither t1-h3 nor a need-help was recorded',
  );
  assert.equal(after.escalation ?? null, null);

  const resolved = await th.api(station, `/api/alarms/${alarmId}/resolve`, { method: 'POST', body: '{}' });
  assert.equal(resolved.status, 200);
  const off = await stateWhere((s) => s.alarm === 'OFF', 'state OFF after the stand-down');
  assert.equal(off.state, 'none');
  assert.equal(off.respond_to, null);

  // No alarm to answer: counted, nothing recorded.
  const before = await metric('smokehub_homeassistant_presses_total', { response: 'unable', outcome: 'no_alarm' });
  await ha.publishAsync(`${PREFIX}/respond`, 'unable', { qos: 1 });
  assert.equal(await metric('smokehub_homeassistant_presses_total', { response: 'unable', outcome: 'no_alarm' }), before + 1);
});

test('a graceful stop leaves availability offline; after a restart during an alarm, HA finds online and the open alarm at once, without a birth message', async () => {
  const det = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  await det.publishAsync('smokehub/h/t1-h3/d/t1-h3-smoke/event', evt('smoke'), { qos: 1 });
  const on = await stateWhere((s) => s.alarm === 'ON' && s.origin_household === 't1-h3', 'state ON for t1-h3');
  const offline = inbox.next((m) => m.topic === `${PREFIX}/availability` && m.payload === 'offline', 10_000, 'availability offline');
  await th.hub.stop();
  await offline;
  await pool.closeAll();

  restarted = await startTestHub({ dataDir: th.dataDir, config: { homeassistant: true, verifyWindowS: 0 } });
  const again = await pool.connect(restarted.mqttUrl, { clientId: 'home-assistant-lan', username: USER, password: PASSWORD });
  const retained = new Inbox(again);
  await again.subscribeAsync(`${PREFIX}/#`, { qos: 1 });
  await retained.next((m) => m.topic === `${PREFIX}/availability` && m.payload === 'online', 5000, 'online after the restart');
  const st = await retained.next((m) => m.topic === `${PREFIX}/state` && m.payload !== '' && m.json().alarm === 'ON', 5000, 'the open alarm after the restart');
  assert.equal(st.json().alarm_id, on.alarm_id);
  assert.equal(
    retained.count((m) => m.topic.endsWith('/config')),
    6,
    '5 household configs and the battery sensor, retained',
  );
});
