import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertTracker, viewSounds } from '../../firmware-bridge/alert-tracker.ts';
import type { AlarmState, AlarmView } from '../../hub/protocol/schema.ts';

const ME = 'hg-t1-h01';
const NEIGHBOUR = 'hg-t1-h02';

function view(alarm: string, state: AlarmState, origin = NEIGHBOUR, kind: AlarmView['kind'] = 'smoke'): AlarmView {
  return {
    alarm, state, kind, team: 'hg-t1',
    origin: { household: origin, name: 'Nhà ông Nguyễn Văn An', address: '12 Lê Thánh Tông', lat: 20.95, lon: 107.08, device: 'd1' },
    raisedAt: 1, updatedAt: 2, responders: [],
  };
}

test('which views sound for a household', () => {
  assert.equal(viewSounds(view('a', 'pre-alarm', ME), ME), true);
  assert.equal(viewSounds(view('a', 'pre-alarm', NEIGHBOUR), ME), false);
  assert.equal(viewSounds(view('a', 'active', NEIGHBOUR), ME), true);
  assert.equal(viewSounds(view('a', 'escalated', NEIGHBOUR), ME), true);
  assert.equal(viewSounds(view('a', 'cancelled', ME), ME), false);
  assert.equal(viewSounds(view('a', 'resolved', NEIGHBOUR), ME), false);
});

test('a neighbour alarm sounds once when active, stands down when resolved', () => {
  const t = new AlertTracker(ME);
  assert.deepEqual(t.onView(view('a1', 'pre-alarm')), []);
  assert.deepEqual(t.onView(view('a1', 'active')), [{ do: 'sound', alarm: 'a1', kind: 'smoke', origin: NEIGHBOUR, own: false }]);
  assert.deepEqual(t.onView(view('a1', 'active')), [], 'a repeated view does not re-sound');
  assert.equal(t.isSounding(), true);
  assert.deepEqual(t.onView(view('a1', 'resolved')), [{ do: 'stand-down', alarm: 'a1' }, { do: 'silence' }]);
  assert.equal(t.isSounding(), false);
  assert.deepEqual(t.onView(view('a1', 'resolved')), [], 'a stand-down for an unknown alarm is ignored');
});

test('silence press: neighbour alarm is silenced locally without hush; escalation re-sounds', () => {
  const t = new AlertTracker(ME);
  t.onView(view('a1', 'active'));
  assert.deepEqual(t.onSilencePress(), [{ do: 'silence' }]);
  assert.equal(t.isSounding(), false);
  assert.deepEqual(t.onSilencePress(), [], 'nothing left to silence');
  assert.deepEqual(t.onView(view('a1', 'escalated')), [{ do: 'sound', alarm: 'a1', kind: 'smoke', origin: NEIGHBOUR, own: false }]);
});

test('silence press during the own pre-alarm sends hush; during the own active alarm it does not', () => {
  const t = new AlertTracker(ME);
  assert.deepEqual(t.onView(view('own1', 'pre-alarm', ME)), [{ do: 'sound', alarm: 'own1', kind: 'smoke', origin: ME, own: true }]);
  assert.deepEqual(t.onSilencePress(), [{ do: 'hush', alarm: 'own1' }, { do: 'silence' }]);
  const u = new AlertTracker(ME);
  u.onView(view('own2', 'active', ME, 'heat'));
  assert.deepEqual(u.onSilencePress(), [{ do: 'silence' }]);
});

test('a local smoke event sounds at once and clears with the board; hush works before the hub answers', () => {
  const t = new AlertTracker(ME);
  assert.deepEqual(t.onLocalEvent('smoke'), [{ do: 'sound', alarm: 'local-smoke', kind: 'smoke', origin: ME, own: true }]);
  assert.deepEqual(t.onLocalEvent('smoke'), []);
  assert.deepEqual(t.onLocalEvent('panic'), [], 'panic is rung by the hub alarm, not locally');
  assert.deepEqual(t.onSilencePress(), [{ do: 'hush', alarm: 'local-smoke' }, { do: 'silence' }]);
  assert.deepEqual(t.onLocalEvent('clear'), [{ do: 'stand-down', alarm: 'local-smoke' }, { do: 'silence' }]);
  assert.equal(t.tracked().length, 0);
});

test('two alarms: standing one down keeps sounding for the other', () => {
  const t = new AlertTracker(ME);
  t.onView(view('a1', 'active'));
  t.onView(view('a2', 'active', 'hg-t1-h05', 'panic'));
  assert.deepEqual(t.onView(view('a1', 'cancelled')), [{ do: 'stand-down', alarm: 'a1' }]);
  assert.equal(t.isSounding(), true);
});

test('hub commands: sound, silence one or all, test', () => {
  const t = new AlertTracker(ME);
  assert.deepEqual(t.onCommand({ cmd: 'test' }), [{ do: 'test' }]);
  assert.deepEqual(t.onCommand({ cmd: 'sound', alarm: 'x', kind: 'co', origin: NEIGHBOUR }), [{ do: 'sound', alarm: 'x', kind: 'co', origin: NEIGHBOUR, own: false }]);
  assert.deepEqual(t.onCommand({ cmd: 'sound', alarm: 'x', kind: 'co', origin: NEIGHBOUR }), []);
  assert.deepEqual(t.onCommand({ cmd: 'sound', kind: 'bogus' as never }), [{ do: 'sound', alarm: `cmd-${ME}-smoke`, kind: 'smoke', origin: ME, own: true }]);
  assert.deepEqual(t.onCommand({ cmd: 'silence', alarm: 'x' }), [{ do: 'stand-down', alarm: 'x' }]);
  assert.deepEqual(t.onCommand({ cmd: 'silence' }), [{ do: 'stand-down', alarm: `cmd-${ME}-smoke` }, { do: 'silence' }]);
});

test('resync after reconnect stands down alarms the hub did not re-send, keeps local ones', () => {
  const t = new AlertTracker(ME);
  t.onView(view('a1', 'active'));
  t.onView(view('a2', 'active'));
  t.onLocalEvent('smoke');
  t.beginResync();
  t.onView(view('a2', 'active'));
  assert.deepEqual(t.endResync(), [{ do: 'stand-down', alarm: 'a1' }]);
  assert.deepEqual(t.tracked().map((a) => a.alarm).sort(), ['a2', 'local-smoke']);
  assert.deepEqual(t.endResync(), []);
});
