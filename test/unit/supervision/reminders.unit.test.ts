/** Daily battery / end-of-life reminders and monthly equipment reminders, with an injected clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { addMonths, dailyReminders, equipmentReminders, type ReminderDevice } from '../../../hub/supervision/reminders.ts';
import { NOTICE_SEVERITIES } from '../../../hub/protocol/schema.ts';

const enrolled = Date.UTC(2016, 6, 15, 3, 0, 0); // 15 July 2016
const devices: ReminderDevice[] = [
  { device: 'a-smoke', household: 'a', team: 't1', kind: 'smoke', enrolledAt: enrolled },
  { device: 'a-panic', household: 'a', team: 't1', kind: 'panic', enrolledAt: enrolled },
  { device: 'b-heat', household: 'b', team: 't1', kind: 'heat', enrolledAt: Date.UTC(2024, 0, 1) },
  { device: 'c-co', household: 'c', team: 't2', kind: 'co', enrolledAt: Date.UTC(2025, 0, 1), manufacturedAt: Date.UTC(2016, 0, 1) },
];

test('battery below 20 % gives a household notice and a team digest; 20 % does not', () => {
  const clock = new ManualClock(Date.UTC(2025, 0, 10, 11, 0, 0));
  const batteries = new Map([
    ['a-panic', { percent: 19.5, at: clock.now() - 3600_000 }],
    ['b-heat', { percent: 20, at: clock.now() }],
  ]);
  const r = dailyReminders({ devices, batteries, now: clock.now(), batteryLowPercent: 20 });
  const battery = r.notices.filter((n) => n.notice === 'battery-low');
  assert.deepEqual(
    battery.map((n) => [n.household, n.device, n.severity]),
    [['a', 'a-panic', 'warning']],
  );
  assert.match(battery[0]!.text, /20 %|at 20|19|20/);
  const t1 = r.digests.find((d) => d.team === 't1')!;
  assert.deepEqual(
    t1.lowBattery.map((b) => b.device),
    ['a-panic'],
  );
  assert.equal(t1.notice.household, null, 'a digest is for the team, never published to a household');
  assert.equal(t1.notice.notice, 'team-digest');
});

test('detectors are reminded from 9.5 years of their 10-year life, counted from manufacture when known', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 14, 11, 0, 0)); // 9.5 years after 15 July 2016 is 15 Jan 2026
  let r = dailyReminders({ devices, batteries: new Map(), now: clock.now(), batteryLowPercent: 20 });
  assert.deepEqual(
    r.notices.filter((n) => n.notice === 'end-of-life').map((n) => n.device),
    ['c-co'],
    'only c-co (made Jan 2016) before 15 Jan',
  );
  clock.advance(24 * 3600_000);
  r = dailyReminders({ devices, batteries: new Map(), now: clock.now(), batteryLowPercent: 20 });
  const eol = r.notices.filter((n) => n.notice === 'end-of-life');
  assert.deepEqual(eol.map((n) => n.device).sort(), ['a-smoke', 'c-co'], 'panic buttons are not detectors; b-heat is young');
  assert.match(eol.find((n) => n.device === 'a-smoke')!.text, /2026-07-15/);
  // past the 10 years: the text says so
  clock.advance(200 * 24 * 3600_000);
  r = dailyReminders({ devices, batteries: new Map(), now: clock.now(), batteryLowPercent: 20 });
  const past = r.digests.flatMap((d) => d.endOfLife).find((e) => e.device === 'a-smoke')!;
  assert.equal(past.past, true);
  assert.equal(past.replaceBy, addMonths(enrolled, 120));
  assert.ok(r.notices.every((n) => (NOTICE_SEVERITIES as readonly string[]).includes(n.severity)));
});

test('addMonths clamps to the end of shorter months', () => {
  assert.equal(new Date(addMonths(Date.UTC(2024, 0, 31), 1)).toISOString().slice(0, 10), '2024-02-29');
  assert.equal(new Date(addMonths(Date.UTC(2016, 6, 15), 114)).toISOString().slice(0, 10), '2026-01-15');
});

test('equipment expiring within 30 days (or expired) is reminded; later or undated items are not', () => {
  const items = [
    { household: 'a', team: 't1', item: 'extinguisher', serial: 'EX1', expires: '2026-03-31' },
    { household: 'a', team: 't1', item: 'crowbar', serial: '', expires: null },
    { household: 'b', team: 't1', item: 'extinguisher', serial: 'EX2', expires: '2026-02-01' },
    { household: 'c', team: 't2', item: 'smoke detector', serial: 'SD9', expires: '2026-04-01' },
    { household: 'c', team: 't2', item: 'hammer', serial: 'H1', expires: '2026-03-01' },
  ];
  const r = equipmentReminders({ items, today: '2026-03-01' });
  assert.deepEqual(
    r.notices.map((n) => [n.household, n.text.slice(0, 20)]),
    [
      ['a', 'extinguisher (EX1) e'],
      ['b', 'extinguisher (EX2) e'],
      ['c', 'hammer (H1) expires '],
    ],
  );
  assert.match(r.notices[0]!.text, /in 30 days/);
  assert.match(r.notices[1]!.text, /expired on 2026-02-01/);
  assert.match(r.notices[2]!.text, /today/);
  assert.deepEqual(
    r.digests.map((d) => [d.team, d.expiring.length]),
    [
      ['t1', 2],
      ['t2', 1],
    ],
  );
  assert.ok(r.digests.every((d) => d.notice.household === null && d.notice.notice === 'equipment-digest'));
});
