import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine, type Cause, type Directory, type Effect, type EngineSettings } from '../../../hub/core/alarm-engine.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';

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
  return new AlarmEngine(
    { verifyWindowMs: 20_000, escalateAfterMs: 120_000, resolveQuietMs: 60_000, hushPeriodMs: 300_000, ...settings },
    directory,
    () => `A${++n}`,
  );
}
/** A household answering through its phone (a user of the household). */
const user = (id: string, role = 'household'): Cause => ({ by: { kind: 'user', id, role }, via: 'mqtt' });
const station: Cause = { by: { kind: 'user', id: 'chief', role: 'station' }, via: 'http' };
function journals(effects: Effect[]): Array<Extract<Effect, { type: 'journal' }>> {
  return effects.filter((e): e is Extract<Effect, { type: 'journal' }> => e.type === 'journal');
}
function commands(effects: Effect[]): Array<Extract<Effect, { type: 'command' }>> {
  return effects.filter((e): e is Extract<Effect, { type: 'command' }> => e.type === 'command');
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
  effects = effects.filter((e) => e.type !== 'command');
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
  const r = e3.handleResponse('a', id, 'need-help', T0 + 500, user('a'));
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

test('origin hush silences a pre-alarm (hushed, watched) without ever alerting neighbours', () => {
  const e = engine();
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  const fx = e.handleDeviceEvent(src('a'), ev('hush'), T0 + 5000);
  journalBeforeAnnounce(fx);
  assert.equal(lastState(fx), 'hushed');
  assert.deepEqual(announces(fx)[0]!.households, ['a']);
  assert.deepEqual(
    commands(fx).map((c) => [c.household, c.command.cmd]),
    [['a', 'silence']],
    "the household's own sounders are silenced",
  );
  assert.equal(announces(fx)[0]!.view.hushUntil, T0 + 5000 + 300_000);
  assert.equal(e.openAlarms().length, 1, 'still open: the hub watches it');
  assert.equal(e.nextDeadline(), T0 + 305_000, 'the verify window no longer runs; the hush period does');
});

test('origin false-alarm after activation hushes and stands the alerted neighbours down', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r = e.handleResponse('a', id, 'false-alarm', T0 + 30_000, user('a'));
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'hushed');
  assert.deepEqual(announces(r.effects)[0]!.households.sort(), ['a', 'b', 'c', 'd'], 'the stand-down reaches the alerted neighbours');
  assert.equal(e.get(id)!.escalateDeadline, null, 'a hushed alarm does not escalate');
  assert.deepEqual(e.tick(T0 + 150_000), []);
});

test('a neighbour cannot declare a false alarm; a household of another team cannot respond', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r1 = e.handleResponse('b', id, 'false-alarm', T0 + 1, user('b'));
  assert.equal(r1.ok, false);
  const r2 = e.handleResponse('x', id, 'coming', T0 + 1, user('x'));
  assert.ok(!r2.ok && r2.code === 'forbidden');
  const r3 = e.handleResponse('b', 'nope', 'coming', T0 + 1, user('b'));
  assert.ok(!r3.ok && r3.code === 'not_found');
});

test('neighbour responses are recorded once per household and re-published', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r1 = e.handleResponse('b', id, 'coming', T0 + 1000, user('b'));
  assert.ok(r1.ok);
  const r2 = e.handleResponse('c', id, 'unable', T0 + 2000, user('c'));
  assert.ok(r2.ok);
  const r3 = e.handleResponse('b', id, 'unable', T0 + 3000, user('b'));
  assert.ok(r3.ok);
  const view = announces(r3.effects)[0]!.view;
  assert.deepEqual(
    view.responders.map((r) => [r.household, r.response]),
    [
      ['b', 'unable'],
      ['c', 'unable'],
    ],
  );
  assert.deepEqual(announces(r3.effects)[0]!.households.sort(), ['a', 'b', 'c', 'd']);
});

