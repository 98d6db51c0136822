/** Home Assistant discovery and state: what HA is told, that the ACL lets HA read and press it, and the state's rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batteryConfig,
  BUTTON_RESPONSES,
  entitySlug,
  HA_ALARM_STATES,
  haTopics,
  householdConfigs,
  objectIdPart,
  type DiscoveryOptions,
} from '../../../hub/homeassistant/discovery.ts';
import { householdState, mostUrgent, parsePress, respondTarget, sameState } from '../../../hub/homeassistant/ha-state.ts';
import { canPublish, canSubscribe, type Principal } from '../../../hub/core/acl.ts';
import { isJournalledTopic, parseTopic } from '../../../hub/protocol/topics.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';

const opts: DiscoveryOptions = { lang: 'en', version: '0.1.0' };
const user = (household: string): Principal => ({ type: 'user', username: `ha-${household}`, role: 'household', team: 't1', household });
const teamOf = (h: string) => (h.startsWith('t1-') ? 't1' : 't2');
/** HA's own rule for entity ids (homeassistant/core/helpers valid_entity_id). */
const ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;

function view(over: Omit<Partial<AlarmView>, 'origin'> & { origin?: string }): AlarmView {
  const { origin, ...rest } = over;
  const o = origin ?? 't1-h1';
  return {
    alarm: `A-${o}`,
    state: 'active',
    kind: 'smoke',
    team: 't1',
    origin: { household: o, name: `Nhà ${o}`, address: `1 Lê Lợi ${o}`, lat: null, lon: null, device: `${o}-smoke` },
    raisedAt: 1_000,
    updatedAt: 1_000,
    responders: [],
    escalation: null,
    ...rest,
  };
}

test('a household gets a smoke binary sensor, an alarm-state sensor and three buttons, each under its own discovery prefix', () => {
  const msgs = householdConfigs({ id: 't1-h2', name: 'Nhà Lan' }, opts);
  assert.deepEqual(
    msgs.map((m) => m.topic),
    [
      'smokehub/h/t1-h2/homeassistant/binary_sensor/smokehub_t1-h2_fire_alarm/config',
      'smokehub/h/t1-h2/homeassistant/sensor/smokehub_t1-h2_alarm_state/config',
      'smokehub/h/t1-h2/homeassistant/button/smokehub_t1-h2_coming/config',
      'smokehub/h/t1-h2/homeassistant/button/smokehub_t1-h2_unable/config',
      'smokehub/h/t1-h2/homeassistant/button/smokehub_t1-h2_need_help/config',
    ],
  );
  const [fire, state, ...buttons] = msgs.map((m) => m.config);
  assert.equal(fire!.device_class, 'smoke');
  assert.equal(fire!.name, 'Fire alarm in my team');
  assert.equal(fire!.state_topic, 'smokehub/h/t1-h2/homeassistant/state');
  assert.equal(fire!.value_template, '{{ value_json.alarm }}');
  assert.deepEqual(state!.options, [...HA_ALARM_STATES]);
  assert.deepEqual(
    buttons.map((b) => [b.name, b.command_topic, b.payload_press]),
    [
      ["I'm coming", 'smokehub/h/t1-h2/homeassistant/respond', 'coming'],
      ['Cannot come', 'smokehub/h/t1-h2/homeassistant/respond', 'unable'],
      ['Need help', 'smokehub/h/t1-h2/homeassistant/respond', 'need-help'],
    ],
  );
  for (const m of msgs) {
    const c = m.config as Record<string, any>;
    assert.equal(c.unique_id, m.objectId);
    assert.match(c.default_entity_id, ENTITY_ID, `${c.default_entity_id} is a valid HA entity id`);
    assert.ok(c.default_entity_id.startsWith(`${m.component}.`));
    assert.deepEqual(c.availability, [{ topic: 'smokehub/h/t1-h2/homeassistant/availability', payload_available: 'online', payload_not_available: 'offline' }]);
    assert.deepEqual(c.device.identifiers, ['smokehub_t1-h2']);
    assert.equal(c.device.name, 'smokehub Nhà Lan');
    assert.equal(c.origin.name, 'smokehub');
    assert.ok(JSON.stringify(c).length < 1024, 'a config fits a small packet');
  }
});

