/** The hub's configuration: every bad setting reported at once, sources named, the result frozen. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidCron, loadConfig } from '../../../hub/config/config.ts';
import { ConfigError } from '../../../hub/protocol/errors.ts';

test('every bad setting is reported in one ConfigError, each with where it came from', () => {
  assert.throws(
    () => loadConfig({ flags: { 'mqtt-port': '99999', 'hush-period': '2' }, env: { SMOKEHUB_TIMEZONE: 'Mars/Olympus' } }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^3 settings are not valid:/.test(e.message) &&
      /--mqtt-port/.test(e.message) &&
      /--hush-period/.test(e.message) &&
      /SMOKEHUB_TIMEZONE/.test(e.message),
  );
  // One problem: the message is that problem alone.
  assert.throws(
    () => loadConfig({ flags: { 'mqtt-port': '99999' }, env: {} }),
    (e: unknown) => e instanceof ConfigError && !/settings are not valid/.test(e.message),
  );
});

test('the loaded configuration is frozen', () => {
  const c = loadConfig({ flags: {}, env: {} });
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as { mqttPort: number }).mqttPort = 1;
  }, TypeError);
});

test('cron expressions are checked as the scheduler (node-cron) reads them', () => {
  assert.equal(isValidCron('0 9 * * 0'), true);
  assert.equal(isValidCron('0 9 * * MON'), true, 'names, as node-cron accepts them');
  assert.equal(isValidCron('0 25 * * 0'), false);
  assert.equal(isValidCron('0 9 31 2 *'), false, 'a date that never comes');
});
