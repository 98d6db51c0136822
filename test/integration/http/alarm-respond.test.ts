/**
 * A team leader answering on a household's behalf (`POST /api/alarms/:id/respond`): allowed for its
 * own team's households only; `false-alarm` only for the origin household, and then exactly what the
 * alarm-safety rules say (pre-alarm/active → hushed; escalated → recorded only); always attributed
 * to the leader (journal `by`), never to the household.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';

const clock = new ManualClock(Date.now());
let th: TestHub;
const pool = new ClientPool();
const LEADER = { kind: 'user', id: 'lead1', role: 'team-leader' };

before(async () => {
  th = await startTestHub({ clock, config: { verifyWindowS: 0, escalateAfterS: 120 } });
  await th.hub.registry.addUser({ username: 'lead1', role: 'team-leader', team: 't1', password: 'leader-password-1' });
  await th.hub.registry.addUser({ username: 'lead2', role: 'team-leader', team: 't2', password: 'leader-password-2' });
  await th.hub.registry.addUser({ username: 'home12', role: 'household', household: 't1-h2', password: 'household-password' });
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

async function raise(household: string, eventId: string): Promise<string> {
  const device = await pool.device(th.mqttUrl, th.device(`${household}-smoke`));
  const station = await pool.connect(th.mqttUrl, { clientId: `st-${eventId}`, username: 'admin', password: th.adminPassword });
  const inbox = new Inbox(station);
  await station.subscribeAsync('smokehub/station/alarm', { qos: 1 });
  await device.publishAsync(`smokehub/h/${household}/d/${household}-smoke/event`, JSON.stringify({ id: eventId, type: 'smoke' }), { qos: 1 });
  return (await inbox.next((m) => m.json().origin.household === household && m.json().state === 'active', 3000, 'active alarm')).json().alarm;
}

const respond = (token: string, alarm: string, body: unknown) => th.api(token, `/api/alarms/${alarm}/respond`, { method: 'POST', body: JSON.stringify(body) });

test('a team leader’s false-alarm: only for its team’s origin household, hushes the alarm, attributed to the leader', async () => {
  const alarm = await raise('t1-h1', 'resp-1');
  const lead1 = await th.login('lead1', 'leader-password-1');
  const lead2 = await th.login('lead2', 'leader-password-2');
  const home12 = await th.login('home12', 'household-password');

  // Another team's leader may not answer at all; a household not for its neighbour.
  assert.equal((await respond(lead2, alarm, { household: 't1-h1', response: 'false-alarm' })).status, 403);
  assert.equal((await respond(home12, alarm, { household: 't1-h1', response: 'false-alarm' })).status, 403);
  // A leader has no household of its own: it must name one.
  assert.equal((await respond(lead1, alarm, { response: 'false-alarm' })).status, 400);
  // False alarm for a household that is not the origin: refused (it cannot know the origin's smoke).
  const notOrigin = await respond(lead1, alarm, { household: 't1-h2', response: 'false-alarm' });
  assert.equal(notOrigin.status, 409);
  assert.match(notOrigin.body.message, /only the origin household/);
  const stillActive = await th.api(lead1, `/api/alarms/${alarm}`);
  assert.equal(stillActive.body.state, 'active');

  // For the origin: the engine hushes it (watched for the hush period, not cancelled).
  const ok = await respond(lead1, alarm, { household: 't1-h1', response: 'false-alarm' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.state, 'hushed');
  const detail = await th.api(lead1, `/api/alarms/${alarm}`);
  const hushed = detail.body.timeline.find((e: any) => e.transition === 'hushed');
  assert.ok(hushed, 'a hushed entry in the timeline');
  assert.deepEqual(hushed.by, LEADER, 'attributed to the leader, not the household');
  assert.equal(hushed.via, 'http');
  assert.equal(hushed.detail.how, 'false-alarm');
  assert.equal(hushed.detail.household, 't1-h1');
  // A leader's ordinary answer for a team household is recorded as that household's, by the leader.
  const coming = await respond(lead1, alarm, { household: 't1-h3', response: 'coming' });
  assert.equal(coming.status, 200);
  const responder = coming.body.responders.find((r: any) => r.household === 't1-h3');
  assert.deepEqual(responder.by, LEADER);
});

test('a team leader’s false-alarm on an escalated alarm is recorded, and closes nothing', async () => {
  const alarm = await raise('t2-h1', 'resp-2');
  clock.advance(120_000);
  const lead2 = await th.login('lead2', 'leader-password-2');
  const before = await th.api(lead2, `/api/alarms/${alarm}`);
  assert.equal(before.body.state, 'escalated');
  const r = await respond(lead2, alarm, { household: 't2-h1', response: 'false-alarm' });
  assert.equal(r.status, 200);
  assert.equal(r.body.state, 'escalated', 'only the station closes an escalated alarm');
  const detail = await th.api(lead2, `/api/alarms/${alarm}`);
  const reported = detail.body.timeline.find((e: any) => e.transition === 'false-alarm-reported');
  assert.ok(reported, 'recorded for the station');
  assert.deepEqual(reported.by, { kind: 'user', id: 'lead2', role: 'team-leader' });
});