test('the ACL: HA (the household user) may read every topic a config names and publish its command topics; nobody else may press, nobody may forge configs', () => {
  const msgs = [...householdConfigs({ id: 't1-h2', name: 'x' }, opts), batteryConfig({ id: 't1-h2', name: 'x' }, { id: 't1-h2-smoke', kind: 'smoke' }, opts)];
  const ha = user('t1-h2');
  const other = user('t1-h3');
  for (const m of msgs) {
    assert.equal(parseTopic(m.topic)?.scope, 'homeassistant');
    assert.ok(canSubscribe(ha, m.topic, teamOf), `HA reads ${m.topic}`);
    assert.ok(!canPublish(ha, m.topic), `HA cannot forge ${m.topic}`);
    const c = m.config as Record<string, any>;
    for (const [k, v] of Object.entries(c)) {
      if (k.endsWith('_topic')) assert.ok(canSubscribe(ha, v as string, teamOf), `HA reads ${k} ${v}`);
    }
    for (const a of c.availability) assert.ok(canSubscribe(ha, a.topic, teamOf));
    if (c.command_topic) {
      assert.ok(canPublish(ha, c.command_topic), `HA publishes ${c.command_topic}`);
      assert.ok(!canPublish(other, c.command_topic), 'another household cannot press for t1-h2');
      assert.ok(isJournalledTopic(c.command_topic), 'a press is acknowledged once journalled');
    }
  }
  assert.ok(canSubscribe(ha, 'smokehub/h/t1-h2/homeassistant/#', teamOf), 'HA subscribes to its whole prefix');
  assert.ok(!canSubscribe(other, 'smokehub/h/t1-h2/homeassistant/#', teamOf));
  assert.ok(canPublish(ha, haTopics.status('t1-h2')), 'HA publishes its birth message');
});

test('ids with a dot (Zigbee devices) become distinct discovery levels; entity ids are HA slugs', () => {
  assert.equal(objectIdPart('t1-h1_smoke'), 't1-h1_smoke');
  const a = objectIdPart('gw1.0x00124b001');
  const b = objectIdPart('gw1_0x00124b001');
  assert.match(a, /^[A-Za-z0-9_-]+$/);
  assert.notEqual(a, b);
  assert.notEqual(objectIdPart('a.b'), objectIdPart('a-b'));
  assert.equal(entitySlug('smokehub_T1-H1__x.'), 'smokehub_t1_h1_x');
  const bat = batteryConfig({ id: 't1-h1', name: 'x' }, { id: 'gw1.0x00124b001', kind: 'smoke' }, opts);
  assert.match(bat.topic, /^smokehub\/h\/t1-h1\/homeassistant\/sensor\/smokehub_gw1_0x00124b001_[0-9a-f]{8}_battery\/config$/);
  const c = bat.config as Record<string, any>;
  assert.equal(c.device_class, 'battery');
  assert.equal(c.unit_of_measurement, '%');
  assert.equal(c.state_topic, 'smokehub/h/t1-h1/homeassistant/battery/gw1.0x00124b001');
  assert.deepEqual(c.device.identifiers, ['smokehub_gw1.0x00124b001']);
  assert.equal(c.device.via_device, 'smokehub_t1-h1');
  assert.match(c.default_entity_id, ENTITY_ID);
});

test('Vietnamese names with --homeassistant-language vi', () => {
  const msgs = householdConfigs({ id: 't1-h1', name: 'x' }, { ...opts, lang: 'vi' });
  assert.deepEqual(
    msgs.map((m) => m.config.name),
    ['Báo cháy trong tổ', 'Trạng thái báo cháy', 'Tôi đang đến', 'Không đến được', 'Cần giúp đỡ'],
  );
  assert.equal(batteryConfig({ id: 't1-h1', name: 'x' }, { id: 'd', kind: 'co' }, { ...opts, lang: 'vi' }).config.name, 'Pin');
});

test('no alarm: OFF, state none, nothing to answer', () => {
  const s = householdState('t1-h2', [], 5_000);
  assert.equal(s.alarm, 'OFF');
  assert.equal(s.state, 'none');
  assert.equal(s.respond_to, null);
  assert.equal(s.at, new Date(5_000).toISOString());
});

