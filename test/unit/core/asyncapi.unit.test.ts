/**
 * docs/asyncapi.yaml is the generated document (never stale), names every channel of topics.ts
 * and of the household trees (z2m, homeassistant) exactly once with the ACL's publishers and
 * subscribers, and holds together as AsyncAPI 3.0 (every $ref resolves, operations use their
 * channel's messages, address parameters declared). The trees' schemas accept what Zigbee2MQTT
 * really publishes (test/fixtures/z2m/) and what the hub itself builds (siren commands, Home
 * Assistant discovery, state and battery), and agree with the hub's readers on samples. The
 * checks are functions, so that the last tests can show that each one fails on a broken table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ASYNCAPI_PATH, renderAsyncApiYaml } from '../../../scripts/asyncapi.ts';
import { buildAsyncApi, DEFAULT_PORTS, TREE_LIMITS } from '../../../hub/protocol/asyncapi.ts';
import { channelOfTopic, MQTT_CHANNELS, PARTIES, TREE_CHANNELS, treeChannelOf, type ChannelSpec, type Party } from '../../../hub/protocol/mqtt-channels.ts';
import {
  HA_ALARM_STATES,
  HA_BUTTON_RESPONSES,
  HA_COMPONENTS,
  MQTT_SCHEMAS,
  Z2M_IEEE_PATTERN,
  type MqttSchemaName,
} from '../../../hub/protocol/mqtt-schemas.ts';
import { DEVICE_CHANNELS, HOUSEHOLD_CHANNELS, HOUSEHOLD_TREES, parseTopic, STATION_CHANNELS, topics } from '../../../hub/protocol/topics.ts';
import { ALARM_KINDS, OPEN_ALARM_STATES, RESPONSES, type AlarmView } from '../../../hub/protocol/schema.ts';
import { canPublish, canSubscribe, HOMEASSISTANT_PUBLISH_PATHS, type Principal } from '../../../hub/core/acl.ts';
import { CONFIG_SPEC } from '../../../hub/config/config.ts';
import { MAX_GATEWAY_PACKET_BYTES } from '../../../hub/broker/transports.ts';
import { MAX_TREE_PAYLOAD_BYTES } from '../../../hub/broker/message-router.ts';
import { IEEE_PATTERN, readDeviceEntry, readDeviceList, readOnlineState, type ZigbeeDeviceInfo } from '../../../hub/zigbee/z2m-devices.ts';
import { MAX_STATE_BYTES } from '../../../hub/zigbee/z2m-gateways.ts';
import { translateState } from '../../../hub/zigbee/z2m-state.ts';
import { sirenStart, sirenStop } from '../../../hub/zigbee/siren-commands.ts';
import { ZigbeeSirens } from '../../../hub/zigbee/zigbee-sirens.ts';
import type { ZigbeeChild } from '../../../hub/zigbee/zigbee-store.ts';
import {
  BUTTON_RESPONSES,
  HA_ALARM_STATES as DISCOVERY_ALARM_STATES,
  HA_LANGUAGES,
  batteryConfig,
  batteryState,
  haTopics,
  householdConfigs,
} from '../../../hub/homeassistant/discovery.ts';
import { householdState, parsePress } from '../../../hub/homeassistant/ha-state.ts';
import { HaHouseholds } from '../../../hub/homeassistant/ha-households.ts';
import type { User } from '../../../hub/store/registry-types.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';

type Obj = Record<string, any>;
const doc = buildAsyncApi() as Obj;

test('docs/asyncapi.yaml is the document generated from hub/protocol/ (else run `npm run docs:asyncapi`)', () => {
  const committed = readFileSync(ASYNCAPI_PATH, 'utf8');
  assert.ok(committed === renderAsyncApiYaml(), 'docs/asyncapi.yaml is stale: run `npm run docs:asyncapi` and commit it');
  assert.deepEqual(parse(committed), JSON.parse(JSON.stringify(doc)), 'the YAML reads back as the generated document');
});

test('building the document twice gives the same document (no clock, no randomness)', () => {
  assert.equal(JSON.stringify(buildAsyncApi()), JSON.stringify(doc));
  assert.equal(doc.asyncapi, '3.0.0');
  assert.equal(doc.info.version, '1');
});

/** Concrete values for the address parameters; friendly names with `/`, spaces and Vietnamese, as Z2M allows. */
const FRIENDLY_NAMES = ['bep/bao-khoi', 'Còi báo động', '0x000d6f0011f3a2b4', 'tầng 2/phòng ngủ/khói'];
interface Params {
  household: string;
  device: string;
  friendlyName: string;
  component: string;
  objectId: string;
}
const PARAMS: Params = {
  household: 't1-h1',
  device: 't1-h1-smoke',
  friendlyName: FRIENDLY_NAMES[0]!,
  component: 'sensor',
  objectId: 'smokehub_t1-h1_alarm_state',
};
const fill = (address: string, p: Params) => address.replace(/\{([A-Za-z]+)\}/g, (_, name: keyof Params) => p[name]);

