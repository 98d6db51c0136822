/**
 * docs/esphome/smokehub-detector.yaml speaks the contract: parsed with the `yaml` package
 * (`!secret` and `!lambda` defined as tags), its substitutions applied, every topic it publishes
 * or subscribes is the device's own in hub/protocol/topics.ts and allowed by hub/core/acl.ts for a
 * device principal, its birth/will/shutdown are the contract's status messages, events are QoS 1,
 * and the payloads it builds pass hub/protocol/schema.ts.
 *
 * Lambda payloads are read, not compiled: in a `mqtt.publish_json` payload every
 * `root["key"] = <expression>;` is one field. A string literal is taken as it is; the script
 * parameter `type` takes every value a `script.execute` passes to that script; `str_sprintf(fmt, …)`
 * is expanded with the largest values its conversions can print (%u → 4294967295, %x → ffffffff);
 * any other expression stands for a number, taken as the largest value its sensor can give (an ADC
 * reads at most 3.3 V before its filters; a signal strength at most 0 dBm) — so the fields are
 * checked by name, id format and range. The checks are functions so the last test can show that
 * each one fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, type ScalarTag } from 'yaml';
import { parseTopic } from '../../../hub/protocol/topics.ts';
import { canPublish, canSubscribe, type Principal } from '../../../hub/core/acl.ts';
import { COMMANDS, EVENT_TYPES, parseDeviceEvent, parseStatus, parseTelemetry, TELEMETRY_FIELDS } from '../../../hub/protocol/schema.ts';

type Obj = Record<string, any>;
/** The contract channel of a topic (none for the household trees or outside the contract). */
function channelOf(topic: string): string | undefined {
  const t = parseTopic(topic);
  return t && 'channel' in t ? t.channel : undefined;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const YAML_PATH = ROOT + 'docs/esphome/smokehub-detector.yaml';

class Secret {
  constructor(readonly name: string) {}
}
class Lambda {
  constructor(readonly code: string) {}
}
const customTags: ScalarTag[] = [
  { tag: '!secret', resolve: (s: string) => new Secret(s), identify: (v: unknown) => v instanceof Secret },
  { tag: '!lambda', resolve: (s: string) => new Lambda(s), identify: (v: unknown) => v instanceof Lambda },
];

/** Parses an ESPHome file and applies its `substitutions` (`${name}` and `$name`) everywhere. */
function loadEsphome(text: string): Obj {
  const doc = parse(text, { customTags }) as Obj;
  const subs: Record<string, string> = { ...(doc.substitutions ?? {}) };
  const sub = (s: string): string => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => (subs[a ?? b] !== undefined ? String(subs[a ?? b]) : m));
  for (let i = 0; i < 5; i++) for (const k of Object.keys(subs)) subs[k] = sub(String(subs[k]));
  const walk = (v: any): any => {
    if (typeof v === 'string') return sub(v);
    if (v instanceof Lambda) return new Lambda(sub(v.code));
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && !(v instanceof Secret)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(doc);
}

const codeOf = (v: unknown): string => (v instanceof Lambda ? v.code : String(v ?? ''));

/** Every action `{ [name]: config }` anywhere in the document, with the script it is in (if any). */
function actions(doc: Obj, name: string): { config: Obj; script: Obj | null }[] {
  const found: { config: Obj; script: Obj | null }[] = [];
  const walk = (v: any, script: Obj | null) => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, script);
      return;
    }
    if (!v || typeof v !== 'object' || v instanceof Secret || v instanceof Lambda) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === name) found.push({ config: typeof x === 'string' ? { id: x } : (x as Obj), script });
      walk(x, script);
    }
  };
  for (const s of doc.script ?? []) walk(s.then, s);
  for (const [k, v] of Object.entries(doc)) if (k !== 'script') walk(v, null);
  return found;
}

/** The fields a publish_json payload lambda assigns: key → expression. */
function lambdaFields(code: string): [string, string][] {
  return [...code.matchAll(/root\["(\w+)"\]\s*=\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]);
}

/** printf with the largest values its conversions can print. */
function widestSprintf(fmt: string): string {
  return fmt.replace(/%0?\d*([uxd])/g, (_m, c) => (c === 'x' ? 'ffffffff' : '4294967295'));
}

/** The largest reading a sensor's state can have after its filters (ADC: 3.3 V; wifi_signal: 0 dBm). */
function sensorMax(doc: Obj, id: string): number {
  const s = (doc.sensor ?? []).find((x: Obj) => x.id === id);
  if (!s) return Number.NaN;
  let v = s.platform === 'adc' ? 3.3 : s.platform === 'wifi_signal' ? 0 : Number.NaN;
  for (const f of s.filters ?? []) if (typeof f === 'object' && 'multiply' in f) v *= Number(f.multiply);
  return v;
}

