import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStateDir, loadBridgeConfig, loadBridgeValues, loadSimulateValues, toBridgeSettings } from '../../../firmware-bridge/bridge-config.ts';
import { parseFlags } from '../../../firmware-bridge/cli.ts';
import { backoffDelay, describeConnackError } from '../../../firmware-bridge/hub-link.ts';
import { ConfigError } from '../../../hub/protocol/errors.ts';
import { tempDir } from '../../helpers/bridge-test-kit.ts';

const base = { hub: 'mqtt://10.0.0.2:1883', household: 'hg-to05-h01', device: 'hg-to05-h01-smoke', secret: 's3cret' };

test('flags < env < file precedence, defaults and shaping', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bridge.json');
  writeFileSync(file, JSON.stringify({ ...base, firmata: '/dev/ttyACM0', smokeThreshold: 300, 'temp-pin': 'a1' }));
  const v = loadBridgeValues({ flags: { config: file, 'smoke-hysteresis': '20' }, env: { SMOKEHUB_BRIDGE_SMOKE_THRESHOLD: '350' } });
  const s = toBridgeSettings(v);
  assert.equal(s.firmata?.smokeThreshold, 350, 'env beats file');
  assert.equal(s.firmata?.smokeHysteresis, 20, 'flag');
  assert.equal(s.firmata?.temperaturePin, 'A1');
  assert.equal(s.firmata?.baud, 57600);
  assert.equal(s.firmata?.buttonPin, 2);
  assert.equal(s.outboxMax, 10_000);
  const serial = toBridgeSettings(loadBridgeValues({ flags: { ...base, serial: '/dev/ttyUSB0' }, env: {} }));
  assert.deepEqual(serial.serial, { path: '/dev/ttyUSB0', baud: 9600 });
});

test('the state directory defaults to the XDG state dir, never the current directory', () => {
  assert.equal(defaultStateDir({ XDG_STATE_HOME: '/var/lib/x', HOME: '/home/an' }), '/var/lib/x/smokehub-bridge');
  assert.equal(defaultStateDir({ HOME: '/home/an' }), '/home/an/.local/state/smokehub-bridge');
  assert.equal(
    defaultStateDir({ XDG_STATE_HOME: 'relative', HOME: '/home/an' }),
    '/home/an/.local/state/smokehub-bridge',
    'a relative XDG path is ignored (XDG spec)',
  );
  const s = toBridgeSettings(loadBridgeValues({ flags: { ...base, serial: '/dev/ttyUSB0' }, env: {} }));
  assert.ok(!JSON.stringify(s).includes(process.cwd() + '/bridge-state'), 'not under the current directory');
});

test('bad settings are one clear ConfigError naming the source', (t) => {
  const bad = (flags: Record<string, string>, env: Record<string, string> = {}) =>
    assert.throws(() => toBridgeSettings(loadBridgeValues({ flags, env })), ConfigError);
  bad({ ...base });
  bad({ ...base, serial: '/dev/a', firmata: '/dev/b' });
  bad({ ...base, serial: '/dev/a', hub: 'http://x' });
  bad({ ...base, serial: '/dev/a', device: 'bad id/with slash' });
  bad({ ...base, serial: '/dev/a', baud: 'fast' });
  bad({ ...base, firmata: '/dev/a', 'smoke-pin': 'D7' });
  bad({ ...base, firmata: '/dev/a', 'smoke-threshold': '40', 'smoke-hysteresis': '50' });
  bad({ ...base, serial: '/dev/a', colour: 'red' });
  bad({ serial: '/dev/a' }, { SMOKEHUB_BRIDGE_HUB: 'mqtt://h', SMOKEHUB_BRIDGE_HOUSEHOLD: 'h', SMOKEHUB_BRIDGE_DEVICE: 'd' });
  try {
    loadBridgeValues({ flags: { baud: '12' }, env: {} });
    assert.fail('should throw');
  } catch (err) {
    assert.match((err as Error).message, /baud \(--baud\) must be between 300 and 4000000, got 12/);
  }
  const dir = tempDir(t);
  writeFileSync(join(dir, 'x.json'), '{"hub": ');
  assert.throws(() => loadBridgeValues({ flags: { config: join(dir, 'x.json') }, env: {} }), /not valid JSON/);
});

