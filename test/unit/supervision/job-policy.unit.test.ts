/**
 * The job runner's policy (job-policy.ts): catch-up of a time missed while the hub was off, within
 * the look-back; the overlap rule; how a failed run ended; the summary kept. Pure, a manual clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { CronSchedule } from '../../../hub/supervision/cron-schedule.ts';
import { AbortedError } from '../../../hub/supervision/cooperative.ts';
import { DEFAULT_LOOKBACK_MS, failedOutcome, mayStart, missedRun, summaryJson } from '../../../hub/supervision/job-policy.ts';

const TZ = 'Asia/Ho_Chi_Minh';
const HOUR = 3600_000;
const WEEK = 7 * 24 * HOUR;
// Sunday 09:00 in Hanoi = 02:00 UTC.
const SUNDAY_9 = Date.UTC(2026, 10, 29, 2, 0);

test('catch-up: the previous scheduled time runs once when it passed while the hub was off', () => {
  const weekly = new CronSchedule('w', '0 9 * * 0', TZ);
  const clock = new ManualClock(SUNDAY_9 + HOUR); // Sunday 10:00 local
  const previous = weekly.previous(clock.now(), DEFAULT_LOOKBACK_MS);
  assert.equal(previous, SUNDAY_9);
  const base = { catchUp: undefined, previous, firstSeen: clock.now() - 2 * WEEK };
  assert.equal(missedRun({ ...base, lastCompletedStart: SUNDAY_9 - WEEK }), SUNDAY_9, 'last ran a week before: missed');
  assert.equal(missedRun({ ...base, lastCompletedStart: null }), SUNDAY_9, 'never ran: missed');
  assert.equal(missedRun({ ...base, lastCompletedStart: SUNDAY_9 }), null, 'already ran for it');
  assert.equal(missedRun({ ...base, lastCompletedStart: SUNDAY_9 + 5 * 60_000 }), null);
  assert.equal(missedRun({ ...base, catchUp: true, lastCompletedStart: null }), SUNDAY_9);
  assert.equal(missedRun({ ...base, catchUp: false, lastCompletedStart: null }), null, 'the job opted out');
});

test('catch-up: nothing is missed before the hub first scheduled the job, nor beyond the look-back', () => {
  const weekly = new CronSchedule('w', '0 9 * * 0', TZ);
  const clock = new ManualClock(SUNDAY_9 + HOUR);
  const previous = weekly.previous(clock.now(), DEFAULT_LOOKBACK_MS);
  assert.equal(missedRun({ catchUp: undefined, previous, firstSeen: clock.now() - 30 * 60_000, lastCompletedStart: null }), null, 'first started after 09:00');
  assert.equal(missedRun({ catchUp: undefined, previous, firstSeen: SUNDAY_9, lastCompletedStart: null }), SUNDAY_9, 'known at 09:00 exactly');

  // A yearly job seen in June: its 1 January time is outside a 35-day look-back, inside a 400-day one.
  const yearly = new CronSchedule('y', '0 9 1 1 *', TZ);
  clock.advance(Date.UTC(2027, 5, 15) - clock.now());
  const firstSeen = Date.UTC(2026, 0, 1);
  const short = yearly.previous(clock.now(), DEFAULT_LOOKBACK_MS);
  assert.equal(short, null);
  assert.equal(missedRun({ catchUp: undefined, previous: short, firstSeen, lastCompletedStart: null }), null);
  const long = yearly.previous(clock.now(), 400 * 24 * HOUR);
  assert.equal(long, Date.UTC(2027, 0, 1, 2, 0));
  assert.equal(missedRun({ catchUp: undefined, previous: long, firstSeen, lastCompletedStart: null }), long);
});

test('overlap: a run may start only when none is going', () => {
  assert.equal(mayStart(false), true);
  assert.equal(mayStart(true), false);
});

test('a failed run is aborted when the hub stopped it, failed otherwise', () => {
  assert.deepEqual(failedOutcome(new Error('disk on fire'), false), { outcome: 'failed', error: 'disk on fire' });
  assert.deepEqual(failedOutcome(new Error('cut short'), true), { outcome: 'aborted', error: 'cut short' });
  assert.equal(failedOutcome(new AbortedError(), false).outcome, 'aborted');
  assert.deepEqual(failedOutcome('plain string', false), { outcome: 'failed', error: 'plain string' });
});

test('the summary kept with a run: JSON, or null when there is none or it is not JSON-able', () => {
  assert.equal(summaryJson({ handled: 3 }), '{"handled":3}');
  assert.equal(summaryJson(null), null);
  assert.equal(summaryJson(undefined), null);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(summaryJson(cyclic), null);
  assert.equal(summaryJson(10n), null, 'a BigInt cannot be JSON');
});
