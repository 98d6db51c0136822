/**
 * Device health rows (issue 14, point 3): a detector enrolled less than one self-test period ago and
 * never tested is "not yet due" (neutral), not a fault; the default sort puts what needs action first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceHealth } from '../../../hub/protocol/http/device-health.ts';
import { fromHealth } from '../../../dashboard/src/api.ts';
import {
  filterRows,
  joinHealth,
  problemsOf,
  SELF_TEST_OVERDUE_MS,
  selfTestState,
  sortRows,
  urgencyOf,
  type HealthRow,
} from '../../../dashboard/src/health-rows.ts';

const NOW = Date.UTC(2026, 11, 2, 8, 0, 0);
const DAY = 24 * 3600 * 1000;

function item(device: string, over: Partial<DeviceHealth> = {}): DeviceHealth {
  return {
    device,
    label: null,
    household: 'bd-to03-h01',
    team: 'bd-to03',
    kind: 'smoke',
    online: true,
    lastSeen: NOW - 1000,
    supervision: 'ok',
    since: null,
    offlineReason: null,
    battery: null,
    batteryAt: null,
    lastTest: null,
    fault: false,
    enrolledAt: NOW - 60_000,
    replaceBy: null,
    ...over,
  };
}
const rows = (items: DeviceHealth[]): HealthRow[] => joinHealth(items.map(fromHealth), null);

test('fromHealth carries enrolledAt, field by field', () => {
  const d = fromHealth(item('a-smoke', { enrolledAt: 1_700_000_000_000 }));
  assert.equal(d.enrolledAt, 1_700_000_000_000);
});

test('a detector enrolled minutes ago and never tested is not yet due, not a problem', () => {
  const [r] = rows([item('a-smoke')]);
  assert.equal(selfTestState(r!.device, NOW), 'notYet');
  assert.deepEqual([...problemsOf(r!, NOW)], []);
});

test('never tested one self-test period after enrolment is overdue', () => {
  const [young, old] = rows([
    item('young-smoke', { enrolledAt: NOW - SELF_TEST_OVERDUE_MS + DAY }),
    item('old-smoke', { enrolledAt: NOW - SELF_TEST_OVERDUE_MS - 1 }),
  ]);
  assert.equal(selfTestState(young!.device, NOW), 'notYet');
  assert.equal(selfTestState(old!.device, NOW), 'overdue');
  assert.deepEqual([...problemsOf(old!, NOW)], ['noSelfTest']);
});

test('a tested detector: passed recently ok, passed long ago overdue, failed is a fault', () => {
  const enrolledAt = NOW - 90 * DAY;
  const [ok, stale, failed] = rows([
    item('ok-smoke', { enrolledAt, lastTest: { at: NOW - DAY, outcome: 'pass', reason: null } }),
    item('stale-smoke', { enrolledAt, lastTest: { at: NOW - SELF_TEST_OVERDUE_MS - DAY, outcome: 'pass', reason: null } }),
    item('failed-smoke', { enrolledAt, lastTest: { at: NOW - DAY, outcome: 'fail', reason: 'no-answer' } }),
  ]);
  assert.equal(selfTestState(ok!.device, NOW), 'ok');
  assert.equal(selfTestState(stale!.device, NOW), 'overdue');
  assert.equal(selfTestState(failed!.device, NOW), 'failed');
  assert.deepEqual([...problemsOf(ok!, NOW)], []);
  assert.ok(problemsOf(failed!, NOW).has('fault'));
});

test('panic buttons and bridges have no self-test, however old', () => {
  const [panic] = rows([item('a-panic', { kind: 'panic', enrolledAt: NOW - 400 * DAY })]);
  assert.equal(selfTestState(panic!.device, NOW), 'none');
  assert.deepEqual([...problemsOf(panic!, NOW)], []);
});

test('a fresh install of the demo size: the default filter lists none of its 60 healthy devices', () => {
  const items: DeviceHealth[] = [];
  for (let h = 1; h <= 30; h++) {
    items.push(item(`bd-to03-h${String(h).padStart(2, '0')}-smoke`, { enrolledAt: NOW - 5 * 60_000 }));
    items.push(item(`bd-to03-h${String(h).padStart(2, '0')}-panic`, { kind: 'panic', enrolledAt: NOW - 5 * 60_000 }));
  }
  const all = rows(items);
  assert.equal(filterRows(all, { text: '', show: 'problems', team: '' }, NOW).length, 0);
  assert.equal(filterRows(all, { text: '', show: 'noSelfTest', team: '' }, NOW).length, 0);
  assert.equal(filterRows(all, { text: '', show: 'all', team: '' }, NOW).length, 60);
});

test('most urgent first: fault, flapping, offline, low battery, overdue self-test, unknown, online', () => {
  const enrolledAt = NOW - 90 * DAY;
  const fresh = { at: NOW - DAY, outcome: 'pass' as const, reason: null };
  const all = rows([
    item('g-online', { enrolledAt, lastTest: fresh }),
    item('f-unknown', { enrolledAt, lastTest: fresh, online: false }),
    item('e-overdue', { enrolledAt }),
    item('d-battery', { enrolledAt, lastTest: fresh, battery: 9 }),
    item('c-offline', { enrolledAt, lastTest: fresh, online: false, supervision: 'offline' }),
    item('b-flapping', { enrolledAt, lastTest: fresh, supervision: 'flapping' }),
    item('a-fault', { enrolledAt, lastTest: fresh, fault: true }),
  ]);
  const sorted = sortRows([...all].reverse(), 'urgency', 1, NOW).map((r) => r.device.id);
  assert.deepEqual(sorted, ['a-fault', 'b-flapping', 'c-offline', 'd-battery', 'e-overdue', 'f-unknown', 'g-online']);
  assert.deepEqual(
    all.map((r) => urgencyOf(r, NOW)),
    [6, 5, 4, 3, 2, 1, 0],
  );
});

test('sorting by self-test: failed, overdue, oldest passes, then "not yet tested" (neutral), then devices without a self-test', () => {
  const old = NOW - 90 * DAY;
  const all = rows([
    item('a-notyet-young', { enrolledAt: NOW - 60_000 }),
    item('b-notyet-older', { enrolledAt: NOW - 6 * DAY }),
    item('c-pass-recent', { enrolledAt: old, lastTest: { at: NOW - DAY, outcome: 'pass', reason: null } }),
    item('d-pass-older', { enrolledAt: old, lastTest: { at: NOW - 6 * DAY, outcome: 'pass', reason: null } }),
    item('e-overdue-stale', { enrolledAt: old, lastTest: { at: NOW - 20 * DAY, outcome: 'pass', reason: null } }),
    item('f-overdue-never', { enrolledAt: old }),
    item('g-failed', { enrolledAt: old, lastTest: { at: NOW - DAY, outcome: 'fail', reason: 'no-answer' } }),
    item('h-panic', { kind: 'panic', enrolledAt: old }),
  ]);
  const asc = sortRows(all, 'selfTest', 1, NOW).map((r) => r.device.id);
  assert.deepEqual(asc, ['g-failed', 'f-overdue-never', 'e-overdue-stale', 'd-pass-older', 'c-pass-recent', 'b-notyet-older', 'a-notyet-young', 'h-panic']);
  // Descending reverses the tiers: a "not yet tested" detector is never taken for the oldest test either way.
  const desc = sortRows(all, 'selfTest', -1, NOW).map((r) => r.device.id);
  assert.deepEqual(desc, [...asc].reverse());
});
