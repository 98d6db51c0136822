/** The alarm engine's station side and reach: nearby households of other teams, dispatch, drills. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlarmEngine, type Cause, type Directory, type Effect } from '../../../hub/core/alarm-engine.ts';

const T0 = Date.UTC(2026, 11, 1, 2, 0, 0);
const TEAM = ['a', 'b', 'c'];
const directory: Directory = {
  household: (id) =>
    TEAM.includes(id) || id === 'x' || id === 'y'
      ? { id, team: TEAM.includes(id) ? 'team1' : 'other', name: `Nhà ${id}`, address: `${id} Lê Lợi`, lat: 20.95, lon: 107.08 }
      : undefined,
  householdsOfTeam: (team) => (team === 'team1' ? TEAM : ['x', 'y']),
  // x lives 10 m from a, in another team; y is far away
  nearbyHouseholds: (h) => (h === 'a' ? ['x'] : []),
};
const engine = () => {
  let n = 0;
  return new AlarmEngine(
    { verifyWindowMs: 20_000, escalateAfterMs: 120_000, resolveQuietMs: 60_000, hushPeriodMs: 300_000, drillDurationMs: 600_000 },
    directory,
    () => `A${++n}`,
  );
};
const station: Cause = { by: { kind: 'user', id: 'chief', role: 'station' }, via: 'http' };
const sms = (phone: string): Cause => ({ by: { kind: 'sms', phone }, via: 'sms' });
const announces = (fx: Effect[]) => fx.filter((e): e is Extract<Effect, { type: 'announce' }> => e.type === 'announce');
const journals = (fx: Effect[]) => fx.filter((e): e is Extract<Effect, { type: 'journal' }> => e.type === 'journal');
const src = (h: string) => ({ team: TEAM.includes(h) ? 'team1' : 'other', household: h, device: `${h}-smoke` });

test('a house of another team 10 m away is alerted when the alarm becomes active, marked nearby, and may answer', () => {
  const e = engine();
  const pre = e.handleDeviceEvent(src('a'), { id: '1', type: 'smoke' }, T0);
  assert.deepEqual(announces(pre)[0]!.nearby, [], 'not during the verify window');
  const fx = e.tick(T0 + 20_000);
  const a = announces(fx)[0]!;
  assert.deepEqual(a.nearby, ['x']);
  assert.deepEqual(a.view.nearbyHouseholds, ['x']);
  assert.deepEqual(
    e.alarmsConcerning('x').map((v) => [v.alarm, v.nearby]),
    [[a.view.alarm, true]],
  );
  assert.deepEqual(e.alarmsConcerning('y'), []);
  const r = e.handleResponse('x', a.view.alarm, 'coming', T0 + 30_000, sms('+84901000009'));
  assert.ok(r.ok, 'a nearby household may answer');
  assert.deepEqual(announces(r.effects)[0]!.view.responders[0]!.by, { kind: 'sms', phone: '+84901000009' });
  assert.equal(e.handleResponse('y', a.view.alarm, 'coming', T0 + 30_000, sms('+84901000010')).ok, false, 'a far household may not');
});

test('the station acknowledges, then dispatches a truck; both in the view and the journal', () => {
  const e = engine();
  e.handleDeviceEvent(src('a'), { id: '1', type: 'panic' }, T0);
  const id = e.openAlarms()[0]!.id;
  const ack = e.dispatchByStation(id, 'acknowledged', {}, T0 + 5000, station);
  assert.ok(ack.ok);
  assert.deepEqual(announces(ack.effects)[0]!.view.dispatch, { state: 'acknowledged', at: T0 + 5000, by: 'chief' });
  const d = e.dispatchByStation(id, 'dispatched', { etaMin: 7, note: 'xe 2' }, T0 + 9000, station);
  assert.ok(d.ok);
  assert.deepEqual(announces(d.effects)[0]!.view.dispatch, { state: 'dispatched', at: T0 + 9000, by: 'chief', etaMin: 7, note: 'xe 2' });
  assert.equal(journals(d.effects)[0]!.transition, 'dispatched');
  const again = e.dispatchByStation(id, 'acknowledged', {}, T0 + 10_000, station);
  assert.ok(again.ok && again.effects.length === 0, 'acknowledging after a dispatch changes nothing');
  assert.equal(e.dispatchByStation('nope', 'acknowledged', {}, T0, station).ok, false);
});

test('a drill alerts the team at once, is never escalated, records first responses, and ends by itself', () => {
  const e = engine();
  const r = e.startDrill('b', T0, station);
  assert.ok(r.ok);
  const view = announces(r.effects)[0]!.view;
  assert.equal(view.kind, 'drill');
  assert.equal(view.state, 'active');
  assert.deepEqual(announces(r.effects)[0]!.households.sort(), ['a', 'b', 'c']);
  assert.equal(e.startDrill('a', T0, station).ok, false, 'one drill per team at a time');
  e.handleResponse('a', view.alarm, 'coming', T0 + 40_000, sms('+84901000001'));
  e.handleResponse('a', view.alarm, 'unable', T0 + 50_000, sms('+84901000001'));
  const nh = e.handleResponse('c', view.alarm, 'need-help', T0 + 60_000, sms('+84901000003'));
  assert.ok(nh.ok);
  assert.equal(announces(nh.effects)[0]!.view.state, 'active', 'need-help in a drill does not escalate');
  assert.deepEqual(
    e.get(view.alarm)!.firstResponses!.map((x) => [x.household, x.response, x.at]),
    [
      ['a', 'coming', T0 + 40_000],
      ['c', 'need-help', T0 + 60_000],
    ],
  );
  assert.deepEqual(e.tick(T0 + 200_000), [], 'no escalation timer');
  // a real fire in the drill's household during the drill is a real, separate alarm
  const real = e.handleDeviceEvent(src('b'), { id: 'r', type: 'panic' }, T0 + 300_000);
  const realView = announces(real).at(-1)!.view;
  assert.notEqual(realView.alarm, view.alarm);
  assert.equal(realView.kind, 'panic');
  assert.notEqual(realView.state, 'escalated', 'a drill does not count as a second household alarming');
  const end = e.tick(T0 + 600_000);
  assert.deepEqual(
    journals(end)
      .filter((j) => j.record.id === view.alarm)
      .map((j) => [j.transition, j.by]),
    [['drill-ended', { kind: 'hub', reason: 'drill-duration' }]],
  );
  assert.equal(e.get(view.alarm), undefined);
});
