/**
 * The pure planning of `smokehub migrate` (hub/cluster/migrate-journal.ts planJournalCopy,
 * migrate-registry.ts planRegistryCopy): what an empty, an identical, a different and a foreign
 * target lead to, without a database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alarmView, newAlarmRecord, type AlarmRecord, type Directory } from '../../../hub/core/alarm-record.ts';
import { alarmCopy, planJournalCopy, type JournalRows, type TimelineCopy } from '../../../hub/cluster/migrate-journal.ts';
import { planRegistryCopy, type RegistryRows } from '../../../hub/cluster/migrate-registry.ts';

const directory: Directory = {
  household: (id) => ({ id, team: 'T1', name: `Nhà ${id}`, address: 'Lê Lợi', lat: null, lon: null }),
  householdsOfTeam: () => [],
};
const T0 = 1_800_000_000_000;

function alarm(id: string, patch: Partial<AlarmRecord> = {}) {
  const r = { ...newAlarmRecord(id, { team: 'T1', household: 'H1', device: 'D1' }, 'smoke', T0, T0 + 20_000), ...patch };
  return alarmCopy(r, alarmView(r, directory));
}
const entry = (alarmId: string, transition: string, at = T0): TimelineCopy => ({
  alarmId,
  at,
  transition,
  state: 'pre-alarm',
  detail: { a: 1, b: 'x' },
  by: { kind: 'device', id: 'D1' },
  via: 'mqtt',
});
function box(): JournalRows {
  return {
    alarms: [alarm('A1'), alarm('A2', { state: 'resolved', verifyDeadline: null, closedAt: T0 + 5000 })],
    timeline: [entry('A1', 'raised'), entry('A2', 'raised'), entry('A2', 'resolved', T0 + 5000)],
    seen: [{ device: 'D1', eventId: 'e1', at: T0 }],
  };
}
const empty: JournalRows = { alarms: [], timeline: [], seen: [] };

test('alarmCopy: open alarms carry their earliest deadline, closed ones none', () => {
  assert.equal(alarm('A', { escalateDeadline: T0 + 9000, verifyDeadline: T0 + 20_000 }).nextDeadline, T0 + 9000);
  const closed = alarm('B', { state: 'cancelled', verifyDeadline: T0 + 20_000 });
  assert.equal(closed.open, false);
  assert.equal(closed.nextDeadline, null, 'a closed alarm is never swept');
});

test('an empty target: everything is copied, nothing clashes', () => {
  const plan = planJournalCopy(box(), empty, 'DATA');
  assert.deepEqual(plan.tables, {
    alarms: { copied: 2, unchanged: 0 },
    timeline: { copied: 3, unchanged: 0 },
    seen_events: { copied: 1, unchanged: 0 },
  });
  assert.deepEqual(plan.clashes, []);
  assert.equal(plan.open, 1);
  assert.equal(plan.deadlines, 1);
  assert.deepEqual(
    plan.timeline.map((e) => e.transition),
    ['raised', 'raised', 'resolved'],
    'in order',
  );
});

test('an identical target (JSON read back with its keys in another order): nothing to write', () => {
  const target = box();
  // JSONB gives objects back with their keys in its own order.
  target.timeline = target.timeline.map((e) => ({ ...e, detail: { b: 'x', a: 1 } }));
  const a0 = target.alarms[0]!;
  target.alarms[0] = { ...a0, record: Object.fromEntries(Object.entries(a0.record).reverse()) as unknown as AlarmRecord };
  const plan = planJournalCopy(box(), target, 'DATA');
  assert.deepEqual(plan.tables, {
    alarms: { copied: 0, unchanged: 2 },
    timeline: { copied: 0, unchanged: 3 },
    seen_events: { copied: 0, unchanged: 1 },
  });
  assert.deepEqual(plan.clashes, []);
  assert.equal(plan.alarms.length + plan.timeline.length + plan.seen.length, 0);
});

test("a target that moved on, or holds another box's alarms: every clash named; the box's alarm and whole timeline replace theirs", () => {
  const target = box();
  target.alarms[0] = alarm('A1', { state: 'active', verifyDeadline: null, escalateDeadline: T0 + 1 });
  target.alarms.push(alarm('Z9'));
  target.timeline.push(entry('A1', 'verified'), entry('Z9', 'raised'));
  target.seen = [{ device: 'D1', eventId: 'e1', at: T0 + 1 }];
  const plan = planJournalCopy(box(), target, 'DATA');
  assert.deepEqual(plan.clashes, [
    'alarms: 1 different, 1 not from DATA',
    'timeline: 1 alarm different, 1 entries not from DATA',
    'seen_events: 1 different, 0 not from DATA',
  ]);
  assert.equal(plan.foreign, 2);
  assert.deepEqual(
    plan.alarms.map((a) => a.id),
    ['A1'],
  );
  assert.deepEqual(plan.replaceTimelines, ['A1']);
  assert.deepEqual(
    plan.timeline.map((e) => `${e.alarmId}:${e.transition}`),
    ['A1:raised'],
  );
  assert.deepEqual(plan.tables.timeline, { copied: 1, unchanged: 2 });
});

test('planRegistryCopy: new, unchanged, different and foreign rows', () => {
  const source: RegistryRows = new Map([
    [
      'teams',
      [
        { id: 'T1', created_at: 1 },
        { id: 'T2', created_at: 2 },
      ],
    ],
  ]);
  const target: RegistryRows = new Map([
    [
      'teams',
      [
        { id: 'T1', created_at: 1 },
        { id: 'T2', created_at: 3 },
        { id: 'T9', created_at: 9 },
      ],
    ],
  ]);
  const plan = planRegistryCopy(source, target, 'DATA');
  assert.deepEqual(plan.tables.teams, { copied: 1, unchanged: 1 });
  assert.deepEqual(plan.tables.households, { copied: 0, unchanged: 0 });
  assert.deepEqual(plan.clashes, ['teams: 1 different, 1 not from DATA']);
  assert.equal(plan.foreign, 1);
  assert.deepEqual(plan.write.get('teams'), [{ id: 'T2', created_at: 2 }]);
  assert.deepEqual(planRegistryCopy(source, source, 'DATA').clashes, []);
});