test('escalation: neighbour need-help', () => {
  const e = engine({ verifyWindowMs: 0 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r = e.handleResponse('b', id, 'need-help', T0 + 1000, user('b'));
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
  assert.ok(
    escalated.every((a) => a.households.length === 4),
    'the whole team is alerted',
  );
  // Each alarm's view names both households alarming (the station sees the team's whole picture).
  assert.ok(
    escalated.every((a) => [...(a.view.households ?? [])].sort().join() === 'a,b'),
    JSON.stringify(escalated.map((a) => a.view.households)),
  );
  // another team's alarm does not count
  const e2 = engine();
  e2.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.equal(lastState(e2.handleDeviceEvent(src('x'), ev('smoke'), T0)), 'pre-alarm');
});

test('escalation: an active alarm not cancelled within escalate-after; then only the station closes it', () => {
  const e = engine({ verifyWindowMs: 0 });
  e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.equal(e.nextDeadline(), T0 + 120_000);
  assert.deepEqual(e.tick(T0 + 119_999), []);
  const fx = e.tick(T0 + 120_000);
  assert.equal(lastState(fx), 'escalated');
  assert.equal(announces(fx)[0]!.view.escalation, 'not-cancelled-in-time');
  const id = announces(fx)[0]!.view.alarm;
  // the origin's false alarm is recorded and shown to the station, nothing more
  const r = e.handleResponse('a', id, 'false-alarm', T0 + 130_000, user('a'));
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'escalated');
  assert.equal(journals(r.effects)[0]!.transition, 'false-alarm-reported');
  assert.equal(announces(r.effects)[0]!.view.originSaysFalseAlarm, true);
  // a hush only silences the origin's sounders
  const h = e.handleDeviceEvent(src('a'), ev('hush'), T0 + 131_000);
  assert.equal(lastState(h), 'escalated');
  assert.equal(announces(h)[0]!.view.silencedAt, T0 + 131_000);
  assert.deepEqual(
    commands(h).map((c) => c.household),
    ['a'],
  );
  assert.deepEqual(announces(h)[0]!.households.sort(), ['a', 'b', 'c', 'd'], 'neighbours are not stood down');
  // clearing and staying quiet does not close an escalated alarm
  e.handleDeviceEvent(src('a'), ev('clear'), T0 + 132_000);
  assert.deepEqual(e.tick(T0 + 500_000), []);
  assert.equal(e.get(id)!.state, 'escalated');
  const s = e.resolveByStation(id, T0 + 600_000, station);
  assert.ok(s.ok);
  assert.equal(lastState(s.effects), 'resolved');
  assert.deepEqual(journals(s.effects)[0]!.by, { kind: 'user', id: 'chief', role: 'station' });
});

test('the reproduced bug: one hush no longer closes an escalated fire, and a hushed pre-alarm still burning comes back', () => {
  const e = engine({ verifyWindowMs: 20_000 });
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  e.tick(T0 + 20_000);
  e.tick(T0 + 140_000);
  assert.equal(e.get(id)!.state, 'escalated');
  assert.equal(lastState(e.handleDeviceEvent(src('a'), ev('hush'), T0 + 150_000)), 'escalated');
  assert.equal(e.openAlarms().length, 1);
  // a hush in pre-alarm while the detector keeps alarming: re-raised when the hush period ends
  const e2 = engine();
  const id2 = announces(e2.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  e2.handleDeviceEvent(src('a'), ev('hush'), T0 + 5000);
  assert.deepEqual(e2.tick(T0 + 304_999), []);
  const fx = e2.tick(T0 + 305_000);
  assert.equal(lastState(fx), 'active', 'straight to active, no second verify window');
  assert.equal(journals(fx)[0]!.transition, 're-raised');
  assert.deepEqual(journals(fx)[0]!.by, { kind: 'hub', reason: 'hush-period' });
  assert.equal(journals(fx)[0]!.via, 'timer');
  assert.deepEqual(announces(fx)[0]!.households.sort(), ['a', 'b', 'c', 'd']);
  assert.equal(e2.get(id2)!.escalateDeadline, T0 + 305_000 + 120_000, 'the escalation timer starts');
});

test('a hushed alarm is re-raised by a new device, a panic, a neighbour need-help, or fire evidence in telemetry', () => {
  const hushed = () => {
    const e = engine();
    const id = announces(e.handleDeviceEvent(src('a', 'a-smoke'), { id: 's1', type: 'smoke', level: 900 }, T0)).at(-1)!.view.alarm;
    e.handleDeviceEvent(src('a', 'a-smoke'), ev('hush'), T0 + 1000);
    assert.equal(e.get(id)!.state, 'hushed');
    return { e, id };
  };
  let { e, id } = hushed();
  assert.deepEqual(e.handleDeviceEvent(src('a', 'a-smoke'), ev('smoke'), T0 + 2000), [], 'the hushed device repeating itself holds the hush');
  const f1 = e.handleDeviceEvent(src('a', 'a-heat'), ev('heat'), T0 + 3000);
  assert.equal(lastState(f1), 'active');
  assert.equal(journals(f1)[0]!.detail.why, 'new-device');

  ({ e, id } = hushed());
  assert.equal(lastState(e.handleDeviceEvent(src('a', 'a-panic'), ev('panic'), T0 + 3000)), 'active');

  ({ e, id } = hushed());
  const r = e.handleResponse('b', id, 'need-help', T0 + 3000, user('b'));
  assert.ok(r.ok);
  assert.deepEqual(
    journals(r.effects).map((j) => j.transition),
    ['re-raised', 'escalated'],
  );

  ({ e, id } = hushed());
  const temp = (t: number, at: number) => e.handleTelemetry(src('a', 'a-smoke'), { values: { temperature: t } }, at);
  assert.deepEqual(temp(40, T0 + 2000), []);
  assert.deepEqual(temp(47.9, T0 + 3000), [], 'below 57 °C and a rise under 8 °C');
  const f2 = temp(57, T0 + 70_000);
  assert.equal(lastState(f2), 'active');
  assert.equal(journals(f2)[0]!.detail.why, 'heat-evidence');
  assert.deepEqual(journals(f2)[0]!.by, { kind: 'device', id: 'a-smoke' });

  ({ e, id } = hushed());
  assert.deepEqual(temp(30, T0 + 2000), []);
  assert.deepEqual(temp(37.9, T0 + 50_000), [], '7.9 °C in 48 s');
  const f3 = temp(38.1, T0 + 55_000);
  assert.equal(journals(f3)[0]!.detail.why, 'rate-of-rise', '8.1 °C within a minute');
  ({ e, id } = hushed());
  assert.deepEqual(temp(30, T0 + 2000), []);
  assert.deepEqual(temp(39, T0 + 70_000), [], 'a slower rise: 9 °C in 68 s');

  ({ e, id } = hushed());
  const smoke = (v: number, at: number) => e.handleTelemetry(src('a', 'a-smoke'), { values: { smoke: v } }, at);
  assert.deepEqual(smoke(1700, T0 + 2000), [], 'under twice the level at the hush (900)');
  assert.equal(journals(smoke(1800, T0 + 3000))[0]!.detail.why, 'smoke-rising');
});

test('a hushed alarm whose devices all cleared and stayed quiet is a confirmed false alarm (cancelled)', () => {
  const e = engine();
  const id = announces(e.handleDeviceEvent(src('a'), ev('smoke'), T0)).at(-1)!.view.alarm;
  const r = e.handleResponse('a', id, 'false-alarm', T0 + 2000, user('a'));
  assert.ok(r.ok && lastState(r.effects) === 'hushed');
  e.handleDeviceEvent(src('a'), ev('clear'), T0 + 10_000);
  assert.deepEqual(e.tick(T0 + 69_999), []);
  const fx = e.tick(T0 + 70_000);
  assert.equal(lastState(fx), 'cancelled');
  assert.equal(journals(fx)[0]!.transition, 'confirmed-false');
  assert.ok(journals(fx)[0]!.record.falseAlarm);
  assert.equal(e.openAlarms().length, 0);
  assert.equal(e.nextDeadline(), null, 'the hush deadline went with it');
});

test('telemetry evidence opens a heat alarm when none is open (a detector whose event was lost)', () => {
  const e = engine();
  assert.deepEqual(e.handleTelemetry(src('b', 'b-smoke'), { values: { temperature: 35, smoke: 10 } }, T0), []);
  const fx = e.handleTelemetry(src('b', 'b-smoke'), { values: { temperature: 60 } }, T0 + 1000);
  assert.equal(lastState(fx), 'pre-alarm');
  assert.equal(announces(fx)[0]!.view.kind, 'heat');
  assert.equal(journals(fx)[0]!.detail.evidence, 'heat-evidence');
  assert.deepEqual(e.handleTelemetry(src('b', 'b-smoke'), { values: { temperature: 61 } }, T0 + 2000), [], 'one alarm, not one per reading');
});

test('every journal entry says who did it and how', () => {
  const e = engine({ verifyWindowMs: 20_000 });
  const fx = e.handleDeviceEvent(src('a'), ev('smoke'), T0);
  assert.deepEqual([journals(fx)[0]!.by, journals(fx)[0]!.via], [{ kind: 'device', id: 'a-smoke' }, 'mqtt']);
  const t = e.tick(T0 + 20_000);
  assert.deepEqual([journals(t)[0]!.by, journals(t)[0]!.via], [{ kind: 'hub', reason: 'verify-window' }, 'timer']);
  const id = announces(t)[0]!.view.alarm;
  const r = e.handleResponse('b', id, 'coming', T0 + 21_000, station);
  assert.ok(r.ok);
  assert.deepEqual(journals(r.effects)[0]!.by, { kind: 'user', id: 'chief', role: 'station' }, 'the station answering for b is journaled as the station');
  assert.deepEqual(announces(r.effects)[0]!.view.responders[0]!.by, { kind: 'user', id: 'chief', role: 'station' });
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
  const r = e.resolveByStation(id, T0 + 1000, station);
  assert.ok(r.ok);
  assert.equal(lastState(r.effects), 'resolved');
  assert.equal(e.handleResponse('b', id, 'coming', T0 + 2000, user('b')).ok, false);
  assert.equal(e.resolveByStation(id, T0 + 3000, station).ok, false);
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