test('every bad bridge setting is reported at once, each with its source; the result is frozen', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'bridge.json');
  writeFileSync(file, JSON.stringify({ household: 'hg-to05-h01', smokePin: 'D7', colour: 'red' }));
  assert.throws(
    () => loadBridgeConfig({ flags: { config: file, baud: '12', hub: 'http://x', shade: 'blue' }, env: { SMOKEHUB_BRIDGE_WATCHDOG: 'never' } }),
    (e: unknown) => {
      const m = (e as Error).message;
      assert.ok(e instanceof ConfigError);
      assert.match(m, /^9 settings are not valid:\n/);
      assert.match(m, new RegExp(`config file ${file}: unknown setting "colour"`));
      assert.match(m, /unknown flag --shade; see smokehub-bridge --help/);
      assert.match(m, /hub \(--hub\) must be mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/, got "http:"/);
      assert.match(m, /baud \(--baud\) must be between 300 and 4000000, got 12/);
      assert.match(m, new RegExp(`smoke-pin \\(in ${file}\\): analog pin must look like A0\\.\\.A15, got "D7"`));
      assert.match(m, /watchdog \(env SMOKEHUB_BRIDGE_WATCHDOG\) must be a number, got "never"/);
      assert.match(m, /missing --device .*\n.*missing --secret/);
      assert.match(m, /give exactly one board/);
      assert.doesNotMatch(m, /missing --hub|missing --household/, 'a bad or given setting is not also "missing"');
      return true;
    },
  );
  const { values, settings } = loadBridgeConfig({ flags: { ...base, firmata: '/dev/ttyACM0' }, env: {} });
  assert.ok(Object.isFrozen(values) && Object.isFrozen(settings) && Object.isFrozen(settings.firmata));
  assert.deepEqual(settings, toBridgeSettings(loadBridgeValues({ flags: { ...base, firmata: '/dev/ttyACM0' }, env: {} })));
  assert.throws(() => {
    (settings as { hub: string }).hub = 'mqtt://elsewhere';
  }, TypeError);
});

test('simulate settings: the same loader, every problem at once, env only for the hub and the CA', () => {
  assert.throws(
    () => loadSimulateValues({ flags: { rate: 'fast', 'alarm-every': '-1', 'connect-rate': '0' }, env: { SMOKEHUB_BRIDGE_RATE: '5' } }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^5 settings are not valid:/.test(e.message) &&
      /rate \(--rate\) must be a number, got "fast"/.test(e.message) &&
      /alarm-every \(--alarm-every\) must be between 0 and 86400, got -1/.test(e.message) &&
      /connect-rate \(--connect-rate\) must be between 1 and 100000, got 0/.test(e.message) &&
      /simulate needs --hub URL/.test(e.message) &&
      /simulate needs --credentials FILE/.test(e.message),
  );
  const { values, ca } = loadSimulateValues({ flags: { credentials: 'c.csv', rate: '5', stdin: 'true' }, env: { SMOKEHUB_BRIDGE_HUB: 'mqtt://h:1883' } });
  assert.deepEqual(
    { ...values },
    { hub: 'mqtt://h:1883', credentials: 'c.csv', ca: null, rate: 5, 'alarm-every': null, 'connect-rate': null, 'log-level': 'info' },
  );
  assert.equal(ca, undefined);
  assert.ok(Object.isFrozen(values));
  assert.throws(() => loadSimulateValues({ flags: { credentials: 'c.csv', hub: 'mqtt://h', ca: '/nonexistent/ca.pem' }, env: {} }), /cannot read --ca/);
});

test('flag parsing', () => {
  assert.deepEqual(parseFlags(['simulate', '--hub', 'mqtt://h', '--rate=5', '--verbose']), {
    positional: ['simulate'],
    flags: { hub: 'mqtt://h', rate: '5', verbose: 'true' },
  });
});

test("a negative number after a flag is its value, so the loader's range error names it", () => {
  const { flags } = parseFlags(['simulate', '--hub', 'mqtt://h', '--credentials', 'c.csv', '--rate', '-5', '--alarm-every=-1']);
  assert.deepEqual(flags, { hub: 'mqtt://h', credentials: 'c.csv', rate: '-5', 'alarm-every': '-1' });
  assert.throws(
    () => loadSimulateValues({ flags, env: {} }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message.includes('rate (--rate) must be between 0.001 and 1000000, got -5') &&
      e.message.includes('alarm-every (--alarm-every) must be between 0 and 86400, got -1'),
  );
});

test('backoff is exponential, capped and jittered', () => {
  const p = { initialMs: 1000, maxMs: 60_000, jitter: 0.5 };
  assert.deepEqual(
    [0, 1, 2, 3, 10, 50].map((a) => backoffDelay(a, p, () => 0)),
    [1000, 2000, 4000, 8000, 60_000, 60_000],
  );
  assert.equal(
    backoffDelay(3, p, () => 1),
    4000,
  );
  assert.match(describeConnackError(4, 'hg-to05-h01-smoke'), /wrong secret for device hg-to05-h01-smoke/);
});
