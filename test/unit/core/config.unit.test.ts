/** The hub's configuration: every bad setting reported at once, sources named, the result frozen. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_SPEC, isValidCron, loadConfig } from '../../../hub/config/config.ts';
import { joinNegativeValues, parseCommandArgs, stringFlag } from '../../../hub/cli/args.ts';
import { startFlagSpec } from '../../../hub/cli/commands/start.ts';
import type { SettingSpec } from '../../../hub/config/config-loader.ts';
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

test('a negative number given to any numeric flag reaches the loader, whose range error names the setting and the flag', () => {
  const spec = startFlagSpec();
  const numeric = Object.entries(CONFIG_SPEC as Record<string, SettingSpec>).filter(([, s]) => s.kind === 'int' || s.kind === 'number');
  assert.ok(numeric.length > 10);
  for (const [key, s] of numeric) {
    const value = String(Math.min(-1, (s.min ?? 0) - 1));
    for (const argv of [[`--${s.flag}`, value], [`--${s.flag}=${value}`]]) {
      const args = parseCommandArgs(argv, spec);
      assert.equal(stringFlag(args, s.flag), value, argv.join(' '));
      assert.throws(
        () => loadConfig({ flags: { [s.flag]: value }, env: {} }),
        (e: unknown) => e instanceof ConfigError && e.message.includes(`${key} (--${s.flag}) must be between ${s.min} and ${s.max}, got ${value}`),
        argv.join(' '),
      );
    }
  }
});

test('only a value that looks like a negative number is joined to its flag; options, switches and what follows -- are left alone', () => {
  const spec = { n: { type: 'string' as const, short: 'n' }, on: { type: 'boolean' as const }, s: { type: 'string' as const } };
  assert.deepEqual(joinNegativeValues(['--n', '-5', '-n', '-0.5', '--s', '-.5', '--s', '-1e3'], spec), ['--n=-5', '--n=-0.5', '--s=-.5', '--s=-1e3']);
  assert.deepEqual(joinNegativeValues(['--on', '-5'], spec), ['--on', '-5'], 'a switch takes no value');
  assert.deepEqual(joinNegativeValues(['--n', '-x', '--n=-1', '--', '--n', '-5'], spec), ['--n', '-x', '--n=-1', '--', '--n', '-5']);
  assert.deepEqual(joinNegativeValues(['--toString', '-5', '--nope', '-5'], spec), ['--toString', '-5', '--nope', '-5'], 'unknown flags stay unknown');
});