/** The payloads one publish_json would build, one per value of the script's `type` parameter. */
function buildPayloads(doc: Obj, config: Obj, script: Obj | null): { payload: Obj; expressions: Record<string, string> }[] {
  const fields = lambdaFields(codeOf(config.payload));
  let types: (string | undefined)[] = [undefined];
  if (script?.parameters && 'type' in script.parameters) {
    types = actions(doc, 'script.execute')
      .map((a) => a.config)
      .filter((c) => c.id === script.id)
      .map((c) => c.type);
  }
  return types.map((type) => {
    const payload: Obj = {};
    const expressions: Record<string, string> = {};
    for (const [k, expr] of fields) {
      expressions[k] = expr;
      const literal = /^"((?:[^"\\]|\\.)*)"$/.exec(expr);
      const sprintf = /^str_sprintf\("((?:[^"\\]|\\.)*)"/.exec(expr);
      const sensor = /id\((\w+)\)\.state/.exec(expr);
      if (literal) payload[k] = literal[1];
      else if (expr === 'type') payload[k] = type;
      else if (sprintf) payload[k] = widestSprintf(sprintf[1]!);
      else if (sensor) payload[k] = Math.trunc(sensorMax(doc, sensor[1]!));
      else payload[k] = `<unread expression ${expr}>`;
    }
    return { payload, expressions };
  });
}

interface Publish {
  topic: string;
  qos: number;
  retain: boolean;
  payload: string | Obj;
  where: string;
}

/** Every publish of the file: birth/will/shutdown and each mqtt.publish / mqtt.publish_json, with built payloads. */
function publishes(doc: Obj): Publish[] {
  const out: Publish[] = [];
  for (const k of ['birth_message', 'will_message', 'shutdown_message']) {
    const m = doc.mqtt?.[k];
    if (m) out.push({ topic: m.topic, qos: m.qos ?? 0, retain: m.retain ?? true, payload: String(m.payload), where: k });
  }
  for (const { config } of actions(doc, 'mqtt.publish')) {
    out.push({ topic: config.topic, qos: config.qos ?? 0, retain: config.retain ?? false, payload: codeOf(config.payload), where: 'mqtt.publish' });
  }
  for (const { config, script } of actions(doc, 'mqtt.publish_json')) {
    for (const { payload } of buildPayloads(doc, config, script)) {
      out.push({ topic: config.topic, qos: config.qos ?? 0, retain: config.retain ?? false, payload, where: 'mqtt.publish_json' });
    }
  }
  return out;
}

const subscriptions = (doc: Obj): { topic: string; qos: number; code: string }[] =>
  [...(doc.mqtt?.on_json_message ?? []), ...(doc.mqtt?.on_message ?? [])].map((s: Obj) => ({ topic: s.topic, qos: s.qos ?? 0, code: JSON.stringify(s.then) }));

