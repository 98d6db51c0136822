/**
 * Supervision under `ctx.singleton` (a gate the test toggles): the cron jobs are scheduled, and
 * missed runs caught up, only while `jobs` is held; the sweeps report offline devices only while
 * `supervision` is held. The clock is injected (ManualClock); nothing waits in real time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { JobHistory } from '../../../hub/supervision/job-history.ts';
import { LEASE_JOBS, LEASE_SUPERVISION, supervisionExtension } from '../../../hub/supervision/supervision-extension.ts';
import { fakeHubContext } from '../../helpers/fake-hub-context.ts';

const WEEK = 7 * 24 * 3600_000;
// Sunday 29 Nov 2026, 10:00 in Asia/Ho_Chi_Minh: every job's previous scheduled time is behind.
const NOW = Date.UTC(2026, 10, 29, 3, 0);

test('jobs: nothing scheduled nor caught up while "jobs" is not held; on acquiring it the missed run catches up after catchUpDelayS; lost: scheduling stops', async (t) => {
  const clock = new ManualClock(NOW);
  const hub = fakeHubContext({ clock, config: { timezone: 'Asia/Ho_Chi_Minh', catchUpDelayS: 30 } });
  const ext = supervisionExtension({ sweepIntervalMs: 1000 });
  t.after(async () => {
    await ext.stop?.();
    hub.close();
  });
  // The daily check was known a week ago and never ran since: a run is missed.
  new JobHistory(hub.ctx.db).schedule('daily-check', hub.ctx.config.dailyCron, hub.ctx.config.timezone, NOW - WEEK);

  await ext.start(hub.ctx);
  const jobs = ext.handle!.jobs;
  assert.ok(hub.gate.asked.has(LEASE_JOBS));
  assert.equal(jobs.scheduling, false, 'not scheduled while not held');
  clock.advance(10 * 60_000);
  await jobs.idle('daily-check');
  assert.deepEqual(jobs.runs('daily-check'), [], 'no catch-up while not held');
  // Read routes' data still answer on a node that does not hold it.
  assert.deepEqual(
    jobs
      .list()
      .map((j) => j.name)
      .sort(),
    ['daily-check', 'daily-report', 'equipment-reminders', 'self-test'],
  );

  hub.gate.set(LEASE_JOBS, true);
  assert.equal(jobs.scheduling, true);
  clock.advance(29_000);
  assert.deepEqual(jobs.runs('daily-check'), [], 'the catch-up waits catchUpDelayS, as at start');
  clock.advance(1_000);
  await jobs.idle('daily-check');
  const runs = jobs.runs('daily-check');
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.reason, 'catch-up');
  assert.equal(runs[0]!.outcome, 'ok');

  hub.gate.set(LEASE_JOBS, false);
  assert.equal(jobs.scheduling, false, 'lost: no more scheduled runs');
  // Taken again: nothing was missed since the catch-up, so nothing runs twice.
  hub.gate.set(LEASE_JOBS, true);
  assert.equal(jobs.scheduling, true);
  clock.advance(60_000);
  await jobs.idle('daily-check');
  assert.equal(jobs.runs('daily-check').length, 1);
  await ext.stop?.();
  assert.equal(hub.gate.watchers(LEASE_JOBS), 0, 'stop unsubscribes');
});

test('sweeps: a silent device is reported offline only while "supervision" is held', async (t) => {
  const clock = new ManualClock(NOW);
  const device = { id: 'd1', household: 'h1', team: 't1', kind: 'smoke' as const, enrolledAt: NOW - WEEK };
  const hub = fakeHubContext({ clock, config: { timezone: 'Asia/Ho_Chi_Minh', supervisionWindowS: 2 }, devices: [device] });
  const ext = supervisionExtension({ sweepIntervalMs: 1000 });
  t.after(async () => {
    await ext.stop?.();
    hub.close();
  });
  await ext.start(hub.ctx);
  const offline = () => hub.published.filter((p) => p.topic.endsWith('/notice') && JSON.parse(p.payload).notice === 'offline');

  clock.advance(5_000); // past the window: the periodic sweeps ran
  await ext.handle!.sweep();
  assert.ok(hub.gate.asked.has(LEASE_SUPERVISION));
  assert.deepEqual(offline(), [], 'nothing reported while not held');
  assert.equal(ext.handle!.tracker.countDown(), 0, 'the state is not advanced either: the holder to be reports it');

  hub.gate.set(LEASE_SUPERVISION, true);
  await ext.handle!.sweep();
  assert.ok(offline().length >= 1, 'reported once held');
  assert.equal(JSON.parse(offline()[0]!.payload).device, 'd1');
  assert.equal(ext.handle!.tracker.countDown(), 1);
});