/** The topic of a channel, built the way the hub and its clients build it (topics.ts, discovery.ts, zigbee-sirens.ts). */
function topicOf(c: ChannelSpec, p: Params): string {
  const h = p.household;
  const name = p.friendlyName.split('/');
  switch (c.scope) {
    case 'device':
      return topics.device(h, p.device, c.channel as (typeof DEVICE_CHANNELS)[number]);
    case 'household':
      return topics.household(h, c.channel as (typeof HOUSEHOLD_CHANNELS)[number]);
    case 'station':
      return topics.station(c.channel as (typeof STATION_CHANNELS)[number]);
    case 'z2m':
      if (c.channel === 'bridge/state' || c.channel === 'bridge/devices') return topics.z2m(h, ...c.channel.split('/'));
      return c.channel === 'state' ? topics.z2m(h, ...name) : topics.z2m(h, ...name, c.channel);
    case 'homeassistant':
      if (c.channel === 'config') return haTopics.config(h, p.component, p.objectId);
      if (c.channel === 'battery') return haTopics.battery(h, p.device);
      return haTopics[c.channel as 'availability' | 'state' | 'status' | 'respond'](h);
  }
}

/** What is wrong with a channel table's coverage of topics.ts and the trees (empty: nothing). */
function coverageProblems(channels: readonly ChannelSpec[]): string[] {
  const out: string[] = [];
  const expected = [
    ...DEVICE_CHANNELS.map((c) => `device/${c}`),
    ...HOUSEHOLD_CHANNELS.map((c) => `household/${c}`),
    ...STATION_CHANNELS.map((c) => `station/${c}`),
    ...HOUSEHOLD_TREES.flatMap((t) => TREE_CHANNELS[t].map((c) => `${t}/${c}`)),
  ];
  const actual = channels.map((c) => `${c.scope}/${c.channel}`);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) out.push(`channels ${actual.join(' ')} are not ${expected.join(' ')}`);
  if (new Set(channels.map((c) => c.id)).size !== channels.length) out.push('channel ids are not unique');
  if (new Set(channels.map((c) => c.address)).size !== channels.length) out.push('addresses are not unique');
  for (const c of channels) {
    for (const friendlyName of FRIENDLY_NAMES) {
      const p = { ...PARAMS, friendlyName };
      const concrete = fill(c.address, p);
      const parsed = parseTopic(concrete);
      if (!parsed) {
        out.push(`${c.id}: ${concrete} is not a topic of the contract`);
        continue;
      }
      const channel = 'channel' in parsed ? parsed.channel : treeChannelOf(parsed.scope, parsed.path);
      if (parsed.scope !== c.scope || channel !== c.channel) out.push(`${c.id}: ${concrete} reads as ${parsed.scope}/${channel}`);
      if (concrete !== topicOf(c, p)) out.push(`${c.id}: ${concrete} is not the topic built by the code, ${topicOf(c, p)}`);
      if (channelOfTopic(concrete)?.id !== c.id && channels === MQTT_CHANNELS) out.push(`${c.id}: channelOfTopic(${concrete})`);
    }
  }
  return out;
}

test('every channel of topics.ts and of the household trees appears exactly once, and nothing else', () => {
  assert.deepEqual(Object.keys(TREE_CHANNELS), [...HOUSEHOLD_TREES], 'every tree of topics.ts has its channels');
  assert.deepEqual(coverageProblems(MQTT_CHANNELS), []);
  // The document's channels: one per table row.
  assert.deepEqual(
    Object.keys(doc.channels),
    MQTT_CHANNELS.map((c) => c.id),
  );
  for (const c of MQTT_CHANNELS) assert.equal(doc.channels[c.id].address, c.address);
  // Tree topics that are none of the table's: Z2M's other bridge topics and commands the hub does not send.
  for (const path of ['bridge/info', 'bridge/definitions', 'bridge/logging', 'bridge/response/device/rename', 'bep/bao-khoi/get', 'bep/bao-khoi/set/warning']) {
    assert.equal(channelOfTopic(topics.z2m('t1-h1', ...path.split('/'))), null, `z2m ${path} is no channel`);
  }
  for (const path of ['status/x', 'battery', 'sensor/x/y/config', 'sensor/x/state', 'foo']) {
    assert.equal(channelOfTopic(topics.homeassistant('t1-h1', ...path.split('/'))), null, `homeassistant ${path} is no channel`);
  }
});

test('the document holds together: $refs resolve, operations use their channel and its messages, parameters are declared', () => {
  const resolve = (ref: string): unknown => {
    assert.ok(ref.startsWith('#/'), `${ref} is local`);
    let node: any = doc;
    for (const part of ref.slice(2).split('/')) {
      node = node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
      assert.ok(node !== undefined, `${ref} resolves`);
    }
    return node;
  };
  let refs = 0;
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (k === '$ref') {
          resolve(v as string);
          refs++;
        } else walk(v);
      }
    }
  };
  walk(doc);
  assert.ok(refs > 50, `${refs} refs checked`);

  const usedChannels: string[] = [];
  for (const [id, op] of Object.entries(doc.operations as Record<string, Obj>)) {
    const channelId = (op.channel.$ref as string).replace('#/channels/', '');
    const spec = MQTT_CHANNELS.find((c) => c.id === channelId);
    assert.ok(spec, `${id}: channel ${channelId}`);
    usedChannels.push(channelId);
    assert.equal(op.action, spec.direction === 'to-hub' ? 'receive' : 'send', `${id}: the hub receives what clients publish, sends the rest`);
    for (const m of op.messages as Obj[])
      assert.ok((m.$ref as string).startsWith(`#/channels/${channelId}/messages/`), `${id}: its messages are its channel's`);
    assert.deepEqual(op.bindings.mqtt, { qos: spec.qos, retain: spec.retained, bindingVersion: '0.2.0' });
  }
  assert.deepEqual(usedChannels.sort(), MQTT_CHANNELS.map((c) => c.id).sort(), 'one operation per channel');

  for (const [id, ch] of Object.entries(doc.channels as Record<string, Obj>)) {
    const inAddress = [...(ch.address as string).matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    assert.deepEqual(Object.keys(ch.parameters ?? {}), inAddress, `${id}: parameters are those of its address`);
    for (const m of Object.values(ch.messages as Record<string, Obj>)) {
      const message = resolve(m.$ref) as Obj;
      assert.ok(resolve(message.payload.$ref), `${id}: its payload schema exists`);
    }
  }
  for (const s of Object.values(doc.servers as Record<string, Obj>)) {
    assert.deepEqual(s.security, [{ $ref: '#/components/securitySchemes/userPassword' }]);
    for (const v of (s.host as string).matchAll(/\{([^}]+)\}/g)) assert.ok(s.variables[v[1]!], `server variable ${v[1]}`);
  }
  assert.equal(doc.components.securitySchemes.userPassword.type, 'userPassword');
});

