/**
 * Daily check, monthly equipment reminders and the daily station report through a real hub with an
 * injected clock (no real waiting for a day or a month): household notices, team digests for the
 * team leader and the station, the report API scoped per role, and the report's station notice.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { startTestHub, neighbourhoodCsv, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';
import { supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';
import { importEquipment } from '../../../hub/supervision/equipment-import.ts';

// Sunday 29 Nov 2026, 18:00 in Asia/Ho_Chi_Minh
const clock = new ManualClock(Date.UTC(2026, 10, 29, 11, 0));
let th: TestHub;
const pool = new ClientPool();
const ext = supervisionExtension({ sweepIntervalMs: 1000 });

before(async () => {
  // resolveQuietS 0: a hushed alarm whose detector cleared is a confirmed false alarm at once
  th = await startTestHub({ clock, csv: neighbourhoodCsv(2, 2), extensions: [ext], config: { resolveQuietS: 0 } });
  await th.hub.registry.addUser({ username: 'leader1', role: 'team-leader', team: 't1', password: 'leader-password-1' });
  await th.hub.registry.addUser({ username: 'leader2', role: 'team-leader', team: 't2', password: 'leader-password-2' });
  await th.hub.registry.addUser({ username: 'home11', role: 'household', household: 't1-h1', password: 'household-password' });
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

test('daily battery check, monthly equipment reminders, daily report', async () => {
  const station = await pool.connect(th.mqttUrl, { username: 'admin', password: th.adminPassword, clientId: 'station-m' });
  const stationIn = new Inbox(station);
  await station.subscribeAsync(['smokehub/h/+/notice', 'smokehub/station/notice'], { qos: 1 });
  const low = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const fine = await pool.device(th.mqttUrl, th.device('t2-h1-smoke'));
  await low.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry', JSON.stringify({ battery: 15, temperature: 29 }), { qos: 1 });
  await fine.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/telemetry', JSON.stringify({ battery: 90 }), { qos: 1 });
  // one alarm in team 1 today, hushed by its household as a false alarm, then confirmed (all clear, quiet)
  await low.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'm-smoke-1', type: 'smoke' }), { qos: 1 });
  await sleep(200);
  const alarmId = (await openAlarm()).alarm;
  await low.publishAsync('smokehub/h/t1-h1/response', JSON.stringify({ alarm: alarmId, response: 'false-alarm' }), { qos: 1 });
  await low.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'm-clear-1', type: 'clear' }), { qos: 1 });
  for (let i = 0; i < 100 && th.hub.alarms.viewOf(alarmId)?.state !== 'cancelled'; i++) await sleep(20);
  assert.equal(th.hub.alarms.viewOf(alarmId)?.state, 'cancelled', 'a confirmed false alarm');

  const daily = await ext.handle!.jobs.runNow('daily-check');
  assert.equal(daily.outcome, 'ok', daily.error ?? '');
  assert.deepEqual(
    { notices: (daily.summary as any).notices, lowBattery: (daily.summary as any).lowBattery, digests: (daily.summary as any).digests },
    { notices: 1, lowBattery: 1, digests: 1 },
  );
  const battery = (await stationIn.next((m) => m.topic === 'smokehub/h/t1-h1/notice' && m.json().notice === 'battery-low', 2000, 'battery notice')).json();
  assert.equal(battery.severity, 'warning');
  assert.match(battery.text, /15 %/);
  const digest = (await stationIn.next((m) => m.topic === 'smokehub/station/notice' && m.json().notice === 'team-digest', 2000, 'team digest')).json();
  assert.equal(digest.household, null);
  assert.match(digest.text, /Team t1/);
  assert.equal(
    stationIn.count((m) => /^smokehub\/h\/t2-/.test(m.topic)),
    0,
    'team 2 is fine: nothing sent there',
  );

  // the team leader reads the digest of their team through the API, and not the other team's
  const leader1 = await th.login('leader1', 'leader-password-1');
  const leaderNotices = await th.api(leader1, '/api/notices?notice=team-digest');
  assert.deepEqual(
    leaderNotices.body.notices.map((n: any) => [n.team, n.household]),
    [['t1', null]],
  );
  const leader2 = await th.login('leader2', 'leader-password-2');
  assert.deepEqual((await th.api(leader2, '/api/notices?notice=team-digest')).body.notices, []);
  const home = await th.login('home11', 'household-password');
  const homeNotices = await th.api(home, '/api/notices');
  assert.deepEqual(
    homeNotices.body.notices.map((n: any) => n.notice),
    ['battery-low'],
    'a household sees its own notices, not the team digest',
  );

  // equipment: one extinguisher expires in 11 days, another next year
  const eq = importEquipment(
    ext.handle!.equipment,
    'household,item,serial,expires\nt1-h1,extinguisher,EX-1,2026-12-10\nt2-h2,extinguisher,EX-2,2027-06-01\nt1-h2,crowbar,,\n',
    (h) => th.hub.registry.teamOf(h),
    clock.now(),
  );
  assert.equal(eq.added, 3);
  const monthly = await ext.handle!.jobs.runNow('equipment-reminders');
  assert.equal(monthly.outcome, 'ok');
  const expiring = (
    await stationIn.next((m) => m.topic === 'smokehub/h/t1-h1/notice' && m.json().notice === 'equipment-expiring', 2000, 'equipment notice')
  ).json();
  assert.match(expiring.text, /EX-1.*2026-12-10, in 11 days/);
  await stationIn.next((m) => m.topic === 'smokehub/station/notice' && m.json().notice === 'equipment-digest', 2000, 'equipment digest');
  assert.equal(
    stationIn.count((m) => m.topic === 'smokehub/h/t2-h2/notice'),
    0,
  );

  // the daily report, per role
  const admin = await th.login('admin', th.adminPassword);
  const rep = await th.api(admin, '/api/reports/daily?date=2026-11-29');
  assert.equal(rep.status, 200);
  assert.equal(rep.body.date, '2026-11-29');
  assert.equal(rep.body.from, Date.UTC(2026, 10, 28, 17, 0));
  const t1 = rep.body.teams.find((t: any) => t.team === 't1');
  assert.equal(t1.alarms, 1);
  assert.equal(t1.falseAlarms, 1);
  assert.deepEqual(
    t1.expiringEquipment.map((e: any) => [e.serial, e.daysLeft]),
    [['EX-1', 11]],
  );
  assert.equal(rep.body.teams.find((t: any) => t.team === 't2').alarms, 0);
  const mine = await th.api(leader2, '/api/reports/daily?date=2026-11-29');
  assert.deepEqual(
    mine.body.teams.map((t: any) => t.team),
    ['t2'],
  );
  assert.equal(mine.body.totals.alarms, 0);
  assert.equal((await th.api(leader2, '/api/reports/daily?date=2026-11-29&team=t1')).status, 403);
  assert.equal((await th.api(home, '/api/reports/daily')).status, 403);
  assert.equal((await th.api(admin, '/api/reports/daily?date=2026-13-01')).status, 400);
  const equipment = await th.api(leader1, '/api/equipment');
  assert.deepEqual(equipment.body.items.map((i: any) => i.household).sort(), ['t1-h1', 't1-h2']);

  // the report job, just after midnight, reports the previous day to the station
  clock.advance(6 * 3600_000 + 5 * 60_000); // 00:05 on 30 Nov local
  const report = await ext.handle!.jobs.runNow('daily-report');
  assert.equal(report.outcome, 'ok');
  assert.equal((report.summary as any).date, '2026-11-29');
  const rn = (await stationIn.next((m) => m.topic === 'smokehub/station/notice' && m.json().notice === 'daily-report', 2000, 'report notice')).json();
  assert.match(rn.text, /Daily report 2026-11-29: 1 alarm \(1 false\)/);
});

async function openAlarm(): Promise<{ alarm: string }> {
  const admin = await th.login('admin', th.adminPassword);
  const list = await th.api(admin, '/api/alarms?state=open');
  assert.equal(list.body.alarms.length, 1);
  return list.body.alarms[0];
}
