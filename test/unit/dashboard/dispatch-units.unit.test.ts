/**
 * The dashboard's pieces for the fire station's dispatch, texts and calls, nearby homes and drills,
 * as plain functions (no browser): the drill tone is not the fire pattern, the API's catch-up does
 * not remove a nearby alarm of another team (which /api/alarms never lists), a dispatch is a change,
 * contacts and timeline details in words, drills sorted after real alarms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlarmView } from '../../../hub/protocol/schema.ts';
import { tonePattern } from '../../../dashboard/src/alerting.ts';
import { applyAlarm, clearAlarms, getState, replaceOpenAlarms, setLang } from '../../../dashboard/src/store.ts';
import { apiListCovers } from '../../../dashboard/src/live.ts';
import { toCard, toContacts } from '../../../dashboard/src/api.ts';
import { contactResultText, contactStateText } from '../../../dashboard/src/components/contacts.tsx';
import { describeActor, describeDetail } from '../../../dashboard/src/components/timeline.tsx';
import { dispatchHeadline } from '../../../dashboard/src/components/dispatch.tsx';
import { sortAlarms } from '../../../dashboard/src/pages/board.tsx';

// The store switches <html lang>: give it a document.
(globalThis as unknown as { document: unknown }).document ??= { documentElement: {} };

function view(alarm: string, extra: Partial<AlarmView> = {}): AlarmView {
  return {
    alarm,
    state: 'active',
    kind: 'smoke',
    team: 't1',
    origin: { household: 't1-h1', name: '', address: '', lat: null, lon: null, device: 't1-h1-smoke' },
    raisedAt: 1,
    updatedAt: 10,
    responders: [],
    ...extra,
  };
}

test('the drill chime is not the fire pattern', () => {
  const fire = tonePattern('fire', 2);
  const drill = tonePattern('drill', 2);
  assert.equal(fire.wave, 'square');
  assert.deepEqual([...new Set(fire.beeps.map((b) => b.freq))], [950]);
  assert.deepEqual(
    fire.beeps.slice(0, 3).map((b) => [b.at, b.dur]),
    [
      [0, 0.5],
      [1, 0.5],
      [2, 0.5],
    ],
    'temporal-three',
  );
  assert.equal(fire.length, 7);
  assert.equal(drill.wave, 'sine');
  assert.deepEqual(
    drill.beeps.map((b) => b.freq),
    [660, 880, 660, 880],
    'two notes a cycle',
  );
  assert.equal(drill.length, 3);
});

test("the API's open alarms do not remove a nearby alarm of another team; the household's retained state does", () => {
  clearAlarms();
  applyAlarm(view('own'));
  applyAlarm(view('near', { team: 't2', nearby: true, origin: { household: 't2-h1', name: '', address: '', lat: null, lon: null, device: '' } }));
  // /api/alarms?state=open is scoped to the household's team: it lists neither (own closed meanwhile).
  replaceOpenAlarms([], { covers: apiListCovers });
  assert.deepEqual(Object.keys(getState().alarms), ['near']);
  replaceOpenAlarms([], {});
  assert.deepEqual(Object.keys(getState().alarms), [], 'without the cover it would have gone (the bug this guards)');
  // The household's own retained state speaks for everything, nearby copies included.
  applyAlarm(view('near2', { team: 't2', nearby: true, updatedAt: 20 }));
  replaceOpenAlarms([], { at: 30, pushed: true });
  assert.deepEqual(Object.keys(getState().alarms), []);
});

test('a dispatch is a change of the alarm even at the same updatedAt', () => {
  clearAlarms();
  assert.ok(applyAlarm(view('a1')));
  assert.ok(applyAlarm(view('a1', { dispatch: { state: 'acknowledged', at: 10, by: 'chief' } })));
  assert.ok(applyAlarm(view('a1', { dispatch: { state: 'dispatched', at: 10, by: 'chief', etaMin: 7 } })));
  assert.equal(applyAlarm(view('a1', { dispatch: { state: 'dispatched', at: 10, by: 'chief', etaMin: 7 } })), null);
});

test('dispatch state, contacts and timeline details in Vietnamese', () => {
  setLang('vi');
  assert.equal(dispatchHeadline({ state: 'dispatched', at: 1, by: 'chief', etaMin: 7 }), 'Xe chữa cháy đang đến · ~7 phút');
  assert.equal(dispatchHeadline({ state: 'dispatched', at: 1, by: 'chief' }), 'Xe chữa cháy đang đến');
  assert.equal(dispatchHeadline({ state: 'acknowledged', at: 1, by: 'chief' }), 'Đội chữa cháy đã tiếp nhận');
  assert.equal(dispatchHeadline(null), null);

  const contacts = toContacts([
    { kind: 'call', to: '+84901000004', household: 't1-h4', state: 'sent', queuedAt: 5, sentAt: 9, attempts: 1, error: null, outcome: 'no-answer' },
    { kind: 'sms', to: '+84901000002', household: 't1-h2', state: 'sent', queuedAt: 5, sentAt: 6, attempts: 2, error: null, parts: 3 },
    { kind: 'call', to: '+84901000003', household: 't1-h3', state: 'cancelled', queuedAt: 5, sentAt: null, attempts: 0, error: 'answered' },
    { kind: 'sms', to: '+84901000005', household: null, state: 'failed', queuedAt: 5, sentAt: null, attempts: 5, error: '+CMS ERROR: 38' },
  ]);
  assert.deepEqual(contacts.map(contactStateText), ['đã gọi', 'đã gửi', 'đã hủy', 'thất bại']);
  assert.deepEqual(contacts.map(contactResultText), ['không nghe máy', '3 phần · 2 lần thử', 'đã trả lời trước, không cần gọi', '5 lần thử · +CMS ERROR: 38']);
  assert.deepEqual(toCard({ access: 'ngõ 2 m', vulnerable: 'bà cụ', extra: 1 }), { access: 'ngõ 2 m', hazards: '', vulnerable: 'bà cụ', water: '' });
  assert.equal(toCard(undefined), null);

  assert.equal(describeDetail({ to: '+84901000004', household: 't1-h4', outcome: 'answered' }), 'hộ t1-h4 · đến +84901000004 · đã nghe máy');
  assert.equal(describeDetail({ etaMin: 7, note: '2 xe' }), '~7 phút · “2 xe”');
  assert.equal(describeDetail({ to: '+84901000005', error: 'no network', final: true }), 'đến +84901000005 · lỗi: no network · đã dừng thử');
  assert.equal(describeActor({ kind: 'sms', phone: '+84901000003' }), 'tin nhắn từ +84901000003');
  assert.equal(describeActor({ kind: 'hub', reason: 'drill-duration' }), 'hệ thống: hết thời gian diễn tập');
});

test('drills come after every real alarm on the board', () => {
  const order = sortAlarms([
    view('drill', { kind: 'drill', raisedAt: 9 }),
    view('pre', { state: 'pre-alarm', raisedAt: 2 }),
    view('hushed', { state: 'hushed', raisedAt: 3 }),
    view('esc', { state: 'escalated', raisedAt: 1 }),
  ]).map((v) => v.alarm);
  assert.deepEqual(order, ['esc', 'pre', 'hushed', 'drill']);
});