test("the servers' ports are the config's defaults", () => {
  assert.equal(DEFAULT_PORTS.mqtt, CONFIG_SPEC.mqttPort.default);
  assert.equal(DEFAULT_PORTS.mqtts, CONFIG_SPEC.mqttsPort.default);
  assert.equal(DEFAULT_PORTS.http, CONFIG_SPEC.httpPort.default);
  assert.equal(DEFAULT_PORTS.https, CONFIG_SPEC.httpsPort.default);
  assert.equal(doc.servers.ws.pathname, '/mqtt');
  assert.equal(doc.servers.mqtt.host, `{hub}:${CONFIG_SPEC.mqttPort.default}`);
});

// Household t1-h1 (team t1), its devices t1-h1-smoke and t1-h1-bridge and its Zigbee2MQTT gateway z2m-h1; t2-h1 is of team t2.
const teamOf = (h: string) => (h.startsWith('t1-') ? 't1' : h.startsWith('t2-') ? 't2' : undefined);
const deviceOf = (household: string, device: string): Principal => ({ type: 'device', device, household, team: teamOf(household)! });
const gatewayOf = (household: string, device: string): Principal => ({ type: 'device', device, household, team: teamOf(household)!, kind: 'zigbee2mqtt' });
const user = (role: 'station' | 'team-leader' | 'household', team: string | null, household: string | null): Principal => ({
  type: 'user',
  username: `${role}-user`,
  role,
  team,
  household,
});
/** For each party: who is it (allowed as the table says), and who is it not (never allowed). */
const PRINCIPALS: Record<Party, { is: Principal[]; isNot: Principal[] }> = {
  device: { is: [deviceOf('t1-h1', 't1-h1-smoke')], isNot: [deviceOf('t1-h2', 't1-h2-smoke'), deviceOf('t2-h1', 't2-h1-smoke')] },
  gateway: { is: [gatewayOf('t1-h1', 'z2m-h1')], isNot: [gatewayOf('t1-h2', 'z2m-h2'), gatewayOf('t2-h1', 'z2m-t2')] },
  household: { is: [user('household', 't1', 't1-h1')], isNot: [user('household', 't1', 't1-h2')] },
  'team-leader': { is: [user('team-leader', 't1', null)], isNot: [user('team-leader', 't2', null)] },
  station: { is: [user('station', null, null)], isNot: [] },
};
const sibling = deviceOf('t1-h1', 't1-h1-bridge');

/** Where a channel table and hub/core/acl.ts disagree (empty: nowhere). */
function aclMismatches(channels: readonly ChannelSpec[]): string[] {
  const out: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) out.push(what);
  };
  for (const c of channels) {
    const ignored = c.ignoredPublishers ?? [];
    for (const friendlyName of FRIENDLY_NAMES) {
      const topic = topicOf(c, { ...PARAMS, friendlyName });
      for (const party of PARTIES) {
        for (const p of PRINCIPALS[party].is) {
          expect(canPublish(p, topic) === (c.publishers.includes(party) || ignored.includes(party)), `${party} publishing on ${topic}`);
          expect(canSubscribe(p, topic, teamOf) === c.subscribers.includes(party), `${party} subscribing to ${topic}`);
        }
        for (const p of PRINCIPALS[party].isNot) {
          expect(!canPublish(p, topic), `another ${party} publishing on ${topic}`);
          expect(!canSubscribe(p, topic, teamOf), `another ${party} subscribing to ${topic}`);
        }
      }
      // Another device of the same household reads everything of H but publishes only household-level responses.
      expect(canPublish(sibling, topic) === (c.scope === 'household' && c.publishers.includes('device')), `sibling device publishing on ${topic}`);
      expect(canSubscribe(sibling, topic, teamOf) === c.subscribers.includes('device'), `sibling device subscribing to ${topic}`);
      // The gateway is a device of H, yet not on its own device channels.
      const own = topicOf(c, { ...PARAMS, friendlyName, device: 'z2m-h1' });
      const gw = PRINCIPALS.gateway.is[0]!;
      expect(canPublish(gw, own) === (c.publishers.includes('gateway') || ignored.includes('gateway')), `the gateway publishing on ${own}`);
      expect(canSubscribe(gw, own, teamOf) === c.subscribers.includes('gateway'), `the gateway subscribing to ${own}`);
    }
    // Nobody but the hub publishes where the hub sends; what the ACL lets others publish there is dropped.
    if (c.direction === 'from-hub') expect(c.publishers.length === 0, `${c.id} is the hub's`);
    else expect(c.publishers.length > 0 && ignored.length === 0, `${c.id} has publishers`);
  }
  // Home Assistant publishes exactly the paths acl.ts allows it.
  const haToHub = channels.filter((c) => c.scope === 'homeassistant' && c.direction === 'to-hub').map((c) => c.channel);
  expect(JSON.stringify(haToHub) === JSON.stringify([...HOMEASSISTANT_PUBLISH_PATHS]), `Home Assistant publishes ${haToHub.join(', ')}`);
  return out;
}

