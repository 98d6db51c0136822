/**
 * Issue 14, point 1: dates and times through one Intl.DateTimeFormat factory in the hub's zone
 * (24-hour clock, dd/mm/yyyy), whatever the machine's zone; plural rules for counts; typed dates
 * parsed as dd/mm/yyyy in the hub's zone; notices said from their id and params in both languages,
 * with the hub's English text as the fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  axisLabels,
  dayBound,
  formatClock,
  formatDate,
  formatTime,
  parseDateTimeInput,
  setTimeZone,
  timeZone,
  toDateTimeInput,
  zonedEpoch,
  zoneLabel,
} from '../../../dashboard/src/format.ts';
import { DICTIONARIES, pluralCategory, translate, type MsgKey } from '../../../dashboard/src/i18n.ts';
import { noticeText } from '../../../dashboard/src/notice-text.ts';
import { transitionNotice } from '../../../hub/supervision/supervision-extension.ts';
import { dailyReminders, equipmentReminders } from '../../../hub/supervision/reminders.ts';
import type { Notice } from '../../../hub/protocol/schema.ts';

// 30/11/2026 21:05:03 in Hồ Chí Minh City (UTC+7).
const AT = Date.UTC(2026, 10, 30, 14, 5, 3);

test('dates and times are in the hub zone, 24-hour, day first', () => {
  setTimeZone('Asia/Ho_Chi_Minh');
  assert.equal(formatClock('vi', AT), '21:05:03');
  assert.equal(formatDate('vi', AT), '30/11/2026');
  assert.match(formatTime('vi', AT), /^21:05:03,? 30\/11\/2026$/);
  assert.match(formatTime('en', AT), /^30\/11\/2026,? 21:05:03$/);
  for (const lang of ['vi', 'en'] as const) assert.doesNotMatch(formatTime(lang, AT), /AM|PM|SA|CH/i);
  assert.equal(formatTime('vi', null), '—');
  assert.equal(zoneLabel('vi', AT), 'Asia/Ho_Chi_Minh (GMT+7)');
});

test('another configured zone changes every format; a bad zone falls back to the default', () => {
  try {
    setTimeZone('Europe/London');
    assert.equal(timeZone(), 'Europe/London');
    assert.equal(formatClock('vi', AT), '14:05:03');
    setTimeZone('Mars/Olympus');
    assert.equal(timeZone(), 'Asia/Ho_Chi_Minh');
    assert.equal(formatClock('vi', AT), '21:05:03');
  } finally {
    setTimeZone('Asia/Ho_Chi_Minh');
  }
});

test('chart axis: hours and minutes, midnight with its date, days over long spans', () => {
  const midnight = zonedEpoch(2026, 12, 1, 0, 0);
  const nine = zonedEpoch(2026, 11, 30, 21, 0);
  assert.deepEqual(axisLabels('vi', [nine, midnight], 24 * 3600_000), ['21:00', '00:00\n01/12']);
  assert.deepEqual(axisLabels('en', [nine], 7 * 24 * 3600_000), ['30/11']);
  for (const l of axisLabels('en', [nine, midnight], 6 * 3600_000)) assert.doesNotMatch(l, /am|pm/i);
});

test('typed dates are dd/mm/yyyy in the hub zone', () => {
  assert.equal(dayBound('30/11/2026', false), Date.UTC(2026, 10, 29, 17, 0, 0));
  assert.equal(dayBound('30/11/2026', true), Date.UTC(2026, 10, 30, 16, 59, 59, 999));
  assert.equal(dayBound('31/11/2026', false), null);
  assert.equal(dayBound('11/30/2026', false), null, 'mm/dd is refused');
  assert.equal(dayBound('', false), null);
  assert.equal(parseDateTimeInput('30/11/2026 21:05'), Date.UTC(2026, 10, 30, 14, 5));
  assert.equal(parseDateTimeInput('30/11/2026 24:05'), null);
  assert.equal(toDateTimeInput(AT), '30/11/2026 21:05');
  assert.equal(parseDateTimeInput(toDateTimeInput(AT)), AT - 3000);
});

test('plural rules: English one/other, Vietnamese has no plural', () => {
  assert.equal(pluralCategory('en', 1), 'one');
  assert.equal(pluralCategory('en', 2), 'other');
  assert.equal(pluralCategory('vi', 1), 'other');
  assert.equal(translate('en', 'board.open', { n: 1 }), '1 open alarm');
  assert.equal(translate('en', 'board.open', { n: 3 }), '3 open alarms');
  assert.equal(translate('en', 'history.count', { n: 0 }), '0 alarms');
  assert.equal(translate('en', 'health.rows', { n: 1, m: 1 }), '1 of 1 device');
  assert.equal(translate('vi', 'board.open', { n: 3 }), '3 báo cháy đang mở');
  for (const lang of ['en', 'vi'] as const)
    for (const [k, v] of Object.entries(DICTIONARIES[lang])) assert.doesNotMatch(v, /\(s\)|\(es\)|\(ies\)/, `${lang} ${k} has no "(s)"`);
  // Every plural is well formed (an unfinished one would show its braces).
  for (const k of Object.keys(DICTIONARIES.en) as MsgKey[]) {
    const vars = new Proxy({} as Record<string, number>, { get: () => 2, has: () => true });
    assert.doesNotMatch(translate('en', k, vars), /plural|[{}]/, k);
  }
});

const opts = { windowMs: 90_000, flapWindowMs: 600_000 };
const notice = (d: { notice: string; device: string | null; text: string; params?: Notice['params'] }) => ({ ...d });

test('supervision notices from id and params, both languages', () => {
  const off = notice(
    transitionNotice(
      { transition: 'offline', device: 'd-h03-smoke', household: 'h03', team: 't1', kind: 'smoke', reason: 'disconnected', at: AT, since: AT - 1000 } as never,
      opts,
    ),
  );
  assert.deepEqual(off.params, { kind: 'smoke', reason: 'disconnected', seconds: 90 });
  assert.equal(noticeText('en', off), 'smoke device d-h03-smoke is offline: its connection dropped. Check its power and connection.');
  assert.equal(off.text, noticeText('en', off), 'the English rendering is the hub’s own text');
  assert.equal(noticeText('vi', off), 'Thiết bị báo khói d-h03-smoke mất kết nối: kết nối bị ngắt. Hãy kiểm tra nguồn điện và kết nối.');

  const silent = notice(
    transitionNotice({ transition: 'offline', device: 'd1', household: 'h1', team: 't1', kind: 'heat', reason: 'silent', at: AT, since: AT } as never, opts),
  );
  assert.equal(noticeText('en', silent), silent.text);
  assert.match(noticeText('vi', silent), /^Thiết bị báo nhiệt d1 mất kết nối: không nhận được tín hiệu trong 90 giây\./);

  const back = notice(
    transitionNotice({ transition: 'restored', device: 'd1', household: 'h1', team: 't1', kind: 'co', at: AT, since: AT - 300_000 } as never, opts),
  );
  assert.equal(back.text, 'co device d1 is back online (it was offline for about 5 min).');
  assert.equal(noticeText('en', back), 'CO device d1 is back online (it was offline for about 5 min).');
  assert.equal(noticeText('vi', back), 'Thiết bị báo khí CO d1 đã kết nối lại (mất kết nối khoảng 5 phút).');

  const flap = notice(
    transitionNotice({ transition: 'flapping', device: 'd1', household: 'h1', team: 't1', kind: 'smoke', cycles: 4, at: AT, since: AT } as never, opts),
  );
  assert.equal(noticeText('en', flap), flap.text);
  assert.match(noticeText('vi', flap), /liên tục mất kết nối \(4 lần trong 10 phút\)/);

  for (const down of [true, false]) {
    const st = notice(
      transitionNotice(
        { transition: 'stable', down, device: 'd1', household: 'h1', team: 't1', kind: 'smoke', reason: null, at: AT, since: AT } as never,
        opts,
      ),
    );
    assert.equal(noticeText('en', st), st.text);
    assert.notEqual(noticeText('vi', st), st.text);
  }
});

test('reminder notices (battery, end of life, equipment, digests) from id and params', () => {
  const r = dailyReminders({
    devices: [{ device: 'd-h01-smoke', household: 'h01', team: 't1', kind: 'smoke', enrolledAt: Date.UTC(2016, 0, 1) }],
    batteries: new Map([['d-h01-smoke', { percent: 12.4, at: AT }]]),
    now: AT,
    batteryLowPercent: 20,
  });
  const [battery, eol] = r.notices.map(notice);
  assert.equal(noticeText('en', battery!), battery!.text);
  assert.equal(noticeText('vi', battery!), 'Pin của thiết bị báo khói d-h01-smoke còn 12 %: hãy thay pin sớm.');
  // The ISO date in the English text becomes dd/mm/yyyy.
  assert.match(noticeText('en', eol!), /since 01\/01\/2026/);
  assert.match(noticeText('vi', eol!), /^Đầu báo khói d-h01-smoke đã quá tuổi thọ 10 năm \(từ 01\/01\/2026\)/);
  const digest = notice(r.digests[0]!.notice);
  assert.equal(noticeText('en', digest), digest.text.replace(/ 12 %/, ' 12 %'));
  assert.match(noticeText('vi', digest), /^Tổ t1 kiểm tra hằng ngày: 1 thiết bị pin yếu \(h01\/d-h01-smoke 12 %\); 1 đầu báo hết tuổi thọ/);

  const e = equipmentReminders({
    items: [
      { household: 'h01', team: 't1', item: 'Bình chữa cháy', serial: 'X1', expires: '2026-12-10' },
      { household: 'h02', team: 't1', item: 'Bình chữa cháy', serial: '', expires: '2026-11-01' },
    ],
    today: '2026-12-01',
  });
  const [soon, past] = e.notices.map(notice);
  assert.equal(noticeText('en', soon!), 'Bình chữa cháy (X1) expires on 10/12/2026, in 9 days: replace or service it.');
  assert.equal(noticeText('vi', soon!), 'Bình chữa cháy (X1) hết hạn ngày 10/12/2026, còn 9 ngày: hãy thay hoặc bảo dưỡng.');
  assert.equal(noticeText('vi', past!), 'Bình chữa cháy đã hết hạn ngày 01/11/2026: hãy thay hoặc bảo dưỡng.');
  const eqDigest = notice(e.digests[0]!.notice);
  assert.match(noticeText('en', eqDigest), /^Team t1 equipment: 2 items expired or expiring within 30 days \(1 already expired\)/);
  assert.match(noticeText('vi', eqDigest), /^Dụng cụ PCCC của tổ t1: 2 món .* \(1 món đã hết hạn\): h01 Bình chữa cháy 10\/12\/2026/);
});

test('hub, modem, self-test and report notices; unknown ids and old notices fall back to the text', () => {
  const st = { notice: 'self-test-failed', device: 'd1', text: 'Weekly self-test: …', params: { kind: 'smoke', reason: 'no-answer', seconds: 30 } };
  assert.equal(noticeText('en', st), 'Weekly self-test: smoke detector d1 did not answer within 30 s. Press its test button and check it.');
  assert.match(noticeText('vi', st), /^Tự kiểm tra hằng tuần: đầu báo khói d1 không trả lời trong 30 giây/);
  const modem = { notice: 'modem-trouble', device: null, text: 'GSM modem …', params: { modem: 'sim800', reason: 'not-connected' } };
  assert.equal(noticeText('vi', modem), 'Modem GSM sim800 không gửi được (chưa kết nối): tin nhắn và cuộc gọi đang chờ gửi.');
  const report = {
    notice: 'daily-report',
    device: null,
    text: 'Daily report 2026-11-30: …',
    params: { date: '2026-11-30', alarms: 1, falseAlarms: 0, drills: 2, offlineDevices: 1, failedSelfTests: 0, expiringEquipment: 3 },
  };
  assert.equal(
    noticeText('en', report),
    'Daily report 30/11/2026: 1 alarm (0 false), 2 drills, 1 device went offline, 0 failed self-tests, 3 equipment items expiring.',
  );
  assert.match(noticeText('vi', report), /^Báo cáo ngày 30\/11\/2026: 1 báo cháy/);
  assert.equal(
    noticeText('vi', { notice: 'hub-journal-recovered', device: null, text: 'The hub writes its alarm journal again.' }),
    translate('vi', 'noticeText.hub-journal-recovered'),
  );
  // Old notice (stored before params), unknown id, incomplete params: the hub's English text.
  assert.equal(noticeText('vi', { notice: 'offline', device: 'd1', text: 'old text' }), 'old text');
  assert.equal(noticeText('vi', { notice: 'new-kind', device: null, text: 'future text', params: { a: 1 } }), 'future text');
  assert.equal(noticeText('vi', { notice: 'battery-low', device: 'd1', text: 'fallback', params: { kind: 'smoke' } }), 'fallback');
});
