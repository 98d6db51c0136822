import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  alertHouseholdOfFilter,
  filterMatches,
  householdOfFilter,
  isJournalledTopic,
  isTelemetryTopic,
  isUnderRoot,
  parseTopic,
  wildcardsWellPlaced,
} from '../../../hub/protocol/topics.ts';

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

test('topic classes and filter helpers (the broker, the scheduler and the ACL use only these)', () => {
  assert.equal(isTelemetryTopic('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry'), true);
  assert.equal(isTelemetryTopic('smokehub/h/t1-h1/d/t1-h1-smoke/event'), false);
  assert.equal(isTelemetryTopic('elsewhere/telemetry'), false);
  assert.equal(isJournalledTopic('smokehub/h/t1-h1/d/t1-h1-smoke/event'), true);
  assert.equal(isJournalledTopic('smokehub/h/t1-h1/response'), true);
  assert.equal(isJournalledTopic('smokehub/h/t1-h1/d/t1-h1-smoke/telemetry'), false);
  assert.equal(isUnderRoot('smokehub/#'), true);
  assert.equal(isUnderRoot('smokehub/station/alarm'), true);
  assert.equal(isUnderRoot('#'), false);
  assert.equal(isUnderRoot('smokehubx/#'), false);
  assert.deepEqual(householdOfFilter('smokehub/h/t1-h1/#'), { household: 't1-h1', valid: true });
  assert.deepEqual(householdOfFilter('smokehub/h/+/alert'), { household: null, valid: true });
  assert.deepEqual(householdOfFilter('other/h/t1-h1/#'), { household: null, valid: false });
  assert.equal(wildcardsWellPlaced('smokehub/h/t1-h1/#', 3), true);
  assert.equal(wildcardsWellPlaced('smokehub/h/t1-h1/#/alert', 3), false);
  assert.equal(wildcardsWellPlaced('smokehub/h/t1-h1/a+', 3), false);
  assert.equal(alertHouseholdOfFilter('smokehub/h/t1-h1/alert'), 't1-h1');
  assert.equal(alertHouseholdOfFilter('smokehub/h/t1-h1/#'), 't1-h1');
  assert.equal(alertHouseholdOfFilter('smokehub/h/t1-h1/+'), 't1-h1');
  assert.equal(alertHouseholdOfFilter('smokehub/h/t1-h1/notice'), null);
  assert.equal(alertHouseholdOfFilter('smokehub/h/+/alert'), null);
});