test("each channel's publishers and subscribers are exactly what hub/core/acl.ts allows", () => {
  assert.deepEqual(aclMismatches(MQTT_CHANNELS), []);
  // Zigbee2MQTT subscribes to its whole base topic; a gateway reads nothing else of H.
  const gw = PRINCIPALS.gateway.is[0]!;
  assert.ok(canSubscribe(gw, 'smokehub/h/t1-h1/z2m/#', teamOf));
  assert.ok(!canSubscribe(gw, 'smokehub/h/t1-h1/#', teamOf));
  assert.ok(!canSubscribe(gw, 'smokehub/h/t1-h1/homeassistant/#', teamOf));
});

test('the document says who publishes and subscribes, and which publishes the hub drops', () => {
  const set = doc.channels.z2mDeviceSet;
  assert.deepEqual(set['x-smokehub-publishers'], []);
  assert.deepEqual(set['x-smokehub-ignored-publishers'], ['gateway']);
  assert.match(
    set.description,
    /Publish: nobody but the hub\. The ACL also lets H's Zigbee2MQTT gateways .* publish here: the hub acknowledges it and drops it/,
  );
  assert.deepEqual(doc.channels.homeassistantRespond['x-smokehub-publishers'], ['household']);
  assert.match(doc.channels.z2mDeviceState.description, /may contain `\/`/);
  assert.deepEqual(doc.components.parameters.component.enum, [...HA_COMPONENTS]);
  for (const id of ['friendlyName', 'component', 'objectId']) assert.ok(doc.components.parameters[id].description, `parameter ${id}`);
});

test("the trees' size limits in the document are the broker's and the gateway handler's", () => {
  assert.equal(TREE_LIMITS.payloadBytes, MAX_TREE_PAYLOAD_BYTES);
  assert.equal(TREE_LIMITS.gatewayPacketBytes, MAX_GATEWAY_PACKET_BYTES);
  assert.equal(TREE_LIMITS.zigbeeStateBytes, MAX_STATE_BYTES);
});

// ---- the trees' payloads ----

