/**
 * docs/asyncapi.yaml is the generated document (never stale), names every channel of topics.ts
 * exactly once with the ACL's publishers and subscribers, and holds together as AsyncAPI 3.0
 * (every $ref resolves, operations use their channel's messages, address parameters declared).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ASYNCAPI_PATH, renderAsyncApiYaml } from '../../../scripts/asyncapi.ts';
import { buildAsyncApi, DEFAULT_PORTS } from '../../../hub/protocol/asyncapi.ts';
import { MQTT_CHANNELS, PARTIES, type ChannelSpec, type Party } from '../../../hub/protocol/mqtt-channels.ts';
import { DEVICE_CHANNELS, HOUSEHOLD_CHANNELS, parseTopic, STATION_CHANNELS, topics } from '../../../hub/protocol/topics.ts';
import { canPublish, canSubscribe, type Principal } from '../../../hub/core/acl.ts';
import { CONFIG_SPEC } from '../../../hub/config/config.ts';

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

test('every channel of topics.ts appears exactly once, and nothing else', () => {
  const expected = [
    ...DEVICE_CHANNELS.map((c) => `device/${c}`),
    ...HOUSEHOLD_CHANNELS.map((c) => `household/${c}`),
    ...STATION_CHANNELS.map((c) => `station/${c}`),
  ];
  assert.deepEqual(
    MQTT_CHANNELS.map((c) => `${c.scope}/${c.channel}`),
    expected,
  );
  assert.equal(new Set(MQTT_CHANNELS.map((c) => c.id)).size, MQTT_CHANNELS.length, 'channel ids are unique');
  // The document's channels: one per table row, each address a topic of the contract once filled in.
  assert.deepEqual(
    Object.keys(doc.channels),
    MQTT_CHANNELS.map((c) => c.id),
  );
  const addresses = new Set<string>();
  for (const c of MQTT_CHANNELS) {
    const address = doc.channels[c.id].address as string;
    assert.ok(!addresses.has(address), `${address} appears once`);
    addresses.add(address);
    const concrete = address.replace('{household}', 't1-h1').replace('{device}', 't1-h1-smoke');
    const parsed = parseTopic(concrete);
    assert.ok(parsed, `${address} is a topic of the contract`);
    assert.equal(parsed.scope, c.scope);
    assert.equal(parsed.channel, c.channel);
    assert.equal(concrete, topicOf(c, 't1-h1', 't1-h1-smoke'));
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

function topicOf(c: ChannelSpec, household: string, device: string): string {
  if (c.scope === 'device') return topics.device(household, device, c.channel as (typeof DEVICE_CHANNELS)[number]);
  if (c.scope === 'household') return topics.household(household, c.channel as (typeof HOUSEHOLD_CHANNELS)[number]);
  return topics.station(c.channel as (typeof STATION_CHANNELS)[number]);
}

// Household t1-h1 (team t1), its devices t1-h1-smoke and t1-h1-bridge; t2-h1 is of team t2.
const teamOf = (h: string) => (h.startsWith('t1-') ? 't1' : h.startsWith('t2-') ? 't2' : undefined);
const deviceOf = (household: string, device: string): Principal => ({ type: 'device', device, household, team: teamOf(household)! });
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
  household: { is: [user('household', 't1', 't1-h1')], isNot: [user('household', 't1', 't1-h2')] },
  'team-leader': { is: [user('team-leader', 't1', null)], isNot: [user('team-leader', 't2', null)] },
  station: { is: [user('station', null, null)], isNot: [] },
};
const sibling = deviceOf('t1-h1', 't1-h1-bridge');

test("each channel's publishers and subscribers are exactly what hub/core/acl.ts allows", () => {
  for (const c of MQTT_CHANNELS) {
    const topic = topicOf(c, 't1-h1', 't1-h1-smoke');
    for (const party of PARTIES) {
      for (const p of PRINCIPALS[party].is) {
        assert.equal(canPublish(p, topic), c.publishers.includes(party), `${party} publishing on ${topic}`);
        assert.equal(canSubscribe(p, topic, teamOf), c.subscribers.includes(party), `${party} subscribing to ${topic}`);
      }
      for (const p of PRINCIPALS[party].isNot) {
        assert.equal(canPublish(p, topic), false, `another ${party} publishing on ${topic}`);
        assert.equal(canSubscribe(p, topic, teamOf), false, `another ${party} subscribing to ${topic}`);
      }
    }
    // Another device of the same household reads everything of H but publishes only household-level responses.
    assert.equal(canPublish(sibling, topic), c.scope === 'household' && c.publishers.includes('device'), `sibling device publishing on ${topic}`);
    assert.equal(canSubscribe(sibling, topic, teamOf), c.subscribers.includes('device'), `sibling device subscribing to ${topic}`);
    // Nobody but the hub publishes where the hub sends.
    if (c.direction === 'from-hub') assert.deepEqual(c.publishers, [], `${c.id} is the hub's`);
    else assert.ok(c.publishers.length > 0, `${c.id} has publishers`);
  }
});
