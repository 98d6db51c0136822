/**
 * The settings loader hub and bridge share (hub/config/config-loader.ts): pure, every problem at
 * once with where its value came from, the result frozen, unknown file keys and flags as each
 * program asks (a problem, or ignored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblems, invalid, loadSettings, settingsHelp, urlKind, type SettingsTable } from '../../../hub/config/config-loader.ts';

const TABLE = {
  port: { kind: 'int', flag: 'port', env: 'T_PORT', default: 1883, min: 0, max: 65535, help: 'a port' },
  ratio: { kind: 'number', flag: 'ratio', env: 'T_RATIO', default: 0.5, min: 0, max: 1, help: 'a ratio' },
  loud: { kind: 'bool', flag: 'loud', env: 'T_LOUD', default: false, help: 'a switch' },
  plain: { kind: 'onoff', flag: 'plain', env: 'T_PLAIN', default: 'on', help: 'on or off' },
  name: { kind: 'string', flag: 'name', env: 'T_NAME', default: null, help: 'a name' },
  hub: { kind: 'hub-url', flag: 'hub', env: 'T_HUB', default: null, help: 'a URL' },
  pin: { kind: 'pin', flag: 'pin', env: 'T_PIN', default: 'A0', help: 'a pin' },
  logLevel: { kind: 'string', flag: 'log-level', env: 'T_LOG_LEVEL', default: 'info', help: 'a level' },
} as const satisfies SettingsTable;

const kinds = {
  'hub-url': urlKind(['mqtt:', 'mqtts:'], 'mqtt:// or mqtts://'),
  pin: (raw: unknown) => {
    if (!/^A\d$/i.test(String(raw))) throw new RangeError(`pin must look like A0..A9, got "${String(raw)}"`);
    return String(raw).toUpperCase();
  },
};

test('several bad settings are all reported, each with where its value came from', () => {
  const r = loadSettings(
    TABLE,
    {
      flags: { port: '99999', loud: 'maybe' },
      env: { T_RATIO: 'lots', T_HUB: 'http://h' },
      file: { path: '/etc/t.json', values: { plain: 'sometimes', pin: 'D7' } },
    },
    { kinds },
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.problems.map((p) => [p.key, p.source]),
    [
      ['port', '--port'],
      ['ratio', 'env T_RATIO'],
      ['loud', '--loud'],
      ['plain', 'in /etc/t.json'],
      ['hub', 'env T_HUB'],
      ['pin', 'in /etc/t.json'],
    ],
  );
  assert.deepEqual(
    r.problems.map((p) => p.message),
    [
      'port (--port) must be between 0 and 65535, got 99999',
      'ratio (env T_RATIO) must be a number, got "lots"',
      'loud (--loud) must be true or false, got "maybe"',
      'plain (in /etc/t.json) must be on or off, got "sometimes"',
      'hub (env T_HUB) must be mqtt:// or mqtts://, got "http:"',
      'pin (in /etc/t.json): pin must look like A0..A9, got "D7"',
    ],
  );
  assert.ok(Object.isFrozen(r.problems));
  assert.match(formatProblems(r.problems), /^6 settings are not valid:\n {2}- port \(--port\) must be between/);
  assert.equal(formatProblems(r.problems.slice(0, 1)), 'port (--port) must be between 0 and 65535, got 99999');
});

test('precedence defaults < file < env < flags; the result and its sources are frozen', () => {
  const r = loadSettings(
    TABLE,
    {
      flags: { port: '1884', name: '' },
      env: { T_PORT: '1885', T_RATIO: '0.25', T_NAME: '' },
      file: { path: 'f.json', values: { port: 1886, ratio: 0.75, loud: true, pin: 'a1', name: null } },
    },
    { kinds },
  );
  assert.ok(r.ok);
  assert.deepEqual(
    { ...r.values },
    { port: 1884, ratio: 0.25, loud: true, plain: 'on', name: null, hub: null, pin: 'A1', logLevel: 'info' },
    'an empty flag or env value, or a null in the file, is the default',
  );
  assert.deepEqual(
    { ...r.sources },
    { port: '--port', ratio: 'env T_RATIO', loud: 'in f.json', plain: 'default', name: '--name', hub: 'default', pin: 'in f.json', logLevel: 'default' },
  );
  assert.ok(Object.isFrozen(r.values) && Object.isFrozen(r.sources));
  assert.throws(() => {
    (r.values as { port: number }).port = 1;
  }, TypeError);
});

test('unknown file keys are one problem listing them; unknown flags are ignored unless the program says otherwise', () => {
  const file = { path: 'c.json', values: { port: 1, colour: 'red', size: 2, 'log-level': 'warn' } };
  const hubLike = loadSettings(TABLE, { flags: { config: 'c.json', whatever: 'x' }, env: {}, file }, { kinds });
  assert.equal(hubLike.ok, false);
  if (hubLike.ok) return;
  assert.deepEqual(hubLike.problems, [
    {
      key: null,
      source: 'in c.json',
      message: 'config file c.json: unknown settings "colour", "size", "log-level"; known: port, ratio, loud, plain, name, hub, pin, logLevel',
    },
  ]);
  // The bridge's way: file keys by flag name or camelCase, and every unknown flag a problem.
  const bridgeLike = loadSettings(
    TABLE,
    { flags: { config: 'c.json', colour: 'red', size: 'xl', port: 'x' }, env: {}, file: { path: 'c.json', values: { 'log-level': 'warn', shade: 1 } } },
    {
      kinds,
      fileKeys: (k, s) => [k, s.flag],
      unknownFlag: (f) => (f === 'config' ? null : `unknown flag --${f}`),
    },
  );
  assert.equal(bridgeLike.ok, false);
  if (bridgeLike.ok) return;
  assert.deepEqual(
    bridgeLike.problems.map((p) => p.message),
    [
      'config file c.json: unknown setting "shade"; known: port, ratio, loud, plain, name, hub, pin, logLevel',
      'unknown flag --colour',
      'unknown flag --size',
      'port (--port) must be an integer, got "x"',
    ],
  );
  const ok = loadSettings(TABLE, { flags: {}, env: {}, file: { path: 'c.json', values: { 'log-level': 'warn' } } }, { kinds, fileKeys: (k, s) => [k, s.flag] });
  assert.ok(ok.ok && ok.values.logLevel === 'warn');
});

test('cross-checks see the valid values only; earlier problems (a bad file) are reported with the rest; nothing throws', () => {
  const seen: unknown[] = [];
  const r = loadSettings(
    TABLE,
    { flags: { port: 'x' }, env: {}, problems: [{ key: null, source: 'in bad.json', message: 'config file bad.json is not valid JSON: boom' }] },
    {
      kinds,
      checks: (v) => {
        seen.push({ ...v });
        return v.hub === null ? ['missing --hub'] : [];
      },
    },
  );
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(
    r.problems.map((p) => p.message),
    ['config file bad.json is not valid JSON: boom', 'port (--port) must be an integer, got "x"', 'missing --hub'],
  );
  assert.equal((seen[0] as Record<string, unknown>).port, undefined, 'a bad value is absent, not its default');
  assert.equal((seen[0] as Record<string, unknown>).hub, null, 'an unset setting holds its default');
  // A check or kind that throws is a problem, not an exception.
  const thrown = loadSettings(
    TABLE,
    { flags: { name: 'n' } },
    {
      kinds: { ...kinds, nope: () => invalid('x') },
      checks: () => {
        throw new Error('check failed');
      },
    },
  );
  assert.ok(!thrown.ok && thrown.problems.some((p) => p.message === 'check failed'));
  const noKind = loadSettings({ x: { kind: 'mystery', flag: 'x', env: 'X', default: null, help: '' } }, { flags: { x: '1' } });
  assert.ok(!noKind.ok && /unknown kind "mystery"/.test(noKind.problems[0]!.message));
});

test('help lines name flag, env and default; a setting may be a flag only', () => {
  assert.equal(settingsHelp({ port: TABLE.port, name: TABLE.name }, 6), '  --port   a port (env T_PORT, default 1883)\n  --name   a name (env T_NAME)');
  const flagOnly = { every: { kind: 'number', flag: 'every', default: null, help: 'seconds' } } as const satisfies SettingsTable;
  assert.equal(settingsHelp(flagOnly, 6), '  --every  seconds');
  const r = loadSettings(flagOnly, { flags: {}, env: { every: '5', undefined: '5' } });
  assert.ok(r.ok && r.values.every === null, 'a setting without env name reads no environment variable');
});
