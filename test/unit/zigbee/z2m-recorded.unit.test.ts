/**
 * The recorded Zigbee2MQTT shapes (test/fixtures/z2m/, Z2M 2.12.1 and 1.42.0) read by the hub's
 * pure model: every device gets the kind it is, and replaying each device's recorded publishes
 * gives exactly the contract events a person would expect — transitions only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readDeviceList } from '../../../hub/zigbee/z2m-devices.ts';
import { translateState, type RememberedState } from '../../../hub/zigbee/z2m-state.ts';
import { sirenStart } from '../../../hub/zigbee/siren-commands.ts';
import { fixturePublishes } from '../../helpers/z2m-fixtures.ts';

const list = (file: string) => readDeviceList(readFileSync(new URL(`../../fixtures/z2m/${file}`, import.meta.url)));

test('Z2M 2.x device list: kinds, alarm properties and siren controls', () => {
  const r = list('bridge-devices.json');
  assert.equal(r.error, null);
  const by = new Map(r.devices.map((d) => [d.model, d]));
  assert.equal(by.get('TS0205')?.kind, 'smoke');
  assert.equal(by.get('HS1CA-E')?.kind, 'co');
  assert.equal(by.get('HS3CG')?.kind, 'gas');
  assert.equal(by.get('HM-5HA-E')?.kind, 'heat', 'the generic IAS alarm of a "Heat detector"');
  assert.deepEqual(
    by.get('HM-5HA-E')?.alarms.map((a) => a.property),
    ['alarm'],
  );
  assert.equal(by.get('HS2WD-E')?.kind, 'siren');
  assert.deepEqual(by.get('HS2WD-E')?.siren, { type: 'warning', modes: ['stop', 'emergency'], levels: [], strobe: true, duration: true });
  assert.equal(by.get('NAS-AB02B2')?.kind, 'siren', 'a settable alarm switch is a siren, not a detector');
  assert.deepEqual(by.get('NAS-AB02B2')?.alarms, []);
  assert.equal(by.get('HS3CG')?.batteryPercent, false, 'mains powered: battery_low only');
  assert.deepEqual(r.skipped, [{ entry: 'Coordinator', why: 'the coordinator' }]);
});

test('Z2M 1.x device list: the same kinds; its HS2WD-E lists fire and levels', () => {
  const by = new Map(list('bridge-devices-1.x.json').devices.map((d) => [d.model, d]));
  assert.deepEqual(
    [...by.values()].map((d) => [d.model, d.kind]),
    [
      ['TS0205', 'smoke'],
      ['HS1CA-E', 'co'],
      ['HS3CG', 'gas'],
      ['HS2WD-E', 'siren'],
      ['NAS-AB02B2', 'siren'],
    ],
  );
  const siren = by.get('HS2WD-E')!.siren!;
  assert.deepEqual(sirenStart(siren, 'smoke'), { warning: { mode: 'fire', level: 'very_high', strobe: true, duration: 1800 } });
});

function replay(model: string): string[][] {
  const dev = list('bridge-devices.json').devices.find((d) => d.model === model)!;
  let prev: RememberedState | undefined;
  let open = false;
  return fixturePublishes(model).map((p) => {
    const t = translateState(dev, prev, JSON.stringify(p.payload), open);
    assert.equal(t.malformed, false, `${model}: ${p.note}`);
    prev = t.next;
    if (t.events.some((e) => e === 'smoke' || e === 'heat' || e === 'co' || e === 'gas')) open = true;
    if (t.events.includes('clear')) open = false;
    return t.events;
  });
}

test('replayed publishes: transitions only, a clear when the alarm ends, nothing from a repeat', () => {
  assert.deepEqual(replay('TS0205'), [[], [], ['smoke'], [], ['clear'], ['tamper'], []]);
  assert.deepEqual(replay('HS1CA-E'), [[], ['co'], [], ['clear'], []], 'battery_low with a percentage: no fault');
  assert.deepEqual(replay('HS3CG'), [[], ['gas'], ['clear']]);
  assert.deepEqual(replay('HM-5HA-E'), [[], ['heat'], ['test', 'clear'], ['fault']]);
  assert.deepEqual(replay('NAS-AB02B2'), [[], [], []], "a siren's own alarm state is not an alarm");
});
