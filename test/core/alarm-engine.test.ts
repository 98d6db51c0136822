import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine, type Directory, type Effect, type EngineSettings } from '../../hub/core/alarm-engine.ts';
import type { AlarmView } from '../../hub/protocol/schema.ts';

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0);
const TEAM = ['a', 'b', 'c', 'd'];
const directory: Directory = {
  household: (id) =>
    TEAM.includes(id) || id === 'x'
      ? { id, team: id === 'x' ? 'other' : 'team1', name: `Nhà ${id}`, address: `${id} Lê Lợi`, lat: 20.95, lon: 107.08 }
      : undefined,
  householdsOfTeam: (team) => (team === 'team1' ? TEAM : ['x']),
};

function engine(settings: Partial<EngineSettings> = {}) {
  let n = 0;
  return new AlarmEngine({ verifyWindowMs: 20_000, escalateAfterMs: 120_000, resolveQuietMs: 60_000, ...settings }, directory, () => `A${++n}`);
}
const src = (household: string, device = `${household}-smoke`) => ({ team: household === 'x' ? 'other' : 'team1', household, device });
const ev = (type: string, id = `${type}-${Math.random()}`) => ({ id, type: type as never });

function announces(effects: Effect[]): Array<{ view: AlarmView; households: string[] }> {
  return effects.filter((e): e is Extract<Effect, { type: 'announce' }> => e.type === 'announce');
}
function lastState(effects: Effect[]): string | undefined {
  return announces(effects).at(-1)?.view.state;
}
function journalBeforeAnnounce(effects: Effect[]): void {
  for (let i = 0; i < effects.length; i += 2) {
    assert.equal(effects[i]!.type, 'journal', 'every announce is preceded by its journal entry');
    assert.equal(effects[i + 1]!.type, 'announce');
  }
}

test('smoke opens a pre-alarm that alerts only the origin household, then neighbours after the verify window', () => {
  const e = engine();
  const fx = e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  journalBeforeAnnounce(fx);
  assert.equal(lastState(fx), 'pre-alarm');
  assert.deepEqual(announces(fx)[0]!.households, ['a']);
  assert.equal(e.nextDeadline(), T0 + 20_000);
  assert.deepEqual(e.tick(T0 + 19_999), []);
  const fx2 = e.tick(T0 + 20_000);
  assert.equal(lastState(fx2), 'active');
  assert.deepEqual(announces(fx2)[0]!.households.sort(), ['a', 'b', 'c', 'd']);
});

test('verify window 0 alerts the whole team at once', () => {
  const e = engine({ verifyWindowMs: 0 });
  const fx = e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.equal(lastState(fx), 'active');
  assert.deepEqual(announces(fx).at(-1)!.households.sort(), ['a', 'b', 'c', 'd']);
});

test('panic, a second device, and need-help from the origin skip the window', () => {
  const e1 = engine();
  assert.equal(lastState(e1.handleDeviceEvent(src('a', 'a-panic'), ev('panic'), T0)), 'active');

  const e2 = engine();
  e2.handleDeviceEvent(src('a', 'a-smoke'), ev('smoke'), T0);
  assert.equal(lastState(e2.handleDeviceEvent(src('a', 'a-heat'), ev('heat'), T0 + 1000)), 'active');

  const e3 = engine();
  const id = announces(e3.handleDeviceEvent(src('a'), ev('smoke'), T0))[0]!.view.alarm;
  const r = e3.handleResponse('a', id, 'need-help', T0 + 500);
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'active');
});

test('the same device repeating smoke never fans out twice', () => {
  const e = engine({ verifyWindowMs: 0 });
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.deepEqual(e.handleDeviceEvent(src('a'), ev('smoke'), T0 + 100), []);
  assert.deepEqual(e.handleDeviceEvent(src('a'), ev('smoke'), T0 + 200), []);
  assert.equal(e.openAlarms().length, 1);
});

test('origin hush cancels a pre-alarm without ever alerting neighbours', () => {
  const e = engine();
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  const fx = e.handleDeviceEvent(src('a'), ev('hush'), T0 + 5000);
  assert.equal(lastState(fx), 'cancelled');
  assert.deepEqual(announces(fx)[0]!.households, ['a']);
  assert.equal(e.openAlarms().length, 0);
  assert.equal(e.nextDeadline(), null);
});

test('origin false-alarm after activation cancels and the stand-down reaches the alerted neighbours', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r = e.handleResponse('a', id, 'false-alarm', T0 + 30_000);
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'cancelled');
  assert.deepEqual(announces(r.effects)[0]!.households.sort(), ['a', 'b', 'c', 'd']);
  const j = r.effects[0]!;
  assert.ok(j.type === 'journal' && j.record.falseAlarm);
});

test('a neighbour cannot declare a false alarm; a household of another team cannot respond', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r1 = e.handleResponse('b', id, 'false-alarm', T0 + 1);
  assert.equal(r1.ok, false);
  const r2 = e.handleResponse('x', id, 'coming', T0 + 1);
  assert.ok(!r2.ok && r2.code === 'forbidden');
  const r3 = e.handleResponse('b', 'nope', 'coming', T0 + 1);
  assert.ok(!r3.ok && r3.code === 'not_found');
});

test('neighbour responses are recorded once per household and re-published', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r1 = e.handleResponse('b', id, 'coming', T0 + 1000);
  assert.ok(r1.ok);
  const r2 = e.handleResponse('c', id, 'unable', T0 + 2000);
  assert.ok(r2.ok);
  const r3 = e.handleResponse('b', id, 'unable', T0 + 3000);
  assert.ok(r3.ok);
  const view = announces(r3.effects)[0]!.view;
  assert.deepEqual(
    view.responders.map((r) => [r.household, r.response]),
    [['b', 'unable'], ['c', 'unable']],
  );
  assert.deepEqual(announces(r3.effects)[0]!.households.sort(), ['a', 'b', 'c', 'd']);
});

