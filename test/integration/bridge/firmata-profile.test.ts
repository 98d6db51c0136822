/**
 * The Firmata profile with mock-firmata (johnny-five Board over a mock IO): the test drives the
 * analog and digital callbacks the profile registers, and reads back the pin writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mockFirmata from 'mock-firmata';
import { FirmataProfile, DEFAULT_FIRMATA, tmp36Celsius, type FirmataIo } from '../../../firmware-bridge/firmata-profile.ts';
import { ManualClock } from '../../../hub/core/clock.ts';
import { MetricsRegistry } from '../../../hub/observability/metrics.ts';
import { testLogger, waitFor } from '../../helpers/bridge-test-kit.ts';

interface Rig {
  profile: FirmataProfile;
  clock: ManualClock;
  analog: Map<number, (v: number) => void>;
  digital: Map<number, (v: number) => void>;
  writes: Array<[pin: number, value: number, at: number]>;
  events: Array<[string, number | undefined]>;
  seen: string[];
}

async function rig(t: { after: (fn: () => unknown) => void }, overrides: Partial<typeof DEFAULT_FIRMATA> = {}): Promise<Rig> {
  const clock = new ManualClock();
  const analog = new Map<number, (v: number) => void>();
  const digital = new Map<number, (v: number) => void>();
  const writes: Rig['writes'] = [];
  const openIo = () => {
    const io = new mockFirmata.Firmata();
    io.analogRead = (pin, cb) => void analog.set(pin, cb);
    io.digitalRead = (pin, cb) => void digital.set(pin, cb);
    io.digitalWrite = (pin, value) => void writes.push([pin, value, clock.now()]);
    // mock-firmata never gets ready by itself.
    process.nextTick(() => {
      io.emit('connect');
      io.emit('ready');
    });
    return io as unknown as FirmataIo;
  };
  const profile = new FirmataProfile({
    ...DEFAULT_FIRMATA,
    temperaturePin: 'A1',
    telemetryIntervalMs: 10_000,
    ...overrides,
    path: '/dev/ttyACM-mock',
    logger: testLogger(),
    clock,
    metrics: new MetricsRegistry(),
    openIo,
  });
  const events: Rig['events'] = [];
  const seen: string[] = [];
  profile.on('event', (type, level) => events.push([type, level]));
  for (const name of ['press', 'hold', 'up', 'down'] as const) profile.on(name, () => seen.push(name));
  const telemetry: unknown[] = [];
  profile.on('telemetry', (v) => telemetry.push(v));
  (profile as unknown as { telemetrySeen: unknown[] }).telemetrySeen = telemetry;
  t.after(() => profile.stop());
  await profile.start();
  await waitFor(() => analog.has(0) && digital.has(2), 3000, 'board ready and pins registered');
  return { profile, clock, analog, digital, writes, events, seen };
}

test('smoke above the threshold raises smoke once (confirmed), clear only below threshold − hysteresis', async (t) => {
  const r = await rig(t);
  const feed = (...levels: number[]) => levels.forEach((l) => r.analog.get(0)!(l));
  feed(120, 130, 125);
  assert.deepEqual(r.events, []);
  assert.deepEqual(r.seen, ['up']);
  feed(900, 120); // one spike is not a fire
  assert.deepEqual(r.events, []);
  feed(410, 420, 450);
  assert.deepEqual(r.events, [['smoke', 450]]);
  feed(380, 390, 370, 399); // hovering under the threshold but above 350: still smoke
  assert.deepEqual(r.events, [['smoke', 450]]);
  feed(300, 280, 260);
  assert.deepEqual(r.events, [
    ['smoke', 450],
    ['clear', 260],
  ]);
});

test('sound plays the T3 pattern on the piezo pin (and LED), silence stops it', async (t) => {
  const r = await rig(t);
  r.analog.get(0)!(100);
  const start = r.clock.now();
  r.writes.length = 0;
  r.profile.sound({ alarm: 'a1', kind: 'smoke', origin: 't1-h2', own: false });
  r.clock.advance(8000);
  const piezo = r.writes.filter(([pin]) => pin === 3).map(([, v, at]) => [v, at - start]);
  assert.deepEqual(piezo.slice(0, 13), [
    [1, 0],
    [0, 500],
    [1, 1000],
    [0, 1500],
    [1, 2000],
    [0, 2500],
    [1, 4000],
    [0, 4500],
    [1, 5000],
    [0, 5500],
    [1, 6000],
    [0, 6500],
    [1, 8000],
  ]);
  assert.ok(
    r.writes.some(([pin, v]) => pin === 13 && v === 1),
    'LED follows the sounder',
  );
  r.profile.silence();
  const after = r.writes.length;
  r.clock.advance(10_000);
  assert.deepEqual(
    r.writes.slice(after).filter(([pin]) => pin === 3),
    [],
    'quiet after silence',
  );
  assert.deepEqual(r.writes.filter(([pin]) => pin === 3).at(-1)?.[1], 0);
});

test('button: press and a long hold (pull-up: pressed reads 0)', async (t) => {
  const r = await rig(t, { holdMs: 200 });
  r.digital.get(2)!(1);
  r.digital.get(2)!(0);
  await waitFor(() => r.seen.includes('press'), 2000, 'press');
  await waitFor(() => r.seen.includes('hold'), 2000, 'hold');
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(r.seen.filter((s) => s === 'hold').length, 1, 'one hold per press');
  r.digital.get(2)!(1);
});

test('a board that stops answering is reported down, and up again when it answers', async (t) => {
  const r = await rig(t, { watchdogMs: 3000 });
  r.analog.get(0)!(100);
  r.clock.advance(2000);
  r.analog.get(0)!(100);
  r.clock.advance(2000);
  assert.deepEqual(r.seen, ['up']);
  r.clock.advance(3000);
  assert.deepEqual(r.seen, ['up', 'down']);
  r.analog.get(0)!(101);
  assert.deepEqual(r.seen, ['up', 'down', 'up']);
});

test('periodic telemetry carries smoke and TMP36 temperature; the self-test beeps and answers', async (t) => {
  const r = await rig(t, { watchdogMs: 60_000 });
  r.analog.get(0)!(222);
  r.analog.get(1)!(153); // 153 → 747.8 mV → 24.8 °C
  r.clock.advance(10_000);
  const telemetry = (r.profile as unknown as { telemetrySeen: unknown[] }).telemetrySeen;
  assert.deepEqual(telemetry, [{ smoke: 222, temperature: tmp36Celsius(153) }]);
  assert.equal(tmp36Celsius(153), 24.8);
  r.writes.length = 0;
  r.profile.test();
  r.clock.advance(4000);
  assert.deepEqual(r.writes.filter(([pin, v]) => pin === 3 && v === 1).length, 3, 'three beeps');
  assert.deepEqual(r.events, [['test', 222]]);
});
