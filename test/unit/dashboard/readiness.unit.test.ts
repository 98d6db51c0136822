/**
 * Team readiness (issue 14, point 3): an item's expiry state against the reminder's horizon, and per
 * household and per team: detectors working, equipment in date, expiring, expired.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceHealth } from '../../../hub/protocol/http/device-health.ts';
import { fromHealth } from '../../../dashboard/src/api.ts';
import { joinHealth } from '../../../dashboard/src/health-rows.ts';
import { expiryState, needsAction, readinessOf, sortEquipment, teamsOf, type Equipment } from '../../../dashboard/src/readiness.ts';

const NOW = Date.UTC(2026, 11, 2, 8, 0, 0);
const DAY = 24 * 3600 * 1000;

function device(id: string, household: string, over: Partial<DeviceHealth> = {}): DeviceHealth {
  return {
    device: id,
    label: null,
    household,
    team: household.split('-')[0]!,
    kind: 'smoke',
    online: true,
    lastSeen: NOW - 1000,
    supervision: 'ok',
    since: null,
    offlineReason: null,
    battery: 90,
    batteryAt: NOW - DAY,
    lastTest: { at: NOW - DAY, outcome: 'pass', reason: null },
    fault: false,
    enrolledAt: NOW - 90 * DAY,
    replaceBy: null,
    ...over,
  };
}
const item = (household: string, name: string, daysLeft: number | null, serial = ''): Equipment => ({
  household,
  team: household.split('-')[0]!,
  item: name,
  serial,
  expires: daysLeft === null ? null : `2026-12-${String(2 + Math.max(0, daysLeft)).padStart(2, '0')}`,
  daysLeft,
});

test('expiry state: expired below 0, expiring from today to the horizon, in date after, none without a date', () => {
  assert.equal(expiryState(-1, 30), 'expired');
  assert.equal(expiryState(0, 30), 'expiring');
  assert.equal(expiryState(30, 30), 'expiring');
  assert.equal(expiryState(31, 30), 'ok');
  assert.equal(expiryState(null, 30), 'none');
});

test('equipment sorts expired first, then the soonest, items without expiry last', () => {
  const sorted = sortEquipment([
    item('t1-h1', 'crowbar', null),
    item('t1-h1', 'extinguisher', 200, 'B'),
    item('t1-h1', 'extinguisher', -4, 'A'),
    item('t1-h1', 'ladder', 12),
  ]);
  assert.deepEqual(
    sorted.map((e) => e.daysLeft),
    [-4, 12, 200, null],
  );
});

test('per household: detectors working, other devices in trouble, equipment expired / expiring / in date, the next expiry', () => {
  const households = [
    { id: 't1-h1', name: 'Nhà Một', team: 't1' },
    { id: 't1-h2', name: 'Nhà Hai', team: 't1' },
    { id: 't1-h3', name: 'Nhà Ba', team: 't1' },
    { id: 't2-h1', name: 'Nhà Bốn', team: 't2' },
  ];
  const rows = joinHealth(
    [
      device('t1-h1-smoke', 't1-h1'),
      device('t1-h1-heat', 't1-h1', { kind: 'heat', fault: true }),
      device('t1-h2-smoke', 't1-h2'),
      device('t1-h2-panic', 't1-h2', { kind: 'panic', lastTest: null, online: false, supervision: 'offline' }),
      device('t2-h1-smoke', 't2-h1', { battery: 5 }),
    ].map(fromHealth),
    households.map((h) => ({
      ...h,
      address: '',
      phone: '',
      phones: [],
      lat: null,
      lon: null,
      card: { access: '', hazards: '', vulnerable: '', water: '' },
      devices: [],
    })) as never,
  );
  const eq = [item('t1-h1', 'extinguisher', -2, 'EX-1'), item('t1-h1', 'crowbar', null), item('t1-h2', 'extinguisher', 12), item('t1-h3', 'extinguisher', 300)];
  const r = readinessOf(households, rows, eq, 30, NOW);
  const by = new Map(r.map((x) => [x.household, x]));
  assert.deepEqual(
    r.map((x) => x.household),
    ['t1-h1', 't1-h2', 't1-h3', 't2-h1'],
  );
  assert.deepEqual(
    { ...by.get('t1-h1')!, name: undefined },
    {
      household: 't1-h1',
      name: undefined,
      team: 't1',
      detectors: 2,
      detectorsOk: 1,
      devicesWithProblems: 1,
      equipment: 2,
      expiring: 0,
      expired: 1,
      nextExpiry: '2026-12-02',
      nextDaysLeft: -2,
    },
  );
  const h2 = by.get('t1-h2')!;
  assert.deepEqual(
    [h2.detectors, h2.detectorsOk, h2.devicesWithProblems, h2.expiring, h2.expired],
    [1, 1, 1, 1, 0],
    'the panic button offline is a device problem, not a detector',
  );
  const h3 = by.get('t1-h3')!;
  assert.deepEqual([h3.detectors, h3.equipment, h3.expiring, h3.expired], [0, 1, 0, 0]);
  assert.ok(needsAction(h3), 'a household without a detector needs action');
  assert.equal(needsAction(by.get('t2-h1')!), true, 'a low battery needs action');
  const ready = readinessOf(
    households.slice(0, 1),
    joinHealth([device('t1-h1-smoke', 't1-h1')].map(fromHealth), null),
    [item('t1-h1', 'extinguisher', 100)],
    30,
    NOW,
  );
  assert.equal(needsAction(ready[0]!), false, 'working detectors and equipment in date: nothing to do');

  const teams = teamsOf(r);
  assert.deepEqual(teams, [
    { team: 't1', households: 3, detectorsReady: 1, equipped: 3, inDate: 2, expiring: 1, expired: 1 },
    { team: 't2', households: 1, detectorsReady: 0, equipped: 0, inDate: 0, expiring: 0, expired: 0 },
  ]);
});