/** A payload as the hub reads it: JSON when it looks like JSON, else its (trimmed) plain text. */
const decode = (raw: string): unknown => (/^\s*[[{]/.test(raw) ? JSON.parse(raw) : raw.trim());
const raw = (p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p));
function schemaErrors(schema: TSchema, value: unknown): string[] {
  return [...Value.Errors(schema, value)].map((e) => `${e.instancePath || '/'} ${e.message}`);
}
function assertValid(name: MqttSchemaName, value: unknown, what: string): void {
  assert.deepEqual(schemaErrors(MQTT_SCHEMAS[name], value), [], `${name}: ${what}: ${raw(value).slice(0, 300)}`);
}
const schemaOf = (id: string) => MQTT_SCHEMAS[MQTT_CHANNELS.find((c) => c.id === id)!.schema];

const FIXTURES = fileURLToPath(new URL('../../fixtures/z2m/', import.meta.url));
const fixture = (name: string): any => JSON.parse(readFileSync(FIXTURES + name, 'utf8'));
const DEVICE_LISTS = ['bridge-devices.json', 'bridge-devices-1.x.json'];
const STATE_FILES = readdirSync(FIXTURES).filter((f) => f.startsWith('state-') && f.endsWith('.json'));

test("the trees' schemas name the hub's own constants", () => {
  assert.equal(Z2M_IEEE_PATTERN, IEEE_PATTERN.source);
  assert.deepEqual([...HA_ALARM_STATES], [...DISCOVERY_ALARM_STATES]);
  assert.deepEqual(HA_ALARM_STATES.slice(1), [...OPEN_ALARM_STATES], 'none, or an open alarm state');
  assert.deepEqual([...HA_BUTTON_RESPONSES], [...BUTTON_RESPONSES]);
  assert.ok(
    HA_BUTTON_RESPONSES.every((r) => (RESPONSES as readonly string[]).includes(r)),
    'every button answers with a response of the contract',
  );
});

test("every recorded Zigbee2MQTT payload is valid on its channel, with the channel's QoS and retain flag", () => {
  // Both device lists (Z2M 2.x and 1.x), entry by entry for readable failures.
  for (const name of DEVICE_LISTS) {
    const list = fixture(name);
    assert.ok(list.length >= 6, `${name} has its devices`);
    for (const entry of list) assertValid('Z2mDevice', entry, `${name} ${entry.friendly_name}`);
    assertValid('Z2mDeviceList', list, name);
  }
  // Every state publish of every device and Z2M version.
  let states = 0;
  for (const name of STATE_FILES) {
    const f = fixture(name);
    const spec = channelOfTopic(topics.z2m('t1-h1', ...f.friendly_name.split('/')))!;
    assert.equal(spec.id, 'z2mDeviceState', `${name}: its topic`);
    assert.equal(f.qos, spec.qos, `${name}: QoS`);
    assert.equal(f.retain, spec.retained, `${name}: retain`);
    for (const seq of f.sequences) {
      for (const p of seq.publishes) {
        assertValid('Z2mDeviceState', p.payload, `${name} (${seq.z2m}) ${p.note ?? ''}`);
        states++;
      }
    }
  }
  assert.ok(states >= 25, `${states} state publishes checked`);
  // Availability, both forms (JSON and the 1.x plain text), and the hub reads them alike.
  const availability = fixture('availability.json');
  const availabilitySpec = channelOfTopic(topics.z2m('t1-h1', 'bep', 'bao-khoi', 'availability'))!;
  assert.equal(availabilitySpec.id, 'z2mDeviceAvailability');
  assert.equal(availability.qos, availabilitySpec.qos);
  assert.equal(availability.retain, availabilitySpec.retained);
  for (const form of availability.forms) {
    for (const state of ['online', 'offline'] as const) {
      assert.ok(Value.Check(schemaOf('z2mDeviceAvailability'), decode(form[state])), `availability ${form.z2m}: ${form[state]}`);
      assert.equal(readOnlineState(form[state]), state);
    }
  }
  // Bridge state, both forms, the will included.
  const bridge = fixture('bridge-state.json');
  const bridgeSpec = channelOfTopic(topics.z2m('t1-h1', 'bridge', 'state'))!;
  assert.equal(bridge.retain, bridgeSpec.retained);
  for (const form of bridge.forms) {
    for (const state of ['online', 'offline'] as const) {
      assert.ok(Value.Check(schemaOf('z2mBridgeState'), decode(form[state].payload)), `bridge/state ${form.z2m}: ${form[state].payload}`);
      assert.equal(readOnlineState(form[state].payload), state);
    }
  }
  assert.equal(bridge.forms[0].online.qos, bridgeSpec.qos, "Z2M 2.x's QoS");
});

/** A detector that reads every alarm property the state schema names (the hub's view of a state). */
const anyDetector: Pick<ZigbeeDeviceInfo, 'alarms' | 'batteryPercent'> = {
  alarms: [
    { property: 'smoke', kind: 'smoke', on: true, off: false },
    { property: 'carbon_monoxide', kind: 'co', on: true, off: false },
  ],
  batteryPercent: true,
};

test('samples: the Zigbee2MQTT schemas accept what the hub reads, refuse what it refuses', () => {
  const online = schemaOf('z2mBridgeState');
  for (const p of ['online', 'offline', ' online\n', '{"state":"online"}', '{"state":"offline"}']) {
    assert.ok(Value.Check(online, decode(p)), `accepts ${p}`);
    assert.notEqual(readOnlineState(p), null, `the hub reads ${p}`);
  }
  for (const p of ['', 'ONLINE', '"online"', '{"state":"on"}', '{}', '[]', 'true']) {
    assert.ok(!Value.Check(online, decode(p)), `refuses ${JSON.stringify(p)}`);
    assert.equal(readOnlineState(p), null, `the hub refuses ${JSON.stringify(p)}`);
  }

  const state = schemaOf('z2mDeviceState');
  const valid = [
    {},
    { smoke: true, tamper: false, battery: 100, linkquality: 116 },
    { carbon_monoxide: null, battery_low: false, temperature: 21.5, last_seen: 1772348400512 },
    { fault_state: 'normal', alarm: 'OFF', volume: 'high', melody: 5 },
  ];
  const invalid = [[], 'smoke', { smoke: 1 }, { tamper: 'yes' }, { battery: 150 }, { battery_low: 'no' }, { temperature: -80 }];
  for (const p of valid) {
    assert.ok(Value.Check(state, p), `state accepts ${raw(p)}`);
    const t = translateState(anyDetector, undefined, raw(p), false);
    assert.deepEqual([t.malformed, t.issues], [false, []], `the hub reads ${raw(p)} without an issue`);
  }
  for (const p of invalid) {
    assert.ok(!Value.Check(state, p), `state refuses ${raw(p)}`);
    const t = translateState(anyDetector, undefined, raw(p), false);
    assert.ok(t.malformed || t.issues.length > 0, `the hub refuses (part of) ${raw(p)}`);
  }

  const device = MQTT_SCHEMAS.Z2mDevice;
  const entry = fixture('bridge-devices.json')[1];
  assertValid('Z2mDevice', entry, 'a recorded entry');
  assert.ok(Value.Check(device, { ...entry, definition: null }), 'an unsupported device: definition null');
  for (const [bad, why] of [
    [{ ...entry, ieee_address: '0x84fd27fffe6a1c' }, 'no valid ieee_address'],
    [{ ...entry, ieee_address: 'garage' }, 'no valid ieee_address'],
    [{ ...entry, friendly_name: '' }, 'unusable friendly_name'],
    [{ ...entry, definition: { ...entry.definition, exposes: 'smoke' } }, 'no definition (unsupported or not interviewed yet)'],
  ] as const) {
    assert.ok(!Value.Check(device, bad), `the schema refuses: ${why}`);
    const r = readDeviceEntry(bad);
    assert.ok('skip' in r && r.skip === why, `the hub skips it: ${why}`);
  }
  assert.ok(!Value.Check(MQTT_SCHEMAS.Z2mDeviceList, entry), 'a device list is an array');
  assert.equal(readDeviceList(JSON.stringify(entry)).error, 'bridge/devices is not a JSON array');

  const set = schemaOf('z2mDeviceSet');
  for (const p of [{ warning: { mode: 'stop' } }, { alarm: true }, { alarm: 'START' }]) assert.ok(Value.Check(set, p), `set accepts ${raw(p)}`);
  for (const p of [{}, { warning: { mode: 'loud' } }, { warning: { mode: 'fire', duration: 70000 } }, { alarm: true, volume: 'high' }, { warning: {} }]) {
    assert.ok(!Value.Check(set, p), `set refuses ${raw(p)}`);
  }
});

/** Every siren of the recorded device lists, as the hub reads it, as a Zigbee child of gateway gw of t1-h1. */
function fixtureSirens(): ZigbeeChild[] {
  return DEVICE_LISTS.flatMap((name, i) =>
    readDeviceList(JSON.stringify(fixture(name)))
      .devices.filter((d) => d.siren !== null)
      .map((d) => ({ ...d, id: `gw${i}.${d.ieee}`, gateway: `gw${i}`, household: 't1-h1' })),
  );
}

test('the siren commands the hub builds for every recorded siren are valid on their channel, as the hub publishes them', () => {
  const sirens = fixtureSirens();
  assert.deepEqual(
    sirens.map((s) => `${s.model} ${s.siren!.type}`),
    ['HS2WD-E warning', 'NAS-AB02B2 alarm', 'HS2WD-E warning', 'NAS-AB02B2 alarm'],
    "both Z2M versions' sirens",
  );
  for (const s of sirens) {
    for (const kind of ALARM_KINDS) assertValid('Z2mSirenCommand', sirenStart(s.siren!, kind), `${s.model} start ${kind}`);
    assertValid('Z2mSirenCommand', sirenStop(s.siren!), `${s.model} stop`);
  }
  // What ZigbeeSirens really publishes: topic, QoS, retain, payload.
  const sent: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = [];
  const ring = new ZigbeeSirens({
    mqtt: { publish: (topic, payload, opts = {}) => void sent.push({ topic, payload: String(payload), qos: opts.qos ?? 0, retain: opts.retain ?? false }) },
    childrenOf: (h) => (h === 't1-h1' ? sirens : []),
    reachable: () => true,
    householdsOf: () => ['t1-h1'],
    log: silentLogger(),
    commands: { inc: () => {} } as never,
  });
  for (const [i, kind] of ALARM_KINDS.entries()) {
    ring.onAlarm(sampleView({ alarm: `A${i}`, kind, state: 'active', updatedAt: 2 * i }));
    ring.onAlarm(sampleView({ alarm: `A${i}`, kind, state: 'resolved', updatedAt: 2 * i + 1 }));
  }
  assert.equal(sent.length, ALARM_KINDS.length * 2 * sirens.length, 'a start and a stop per kind and siren');
  for (const p of sent) {
    const spec = channelOfTopic(p.topic);
    assert.equal(spec?.id, 'z2mDeviceSet', `${p.topic} is a siren's set topic`);
    assert.equal(p.qos, spec.qos, `${p.topic}: QoS`);
    assert.equal(p.retain, spec.retained, `${p.topic}: retain`);
    assertValid(spec.schema, JSON.parse(p.payload), p.topic);
  }
  assert.ok(
    sent.some((p) => p.topic === 'smokehub/h/t1-h1/z2m/Còi báo động/set'),
    'a friendly name with spaces and Vietnamese',
  );
});

const T0 = Date.UTC(2026, 2, 1, 7, 0, 0);
function sampleView(over: Partial<AlarmView>): AlarmView {
  return {
    alarm: 'A1',
    state: 'active',
    kind: 'smoke',
    team: 't1',
    origin: { household: 't1-h2', device: 't1-h2-smoke', name: 'Nhà Trần', address: '14 Lê Lợi', lat: 20.95, lon: 107.08 },
    raisedAt: T0,
    updatedAt: T0,
    responders: [],
    ...over,
  };
}
/** Sets of open alarms that concern t1-h1, covering every field of the HA state. */
const VIEW_SETS: AlarmView[][] = [
  [],
  [sampleView({ state: 'pre-alarm', origin: { ...sampleView({}).origin, household: 't1-h1', device: 't1-h1-smoke' } })],
  [
    sampleView({
      responders: [
        { household: 't1-h1', response: 'coming', at: T0 + 1000, via: 'mqtt' },
        { household: 't1-h3', response: 'unable', at: T0 + 2000 },
      ],
    }),
  ],
  [sampleView({ state: 'escalated', escalation: 'neighbour-need-help' }), sampleView({ alarm: 'D1', kind: 'drill', state: 'active', raisedAt: T0 + 5000 })],
  [sampleView({ state: 'hushed', hushedAt: T0 + 10, hushUntil: T0 + 600_000 })],
  [sampleView({ team: 't2', nearby: true, origin: { ...sampleView({}).origin, household: 't2-h1', lat: null, lon: null } })],
];

test('the Home Assistant discovery configs, states and battery states the hub builds are valid on their channels', () => {
  const households = [
    { id: 't1-h1', name: 'Nhà Nguyễn' },
    { id: 't1.h9', name: '' },
  ];
  let configs = 0;
  for (const lang of HA_LANGUAGES) {
    for (const h of households) {
      const o = { lang, version: '1.2.3' };
      const messages = [
        ...householdConfigs(h, o),
        batteryConfig(h, { id: 'z2m-h1.0x84fd27fffe6a1c02', kind: 'smoke' }, o),
        batteryConfig(h, { id: 't1-h1-co', kind: 'co' }, o),
      ];
      for (const m of messages) {
        const spec = channelOfTopic(m.topic);
        assert.equal(spec?.id, 'homeassistantConfig', `${m.topic} is a config topic`);
        assert.ok((HA_COMPONENTS as readonly string[]).includes(m.component), `${m.component} is a component of the document`);
        assert.equal(m.topic, fill(spec.address, { ...PARAMS, household: h.id, component: m.component, objectId: m.objectId }));
        assert.equal(m.config.unique_id, m.objectId);
        assertValid(spec.schema, m.config, m.topic);
        // The config is valid as its own component's, and only as that one.
        const own = { binary_sensor: 'HaBinarySensorConfig', sensor: 'HaSensorConfig', button: 'HaButtonConfig' } as const;
        for (const [component, name] of Object.entries(own)) {
          assert.equal(Value.Check(MQTT_SCHEMAS[name], m.config), component === m.component, `${m.topic} as a ${component}`);
        }
        // Every topic it points at is a channel of the document: what HA reads the hub publishes, what HA publishes the hub receives.
        const avail = (m.config.availability as Array<{ topic: string }>)[0]!.topic;
        assert.equal(channelOfTopic(avail)?.id, 'homeassistantAvailability');
        if (typeof m.config.state_topic === 'string') assert.match(channelOfTopic(m.config.state_topic)?.id ?? '', /^homeassistant(State|Battery)$/);
        if (typeof m.config.command_topic === 'string') assert.equal(channelOfTopic(m.config.command_topic)?.id, 'homeassistantRespond');
        if (typeof m.config.payload_press === 'string')
          assert.ok(Value.Check(schemaOf('homeassistantRespond'), m.config.payload_press), `${m.topic}: payload_press`);
        configs++;
      }
    }
  }
  assert.equal(configs, 2 * 2 * 7);
  for (const [i, views] of VIEW_SETS.entries()) {
    const s = householdState('t1-h1', views, T0 + 60_000);
    assertValid('HaState', s, `state ${i}`);
  }
  assert.equal(householdState('t1-h1', VIEW_SETS[3]!, T0).escalation, 'neighbour-need-help', 'the samples cover escalation');
  for (const percent of [0, 55.4, 99.6, 100]) assertValid('HaBatteryState', JSON.parse(batteryState(percent, T0)), `battery ${percent}`);
  // What HA publishes: the buttons' payloads, the birth and the will.
  for (const r of BUTTON_RESPONSES) {
    assert.ok(Value.Check(schemaOf('homeassistantRespond'), decode(r)), `respond accepts ${r}`);
    assert.equal(parsePress(r), r);
  }
  for (const p of ['false-alarm', 'COMING', '', '{"response":"coming"}']) {
    assert.ok(!Value.Check(schemaOf('homeassistantRespond'), decode(p)), `respond refuses ${p}`);
    assert.equal(parsePress(p), null, `the hub refuses ${p}`);
  }
  for (const p of ['online', 'offline', ' online ']) assert.ok(Value.Check(schemaOf('homeassistantStatus'), decode(p)), `status accepts ${p}`);
  for (const p of ['hello', 'ON', '']) assert.ok(!Value.Check(schemaOf('homeassistantStatus'), decode(p)), `status refuses ${p}`);
});

test('what HaHouseholds really publishes for a household is valid on its channels, with their QoS and retain flag', async () => {
  const sent: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = [];
  const users: User[] = [{ username: 'ha-h1', role: 'household', team: 't1', household: 't1-h1' }];
  const household = { id: 't1-h1', team: 't1', name: 'Nhà Nguyễn', address: '12 Lê Lợi', phone: '', phones: [], lat: null, lon: null, card: {} };
  let open: AlarmView[] = VIEW_SETS[2]!;
  const metrics = new MetricsRegistry();
  const ha = new HaHouseholds({
    mqtt: {
      publish(topic, payload, opts = {}, done) {
        sent.push({ topic, payload: String(payload), qos: opts.qos ?? 0, retain: opts.retain ?? false });
        setImmediate(() => done?.(null));
      },
    },
    alarms: { concerning: () => open, respond: () => open[0]! },
    registry: {
      getHousehold: (id) => (id === 't1-h1' ? (household as any) : undefined),
      householdsOfTeam: () => [household as any],
      listDevices: () => [
        { id: 't1-h1-smoke', household: 't1-h1', team: 't1', kind: 'smoke', enrolledAt: 0 },
        { id: 'z2m-h1.0x84fd27fffe6a1c02', household: 't1-h1', team: 't1', kind: 'smoke', enrolledAt: 0 },
      ],
      listUsers: () => users,
    },
    discovery: { lang: 'vi', version: '1.2.3' },
    log: silentLogger(),
    now: () => T0 + 60_000,
    published: metrics.counter('p', 'p'),
    presses: metrics.counter('q', 'q'),
    batteries: new Map([['t1-h1-smoke', { percent: 87.4, at: T0 }]]),
  });
  await ha.rescan();
  ha.onBattery('t1-h1', 'z2m-h1.0x84fd27fffe6a1c02', 41, T0 + 1000);
  open = VIEW_SETS[3]!;
  ha.onAlarm(open[0]!);
  await new Promise((r) => setImmediate(r));
  await ha.goOffline();
  ha.stop();
  const seen = new Set<string>();
  for (const p of sent) {
    const spec = channelOfTopic(p.topic);
    assert.ok(spec, `${p.topic} is a channel`);
    seen.add(spec.id);
    assert.equal(spec.direction, 'from-hub', `${p.topic}: the hub's`);
    assert.equal(p.qos, spec.qos, `${p.topic}: QoS`);
    assert.equal(p.retain, spec.retained, `${p.topic}: retain`);
    assertValid(spec.schema, decode(p.payload), p.topic);
  }
  assert.deepEqual([...seen].sort(), ['homeassistantAvailability', 'homeassistantBattery', 'homeassistantConfig', 'homeassistantState']);
  assert.ok(
    sent.some((p) => p.topic.endsWith('/homeassistant/battery/z2m-h1.0x84fd27fffe6a1c02')),
    "a Zigbee device's battery",
  );
  assert.ok(sent.filter((p) => p.topic.endsWith('/homeassistant/state')).length >= 2, 'the state, then its change');
});

// ---- the checks fail on a broken table or payload ----

const without = (id: string, change: (c: ChannelSpec) => ChannelSpec | null): ChannelSpec[] =>
  MQTT_CHANNELS.flatMap((c) => {
    if (c.id !== id) return [c];
    const d = change(c);
    return d ? [d] : [];
  });

test('the coverage check fails when a tree channel is missing, doubled or misaddressed', () => {
  assert.notDeepEqual(coverageProblems(without('z2mDeviceAvailability', () => null)), []);
  assert.notDeepEqual(coverageProblems([...MQTT_CHANNELS, MQTT_CHANNELS.find((c) => c.id === 'homeassistantRespond')!]), []);
  assert.notDeepEqual(coverageProblems(without('z2mDeviceSet', (c) => ({ ...c, address: c.address.replace('/set', '/get') }))), []);
  assert.notDeepEqual(coverageProblems(without('homeassistantBattery', (c) => ({ ...c, address: c.address.replace('{device}', 'x') }))), []);
});

test('the ACL check fails when the gateway, Home Assistant or a reader is missing or too many', () => {
  const cases: Array<[string, ChannelSpec[]]> = [
    ['no gateway publishing the device state', without('z2mDeviceState', (c) => ({ ...c, publishers: [] }))],
    ['the gateway not reading its sirens', without('z2mDeviceSet', (c) => ({ ...c, subscribers: c.subscribers.filter((p) => p !== 'gateway') }))],
    ["the gateway's set publishes not declared", without('z2mDeviceSet', (c) => ({ ...c, ignoredPublishers: [] }))],
    ['the gateway reading Home Assistant', without('homeassistantState', (c) => ({ ...c, subscribers: [...c.subscribers, 'gateway'] }))],
    ['nobody publishing status', without('homeassistantStatus', (c) => ({ ...c, publishers: [] }))],
    ['devices publishing respond', without('homeassistantRespond', (c) => ({ ...c, publishers: ['household', 'device'] }))],
    ['the gateway publishing events', without('deviceEvent', (c) => ({ ...c, publishers: [...c.publishers, 'gateway'] }))],
  ];
  for (const [what, table] of cases) assert.notDeepEqual(aclMismatches(table), [], what);
});

test('the payload checks fail on what the hub must not send or cannot read', () => {
  const h = { id: 't1-h1', name: 'x' };
  const [fire] = householdConfigs(h, { lang: 'en', version: '1' });
  assert.notDeepEqual(schemaErrors(MQTT_SCHEMAS.HaDiscoveryConfig, { ...fire!.config, object_id: 'x' }), [], 'an unknown key');
  assert.notDeepEqual(schemaErrors(MQTT_SCHEMAS.HaDiscoveryConfig, { ...fire!.config, qos: 0 }), [], 'QoS 0');
  const { at: _at, ...noAt } = householdState('t1-h1', [], T0);
  assert.notDeepEqual(schemaErrors(MQTT_SCHEMAS.HaState, noAt), [], 'a state without at');
  assert.notDeepEqual(schemaErrors(MQTT_SCHEMAS.HaState, { ...householdState('t1-h1', [], T0), state: 'resolved' }), [], 'a closed state');
  assert.notDeepEqual(schemaErrors(MQTT_SCHEMAS.Z2mSirenCommand, { warning: { mode: 'fire', level: 'deafening' } }), [], 'an unknown level');
  const entry = fixture('bridge-devices.json')[1];
  assert.notDeepEqual(schemaErrors(MQTT_SCHEMAS.Z2mDeviceList, [{ ...entry, type: 'Sensor' }]), [], 'an unknown device type');
  assert.notDeepEqual(schemaErrors(MQTT_SCHEMAS.Z2mDeviceState, { smoke: true, battery: -1 }), [], 'a negative battery');
});