test('escalation: neighbour need-help', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r = e.handleResponse('b', id, 'need-help', T0 + 1000);
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'escalated');
  assert.equal(announces(r.effects)[0]!.view.escalation, 'neighbour-need-help');
});

test('escalation: alarms in two households of one team escalate both', () => {
  const e = engine();
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  const fx = e.handleDeviceEvent(src('b'), ev('smoke'), T0 + 3000);
  const escalated = announces(fx).filter((a) => a.view.state === 'escalated');
  assert.equal(escalated.length, 2);
  assert.ok(escalated.every((a) => a.view.escalation === 'multiple-households'));
  assert.ok(escalated.every((a) => a.households.length === 4), 'the whole team is alerted');
  // another team's alarm does not count
  const e2 = engine();
  e2.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.equal(lastState(e2.handleDeviceEvent(src('x'), ev('smoke'), T0)), 'pre-alarm');
});

test('escalation: an active alarm not cancelled within escalate-after', () => {
  const e = engine({ verifyWindowMs: 0 });
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.equal(e.nextDeadline(), T0 + 120_000);
  assert.deepEqual(e.tick(T0 + 119_999), []);
  const fx = e.tick(T0 + 120_000);
  assert.equal(lastState(fx), 'escalated');
  assert.equal(announces(fx)[0]!.view.escalation, 'not-cancelled-in-time');
  // the origin may still cancel a timed-out escalation (nobody else confirmed a fire)
  const id = announces(fx)[0]!.view.alarm;
  const r = e.handleResponse('a', id, 'false-alarm', T0 + 130_000);
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'cancelled');
});

test('a hush does not cancel an alarm confirmed by others (need-help) — recorded instead', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  e.handleResponse('b', id, 'need-help', T0 + 1000);
  const fx = e.handleDeviceEvent(src('a'), ev('hush'), T0 + 2000);
  assert.equal(lastState(fx), 'escalated');
  const j = fx[0]!;
  assert.ok(j.type === 'journal' && j.transition === 'cancel-refused');
});

test('resolved when every alarming device cleared and no smoke for the quiet period; new smoke re-arms', () => {
  const e = engine({ verifyWindowMs: 0 });
  e.handleDeviceEvent(src('a', 'a-smoke'), ev('smoke'), T0);
  e.handleDeviceEvent(src('a', 'a-heat'), ev('heat'), T0 + 1000);
  e.handleDeviceEvent(src('a', 'a-smoke'), ev('clear'), T0 + 10_000);
  assert.equal(e.openAlarms()[0]!.resolveDeadline, null, 'one device still alarming');
  e.handleDeviceEvent(src('a', 'a-heat'), ev('clear'), T0 + 20_000);
  assert.equal(e.openAlarms()[0]!.resolveDeadline, T0 + 80_000);
  // smoke again before the quiet period ends: no resolution
  e.handleDeviceEvent(src('a', 'a-smoke'), ev('smoke'), T0 + 50_000);
  assert.equal(e.openAlarms()[0]!.resolveDeadline, null);
  e.handleDeviceEvent(src('a', 'a-smoke'), ev('clear'), T0 + 60_000);
  const fx = e.tick(T0 + 120_000);
  assert.equal(lastState(fx), 'resolved');
  assert.equal(e.openAlarms().length, 0);
});

test('a pre-alarm whose smoke cleared within the window never alerts the neighbours', () => {
  const e = engine();
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  e.handleDeviceEvent(src('a'), ev('clear'), T0 + 5000);
  assert.deepEqual(e.tick(T0 + 20_000), [], 'no activation without an alarming device');
  const fx = e.tick(T0 + 65_000);
  assert.equal(lastState(fx), 'resolved');
  assert.deepEqual(announces(fx)[0]!.households, ['a']);
});

test('the station resolves; a closed alarm cannot be answered', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r = e.resolveByStation(id, 'admin', T0 + 1000);
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'resolved');
  assert.equal(e.handleResponse('b', id, 'coming', T0 + 2000).ok, false);
  assert.equal(e.resolveByStation(id, 'admin', T0 + 3000).ok, false);
});

test('test, fault and tamper events never open an alarm', () => {
  const e = engine({ verifyWindowMs: 0 });
  for (const t of ['test', 'fault', 'tamper', 'clear', 'hush']) assert.deepEqual(e.handleDeviceEvent(src('a'), ev(t), T0), []);
  assert.equal(e.openAlarms().length, 0);
});

test('restore continues open alarms, their responders and deadlines', () => {
  const e = engine();
  const fx = e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  const journal = fx.filter((x) => x.type === 'journal').map((x) => (x as Extract<Effect, { type: 'journal' }>).record);
  const e2 = engine();
  e2.restore([journal.at(-1)!]);
  assert.equal(e2.nextDeadline(), T0 + 20_000);
  assert.equal(lastState(e2.tick(T0 + 25_000)), 'active');
  assert.equal(e2.openAlarmOf('a')?.state, 'active');
});

test('alarmsConcerning: the origin always; neighbours only once alerted', () => {
  const e = engine();
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.equal(e.alarmsConcerning('a').length, 1);
  assert.equal(e.alarmsConcerning('b').length, 0);
  e.tick(T0 + 20_000);
  assert.equal(e.alarmsConcerning('b').length, 1);
  assert.equal(e.alarmsConcerning('x').length, 0);
});
