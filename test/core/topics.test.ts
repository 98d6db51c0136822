import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterMatches, parseTopic } from '../../hub/protocol/topics.ts';

test('MQTT filters: + is one level, # the rest (and its parent), wildcards never match $ topics', () => {
  assert.ok(filterMatches('smokehub/h/+/alert', 'smokehub/h/t1-h1/alert'));
  assert.ok(filterMatches('smokehub/h/t1-h1/#', 'smokehub/h/t1-h1/alert'));
  assert.ok(filterMatches('smokehub/h/t1-h1/#', 'smokehub/h/t1-h1'));
  assert.ok(!filterMatches('smokehub/h/+/alert', 'smokehub/h/t1-h1/d/x/alert'));
  assert.ok(!filterMatches('smokehub/h/t1-h1/alert', 'smokehub/h/t1-h1/alarms'));
  assert.ok(!filterMatches('#', '$SYS/smokehub/rejected'));
  assert.ok(filterMatches('$SYS/#', '$SYS/smokehub/rejected'));
});

test('the retained open-alarm topics are part of the contract', () => {
  assert.deepEqual(parseTopic('smokehub/h/t1-h1/alarms'), { scope: 'household', household: 't1-h1', channel: 'alarms' });
  assert.deepEqual(parseTopic('smokehub/station/alarms'), { scope: 'station', channel: 'alarms' });
});
