/**
 * Alarm transitions through a real hub with an injected clock (no real waiting for windows), and
 * the alarm HTTP routes: list, read with timeline, resolve (station), respond (phone view), scopes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../hub/core/clock.ts';
import { startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox, sleep } from '../../helpers/mqtt-clients.ts';

const clock = new ManualClock(Date.now());
let th: TestHub;
const pool = new ClientPool();

before(async () => {
  th = await startTestHub({ clock, config: { verifyWindowS: 20, escalateAfterS: 120, resolveQuietS: 60 } });
  await th.hub.registry.addUser({ username: 'leader2', role: 'team-leader', team: 't2', password: 'leader-password-2' });
  await th.hub.registry.addUser({ username: 'home12', role: 'household', household: 't1-h2', password: 'household-password' });
  await th.hub.registry.addUser({ username: 'home21', role: 'household', household: 't2-h1', password: 'household-password' });
});
after(async () => {
  await pool.closeAll();
  await th?.stop();
});

test('pre-alarm → active after the verify window → escalated after escalate-after; HTTP sees each step', async () => {
  const admin = await th.login('admin', th.adminPassword);
  const origin = await pool.device(th.mqttUrl, th.device('t1-h1-smoke'));
  const neighbour = await pool.device(th.mqttUrl, th.device('t1-h2-smoke'));
  const nIn = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  const own = await pool.device(th.mqttUrl, th.device('t1-h1-panic'));
  const ownIn = new Inbox(own);
  await own.subscribeAsync('smokehub/h/t1-h1/alert', { qos: 1 });

  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'api-1', type: 'smoke' }), { qos: 1 });
  const pre = (await ownIn.next((m) => m.json().state === 'pre-alarm', 2000, 'own pre-alarm')).json();
  await sleep(200);
  assert.equal(nIn.messages.length, 0, 'neighbours are not alerted during the verify window');

  let list = await th.api(admin, '/api/alarms?state=open');
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.body.alarms.map((a: any) => [a.alarm, a.state]),
    [[pre.alarm, 'pre-alarm']],
  );

  clock.advance(20_000);
  const active = (await nIn.next((m) => m.json().state === 'active', 2000, 'neighbour alert')).json();
  assert.equal(active.alarm, pre.alarm);

  // a household user answers from the phone view (HTTP)
  const home = await th.login('home12', 'household-password');
  const answered = await th.api(home, `/api/alarms/${pre.alarm}/respond`, { method: 'POST', body: JSON.stringify({ response: 'coming' }) });
  assert.equal(answered.status, 200);
  assert.deepEqual(
    answered.body.responders.map((r: any) => r.household),
    ['t1-h2'],
  );
  // ... but not for another household, and not for another team's alarm
  const forged = await th.api(home, `/api/alarms/${pre.alarm}/respond`, { method: 'POST', body: JSON.stringify({ household: 't1-h3', response: 'coming' }) });
  assert.equal(forged.status, 403);
  const bad = await th.api(home, `/api/alarms/${pre.alarm}/respond`, { method: 'POST', body: JSON.stringify({ response: 'maybe' }) });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /response must be one of/);

  clock.advance(120_000);
  const esc = (await nIn.next((m) => m.json().state === 'escalated', 2000, 'escalation')).json();
  assert.equal(esc.escalation, 'not-cancelled-in-time');

  const one = await th.api(admin, `/api/alarms/${pre.alarm}`);
  assert.equal(one.status, 200);
  assert.deepEqual(
    one.body.timeline.map((t: any) => t.transition),
    ['raised', 'activated', 'response', 'escalated'],
  );

  // scopes: a team leader of another team and a household of another team cannot see it
  const leader2 = await th.login('leader2', 'leader-password-2');
  assert.equal((await th.api(leader2, `/api/alarms/${pre.alarm}`)).status, 403);
  assert.equal((await th.api(leader2, '/api/alarms?state=open')).body.alarms.length, 0);
  const home21 = await th.login('home21', 'household-password');
  assert.equal((await th.api(home21, `/api/alarms/${pre.alarm}`)).status, 403);
  assert.equal((await th.api(leader2, `/api/alarms/${pre.alarm}/resolve`, { method: 'POST', body: '{}' })).status, 403);

  // the station resolves; the stand-down reaches the neighbours; a second resolve is a conflict
  const resolved = await th.api(admin, `/api/alarms/${pre.alarm}/resolve`, { method: 'POST', body: '{}' });
  assert.equal(resolved.status, 200);
  assert.equal(resolved.body.state, 'resolved');
  await nIn.next((m) => m.json().state === 'resolved', 2000, 'stand-down');
  assert.equal((await th.api(admin, `/api/alarms/${pre.alarm}/resolve`, { method: 'POST', body: '{}' })).status, 409);
  list = await th.api(admin, '/api/alarms?state=resolved&kind=smoke&team=t1');
  assert.equal(list.body.alarms[0].alarm, pre.alarm);
  assert.equal((await th.api(admin, '/api/alarms?state=burning')).status, 400);
  assert.equal((await th.api(admin, '/api/alarms/nope')).status, 404);
});

test('all clear + quiet period resolves; origin hush silences a pre-alarm, then all clear + quiet cancels it', async () => {
  const origin = await pool.device(th.mqttUrl, th.device('t2-h1-smoke'));
  const inbox = new Inbox(origin);
  await origin.subscribeAsync('smokehub/h/t2-h1/alert', { qos: 1 });
  await origin.subscribeAsync('smokehub/h/t2-h1/d/t2-h1-smoke/cmd', { qos: 1 });
  await origin.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/event', JSON.stringify({ id: 'q-1', type: 'smoke' }), { qos: 1 });
  await inbox.next((m) => m.topic.endsWith('/alert') && m.json().state === 'pre-alarm');
  await origin.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/event', JSON.stringify({ id: 'q-2', type: 'hush' }), { qos: 1 });
  const hushed = (await inbox.next((m) => m.topic.endsWith('/alert') && m.json().state === 'hushed')).json();
  assert.equal(hushed.origin.household, 't2-h1');
  const silence = (await inbox.next((m) => m.topic.endsWith('/cmd'), 2000, 'silence command')).json();
  assert.deepEqual(silence, { cmd: 'silence', alarm: hushed.alarm });
  await origin.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/event', JSON.stringify({ id: 'q-2c', type: 'clear' }), { qos: 1 });
  await sleep(100);
  clock.advance(60_000);
  const cancelled = (await inbox.next((m) => m.topic.endsWith('/alert') && m.json().state === 'cancelled', 2000, 'a confirmed false alarm')).json();
  assert.equal(cancelled.alarm, hushed.alarm);
  const admin = await th.login('admin', th.adminPassword);
  const read = await th.api(admin, `/api/alarms/${hushed.alarm}`);
  assert.deepEqual(
    read.body.timeline.map((t: any) => [t.transition, t.by, t.via]),
    [
      ['raised', { kind: 'device', id: 't2-h1-smoke' }, 'mqtt'],
      ['hushed', { kind: 'device', id: 't2-h1-smoke' }, 'mqtt'],
      ['device-cleared', { kind: 'device', id: 't2-h1-smoke' }, 'mqtt'],
      ['confirmed-false', { kind: 'hub', reason: 'resolve-quiet' }, 'timer'],
    ],
  );

  inbox.clear();
  await origin.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/event', JSON.stringify({ id: 'q-3', type: 'smoke' }), { qos: 1 });
  await inbox.next((m) => m.json().state === 'pre-alarm');
  clock.advance(20_000);
  await inbox.next((m) => m.json().state === 'active');
  await origin.publishAsync('smokehub/h/t2-h1/d/t2-h1-smoke/event', JSON.stringify({ id: 'q-4', type: 'clear' }), { qos: 1 });
  await sleep(100);
  clock.advance(59_000);
  await sleep(100);
  assert.equal(
    inbox.count((m) => m.json().state === 'resolved'),
    0,
  );
  clock.advance(1_000);
  await inbox.next((m) => m.json().state === 'resolved', 2000, 'resolved after the quiet period');
});

test('when the journal cannot be written (disk full, I/O error) alarms are still raised and de-duplicated, the PUBACK waits until the write lands, /health is degraded', async () => {
  const origin = await pool.device(th.mqttUrl, th.device('t2-h3-smoke'));
  const neighbour = await pool.device(th.mqttUrl, th.device('t2-h2-panic'));
  const inbox = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t2-h2/alert', { qos: 1 });
  await neighbour.subscribeAsync('smokehub/station/notice', { qos: 1 }).catch(() => {}); // a device may not: refused, harmless
  th.hub.ctx.db.pragma('query_only = ON'); // every write now fails
  let acked = 0;
  try {
    const payload = JSON.stringify({ id: 'disk-full-1', type: 'panic' });
    origin.publish('smokehub/h/t2-h3/d/t2-h3-smoke/event', payload, { qos: 1 }, () => acked++);
    const alert = (await inbox.next((m) => m.json().origin.household === 't2-h3' && m.json().state === 'active', 2000, 'alert without a journal')).json();
    assert.equal(alert.kind, 'panic');
    origin.publish('smokehub/h/t2-h3/d/t2-h3-smoke/event', payload, { qos: 1 }, () => acked++);
    const health = await fetch(`${th.httpUrl}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual((await health.json()).reasons, ['journal']);
    await sleep(1500); // two retries fail meanwhile
    assert.equal(acked, 0, 'no PUBACK while the event is not in the journal');
    assert.equal(
      inbox.count((m) => m.json().origin.household === 't2-h3'),
      1,
      'the redelivery is still recognised',
    );
    const metrics = await (await fetch(`${th.httpUrl}/metrics`)).text();
    assert.match(metrics, /smokehub_journal_errors_total [1-9]/);
    assert.match(metrics, /smokehub_journal_backlog [1-9]/);
  } finally {
    th.hub.ctx.db.pragma('query_only = OFF');
  }
  const deadline = Date.now() + 5000;
  while (acked < 2 && Date.now() < deadline) await sleep(50);
  assert.equal(acked, 2, 'both PUBACKs once the write landed');
  assert.equal((await fetch(`${th.httpUrl}/health`)).status, 200);
  const admin = await th.login('admin', th.adminPassword);
  const list = await th.api(admin, '/api/alarms?household=t2-h3');
  assert.equal(list.body.alarms.length, 1, 'the alarm is in the journal');
  assert.equal((th.hub.ctx.db.prepare("SELECT COUNT(*) AS n FROM seen_events WHERE event_id = 'disk-full-1'").get() as { n: number }).n, 1);
});
