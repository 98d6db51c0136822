/** The pure Zigbee2MQTT model: device list → kinds and sirens; state → transitions only; siren commands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readDeviceList, readOnlineState, zigbeeDeviceId } from '../../../hub/zigbee/z2m-devices.ts';
import { translateState } from '../../../hub/zigbee/z2m-state.ts';
import { sirenStart, sirenStop, SIREN_DURATION_S } from '../../../hub/zigbee/siren-commands.ts';
import { canPublish, canSubscribe } from '../../../hub/core/acl.ts';
import { isJournalledTopic, parseTopic } from '../../../hub/protocol/topics.ts';

const binary = (property: string, access = 1) => ({ type: 'binary', name: property, property, access, value_on: true, value_off: false });
const numeric = (property: string) => ({ type: 'numeric', name: property, property, access: 1 });
const entry = (ieee: string, name: string, exposes: unknown[], extra: Record<string, unknown> = {}) => ({
  ieee_address: ieee,
  type: 'EndDevice',
  friendly_name: name,
  disabled: false,
  definition: { model: 'M', vendor: 'V', exposes },
  ...extra,
});
const warning = {
  type: 'composite',
  name: 'warning',
  property: 'warning',
  access: 2,
  features: [
    {
      type: 'enum',
      name: 'mode',
      property: 'mode',
      access: 2,
      values: ['stop', 'burglar', 'fire', 'emergency', 'police_panic', 'fire_panic', 'emergency_panic'],
    },
    { type: 'enum', name: 'level', property: 'level', access: 2, values: ['low', 'medium', 'high', 'very_high'] },
    { type: 'binary', name: 'strobe', property: 'strobe', access: 2, value_on: true, value_off: false },
    { type: 'numeric', name: 'duration', property: 'duration', access: 2 },
  ],
};

test('bridge/devices: kinds from exposes, sirens from a settable warning or alarm, others skipped', () => {
  const r = readDeviceList(
    JSON.stringify([
      { ieee_address: '0x00124b0000000000', type: 'Coordinator', friendly_name: 'Coordinator' },
      entry('0x00124B0000000001', 'kitchen/smoke', [binary('smoke'), binary('battery_low'), binary('tamper'), numeric('battery')]),
      entry('0x00124b0000000002', 'co', [binary('carbon_monoxide'), binary('battery_low')]),
      entry('0x00124b0000000003', 'gas', [binary('gas')]),
      entry('0x00124b0000000004', 'siren', [warning, numeric('battery')]),
      entry('0x00124b0000000005', 'tuya-siren', [binary('alarm', 7)]),
      entry('0x00124b0000000006', 'lamp', [{ type: 'light', features: [binary('state', 7)] }]),
      entry('0x00124b0000000007', 'off', [binary('smoke')], { disabled: true }),
      entry('nope', 'bad', [binary('smoke')]),
      entry('0x00124b0000000008', 'not-interviewed', [], { definition: null }),
      entry('0x00124b0000000009', 'kitchen/smoke', [binary('smoke')]),
    ]),
  );
  assert.equal(r.error, null);
  assert.deepEqual(
    r.devices.map((d) => [d.friendlyName, d.kind, d.siren?.type ?? null]),
    [
      ['kitchen/smoke', 'smoke', null],
      ['co', 'co', null],
      ['gas', 'gas', null],
      ['siren', 'siren', 'warning'],
      ['tuya-siren', 'siren', 'alarm'],
    ],
  );
  assert.equal(r.devices[0]!.ieee, '0x00124b0000000001', 'IEEE addresses are lower-cased');
  assert.equal(r.devices[0]!.batteryPercent, true);
  assert.equal(r.skipped.length, 6);
  assert.equal(readDeviceList('{"not":"a list"}').error, 'bridge/devices is not a JSON array');
  assert.equal(readDeviceList('garbage').error, 'bridge/devices is not JSON');
  assert.equal(zigbeeDeviceId('gw1', '0x00124B0000000001'), 'gw1.0x00124b0000000001');
});

test('availability and bridge/state: JSON and legacy payloads; anything else is unknown', () => {
  assert.equal(readOnlineState('{"state":"online"}'), 'online');
  assert.equal(readOnlineState('offline'), 'offline');
  assert.equal(readOnlineState('{"state":"maybe"}'), null);
  assert.equal(readOnlineState(''), null);
});

const alarm = (property: string, kind: 'smoke' | 'heat' | 'co' | 'gas', on: unknown = true, off: unknown = false) => ({ property, kind, on, off });
const smoke = { alarms: [alarm('smoke', 'smoke')], batteryPercent: true };

test('state: only transitions raise events; a repeated smoke: true is not a new alarm', () => {
  const a = translateState(smoke, undefined, '{"smoke":true,"battery":90,"linkquality":120}', false);
  assert.deepEqual(a.events, ['smoke']);
  assert.deepEqual(a.telemetry, { battery: 90 });
  assert.equal(a.linkquality, 120);
  const b = translateState(smoke, a.next, '{"smoke":true,"battery":89,"tamper":false}', true);
  assert.deepEqual(b.events, [], 'Z2M republishes the whole state: no second alarm');
  const c = translateState(smoke, b.next, '{"smoke":false,"tamper":true}', true);
  assert.deepEqual(c.events, ['tamper', 'clear'], 'the clear goes last');
  const d = translateState(smoke, c.next, '{"smoke":false,"tamper":true}', false);
  assert.deepEqual(d.events, []);
});

test('state after a restart: a first false clears only an open alarm of the device', () => {
  assert.deepEqual(translateState(smoke, undefined, '{"smoke":false}', true).events, ['clear']);
  assert.deepEqual(translateState(smoke, undefined, '{"smoke":false}', false).events, []);
});

test('state: CO and gas alarm like their kinds; a clear waits until no alarm property is true', () => {
  const dev = { alarms: [alarm('carbon_monoxide', 'co'), alarm('gas', 'gas')], batteryPercent: false };
  const a = translateState(dev, undefined, '{"carbon_monoxide":true,"gas":true}', false);
  assert.deepEqual(a.events, ['co', 'gas']);
  const b = translateState(dev, a.next, '{"carbon_monoxide":false,"gas":true}', true);
  assert.deepEqual(b.events, [], 'gas still alarms: no clear');
  assert.deepEqual(translateState(dev, b.next, '{"carbon_monoxide":false,"gas":false}', true).events, ['clear']);
});

test('state: a malformed message is rejected, never read as clear', () => {
  const prev = translateState(smoke, undefined, '{"smoke":true}', false).next;
  for (const bad of ['not json', '[]', '"smoke"', '{"smoke":"false"}', '{"smoke":0}']) {
    const r = translateState(smoke, prev, bad, true);
    assert.equal(r.malformed, true, bad);
    assert.ok(!r.events.includes('clear'), bad);
    assert.equal(r.next.smoke, true, `${bad}: the remembered alarm stays`);
    assert.ok(r.issues.length > 0);
  }
  const r = translateState(smoke, prev, '{"battery":900,"temperature":"hot"}', true);
  assert.equal(r.malformed, false, 'bad telemetry fields are dropped, the rest is used');
  assert.deepEqual(r.telemetry, {});
  assert.equal(r.issues.length, 2);
});

test('state: the test button, and battery_low as a fault only for devices without a percentage', () => {
  assert.deepEqual(translateState(smoke, { test: false }, '{"test":true}', false).events, ['test']);
  assert.deepEqual(translateState(smoke, undefined, '{"battery_low":true}', false).events, []);
  const noPercent = { alarms: [alarm('smoke', 'smoke')], batteryPercent: false };
  const low = translateState(noPercent, undefined, '{"battery_low":true}', false);
  assert.deepEqual(low.events, ['fault']);
  assert.deepEqual(translateState(noPercent, low.next, '{"battery_low":true}', false).events, []);
});

test('siren commands: fire at the loudest with strobe, drills quieter, stop; alarm switches use their values', () => {
  const w = {
    type: 'warning' as const,
    modes: ['stop', 'burglar', 'fire', 'emergency'],
    levels: ['low', 'medium', 'high', 'very_high'],
    strobe: true,
    duration: true,
  };
  assert.deepEqual(sirenStart(w, 'smoke'), { warning: { mode: 'fire', level: 'very_high', strobe: true, duration: SIREN_DURATION_S } });
  assert.deepEqual(sirenStart(w, 'gas'), { warning: { mode: 'emergency', level: 'very_high', strobe: true, duration: SIREN_DURATION_S } });
  assert.deepEqual(sirenStart(w, 'drill'), { warning: { mode: 'burglar', level: 'medium', strobe: false, duration: SIREN_DURATION_S } });
  assert.deepEqual(sirenStop(w), { warning: { mode: 'stop', strobe: false, duration: 0 } });
  const onlyFire = { ...w, modes: ['fire'], levels: [] };
  assert.deepEqual((sirenStart(onlyFire, 'co').warning as Record<string, unknown>).mode, 'fire', 'an unlisted mode falls back to the first');
  const sw = { type: 'alarm' as const, on: 'ON', off: 'OFF' };
  assert.deepEqual(sirenStart(sw, 'smoke'), { alarm: 'ON' });
  assert.deepEqual(sirenStop(sw), { alarm: 'OFF' });
});

test('topics and ACL: a gateway publishes and subscribes under its own z2m tree only', () => {
  const gw = { type: 'device' as const, device: 'gw1', household: 'h1', team: 't1', kind: 'zigbee2mqtt' as const };
  const plain = { type: 'device' as const, device: 'd1', household: 'h1', team: 't1', kind: 'smoke' as const };
  assert.deepEqual(parseTopic('smokehub/h/h1/z2m/kitchen/smoke'), { scope: 'z2m', household: 'h1', path: ['kitchen', 'smoke'] });
  assert.equal(parseTopic('smokehub/h/h1/z2m'), null);
  assert.equal(parseTopic('smokehub/h/h1/z2m/a//b'), null);
  assert.ok(canPublish(gw, 'smokehub/h/h1/z2m/bridge/devices'));
  assert.ok(!canPublish(gw, 'smokehub/h/h2/z2m/bridge/devices'), 'not another household');
  assert.ok(!canPublish(gw, 'smokehub/h/h1/d/gw1/event'), 'not the contract topics');
  assert.ok(!canPublish(gw, 'smokehub/h/h1/response'));
  assert.ok(!canPublish(plain, 'smokehub/h/h1/z2m/x'), 'other devices stay out of the tree');
  const teamOf = () => 't1';
  assert.ok(canSubscribe(gw, 'smokehub/h/h1/z2m/#', teamOf));
  assert.ok(!canSubscribe(gw, 'smokehub/h/h1/#', teamOf));
  assert.ok(!canSubscribe(gw, 'smokehub/h/h2/z2m/#', teamOf));
  assert.ok(!canSubscribe(gw, 'smokehub/#', teamOf));
  const household = { type: 'user' as const, username: 'u', role: 'household' as const, team: 't1', household: 'h1' };
  assert.ok(!canPublish(household, 'smokehub/h/h1/z2m/siren/set'), 'people do not command sirens directly');
  assert.ok(isJournalledTopic('smokehub/h/h1/z2m/kitchen'), 'a Zigbee state may journal an alarm: its PUBACK waits');
});