/** Everything wrong with the file, as sentences. */
function problems(doc: Obj, now = Date.now()): string[] {
  const out: string[] = [];
  const household = String(doc.substitutions?.household ?? '');
  const device = String(doc.substitutions?.device ?? '');
  const me: Principal = { type: 'device', device, household, team: 't1' };
  const mqtt = doc.mqtt ?? {};
  if (mqtt.client_id !== device || mqtt.username !== device) out.push('client_id and username must be the device id');
  if (!(mqtt.password instanceof Secret)) out.push('the password must be a !secret');
  if (mqtt.discovery !== false || mqtt.discover_ip !== false) out.push('Home Assistant discovery must be off (it publishes outside the contract)');
  if (mqtt.log_topic !== null) out.push('log_topic must be null (ESPHome publishes logs to <topic_prefix>/debug)');
  for (const kind of ['binary_sensor', 'sensor', 'switch', 'text_sensor', 'button', 'number']) {
    for (const c of doc[kind] ?? [])
      if (c.internal !== true) out.push(`${kind} ${c.id ?? c.name} is not internal: ESPHome would publish its state outside the contract`);
  }
  const status = `smokehub/h/${household}/d/${device}/status`;
  const expect = { birth_message: 'online', will_message: 'offline', shutdown_message: 'offline' } as const;
  for (const [k, payload] of Object.entries(expect)) {
    const m = mqtt[k];
    if (!m) out.push(`${k} missing`);
    else {
      if (m.topic !== status) out.push(`${k} is not on ${status}`);
      if (String(m.payload) !== payload || !parseStatus(String(m.payload)).ok) out.push(`${k} payload must be ${payload}`);
      if (m.retain !== true) out.push(`${k} must be retained`);
    }
  }
  const pubs = publishes(doc);
  if (!pubs.some((p) => channelOf(p.topic) === 'event')) out.push('no event is published');
  if (!pubs.some((p) => channelOf(p.topic) === 'telemetry')) out.push('no telemetry is published');
  for (const p of pubs) {
    const t = parseTopic(p.topic);
    if (t?.scope !== 'device' || t.household !== household || t.device !== device) {
      out.push(`${p.where} publishes ${p.topic}, not a topic of this device`);
      continue;
    }
    if (!canPublish(me, p.topic)) out.push(`the ACL refuses ${p.topic}`);
    const text = typeof p.payload === 'string' ? p.payload : JSON.stringify(p.payload);
    if (t.channel === 'event') {
      if (p.qos !== 1) out.push(`events must be QoS 1 (${p.topic} has ${p.qos})`);
      if (p.retain) out.push('events must not be retained');
      const r = parseDeviceEvent(text, now);
      if (!r.ok) out.push(`event ${text}: ${r.issues.map((i) => i.message).join('; ')}`);
      else if (r.warnings.length) out.push(`event ${text}: ${r.warnings.map((i) => i.message).join('; ')}`);
    } else if (t.channel === 'telemetry') {
      if (p.retain) out.push('telemetry must not be retained');
      const r = parseTelemetry(text, now);
      if (!r.ok) out.push(`telemetry ${text}: ${r.issues.map((i) => i.message).join('; ')}`);
      else if (r.warnings.length) out.push(`telemetry ${text}: ${r.warnings.map((i) => i.message).join('; ')}`);
    } else if (t.channel === 'status') {
      if (!parseStatus(text).ok) out.push(`status ${text}`);
      if (!p.retain) out.push('status must be retained');
    } else out.push(`${p.topic}: a device does not publish on ${t.channel}`);
  }
  // Event ids: one scheme (the counter is incremented before each publish), and unique per boot.
  for (const { config, script } of actions(doc, 'mqtt.publish_json')) {
    if (channelOf(config.topic) !== 'event') continue;
    const id = lambdaFields(codeOf(config.payload)).find(([k]) => k === 'id')?.[1] ?? '';
    if (!/^str_sprintf\(/.test(id) || !/id\(boot_count\)/.test(id) || !/id\(event_seq\)/.test(id))
      out.push('event id must be built from boot_count and event_seq');
    const steps = JSON.stringify(script?.then ?? []);
    if (!steps.includes('id(event_seq) += 1')) out.push('event_seq must be incremented before each event');
  }
  const boot = (doc.globals ?? []).find((g: Obj) => g.id === 'boot_count');
  if (boot?.restore_value !== true) out.push('boot_count must be a global with restore_value');
  if (!JSON.stringify(doc.esphome?.on_boot ?? '').includes('id(boot_count) += 1')) out.push('boot_count must be incremented on boot');
  // Subscriptions: the device's own cmd (QoS 1), the household's topics; every command handled.
  const subs = subscriptions(doc);
  const cmdTopic = `smokehub/h/${household}/d/${device}/cmd`;
  if (!subs.some((s) => s.topic === cmdTopic && s.qos === 1)) out.push(`${cmdTopic} must be subscribed with QoS 1`);
  for (const s of subs) {
    const t = parseTopic(s.topic);
    if (!t || t.scope === 'station' || t.household !== household || (t.scope === 'device' && t.device !== device))
      out.push(`subscribes to ${s.topic}, not its own`);
    if (!canSubscribe(me, s.topic, () => 't1')) out.push(`the ACL refuses the subscription ${s.topic}`);
    if (t?.scope === 'device' && t.channel === 'cmd') {
      const handled = [...s.code.matchAll(/x\[\\"cmd\\"\] == \\"(\w+)\\"/g)].map((m) => m[1]);
      for (const h of handled) if (!(COMMANDS as readonly string[]).includes(h!)) out.push(`handles unknown command ${h}`);
      for (const c of COMMANDS) if (!handled.includes(c)) out.push(`does not handle {"cmd":"${c}"}`);
    }
  }
  return out;
}

const text = readFileSync(YAML_PATH, 'utf8');
const doc = loadEsphome(text);

test('the ESPHome example parses, with its secrets and substitutions', () => {
  assert.equal(doc.esphome.name, 'smokehub-detector');
  assert.ok(doc.mqtt.password instanceof Secret);
  assert.equal(doc.mqtt.password.name, 'smokehub_secret');
  assert.equal(doc.mqtt.will_message.topic, 'smokehub/h/t1-h1/d/t1-h1-esp/status');
  const code = text.replace(/^\s*#.*$/gm, '');
  for (const m of code.matchAll(/^\s*(password|ssid|broker):\s*(.*)$/gm)) assert.match(m[2]!, /^!secret \w+$/, `${m[1]} is a !secret`);
});

test('every topic, payload and QoS of the ESPHome example follows the contract', () => {
  assert.deepEqual(problems(doc), []);
});

test('the example publishes the events a detector needs, each a valid event with a unique-looking id', () => {
  const events = publishes(doc).filter((p) => channelOf(p.topic) === 'event');
  const types = new Set(events.map((p) => (p.payload as Obj).type));
  for (const t of ['smoke', 'clear', 'panic', 'test', 'hush']) assert.ok(types.has(t), `publishes ${t}`);
  for (const t of types) assert.ok((EVENT_TYPES as readonly string[]).includes(t));
  for (const e of events) assert.ok(String((e.payload as Obj).id).length <= 64);
  const telemetry = publishes(doc).find((p) => channelOf(p.topic) === 'telemetry')!;
  for (const k of Object.keys(telemetry.payload as Obj)) assert.ok(k in TELEMETRY_FIELDS, `telemetry field ${k}`);
});

test('the checks fail on a broken example', () => {
  const broken = (edit: (d: Obj) => void): string[] => {
    const d = loadEsphome(text);
    edit(d);
    return problems(d);
  };
  const eventPublish = (d: Obj) => d.script.find((s: Obj) => s.id === 'send_event').then[1]['mqtt.publish_json'];
  assert.ok(
    broken((d) => (eventPublish(d).topic = 'smokehub/h/t1-h1/d/t1-h1-other/event')).some((p) => p.includes('not a topic of this device')),
    "another device's topic",
  );
  assert.ok(
    broken((d) => (eventPublish(d).topic = 'smokehub/h/t1-h2/d/t1-h1-esp/event')).some((p) => p.includes('not a topic of this device')),
    "another household's topic",
  );
  assert.ok(
    broken((d) => (eventPublish(d).topic = 'smokehub/h/t1-h1/d/t1-h1-esp/events')).some((p) => p.includes('not a topic of this device')),
    'a channel that does not exist',
  );
  assert.ok(
    broken((d) => (eventPublish(d).topic = 'smokehub/h/t1-h1/d/t1-h1-esp/cmd')).some((p) => p.includes('ACL refuses')),
    'a channel the ACL does not give a device',
  );
  assert.ok(
    broken((d) => (eventPublish(d).qos = 0)).some((p) => p.includes('QoS 1')),
    'events at QoS 0',
  );
  assert.ok(
    broken((d) => (d.binary_sensor[0].on_press[0]['script.execute'].type = 'fire')).some((p) => p.includes('event')),
    'an event type the contract does not have',
  );
  assert.ok(
    broken((d) => (eventPublish(d).payload = new Lambda('root["type"] = type;'))).some((p) => p.includes('id')),
    'an event without id',
  );
  assert.ok(
    broken((d) => (d.mqtt.will_message.payload = 'bye')).some((p) => p.includes('will_message payload')),
    'a will that is not "offline"',
  );
  assert.ok(
    broken((d) => (d.mqtt.birth_message.retain = false)).some((p) => p.includes('retained')),
    'a birth that is not retained',
  );
  assert.ok(
    broken((d) => (d.mqtt.client_id = 'esp32-kitchen')).some((p) => p.includes('client_id')),
    'a client id that is not the device id',
  );
  assert.ok(
    broken((d) => (d.mqtt.on_json_message[0].topic = 'smokehub/h/t1-h1/d/t1-h1-other/cmd')).some((p) => p.includes('not its own')),
    "another device's cmd topic",
  );
  assert.ok(
    broken((d) => (d.mqtt.on_json_message[1].topic = 'smokehub/station/alarm')).some((p) => p.includes('not its own')),
    'the station topic',
  );
  assert.ok(
    broken((d) => d.mqtt.on_json_message[0].then.pop()).some((p) => p.includes('"cmd":"test"')),
    'an unhandled command',
  );
  assert.ok(
    broken((d) => (d.interval[0].then[0].if.then[0]['mqtt.publish_json'].payload = new Lambda('root["temp"] = 1;'))).some((p) => p.includes('telemetry')),
    'an unknown telemetry field',
  );
  assert.ok(
    broken((d) => (d.sensor[0].filters[0].multiply = 100000)).some((p) => p.includes('smoke must be between')),
    'telemetry out of range',
  );
  assert.ok(
    broken((d) => delete d.sensor[0].internal).some((p) => p.includes('not internal')),
    'a component that would publish its own state',
  );
  assert.ok(
    broken((d) => (d.globals[0].restore_value = false)).some((p) => p.includes('restore_value')),
    'a boot counter that is not kept',
  );
});

test('docs/devices.md is linked from the README and docs/mqtt-api.md, and names the example', () => {
  const devices = readFileSync(ROOT + 'docs/devices.md', 'utf8');
  assert.ok(devices.includes('esphome/smokehub-detector.yaml'));
  assert.ok(readFileSync(ROOT + 'README.md', 'utf8').includes('docs/devices.md'));
  assert.ok(readFileSync(ROOT + 'docs/mqtt-api.md', 'utf8').includes('devices.md'));
});
