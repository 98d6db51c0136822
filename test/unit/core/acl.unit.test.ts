/** The ACL rules without a broker: who may publish and subscribe where, and see what over HTTP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canPublish, canSeeHousehold, canSeeTeam, canSubscribe, type Principal } from '../../../hub/core/acl.ts';

const teamOf = (h: string) => (h.startsWith('t1-') ? 't1' : h.startsWith('t2-') ? 't2' : undefined);
const device: Principal = { type: 'device', device: 't1-h1-smoke', household: 't1-h1', team: 't1' };
const home: Principal = { type: 'user', username: 'home11', role: 'household', team: 't1', household: 't1-h1' };
const leader: Principal = { type: 'user', username: 'lead1', role: 'team-leader', team: 't1', household: null };
const station: Principal = { type: 'user', username: 'admin', role: 'station', team: null, household: null };

test('a device publishes its own event, telemetry and status, and its household response; nothing else', () => {
  for (const ch of ['event', 'telemetry', 'status']) assert.equal(canPublish(device, `smokehub/h/t1-h1/d/t1-h1-smoke/${ch}`), true, ch);
  assert.equal(canPublish(device, 'smokehub/h/t1-h1/response'), true);
  for (const topic of [
    'smokehub/h/t1-h1/d/t1-h1-smoke/cmd',
    'smokehub/h/t1-h1/d/t1-h1-smoke/error',
    'smokehub/h/t1-h1/d/t1-h1-panic/event',
    'smokehub/h/t1-h2/d/t1-h2-smoke/event',
    'smokehub/h/t1-h1/alert',
    'smokehub/h/t1-h2/response',
    'smokehub/station/alarm',
    'smokehub/h/+/response',
    'elsewhere',
  ]) {
    assert.equal(canPublish(device, topic), false, topic);
  }
});

test('people publish only responses: a household for itself, the station for anyone, a team leader never over MQTT', () => {
  assert.equal(canPublish(home, 'smokehub/h/t1-h1/response'), true);
  assert.equal(canPublish(home, 'smokehub/h/t1-h2/response'), false);
  assert.equal(canPublish(home, 'smokehub/h/t1-h1/d/t1-h1-smoke/event'), false, 'a phone cannot fake a detector');
  assert.equal(canPublish(station, 'smokehub/h/t2-h3/response'), true);
  assert.equal(canPublish(station, 'smokehub/station/alarm'), false);
  assert.equal(canPublish(leader, 'smokehub/h/t1-h1/response'), false);
});

test('subscriptions stay inside the principal’s households; wildcards only whole levels', () => {
  assert.equal(canSubscribe(device, 'smokehub/h/t1-h1/alert', teamOf), true);
  assert.equal(canSubscribe(device, 'smokehub/h/t1-h1/#', teamOf), true);
  assert.equal(canSubscribe(device, 'smokehub/h/t1-h2/alert', teamOf), false);
  assert.equal(canSubscribe(device, 'smokehub/#', teamOf), false);
  assert.equal(canSubscribe(device, 'smokehub/h/+/alert', teamOf), false);
  assert.equal(canSubscribe(device, 'smokehub/h/t1-h1/#/x', teamOf), false, '# must be last');
  assert.equal(canSubscribe(device, 'smokehub/h/t1-h1/al+', teamOf), false, '+ must be a whole level');
  assert.equal(canSubscribe(home, 'smokehub/h/t1-h1/alarms', teamOf), true);
  assert.equal(canSubscribe(home, 'smokehub/station/alarm', teamOf), false);
  assert.equal(canSubscribe(leader, 'smokehub/h/t1-h3/alert', teamOf), true, 'any household of its team');
  assert.equal(canSubscribe(leader, 'smokehub/h/t2-h1/alert', teamOf), false);
  assert.equal(canSubscribe(leader, 'smokehub/h/unknown/alert', teamOf), false);
  assert.equal(canSubscribe(station, 'smokehub/#', teamOf), true);
  assert.equal(canSubscribe(station, 'smokehub/station/alarms', teamOf), true);
  assert.equal(canSubscribe(station, '#', teamOf), false, 'not outside the contract ($SYS, other roots)');
  assert.equal(canSubscribe(station, '$SYS/#', teamOf), false);
});

test('HTTP scope: household, team and station', () => {
  assert.equal(canSeeHousehold(home, 't1-h1', teamOf), true);
  assert.equal(canSeeHousehold(home, 't1-h2', teamOf), false);
  assert.equal(canSeeHousehold(leader, 't1-h2', teamOf), true);
  assert.equal(canSeeHousehold(leader, 't2-h1', teamOf), false);
  assert.equal(canSeeHousehold(station, 't2-h1', teamOf), true);
  assert.equal(canSeeHousehold(device, 't1-h1', teamOf), false, 'devices have no HTTP scope');
  assert.equal(canSeeTeam(leader, 't1', teamOf), true);
  assert.equal(canSeeTeam(leader, 't2', teamOf), false);
  assert.equal(canSeeTeam(station, 't2', teamOf), true);
});
