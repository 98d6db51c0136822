/**
 * The station's side and the drills through a real hub: acknowledge, dispatch (what bad input gets),
 * a nearby house of another team alerted over MQTT, drills started by the station and a team leader.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, neighbourhoodCsv, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';

let th: TestHub;
const pool = new ClientPool();
// t2-near lives 10 m from t1-h1, in team t2
const csv = neighbourhoodCsv(2, 3) + 't2,t2-near,Nhà Trần,"1A Lê Lợi",0912345678,20.960390,107.080300,t2-near-smoke,smoke,\n';

before(async () => {
  th = await startTestHub({ csv, config: { verifyWindowS: 0 } });
  await th.hub.registry.addUser({ username: 'lan', role: 'team-leader', team: 't1', password: 'leader-password-1' });
  await th.hub.registry.addUser({ username: 'home12', role: 'household', household: 't1-h2', password: 'household-password' });
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

test('a house of another team 10 m away gets the alert marked nearby and may answer; the station acknowledges and dispatches', async () => {
  const near = await pool.device(th.mqttUrl, th.device('t2-near-smoke'));
  const nearIn = new Inbox(near);
  await near.subscribeAsync('smokehub/h/t2-near/alert', { qos: 1 });
  const far = await pool.device(th.mqttUrl, th.device('t2-h3-smoke'));
  const farIn = new Inbox(far);
  await far.subscribeAsync('smokehub/h/t2-h3/alert', { qos: 1 });
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'st-1', type: 'smoke' }), { qos: 1 });
  const alert = (await nearIn.next((m) => m.json().state === 'active', 3000, 'nearby alert')).json();
  assert.equal(alert.nearby, true);
  assert.deepEqual(alert.nearbyHouseholds, ['t2-near']);
  await near.publishAsync('smokehub/h/t2-near/response', JSON.stringify({ alarm: alert.alarm, response: 'coming' }), { qos: 1 });
  await nearIn.next((m) => m.json().responders.some((r: any) => r.household === 't2-near'), 3000, 'the nearby answer is recorded');
  await th.hub.registry.addUser({ username: 'tu', role: 'household', household: 't2-near', password: 'household-password-tu' });
  const tu = await th.login('tu', 'household-password-tu');
  assert.equal((await th.api(tu, `/api/alarms/${alert.alarm}`)).status, 200, 'the nearby household reads the alarm');
  const byHttp = await th.api(tu, `/api/alarms/${alert.alarm}/respond`, { method: 'POST', body: JSON.stringify({ response: 'unable' }) });
  assert.equal(byHttp.status, 200, 'and answers it over HTTP');
  assert.equal(farIn.messages.length, 0, 'a house of the other team 1 km away is not alerted');

  const admin = await th.login('admin', th.adminPassword);
  const ack = await th.api(admin, `/api/alarms/${alert.alarm}/acknowledge`, { method: 'POST' });
  assert.equal(ack.status, 200);
  assert.equal(ack.body.dispatch.state, 'acknowledged');
  for (const [body, why] of [
    [{ etaMin: -1 }, 'negative eta'],
    [{ etaMin: 'soon' }, 'eta not a number'],
    [{ truck: 2 }, 'unknown field'],
    [{ note: 'a\nb' }, 'two-line note'],
  ] as const) {
    const r = await th.api(admin, `/api/alarms/${alert.alarm}/dispatch`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(r.status, 400, why);
  }
  const home = await th.login('home12', 'household-password');
  assert.equal((await th.api(home, `/api/alarms/${alert.alarm}/dispatch`, { method: 'POST', body: '{}' })).status, 403, 'only the station dispatches');
  const d = await th.api(admin, `/api/alarms/${alert.alarm}/dispatch`, { method: 'POST', body: JSON.stringify({ etaMin: 7, note: 'xe số 2' }) });
  assert.equal(d.status, 200);
  const seen = (await nearIn.next((m) => m.json().dispatch?.state === 'dispatched', 3000, 'the dispatch reaches everyone alerted')).json();
  assert.deepEqual([seen.dispatch.etaMin, seen.dispatch.note, seen.dispatch.by], [7, 'xe số 2', 'admin']);
  const read = await th.api(admin, `/api/alarms/${alert.alarm}`);
  assert.deepEqual(read.body.timeline.at(-1).by, { kind: 'user', id: 'admin', role: 'station' });
  assert.equal((await th.api(admin, '/api/alarms/nope/acknowledge', { method: 'POST' })).status, 404);
  th.hub.alarms.resolve(alert.alarm, { by: { kind: 'user', id: 'admin', role: 'station' }, via: 'http' });
});

test('drills: a team leader starts one for its team (not another), households answer, the report lists first responses', async () => {
  const leader = await th.login('lan', 'leader-password-1');
  assert.equal((await th.api(leader, '/api/drills', { method: 'POST', body: JSON.stringify({ team: 't2' }) })).status, 403);
  assert.equal((await th.api(leader, '/api/drills', { method: 'POST', body: JSON.stringify({ team: 't1', household: 't2-h1' }) })).status, 400);
  const neighbour = await pool.device(th.mqttUrl, th.device('t1-h3-smoke'));
  const nIn = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h3/alert', { qos: 1 });
  const started = await th.api(leader, '/api/drills', { method: 'POST', body: JSON.stringify({ team: 't1', household: 't1-h2' }) });
  assert.equal(started.status, 201);
  assert.equal(started.body.kind, 'drill');
  assert.equal((await th.api(leader, '/api/drills', { method: 'POST', body: JSON.stringify({ team: 't1' }) })).status, 409, 'one drill per team at a time');
  const alert = (await nIn.next((m) => m.json().kind === 'drill', 3000, 'the drill alert')).json();
  assert.equal(alert.state, 'active');
  await neighbour.publishAsync('smokehub/h/t1-h3/response', JSON.stringify({ alarm: alert.alarm, response: 'coming' }), { qos: 1 });
  await neighbour.publishAsync('smokehub/h/t1-h3/response', JSON.stringify({ alarm: alert.alarm, response: 'unable' }), { qos: 1 });
  await nIn.next((m) => m.json().responders.some((r: any) => r.response === 'unable'), 3000);
  const report = await th.api(leader, `/api/drills/${alert.alarm}`);
  assert.equal(report.status, 200);
  const h3 = report.body.households.find((h: any) => h.household === 't1-h3');
  assert.equal(h3.response, 'coming', 'the first response counts');
  assert.ok(h3.afterS >= 0);
  assert.equal(report.body.households.find((h: any) => h.household === 't1-h1').response, null);
  const list = await th.api(leader, '/api/drills');
  assert.deepEqual(
    list.body.drills.map((x: any) => x.alarm),
    [alert.alarm],
  );
  const home = await th.login('home12', 'household-password');
  assert.equal((await th.api(home, '/api/drills', { method: 'POST', body: JSON.stringify({ team: 't1' }) })).status, 403);
  const admin = await th.login('admin', th.adminPassword);
  assert.equal((await th.api(admin, `/api/alarms/${alert.alarm}/dispatch`, { method: 'POST', body: '{}' })).status, 409, 'a drill is never dispatched');
  const ended = await th.api(leader, `/api/drills/${alert.alarm}/end`, { method: 'POST' });
  assert.equal(ended.status, 200, 'the team leader ends the drill');
  assert.equal(ended.body.state, 'resolved');
  assert.equal((await th.api(leader, `/api/drills/${alert.alarm}/end`, { method: 'POST' })).status, 409, 'already ended');
});
