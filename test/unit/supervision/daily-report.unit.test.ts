/** The daily station report over rows, and local days in the hub's timezone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDailyReport, reportForTeams, reportSummaryText } from '../../../hub/supervision/daily-report.ts';
import { addDays, daysBetween, isIsoDate, localDate, localDayBounds } from '../../../hub/protocol/local-time.ts';

const TZ = 'Asia/Ho_Chi_Minh';

test('local days in Asia/Ho_Chi_Minh (UTC+7) and in a DST zone', () => {
  const { start, end } = localDayBounds('2026-11-29', TZ);
  assert.equal(new Date(start).toISOString(), '2026-11-28T17:00:00.000Z');
  assert.equal(end - start, 24 * 3600_000);
  assert.equal(localDate(Date.UTC(2026, 10, 28, 16, 59, 59), TZ), '2026-11-28');
  assert.equal(localDate(Date.UTC(2026, 10, 28, 17, 0, 0), TZ), '2026-11-29');
  const dst = localDayBounds('2026-03-29', 'Europe/Paris'); // clocks go forward: a 23-hour day
  assert.equal(dst.end - dst.start, 23 * 3600_000);
  assert.equal(new Date(dst.start).toISOString(), '2026-03-28T23:00:00.000Z');
  assert.equal(addDays('2024-02-28', 1), '2024-02-29');
  assert.equal(daysBetween('2026-12-31', '2027-01-30'), 30);
  assert.equal(isIsoDate('2026-02-30'), false);
  assert.equal(isIsoDate('2026-02-28'), true);
  assert.equal(isIsoDate('28/02/2026'), false);
});

test('the report counts alarms and false alarms per team, offline devices, failed self-tests, expiring equipment', () => {
  const { start, end } = localDayBounds('2026-11-29', TZ);
  const at = (h: number) => start + h * 3600_000;
  const r = buildDailyReport({
    date: '2026-11-29',
    timezone: TZ,
    from: start,
    to: end,
    generatedAt: end + 300_000,
    teams: ['t1', 't2', 't3'],
    alarms: [
      { id: 'A1', team: 't1', household: 't1-h1', kind: 'smoke', state: 'resolved', raisedAt: at(2), falseAlarm: false },
      { id: 'A2', team: 't1', household: 't1-h2', kind: 'smoke', state: 'cancelled', raisedAt: at(3), falseAlarm: true },
      { id: 'A3', team: 't2', household: 't2-h1', kind: 'panic', state: 'resolved', raisedAt: at(5), falseAlarm: false },
      { id: 'A0', team: 't2', household: 't2-h1', kind: 'smoke', state: 'resolved', raisedAt: start - 1, falseAlarm: true },
      { id: 'D1', team: 't3', household: 't3-h1', kind: 'drill', state: 'resolved', raisedAt: at(10), falseAlarm: false },
    ],
    troubles: [
      { team: 't1', household: 't1-h1', device: 't1-h1-smoke', notice: 'offline', at: at(1) },
      { team: 't1', household: 't1-h1', device: 't1-h1-smoke', notice: 'offline', at: at(4) },
      { team: 't2', household: 't2-h2', device: 't2-h2-smoke', notice: 'flapping', at: at(6) },
      { team: 't2', household: 't2-h3', device: 't2-h3-smoke', notice: 'offline', at: end },
    ],
    offlineNow: [],
    failedSelfTests: [{ team: 't2', household: 't2-h1', device: 't2-h1-smoke', at: at(9), reason: 'no-answer' }],
    equipment: [
      { household: 't1-h1', team: 't1', item: 'extinguisher', serial: 'E1', expires: '2026-12-20' },
      { household: 't1-h2', team: 't1', item: 'extinguisher', serial: 'E2', expires: '2026-11-01' },
      { household: 't1-h3', team: 't1', item: 'crowbar', serial: '', expires: null },
      { household: 't3-h1', team: 't3', item: 'extinguisher', serial: 'E3', expires: '2027-06-01' },
    ],
  });
  assert.deepEqual(r.totals, { alarms: 3, falseAlarms: 1, drills: 1, offlineDevices: 2, offlineNow: 0, failedSelfTests: 1, expiringEquipment: 2 });
  assert.equal(r.teams.find((t) => t.team === 't3')!.drills, 1, 'a drill is counted as a drill of its team, not as an alarm');
  const t1 = r.teams.find((t) => t.team === 't1')!;
  assert.equal(t1.alarms, 2);
  assert.equal(t1.falseAlarms, 1);
  assert.deepEqual(t1.offlineDevices, [{ household: 't1-h1', device: 't1-h1-smoke', times: 2, flapping: false }]);
  assert.deepEqual(
    t1.expiringEquipment.map((e) => [e.serial, e.daysLeft]),
    [
      ['E2', -28],
      ['E1', 21],
    ],
  );
  assert.equal(t1.equippedHouseholds, 3);
  assert.equal(t1.householdsInDate, 2, 't1-h2 has an expired extinguisher');
  const t2 = r.teams.find((t) => t.team === 't2')!;
  assert.deepEqual(t2.alarmsByKind, { panic: 1 });
  assert.equal(t2.offlineDevices[0]!.flapping, true);
  assert.equal(r.teams.find((t) => t.team === 't3')!.alarms, 0, 'teams without events are listed');

  const own = reportForTeams(r, (t) => t === 't2');
  assert.deepEqual(
    own.teams.map((t) => t.team),
    ['t2'],
  );
  assert.deepEqual(own.totals, { alarms: 1, falseAlarms: 0, drills: 0, offlineDevices: 1, offlineNow: 0, failedSelfTests: 1, expiringEquipment: 0 });
  assert.match(reportSummaryText(r), /3 alarms \(1 false\)/);
});
