/**
 * The recorded Zigbee2MQTT shapes in test/fixtures/z2m/ (see its README.md) hold together: every
 * `bridge/devices` entry has Z2M's fields, the exposes serialise as the converters' Expose classes
 * do, keys are sorted as Z2M's json-stable-stringify sorts them, and every state payload only uses
 * properties its device's definition exposes (or lists as published-but-not-exposed), with values
 * of the exposed kinds. The checks are functions so that the last tests can show each one fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Obj = Record<string, any>;
const DIR = fileURLToPath(new URL('../../fixtures/z2m/', import.meta.url));
const load = (name: string): any => JSON.parse(readFileSync(DIR + name, 'utf8'));

const IEEE = /^0x[0-9a-f]{16}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DEVICE_TYPES = ['Coordinator', 'Router', 'EndDevice'];
const EXPOSE_TYPES = ['binary', 'numeric', 'enum', 'text', 'composite', 'list', 'switch', 'lock', 'light', 'cover', 'fan', 'climate'];
/** Z2M's state keys that no definition exposes (added by Z2M itself). */
const Z2M_ADDED = ['last_seen'];

/** Object keys, recursively, in sorted order (what json-stable-stringify publishes)? */
function unsortedPath(v: unknown, path = '$'): string | null {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = unsortedPath(v[i], `${path}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (v && typeof v === 'object') {
    const keys = Object.keys(v);
    const sorted = [...keys].sort();
    if (keys.some((k, i) => k !== sorted[i])) return path;
    for (const k of keys) {
      const p = unsortedPath((v as Obj)[k], `${path}.${k}`);
      if (p) return p;
    }
  }
  return null;
}

/** Problems of one expose (and its features), as Z2M serialises exposes. */
function exposeProblems(e: Obj, where: string, feature = false): string[] {
  const out: string[] = [];
  if (!EXPOSE_TYPES.includes(e.type)) out.push(`${where}: unknown type ${e.type}`);
  const specific = ['switch', 'lock', 'light', 'cover', 'fan', 'climate'].includes(e.type);
  if (!specific) {
    if (typeof e.name !== 'string' || e.name === '') out.push(`${where}: no name`);
    if (typeof e.property !== 'string' || e.property === '') out.push(`${where}: no property`);
    if (typeof e.label !== 'string') out.push(`${where}: no label`);
    if (!Number.isInteger(e.access) || e.access < 1 || e.access > 7) out.push(`${where}: access ${e.access} is not 1–7`);
  }
  if (e.category !== undefined && !['config', 'diagnostic'].includes(e.category)) out.push(`${where}: category ${e.category}`);
  if (e.category === 'diagnostic' && e.access & 2) out.push(`${where}: a diagnostic expose is settable`);
  if (e.category === 'config' && !(e.access & 2)) out.push(`${where}: a config expose is not settable`);
  if (e.type === 'binary' && (!('value_on' in e) || !('value_off' in e))) out.push(`${where}: binary without value_on/value_off`);
  if (e.type === 'enum' && (!Array.isArray(e.values) || e.values.length === 0)) out.push(`${where}: enum without values`);
  if (e.type === 'numeric') {
    for (const k of ['value_min', 'value_max', 'value_step']) if (e[k] !== undefined && typeof e[k] !== 'number') out.push(`${where}: ${k} not a number`);
    if (typeof e.value_min === 'number' && typeof e.value_max === 'number' && e.value_min > e.value_max) out.push(`${where}: value_min > value_max`);
  }
  if (e.type === 'composite' || specific) {
    if (!Array.isArray(e.features) || e.features.length === 0) out.push(`${where}: ${e.type} without features`);
    else for (const [i, f] of (e.features as Obj[]).entries()) out.push(...exposeProblems(f, `${where}.features[${i}]`, true));
  } else if (e.features !== undefined) out.push(`${where}: a ${e.type} has features`);
  if (feature && e.type === 'composite' && e.property === undefined) out.push(`${where}: nested composite without property`);
  return out;
}

/** Problems of a whole bridge/devices array. */
function bridgeDevicesProblems(list: unknown, v2: boolean): string[] {
  if (!Array.isArray(list)) return ['bridge/devices is not an array'];
  const out: string[] = [];
  const coordinators = list.filter((d: Obj) => d?.type === 'Coordinator');
  if (coordinators.length !== 1) out.push(`${coordinators.length} Coordinator entries`);
  const seenIeee = new Set<string>();
  const seenNames = new Set<string>();
  list.forEach((d: Obj, i: number) => {
    const w = `[${i}] ${d?.friendly_name}`;
    if (typeof d?.ieee_address !== 'string' || !IEEE.test(d.ieee_address)) out.push(`${w}: ieee_address ${d?.ieee_address}`);
    if (seenIeee.has(d.ieee_address)) out.push(`${w}: duplicate ieee_address`);
    seenIeee.add(d.ieee_address);
    if (typeof d.friendly_name !== 'string' || d.friendly_name === '') out.push(`${w}: no friendly_name`);
    else if (/[+#]/.test(d.friendly_name) || /^\/|\/$|\/\d*$/.test(d.friendly_name)) out.push(`${w}: friendly_name Z2M would refuse`);
    if (seenNames.has(d.friendly_name)) out.push(`${w}: duplicate friendly_name`);
    seenNames.add(d.friendly_name);
    if (!DEVICE_TYPES.includes(d.type)) out.push(`${w}: type ${d.type}`);
    if (!Number.isInteger(d.network_address) || d.network_address < 0 || d.network_address > 0xfff7) out.push(`${w}: network_address`);
    for (const k of ['supported', 'disabled', 'interviewing', 'interview_completed']) if (typeof d[k] !== 'boolean') out.push(`${w}: ${k} not boolean`);
    if (v2 && !['PENDING', 'IN_PROGRESS', 'SUCCESSFUL', 'FAILED'].includes(d.interview_state)) out.push(`${w}: interview_state ${d.interview_state}`);
    if (!v2 && d.interview_state !== undefined) out.push(`${w}: interview_state is 2.x only`);
    if (!d.endpoints || typeof d.endpoints !== 'object' || Object.keys(d.endpoints).length === 0) out.push(`${w}: no endpoints`);
    for (const [id, ep] of Object.entries<Obj>(d.endpoints ?? {})) {
      if (!/^\d+$/.test(id)) out.push(`${w}: endpoint id ${id}`);
      if (!Array.isArray(ep.bindings) || !Array.isArray(ep.configured_reportings) || !Array.isArray(ep.scenes)) out.push(`${w}: endpoint ${id} lists`);
      if (!Array.isArray(ep.clusters?.input) || !Array.isArray(ep.clusters?.output)) out.push(`${w}: endpoint ${id} clusters`);
      for (const b of ep.bindings ?? []) if (b.target?.type === 'endpoint' && !IEEE.test(b.target.ieee_address)) out.push(`${w}: binding target`);
    }
    if (d.type === 'Coordinator') {
      if (d.definition !== undefined) out.push(`${w}: the Coordinator has no definition`);
      if (d.friendly_name !== 'Coordinator' || d.network_address !== 0) out.push(`${w}: Coordinator name/address`);
      return;
    }
    for (const k of ['power_source', 'model_id', 'manufacturer']) if (typeof d[k] !== 'string') out.push(`${w}: ${k} not a string`);
    const def = d.definition;
    if (!def || typeof def !== 'object') {
      out.push(`${w}: no definition`);
      return;
    }
    for (const k of ['model', 'vendor', 'description']) if (typeof def[k] !== 'string' || def[k] === '') out.push(`${w}: definition.${k}`);
    if (typeof def.supports_ota !== 'boolean') out.push(`${w}: definition.supports_ota`);
    if (!Array.isArray(def.options)) out.push(`${w}: definition.options`);
    if (v2 && (!['native', 'generated', 'external'].includes(def.source) || typeof def.version !== 'string')) out.push(`${w}: definition.source/version (2.x)`);
    if (!v2 && (def.source !== undefined || def.version !== undefined)) out.push(`${w}: definition.source/version are 2.x only`);
    if (!Array.isArray(def.exposes) || def.exposes.length === 0) {
      out.push(`${w}: definition.exposes is not a non-empty array`);
      return;
    }
    for (const [j, e] of (def.exposes as Obj[]).entries()) out.push(...exposeProblems(e, `${w}.exposes[${j}]`));
    for (const [j, e] of (def.options as Obj[]).entries()) out.push(...exposeProblems(e, `${w}.options[${j}]`));
    const props = def.exposes.map((e: Obj) => e.property).filter(Boolean);
    if (new Set(props).size !== props.length) out.push(`${w}: duplicate expose property`);
    const lq = def.exposes.at(-1);
    if (lq?.name !== 'linkquality' || lq.access !== 1 || lq.unit !== 'lqi') out.push(`${w}: linkquality is not the last expose`);
  });
  const path = unsortedPath(list);
  if (path) out.push(`keys not sorted at ${path}`);
  return out;
}

/** Top-level state properties a definition exposes, with their expose. */
function stateExposes(def: Obj): Map<string, Obj> {
  const m = new Map<string, Obj>();
  for (const e of def.exposes as Obj[]) {
    if (e.property) m.set(e.property, e);
    // switch/light/…: their features' properties are top-level keys of the state
    else for (const f of e.features ?? []) if (f.property) m.set(f.property, f);
  }
  return m;
}

/** Problems of one state payload against its device's definition. */
function statePayloadProblems(payload: unknown, exposes: Map<string, Obj> | null, allowed: string[], lastSeen: string, where: string): string[] {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return [`${where}: not a JSON object`];
  const out: string[] = [];
  const p = payload as Obj;
  const keys = Object.keys(p);
  if (keys.join() !== [...keys].sort().join()) out.push(`${where}: keys not sorted`);
  if (!Number.isInteger(p.linkquality) || p.linkquality < 0 || p.linkquality > 255) out.push(`${where}: linkquality ${p.linkquality}`);
  if (lastSeen === 'ISO_8601' && (typeof p.last_seen !== 'string' || !ISO_UTC.test(p.last_seen))) out.push(`${where}: last_seen ${p.last_seen}`);
  if (lastSeen === 'disable' && 'last_seen' in p) out.push(`${where}: last_seen while disabled`);
  for (const [k, v] of Object.entries(p)) {
    if (Z2M_ADDED.includes(k) || allowed.includes(k)) continue;
    const e = exposes?.get(k);
    if (exposes && !e) {
      out.push(`${where}: ${k} is not exposed`);
      continue;
    }
    if (!e) continue;
    if (!(e.access & 1)) out.push(`${where}: ${k} is set-only (access ${e.access}) yet in the state`);
    if (e.type === 'binary' && v !== e.value_on && v !== e.value_off) out.push(`${where}: ${k}=${JSON.stringify(v)} is neither value_on nor value_off`);
    if (e.type === 'numeric') {
      if (typeof v !== 'number' || !Number.isFinite(v)) out.push(`${where}: ${k} not a number`);
      else if ((e.value_min !== undefined && v < e.value_min) || (e.value_max !== undefined && v > e.value_max)) out.push(`${where}: ${k}=${v} out of range`);
    }
    // Enum values compared as strings: Tuya enum datapoints arrive as numbers (README).
    if (e.type === 'enum' && !(e.values as unknown[]).map(String).includes(String(v))) out.push(`${where}: ${k}=${JSON.stringify(v)} not in values`);
    if (e.type === 'text' && typeof v !== 'string') out.push(`${where}: ${k} not a string`);
  }
  return out;
}

const devicesByFile: Record<string, Obj[]> = {
  'bridge-devices.json': load('bridge-devices.json'),
  'bridge-devices-1.x.json': load('bridge-devices-1.x.json'),
};
const stateFiles = readdirSync(DIR).filter((f) => /^state-.+\.json$/.test(f));

/** Problems of a whole state-*.json file. */
function stateFileProblems(file: Obj, name: string): string[] {
  const out: string[] = [];
  if (!IEEE.test(file.ieee_address ?? '')) out.push(`${name}: ieee_address`);
  if (file.topic !== `<base_topic>/${file.friendly_name}`) out.push(`${name}: topic is not <base_topic>/<friendly_name>`);
  if (file.qos !== 0 || file.retain !== false) out.push(`${name}: Z2M publishes states with QoS 0, not retained`);
  if (!Array.isArray(file.sequences) || file.sequences.length === 0) return [...out, `${name}: no sequences`];
  file.sequences.forEach((s: Obj, i: number) => {
    const w = `${name} sequence ${i}`;
    let exposes: Map<string, Obj> | null = null;
    if (s.devices_fixture !== null) {
      const device = devicesByFile[s.devices_fixture]?.find((d) => d.ieee_address === file.ieee_address);
      if (!device) {
        out.push(`${w}: ${file.ieee_address} not in ${s.devices_fixture}`);
        return;
      }
      if (device.friendly_name !== file.friendly_name || device.definition?.model !== file.model)
        out.push(`${w}: friendly_name/model differ from ${s.devices_fixture}`);
      exposes = stateExposes(device.definition);
    } else {
      if (!Array.isArray(s.exposes_then)) out.push(`${w}: an old shape must list exposes_then`);
      else exposes = new Map((s.exposes_then as string[]).map((p) => [p, { access: 1 }])); // names only: no types to check
    }
    const allowed: string[] = s.undeclared_properties ?? [];
    for (const k of allowed) if (exposes?.has(k)) out.push(`${w}: ${k} is exposed, not undeclared`);
    if (!['ISO_8601', 'disable'].includes(s.last_seen)) out.push(`${w}: last_seen setting ${s.last_seen}`);
    if (!Array.isArray(s.publishes) || s.publishes.length === 0) {
      out.push(`${w}: no publishes`);
      return;
    }
    for (const [j, pub] of (s.publishes as Obj[]).entries()) out.push(...statePayloadProblems(pub.payload, exposes, allowed, s.last_seen, `${w} publish ${j}`));
    // The alarm marks must agree with the payloads: whatever the device's alarm property is, it is on exactly in the marked publishes.
    const alarmKeys = ['smoke', 'carbon_monoxide', 'gas', 'alarm'].filter((k) => exposes?.has(k));
    for (const k of alarmKeys) {
      const on = exposes!.get(k)!.value_on ?? true;
      s.publishes.forEach((pub: Obj, j: number) => {
        if (k in pub.payload && (pub.payload[k] === on) !== (pub.alarm === true)) out.push(`${w} publish ${j}: ${k} and the alarm mark disagree`);
      });
    }
  });
  return out;
}

test('bridge-devices.json is a Z2M 2.x bridge/devices payload', () => {
  assert.deepEqual(bridgeDevicesProblems(devicesByFile['bridge-devices.json'], true), []);
});

test('bridge-devices-1.x.json is a Z2M 1.x bridge/devices payload', () => {
  assert.deepEqual(bridgeDevicesProblems(devicesByFile['bridge-devices-1.x.json'], false), []);
});

test('the required devices are there, with the properties the hub reads', () => {
  const byModel = new Map(devicesByFile['bridge-devices.json'].filter((d) => d.definition).map((d) => [d.definition.model, stateExposes(d.definition)]));
  const need: Record<string, string[]> = {
    TS0205: ['smoke', 'tamper', 'battery'],
    'HS1CA-E': ['carbon_monoxide', 'battery_low', 'battery'],
    HS3CG: ['gas', 'battery_low', 'tamper'],
    'HS2WD-E': ['warning', 'battery'],
    'HM-5HA-E': ['alarm', 'temperature', 'test'],
    'NAS-AB02B2': ['alarm'],
  };
  for (const [model, props] of Object.entries(need)) {
    const ex = byModel.get(model);
    assert.ok(ex, `${model} is in bridge-devices.json`);
    for (const p of props) assert.ok(ex.has(p), `${model} exposes ${p}`);
  }
  // A sensor alarm is read-only; a siren's alarm switch is settable.
  assert.equal(byModel.get('HM-5HA-E')!.get('alarm')!.access & 2, 0);
  assert.ok(byModel.get('NAS-AB02B2')!.get('alarm')!.access & 2);
  // TS0205 has neither battery_low nor test in current Z2M (README).
  assert.ok(!byModel.get('TS0205')!.has('battery_low') && !byModel.get('TS0205')!.has('test'));
});

test('the sirens’ warning composites are what Z2M serialises (2.x restricted HS2WD-E, 1.x generic)', () => {
  const warningOf = (file: string) =>
    devicesByFile[file].find((d) => d.definition?.model === 'HS2WD-E')!.definition.exposes.find((e: Obj) => e.name === 'warning');
  const v2 = warningOf('bridge-devices.json');
  assert.equal(v2.type, 'composite');
  assert.equal(v2.access, 2);
  assert.deepEqual(
    v2.features.map((f: Obj) => f.name),
    ['strobe', 'strobe_duty_cycle', 'duration', 'mode'],
  );
  assert.deepEqual(v2.features.find((f: Obj) => f.name === 'mode').values, ['stop', 'emergency']);
  const v1 = warningOf('bridge-devices-1.x.json');
  const features = Object.fromEntries(v1.features.map((f: Obj) => [f.name, f]));
  assert.deepEqual(Object.keys(features), ['mode', 'level', 'strobe_level', 'strobe', 'strobe_duty_cycle', 'duration']);
  assert.deepEqual(features.mode.values, ['stop', 'burglar', 'fire', 'emergency', 'police_panic', 'fire_panic', 'emergency_panic']);
  assert.deepEqual(features.level.values, ['low', 'medium', 'high', 'very_high']);
  assert.deepEqual(features.strobe_level.values, ['low', 'medium', 'high', 'very_high']);
  assert.equal(features.strobe.value_on, true);
  assert.equal(features.strobe_duty_cycle.value_max, 10);
  assert.equal(features.duration.unit, 's');
  for (const f of v1.features) assert.equal(f.access, 2, `${f.name} is set-only`);
});

test('every state file fits its device’s definition', () => {
  assert.ok(stateFiles.length >= 6, 'one state file per device');
  for (const f of stateFiles) assert.deepEqual(stateFileProblems(load(f), f), [], f);
  // every non-coordinator device of bridge-devices.json has a state file
  const covered = new Set(stateFiles.map((f) => load(f).ieee_address));
  for (const d of devicesByFile['bridge-devices.json'])
    if (d.type !== 'Coordinator') assert.ok(covered.has(d.ieee_address), `state file for ${d.friendly_name}`);
});

test('availability.json and bridge-state.json have both payload forms', () => {
  const av = load('availability.json');
  assert.equal(av.topic, '<base_topic>/<friendly_name>/availability');
  assert.equal(av.retain, true);
  assert.equal(av.qos, 1);
  const bs = load('bridge-state.json');
  assert.equal(bs.topic, '<base_topic>/bridge/state');
  assert.equal(bs.retain, true);
  const onlines = [...av.forms.map((f: Obj) => f.online), ...bs.forms.map((f: Obj) => f.online.payload)];
  const offlines = [...av.forms.map((f: Obj) => f.offline), ...bs.forms.map((f: Obj) => f.offline.payload)];
  for (const p of onlines) assert.ok(p === 'online' || JSON.parse(p).state === 'online', p);
  for (const p of offlines) assert.ok(p === 'offline' || JSON.parse(p).state === 'offline', p);
  assert.ok(onlines.includes('online') && onlines.includes('{"state":"online"}'), 'legacy and JSON forms');
  // 2.x is always JSON
  for (const f of [...av.forms, ...bs.forms].filter((f: Obj) => f.z2m.startsWith('2.'))) {
    assert.equal(typeof f.online === 'string' ? f.online : f.online.payload, '{"state":"online"}');
  }
});

test('the README names a source for every fixture file', () => {
  const readme = readFileSync(DIR + 'README.md', 'utf8');
  for (const f of readdirSync(DIR).filter((n) => n.endsWith('.json'))) assert.ok(readme.includes('`' + f + '`'), `README.md names ${f}`);
  for (const commit of ['aa909a8a62f76e2dd98ace3a172bca88ee56f5fe', '861cba63b34f34072131df1b13f771d5ec49330d', '1d15c0ca29d2ec80c9bc67f9186e072e15129487']) {
    assert.ok(readme.includes(commit));
  }
});

test('the checks fail on broken fixtures', () => {
  const clone = <T>(v: T): T => structuredClone(v);
  const devices = devicesByFile['bridge-devices.json'];
  const ts = devices.findIndex((d) => d.definition?.model === 'TS0205');

  let bad = clone(devices);
  bad[ts].ieee_address = '0x84FD27FFFE6A1C02';
  assert.ok(
    bridgeDevicesProblems(bad, true).some((p) => p.includes('ieee_address')),
    'upper-case IEEE address',
  );
  bad = clone(devices);
  bad[ts].ieee_address = '84fd27fffe6a1c02';
  assert.ok(
    bridgeDevicesProblems(bad, true).some((p) => p.includes('ieee_address')),
    'IEEE address without 0x',
  );
  bad = clone(devices);
  delete bad[ts].friendly_name;
  assert.ok(
    bridgeDevicesProblems(bad, true).some((p) => p.includes('friendly_name')),
    'no friendly name',
  );
  bad = clone(devices);
  bad[ts].definition.exposes = {};
  assert.ok(
    bridgeDevicesProblems(bad, true).some((p) => p.includes('exposes')),
    'exposes not an array',
  );
  bad = clone(devices);
  delete bad[ts].definition.exposes[1].value_on;
  assert.ok(
    bridgeDevicesProblems(bad, true).some((p) => p.includes('value_on')),
    'binary without value_on',
  );
  bad = clone(devices);
  bad[ts] = { supported: true, ...bad[ts] };
  assert.ok(
    bridgeDevicesProblems(bad, true).some((p) => p.includes('not sorted')),
    'unsorted keys',
  );
  assert.ok(
    bridgeDevicesProblems(devices, false).some((p) => p.includes('2.x only')),
    'a 2.x payload is not a 1.x one',
  );

  const smoke = load('state-ts0205.json');
  let s = clone(smoke);
  s.sequences[0].publishes[1].payload.smoke_alarm = true;
  assert.ok(
    stateFileProblems(s, 's').some((p) => p.includes('smoke_alarm is not exposed')),
    'a key the device does not expose',
  );
  s = clone(smoke);
  s.sequences[0].publishes[2].payload.smoke = 'ON';
  assert.ok(
    stateFileProblems(s, 's').some((p) => p.includes('neither value_on')),
    'a binary value that is not value_on/value_off',
  );
  s = clone(smoke);
  s.sequences[0].publishes[2].alarm = false;
  assert.ok(
    stateFileProblems(s, 's').some((p) => p.includes('alarm mark')),
    'an alarm mark that disagrees with the payload',
  );
  s = clone(smoke);
  delete s.sequences[0].publishes[0].payload.last_seen;
  assert.ok(
    stateFileProblems(s, 's').some((p) => p.includes('last_seen')),
    'last_seen missing while enabled',
  );
  s = clone(load('state-hs1ca-e.json'));
  s.sequences[0].undeclared_properties = [];
  assert.ok(
    stateFileProblems(s, 's').some((p) => p.includes('tamper is not exposed')),
    'HS1CA-E publishes tamper it does not expose',
  );
  s = clone(load('state-hs2wd-e.json'));
  s.sequences[0].publishes[0].payload = { ...s.sequences[0].publishes[0].payload, warning: { mode: 'emergency' } };
  s.sequences[0].publishes[0].payload = Object.fromEntries(Object.entries(s.sequences[0].publishes[0].payload).sort());
  assert.ok(
    stateFileProblems(s, 's').some((p) => p.includes('set-only')),
    'a set-only expose in the state',
  );
});
