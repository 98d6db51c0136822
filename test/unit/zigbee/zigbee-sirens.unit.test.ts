/** Zigbee sirens follow the bridge's sounder rules (alert-tracker), with owed stops and refreshes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ZigbeeSirens } from '../../../hub/zigbee/zigbee-sirens.ts';
import type { ZigbeeChild } from '../../../hub/zigbee/zigbee-store.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';

const siren: ZigbeeChild = {
  id: 'gw-b.0x00158d00ddddddd4',
  gateway: 'gw-b',
  household: 'h2',
  ieee: '0x00158d00ddddddd4',
  friendlyName: 'hall/siren',
  model: 'HS2WD-E',
  vendor: 'HEIMAN',
  kind: 'siren',
  alarms: [],
  siren: { type: 'warning', modes: ['stop', 'burglar', 'fire', 'emergency'], levels: ['low', 'medium', 'high', 'very_high'], strobe: true, duration: true },
  properties: ['warning'],
  batteryPercent: true,
};

function setup() {
  const sent: Array<{ topic: string; payload: any }> = [];
  let reachable = true;
  const sirens = new ZigbeeSirens({
    mqtt: { publish: (topic, payload) => void sent.push({ topic, payload: JSON.parse(String(payload)) }) },
    childrenOf: (h) => (h === 'h2' ? [siren] : []),
    reachable: () => reachable,
    householdsOf: () => ['h1', 'h2', 'h3'],
    log: silentLogger(),
    commands: { inc: () => {} } as never,
  });
  const modes = () => sent.map((s) => s.payload.warning.mode as string);
  return { sirens, sent, modes, setReachable: (v: boolean) => (reachable = v) };
}

const view = (over: Partial<AlarmView>): AlarmView => ({
  alarm: 'A1',
  state: 'active',
  kind: 'smoke',
  team: 't1',
  origin: { household: 'h1', device: 'd1', name: 'A', address: '1 Lê Lợi', lat: null, lon: null },
  raisedAt: 1,
  updatedAt: 1,
  responders: [],
  ...over,
});

test("a neighbour's pre-alarm is not ours to hear; once active the siren rings, on the siren's own topic", () => {
  const { sirens, sent, modes } = setup();
  sirens.onAlarm(view({ state: 'pre-alarm', updatedAt: 1 }));
  assert.equal(sent.length, 0);
  sirens.onAlarm(view({ state: 'active', updatedAt: 2 }));
  assert.deepEqual(modes(), ['fire']);
  assert.equal(sent[0]!.topic, 'smokehub/h/h2/z2m/hall/siren/set');
  sirens.onAlarm(view({ state: 'active', updatedAt: 3, responders: [] }));
  assert.equal(sent.length, 1, 'no repeat for the same ringing state');
  sirens.onAlarm(view({ state: 'resolved', updatedAt: 4 }));
  assert.deepEqual(modes(), ['fire', 'stop']);
});

test("the household's own pre-alarm rings; a neighbour's hush stands the siren down", () => {
  const own = setup();
  own.sirens.onAlarm(view({ state: 'pre-alarm', origin: { ...view({}).origin, household: 'h2' } }));
  assert.deepEqual(own.modes(), ['fire']);
  const n = setup();
  n.sirens.onAlarm(view({ state: 'active', updatedAt: 1 }));
  n.sirens.onAlarm(view({ state: 'hushed', updatedAt: 2 }));
  assert.deepEqual(n.modes(), ['fire', 'stop']);
});

test('CO and gas ring emergency, a drill burglar; a real alarm wins over a drill', () => {
  const { sirens, modes } = setup();
  sirens.onAlarm(view({ alarm: 'D1', kind: 'drill', state: 'active' }));
  assert.deepEqual(modes(), ['burglar']);
  sirens.onAlarm(view({ alarm: 'G1', kind: 'gas', state: 'active' }));
  assert.deepEqual(modes(), ['burglar', 'emergency']);
  sirens.onAlarm(view({ alarm: 'G1', kind: 'gas', state: 'resolved', updatedAt: 9 }));
  assert.deepEqual(modes(), ['burglar', 'emergency', 'burglar'], 'back to the drill');
});

test('a stop that could not reach the gateway is sent when it is back; a refresh re-sends the start', () => {
  const { sirens, modes, setReachable } = setup();
  sirens.onAlarm(view({ state: 'active' }));
  sirens.refresh();
  assert.deepEqual(modes(), ['fire', 'fire']);
  setReachable(false);
  sirens.onAlarm(view({ state: 'resolved', updatedAt: 5 }));
  assert.deepEqual(modes(), ['fire', 'fire'], 'nothing sent while away');
  assert.equal(sirens.isRinging('h2'), false);
  setReachable(true);
  sirens.seed('h2', []);
  assert.deepEqual(modes(), ['fire', 'fire', 'stop'], 'the owed stop');
  sirens.seed('h2', []);
  assert.deepEqual(modes(), ['fire', 'fire', 'stop'], 'owed once');
});
