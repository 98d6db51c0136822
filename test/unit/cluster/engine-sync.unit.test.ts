import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine, recordNextDeadline, type AlarmRecord, type Directory, type Effect } from '../../../hub/core/alarm-engine.ts';
import { newAlarmRecord } from '../../../hub/core/alarm-record.ts';

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const TEAMS: Record<string, string[]> = { team1: ['a', 'b', 'c'], team2: ['x', 'y'] };
const teamOf = (h: string) => Object.keys(TEAMS).find((t) => TEAMS[t]!.includes(h));
const directory: Directory = {
  household: (id) => {
    const team = teamOf(id);
    return team ? { id, team, name: `Nhà ${id}`, address: `${id} Lê Lợi`, lat: null, lon: null } : undefined;
  },
  householdsOfTeam: (team) => TEAMS[team] ?? [],
};
const settings = { verifyWindowMs: 20_000, escalateAfterMs: 120_000, resolveQuietMs: 60_000, hushPeriodMs: 300_000 };
function engine(prefix: string) {
  let n = 0;
  return new AlarmEngine(settings, directory, () => `${prefix}${++n}`);
}
const src = (household: string) => ({ team: teamOf(household)!, household, device: `${household}-smoke` });
const ev = (type: string, id = `${type}-${Math.random()}`) => ({ id, type: type as never });
const journals = (fx: Effect[]) => fx.filter((e): e is Extract<Effect, { type: 'journal' }> => e.type === 'journal');

test('syncTeam replaces the team’s open alarms with copies and leaves other teams alone', () => {
  const e = engine('A');
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  e.handleDeviceEvent(src('x'), ev('smoke'), T0);
  const other = newAlarmRecord('Z1', src('b'), 'smoke', T0 + 5, T0 + 20_005);
  e.syncTeam('team1', [other]);
  assert.deepEqual(
    e.openAlarmsOf('team1').map((a) => a.id),
    ['Z1'],
  );
  assert.equal(e.openAlarmOf('a'), undefined, 'a’s alarm is no longer open here');
  assert.equal(e.openAlarmOf('b')?.id, 'Z1');
  assert.equal(e.openAlarmsOf('team2').length, 1, 'team2 untouched');
  other.state = 'escalated';
  assert.equal(e.get('Z1')!.state, 'pre-alarm', 'the engine holds a copy');
  e.syncTeam('team1', []);
  assert.equal(e.openAlarmsOf('team1').length, 0);
  assert.equal(e.openAlarmOf('b'), undefined);
});

test('syncTeam ignores closed records, keeps raisedAt order', () => {
  const e = engine('A');
  const late = newAlarmRecord('L', src('b'), 'smoke', T0 + 10, null);
  const early = newAlarmRecord('E', src('a'), 'smoke', T0, null);
  const closed = { ...newAlarmRecord('C', src('c'), 'smoke', T0, null), state: 'resolved' as const, closedAt: T0 + 1 };
  e.syncTeam('team1', [late, closed, early]);
  assert.deepEqual(
    e.openAlarmsOf('team1').map((a) => a.id),
    ['E', 'L'],
  );
});

test('two engines that sync a team before each input decide as one: the second household escalates both', () => {
  const n1 = engine('N1-');
  const n2 = engine('N2-');
  let shared: AlarmRecord[] = [];
  const step = (node: AlarmEngine, fn: () => Effect[]) => {
    node.syncTeam('team1', shared);
    const fx = fn();
    shared = node.openAlarmsOf('team1').map((a) => structuredClone(a));
    return fx;
  };
  step(n1, () => n1.handleDeviceEvent(src('a'), ev('smoke'), T0));
  const fx = step(n2, () => n2.handleDeviceEvent(src('b'), ev('smoke'), T0 + 100));
  assert.equal(shared.length, 2);
  assert.ok(shared.every((a) => a.state === 'escalated' && a.escalation === 'multiple-households'));
  assert.deepEqual(
    journals(fx).map((j) => j.transition),
    ['raised', 'escalated', 'escalated'],
  );
});

test('tick(now, team) fires only that team’s deadlines; tick(now) fires all (single box unchanged)', () => {
  const e = engine('A');
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  e.handleDeviceEvent(src('x'), ev('smoke'), T0);
  const fx = e.tick(T0 + 20_000, 'team2');
  assert.deepEqual(
    journals(fx).map((j) => [j.record.originHousehold, j.transition]),
    [['x', 'activated']],
  );
  assert.equal(e.openAlarmOf('a')!.state, 'pre-alarm');
  const rest = e.tick(T0 + 20_000);
  assert.deepEqual(
    journals(rest).map((j) => [j.record.originHousehold, j.transition]),
    [['a', 'activated']],
  );
});

test('recordNextDeadline is the earliest pending deadline', () => {
  const r = newAlarmRecord('R', src('a'), 'smoke', T0, T0 + 20_000);
  assert.equal(recordNextDeadline(r), T0 + 20_000);
  r.escalateDeadline = T0 + 10_000;
  r.hushDeadline = T0 + 5_000;
  assert.equal(recordNextDeadline(r), T0 + 5_000);
  r.verifyDeadline = r.escalateDeadline = r.hushDeadline = null;
  assert.equal(recordNextDeadline(r), null);
  r.resolveDeadline = T0 + 1;
  assert.equal(recordNextDeadline(r), T0 + 1);
  delete r.hushDeadline;
  assert.equal(recordNextDeadline(r), T0 + 1);
});