test("a neighbour's active alarm: ON, its origin shown, the buttons answer it, responders counted", () => {
  const v = view({
    responders: [
      { household: 't1-h3', response: 'coming', at: 2 },
      { household: 't1-h2', response: 'unable', at: 3 },
      { household: 't1-h2', response: 'coming', at: 4 },
    ],
    escalation: null,
  });
  const s = householdState('t1-h2', [v], 5_000);
  assert.equal(s.alarm, 'ON');
  assert.equal(s.state, 'active');
  assert.equal(s.alarm_id, 'A-t1-h1');
  assert.equal(s.origin_household, 't1-h1');
  assert.equal(s.origin_name, 'Nhà t1-h1');
  assert.equal(s.origin_address, '1 Lê Lợi t1-h1');
  assert.equal(s.raised_at, new Date(1_000).toISOString());
  assert.equal(s.own, false);
  assert.equal(s.responders, 2);
  assert.equal(s.coming, 2);
  assert.equal(s.my_response, 'coming', 'the last answer counts');
  assert.equal(s.respond_to, 'A-t1-h1');
});

test('the own pre-alarm is ON but not answerable by the buttons; a hushed neighbour alarm is OFF (stand-down) but shown', () => {
  const own = householdState('t1-h1', [view({ state: 'pre-alarm' })], 0);
  assert.equal(own.alarm, 'ON');
  assert.equal(own.own, true);
  assert.equal(own.respond_to, null);
  const hushed = householdState('t1-h2', [view({ state: 'hushed' })], 0);
  assert.equal(hushed.alarm, 'OFF');
  assert.equal(hushed.state, 'hushed');
  const ownHushed = householdState('t1-h1', [view({ state: 'hushed' })], 0);
  assert.equal(ownHushed.alarm, 'OFF');
});

test('the most urgent alarm is shown: escalated before active, a real alarm before a drill, then the latest', () => {
  const a = view({ origin: 't1-h1', state: 'active', raisedAt: 1 });
  const e = view({ origin: 't1-h3', state: 'escalated', raisedAt: 0, escalation: 'not-cancelled-in-time' });
  const d = view({ origin: 't1-h4', state: 'escalated', kind: 'drill', raisedAt: 9 });
  const later = view({ origin: 't1-h5', state: 'active', raisedAt: 7 });
  assert.equal(mostUrgent([a, e, d])?.alarm, e.alarm);
  assert.equal(mostUrgent([a, d])?.alarm, a.alarm);
  assert.equal(mostUrgent([a, later])?.alarm, later.alarm);
  const s = householdState('t1-h2', [a, e, d], 0);
  assert.equal(s.escalation, 'not-cancelled-in-time');
  assert.equal(s.open_alarms, 3);
  const drill = householdState('t1-h2', [d], 0);
  assert.equal(drill.alarm, 'ON');
  assert.equal(drill.drill, true);
  assert.equal(drill.kind, 'drill');
});

test('the buttons answer the latest alarm of another household that sounds, else the latest other one', () => {
  const old = view({ origin: 't1-h1', raisedAt: 1 });
  const newer = view({ origin: 't1-h3', raisedAt: 5 });
  const hushed = view({ origin: 't1-h4', state: 'hushed', raisedAt: 9 });
  const own = view({ origin: 't1-h2', raisedAt: 10 });
  assert.equal(respondTarget([old, newer, hushed, own], 't1-h2')?.alarm, newer.alarm);
  assert.equal(respondTarget([hushed, own], 't1-h2')?.alarm, hushed.alarm);
  assert.equal(respondTarget([own], 't1-h2'), null);
});

test('states that differ only in time are the same; presses are the three answers only', () => {
  assert.ok(sameState(householdState('t1-h2', [view({})], 1), householdState('t1-h2', [view({})], 2)));
  assert.ok(!sameState(householdState('t1-h2', [view({})], 1), householdState('t1-h2', [], 1)));
  for (const r of BUTTON_RESPONSES) assert.equal(parsePress(Buffer.from(r)), r);
  assert.equal(parsePress(' coming\n'), 'coming');
  for (const bad of ['false-alarm', '{"response":"coming"}', '', 'x'.repeat(100)]) assert.equal(parsePress(bad), null);
});
