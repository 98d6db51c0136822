import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStationCall, nextStationCall, parseReplyCode, planFor, PRIORITY, type PlanContext } from '../../../hub/core/sms-plan.ts';
import type { AlarmView } from '../../../hub/protocol/schema.ts';

const T0 = Date.UTC(2026, 11, 1, 19, 0, 0);
const view = (over: Partial<AlarmView> = {}): AlarmView => ({
  alarm: 'A1',
  state: 'active',
  kind: 'smoke',
  team: 't1',
  origin: { household: 'h1', name: 'Nhà Lan', address: '12 Lê Lợi', lat: 20.95, lon: 107.08, device: 'h1-smoke' },
  raisedAt: T0,
  updatedAt: T0 + 20_000,
  responders: [],
  escalation: null,
  nearbyHouseholds: ['x9'],
  ...over,
});
const phones: Record<string, string[]> = { h1: ['+84901000001'], h2: ['+84901000002', '+84901000022'], h3: ['+84901000003'], x9: ['+84901000099'] };
const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  phonesOf: (h) => phones[h] ?? [],
  teamHouseholds: ['h1', 'h2', 'h3'],
  stationPhones: ['+84203114', '+84203115'],
  texted: [],
  now: T0 + 20_000,
  callAfterMs: 60_000,
  ...over,
});

test('pre-alarm texts only the origin household', () => {
  const p = planFor(view({ state: 'pre-alarm', updatedAt: T0 }), 'raised', ctx());
  assert.deepEqual(
    p.actions.map((a) => [a.kind, a.to, a.kind === 'sms' && a.message]),
    [['sms', '+84901000001', 'pre-alarm']],
  );
});

test('active texts every other team household (each number) and the nearby ones, and calls team neighbours after --call-after', () => {
  const p = planFor(view({ responders: [{ household: 'h3', response: 'coming', at: T0 + 19_000 }] }), 'activated', ctx());
  const sms = p.actions.filter((a) => a.kind === 'sms');
  assert.deepEqual(
    sms.map((a) => [a.to, a.kind === 'sms' && a.message]),
    [
      ['+84901000002', 'active'],
      ['+84901000022', 'active'],
      ['+84901000003', 'active'],
      ['+84901000099', 'active-nearby'],
    ],
  );
  const calls = p.actions.filter((a) => a.kind === 'call');
  assert.deepEqual(
    calls.map((c) => [c.to, c.kind === 'call' && c.notBefore]),
    [
      ['+84901000002', T0 + 80_000],
      ['+84901000022', T0 + 80_000],
    ],
    'h3 already answered; nearby homes are not called',
  );
  assert.ok(sms.every((a) => a.priority === PRIORITY.alarm));
  assert.equal(new Set(p.actions.map((a) => a.dedupeKey)).size, p.actions.length, 'every action has its own key');
});

test('escalation calls the first station number and sends every station number the dispatch card; a drill never reaches the station', () => {
  const all = ['+84901000002', '+84901000022', '+84901000003', '+84901000099'];
  const p = planFor(view({ state: 'escalated' }), 'escalated', ctx({ texted: all }));
  assert.deepEqual(
    p.actions.map((a) => [a.kind, a.to]),
    [
      ['sms', '+84203114'],
      ['sms', '+84203115'],
      ['call', '+84203114'],
    ],
  );
  // escalated straight from a pre-alarm (two households alarming): the neighbours are texted too
  const fromPre = planFor(view({ state: 'escalated' }), 'escalated', ctx({ texted: ['+84901000002'] }));
  assert.deepEqual(
    fromPre.actions.filter((a) => a.kind === 'sms' && a.message !== 'dispatch-card').map((a) => a.to),
    ['+84901000022', '+84901000003', '+84901000099'],
  );
  const first = p.actions.find((a) => a.kind === 'call')!;
  assert.ok(isStationCall(first.dedupeKey));
  const next = nextStationCall(first, ['+84203114', '+84203115'], T0 + 60_000);
  assert.equal(next?.to, '+84203115');
  assert.ok(next && isStationCall(next.dedupeKey) && next.dedupeKey !== first.dedupeKey);
  assert.equal(nextStationCall(next!, ['+84203114', '+84203115'], T0), null, 'every number tried');
  assert.ok(planFor(view({ kind: 'drill', state: 'escalated' }), 'escalated', ctx({ texted: all })).actions.length === 0);
  const drill = planFor(view({ kind: 'drill' }), 'drill-started', ctx());
  assert.ok(
    drill.actions.every((a) => a.kind === 'sms'),
    'drills text, they do not call',
  );
});

test('stand-down, hush and dispatch go to everyone texted; stand-down and hush cancel pending calls', () => {
  const texted = ['+84901000002', '+84901000003', '+84901000002'];
  const closed = planFor(view({ state: 'resolved' }), 'resolved-by-station', ctx({ texted }));
  assert.deepEqual(
    closed.actions.map((a) => a.to),
    ['+84901000002', '+84901000003'],
  );
  assert.ok(closed.cancelCalls);
  assert.ok(planFor(view({ state: 'hushed' }), 'hushed', ctx({ texted })).cancelCalls);
  const d = planFor(view(), 'dispatched', ctx({ texted }));
  assert.deepEqual(
    d.actions.map((a) => a.kind === 'sms' && a.message),
    ['dispatched', 'dispatched'],
  );
  assert.equal(d.cancelCalls, false);
  assert.deepEqual(planFor(view(), 'response', ctx({ texted })).actions, [], 'a response texts nobody');
});

test('reply codes', () => {
  assert.equal(parseReplyCode(' 1 '), 'coming');
  assert.equal(parseReplyCode('0'), 'false-alarm');
  assert.equal(parseReplyCode('2.'), 'unable');
  assert.equal(parseReplyCode('3'), 'need-help');
  assert.equal(parseReplyCode('12'), null);
  assert.equal(parseReplyCode('yes'), null);
});
