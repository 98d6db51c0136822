/**
 * The dashboard's open-alarm bookkeeping and attention rules, as plain functions (no browser):
 * retained open-alarm states replace what they speak for, a late older copy does not bring a
 * closed alarm back, and a hushed alarm calls for nobody's attention.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlarmState, AlarmView } from '../../../hub/protocol/schema.ts';
import { applyAlarm, clearAlarms, getState, replaceOpenAlarms } from '../../../dashboard/src/store.ts';
import { alertingCount, alertsViewer, attentionFor, type Viewer } from '../../../dashboard/src/alerting.ts';

function view(alarm: string, state: AlarmState, origin: string, updatedAt = 10, extra: Partial<AlarmView> = {}): AlarmView {
  return {
    alarm,
    state,
    kind: 'smoke',
    team: 't1',
    origin: { household: origin, name: '', address: '', lat: null, lon: null, device: `${origin}-smoke` },
    raisedAt: 1,
    updatedAt,
    responders: [],
    ...extra,
  };
}
const ids = () => Object.keys(getState().alarms).sort();

test('station: each retained state replaces the open alarms; an alarm updated after the state stays', () => {
  clearAlarms();
  applyAlarm(view('a1', 'active', 't1-h1'));
  applyAlarm(view('a2', 'active', 't1-h2', 50));
  const changes = replaceOpenAlarms([view('a3', 'pre-alarm', 't1-h3')], { at: 40 });
  assert.deepEqual(ids(), ['a2', 'a3'], 'a1 closed meanwhile; a2 changed after the state was built');
  assert.deepEqual(
    changes.map((c) => [c.prev?.alarm ?? null, c.next?.alarm ?? null]).sort(),
    [
      ['a1', null],
      [null, 'a3'],
    ].sort(),
  );
  // A late catch-up answer still listing a1 (older than the state that removed it) does not bring it back.
  replaceOpenAlarms([view('a1', 'active', 't1-h1'), view('a2', 'active', 't1-h2', 50), view('a3', 'pre-alarm', 't1-h3')]);
  assert.deepEqual(ids(), ['a2', 'a3']);
  assert.equal(applyAlarm(view('a1', 'active', 't1-h1', 39)), null, 'nor does an old view');
});

test("team leader: a household's retained state speaks for the alarms that household raised", () => {
  clearAlarms();
  applyAlarm(view('a1', 'active', 't1-h1'));
  applyAlarm(view('a2', 'pre-alarm', 't1-h2'));
  // t1-h3's state: a1 concerns it (neighbours alerted); t1-h2's pre-alarm does not, but is not t1-h3's to remove.
  replaceOpenAlarms([view('a1', 'active', 't1-h1')], { at: 20, covers: (v) => v.origin.household === 't1-h3', pushed: true });
  assert.deepEqual(ids(), ['a1', 'a2']);
  // t1-h2's own state no longer lists a2: it closed.
  replaceOpenAlarms([view('a1', 'active', 't1-h1')], { at: 21, covers: (v) => v.origin.household === 't1-h2', pushed: true });
  assert.deepEqual(ids(), ['a1']);
  assert.deepEqual(Object.keys(getState().pushed), ['a1']);
});

test('a closed view removes the alarm; the same view twice is one change', () => {
  clearAlarms();
  assert.ok(applyAlarm(view('a1', 'active', 't1-h1')));
  assert.equal(applyAlarm(view('a1', 'active', 't1-h1')), null);
  assert.ok(applyAlarm(view('a1', 'active', 't1-h1', 10, { silencedAt: 10 })), 'a silence is a change');
  assert.ok(applyAlarm(view('a1', 'escalated', 't1-h1', 12, { originSaysFalseAlarm: true })));
  const closed = applyAlarm(view('a1', 'resolved', 't1-h1', 13));
  assert.equal(closed?.next, undefined);
  assert.deepEqual(ids(), []);
});

test('attention: hushed calls for nobody; re-raised and a neighbour alarm going active do', () => {
  const station: Viewer = { role: 'station', household: null };
  const me: Viewer = { role: 'household', household: 't1-h2' };
  const pre = view('a1', 'pre-alarm', 't1-h1');
  const active = view('a1', 'active', 't1-h1', 11);
  const hushed = view('a1', 'hushed', 't1-h1', 12, { hushedAt: 12, hushUntil: 300_012 });
  const again = view('a1', 'active', 't1-h1', 13);
  assert.equal(alertsViewer(hushed, station), false);
  assert.equal(alertsViewer(hushed, me), false);
  assert.equal(alertsViewer(view('a9', 'hushed', 't1-h2'), me), false, 'not even the own hushed alarm');
  assert.equal(attentionFor({ prev: undefined, next: pre }, station), 'alarm');
  assert.equal(attentionFor({ prev: undefined, next: pre }, me), null, "a neighbour's pre-alarm is not ours to hear");
  assert.equal(attentionFor({ prev: pre, next: active }, me), 'alarm');
  assert.equal(attentionFor({ prev: active, next: hushed }, me), null);
  assert.equal(attentionFor({ prev: hushed, next: again }, me), 'alarm', 're-raised');
  assert.equal(attentionFor({ prev: hushed, next: again }, station), 'alarm');
  assert.equal(attentionFor({ prev: again, next: view('a1', 'escalated', 't1-h1', 14) }, station), 'escalated');
  assert.equal(alertingCount({ a1: hushed, a2: view('a2', 'active', 't1-h3') }, station), 1);
});
