import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertTracker, viewSounds } from '../../../hub/core/alert-tracker.ts';
import type { AlarmState, AlarmView, OpenAlarmsState } from '../../../hub/protocol/schema.ts';

const ME = 'hg-t1-h01';
const NEIGHBOUR = 'hg-t1-h02';

function view(alarm: string, state: AlarmState, origin = NEIGHBOUR, kind: AlarmView['kind'] = 'smoke', extra: Partial<AlarmView> = {}): AlarmView {
  return {
    alarm,
    state,
    kind,
    team: 'hg-t1',
    origin: { household: origin, name: 'Nhà ông Nguyễn Văn An', address: '12 Lê Thánh Tông', lat: 20.95, lon: 107.08, device: 'd1' },
    raisedAt: 1,
    updatedAt: 2,
    responders: [],
    ...extra,
  };
}
const openState = (at: number, ...open: AlarmView[]): OpenAlarmsState => ({ open, at });

test('which views sound for a household', () => {
  assert.equal(viewSounds(view('a', 'pre-alarm', ME), ME), true);
  assert.equal(viewSounds(view('a', 'pre-alarm', NEIGHBOUR), ME), false);
  assert.equal(viewSounds(view('a', 'active', NEIGHBOUR), ME), true);
  assert.equal(viewSounds(view('a', 'escalated', NEIGHBOUR), ME), true);
  assert.equal(viewSounds(view('a', 'cancelled', ME), ME), false);
  assert.equal(viewSounds(view('a', 'resolved', NEIGHBOUR), ME), false);
  assert.equal(viewSounds(view('a', 'hushed', ME), ME), false);
  assert.equal(viewSounds(view('a', 'hushed', NEIGHBOUR), ME), false);
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

test('silence press during the own pre-alarm, active or escalated alarm sends hush', () => {
  const t = new AlertTracker(ME);
  assert.deepEqual(t.onView(view('own1', 'pre-alarm', ME)), [{ do: 'sound', alarm: 'own1', kind: 'smoke', origin: ME, own: true }]);
  assert.deepEqual(t.onSilencePress(), [{ do: 'hush', alarm: 'own1' }, { do: 'silence' }]);
  // In active/escalated the hub only silences the household's own sounders: sending hush is safe.
  const u = new AlertTracker(ME);
  u.onView(view('own2', 'active', ME, 'heat'));
  assert.deepEqual(u.onSilencePress(), [{ do: 'hush', alarm: 'own2' }, { do: 'silence' }]);
  const w = new AlertTracker(ME);
  w.onView(view('own3', 'escalated', ME));
  assert.deepEqual(w.onSilencePress(), [{ do: 'hush', alarm: 'own3' }, { do: 'silence' }]);
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
  assert.deepEqual(t.onCommand({ cmd: 'sound', alarm: 'x', kind: 'co', origin: NEIGHBOUR }), [
    { do: 'sound', alarm: 'x', kind: 'co', origin: NEIGHBOUR, own: false },
  ]);
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
  assert.deepEqual(
    t
      .tracked()
      .map((a) => a.alarm)
      .sort(),
    ['a2', 'local-smoke'],
  );
  assert.deepEqual(t.endResync(), []);
});

test("a neighbour's hushed alarm stands down; re-raised, it sounds again", () => {
  const t = new AlertTracker(ME);
  t.onView(view('a1', 'active'));
  assert.deepEqual(t.onView(view('a1', 'hushed', NEIGHBOUR, 'smoke', { updatedAt: 3 })), [{ do: 'stand-down', alarm: 'a1' }, { do: 'silence' }]);
  assert.equal(t.isSounding(), false);
  assert.deepEqual(t.onView(view('a1', 'hushed', NEIGHBOUR, 'smoke', { updatedAt: 3 })), [], 'repeated: nothing more');
  assert.deepEqual(t.onView(view('a1', 'active', NEIGHBOUR, 'smoke', { updatedAt: 4 })), [
    { do: 'sound', alarm: 'a1', kind: 'smoke', origin: NEIGHBOUR, own: false },
  ]);
  // A neighbour's alarm hushed during its pre-alarm was never heard here: nothing to do.
  assert.deepEqual(t.onView(view('a2', 'hushed')), []);
  assert.equal(
    t.tracked().some((a) => a.alarm === 'a2'),
    false,
  );
});

test('the own hushed alarm is silenced (local alarm too); re-raised, it sounds again even though silenced', () => {
  const t = new AlertTracker(ME);
  t.onLocalEvent('smoke');
  t.onView(view('own1', 'pre-alarm', ME));
  // Hushed from the phone ("false alarm"), not from the board: the board goes quiet anyway.
  assert.deepEqual(t.onView(view('own1', 'hushed', ME, 'smoke', { updatedAt: 3, hushedAt: 3, hushUntil: 300_003 })), [{ do: 'silence' }]);
  assert.equal(t.isSounding(), false);
  assert.equal(t.tracked().find((a) => a.alarm === 'own1')?.state, 'hushed');
  // The hub's silence command for the same alarm changes nothing more, and a repeated view does not ring.
  assert.deepEqual(t.onCommand({ cmd: 'silence', alarm: 'own1' }), []);
  assert.deepEqual(t.onView(view('own1', 'hushed', ME, 'smoke', { updatedAt: 3 })), []);
  // Fire evidence: the hub re-raises it straight to active.
  assert.deepEqual(t.onView(view('own1', 'active', ME, 'smoke', { updatedAt: 9 })), [{ do: 'sound', alarm: 'own1', kind: 'smoke', origin: ME, own: true }]);
  assert.equal(t.isSounding(), true);
});

test("the hub's silence command keeps the own alarm quiet across repeated views; silencedAt silences it", () => {
  const t = new AlertTracker(ME);
  t.onView(view('own1', 'active', ME));
  // Another device of the household pressed hush: the hub sends cmd silence, then the view with silencedAt.
  assert.deepEqual(t.onCommand({ cmd: 'silence', alarm: 'own1' }), [{ do: 'silence' }]);
  assert.deepEqual(t.onView(view('own1', 'active', ME, 'smoke', { updatedAt: 3, silencedAt: 3 })), []);
  assert.deepEqual(t.onView(view('own1', 'active', ME, 'smoke', { updatedAt: 3, silencedAt: 3 })), [], 'a re-sent view does not ring again');
  // Escalation of an alarm the hub recorded as silenced does not re-sound the household's own sounder.
  assert.deepEqual(t.onView(view('own1', 'escalated', ME, 'smoke', { updatedAt: 5, silencedAt: 3 })), []);
  // The view alone (no command) silences too.
  const u = new AlertTracker(ME);
  u.onView(view('own2', 'active', ME));
  assert.deepEqual(u.onView(view('own2', 'active', ME, 'smoke', { updatedAt: 3, silencedAt: 3 })), [{ do: 'silence' }]);
  // After a restart the bridge learns an own alarm that is already silenced: it stays quiet.
  const w = new AlertTracker(ME);
  assert.deepEqual(w.onView(view('own3', 'escalated', ME, 'smoke', { silencedAt: 1 })), []);
  assert.equal(w.isSounding(), false);
});

test('retained open-alarm state: what is not open any more stands down; local and commanded alarms stay', () => {
  const t = new AlertTracker(ME);
  t.onView(view('a1', 'active'));
  t.onView(view('a2', 'active', 'hg-t1-h05'));
  t.onLocalEvent('smoke');
  t.onCommand({ cmd: 'sound', kind: 'co' });
  assert.deepEqual(t.onOpenState(openState(10, view('a2', 'active', 'hg-t1-h05'))), [{ do: 'stand-down', alarm: 'a1' }]);
  assert.deepEqual(
    t
      .tracked()
      .map((a) => a.alarm)
      .sort(),
    ['a2', `cmd-${ME}-co`, 'local-smoke'],
  );
  // Nothing open at all: a2 stands down; the board's own alarms keep sounding.
  assert.deepEqual(t.onOpenState(openState(11)), [{ do: 'stand-down', alarm: 'a2' }]);
  assert.equal(t.isSounding(), true);
  assert.deepEqual(t.onOpenState(openState(12)), [], 'nothing left to stand down');
});

test('retained state after an outage: a closed alarm stands down and the sounder stops; a new one sounds', () => {
  const t = new AlertTracker(ME);
  t.onView(view('a1', 'active'));
  t.beginResync();
  // B saw a1 active, went offline; a1 was closed; after the reconnect only the retained state arrives.
  assert.deepEqual(t.onOpenState(openState(50)), [{ do: 'stand-down', alarm: 'a1' }, { do: 'silence' }]);
  assert.equal(t.isSounding(), false);
  assert.deepEqual(t.endResync(), [], 'the retained state ended the resync');
  // The state also carries alarms this bridge never saw.
  assert.deepEqual(t.onOpenState(openState(60, view('a3', 'escalated'), view('a4', 'pre-alarm'))), [
    { do: 'sound', alarm: 'a3', kind: 'smoke', origin: NEIGHBOUR, own: false },
  ]);
  // A neighbour's alarm in the state as hushed stands down.
  assert.deepEqual(t.onOpenState(openState(70, view('a3', 'hushed', NEIGHBOUR, 'smoke', { updatedAt: 65 }))), [
    { do: 'stand-down', alarm: 'a3' },
    { do: 'silence' },
  ]);
});

test('a retained state older than the last view of an alarm does not stand it down', () => {
  const t = new AlertTracker(ME);
  t.onView(view('a1', 'active', NEIGHBOUR, 'smoke', { updatedAt: 100 }));
  assert.deepEqual(t.onOpenState(openState(90)), []);
  assert.equal(t.isSounding(), true);
  assert.deepEqual(t.onOpenState(openState(101)), [{ do: 'stand-down', alarm: 'a1' }, { do: 'silence' }]);
});
