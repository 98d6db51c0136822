/** The simulator against a real hub: telemetry flows, self-tests are answered, alarms get responses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, neighbourhoodCsv } from '../../helpers/hub-harness.ts';
import { Simulator, VirtualSensor, parseCredentialsCsv } from '../../../firmware-bridge/simulator.ts';
import { credentialsCsv } from '../../../hub/store/csv-import.ts';
import { topics } from '../../../hub/protocol/topics.ts';
import type { DeviceEvent } from '../../../hub/protocol/schema.ts';
import { TELEMETRY_FIELDS } from '../../../hub/protocol/schema.ts';
import { cleanupStack, testLogger, waitFor } from '../../helpers/bridge-test-kit.ts';

test('credentials CSV as printed by smokehub import round-trips; bad rows are refused', () => {
  const creds = [{ household: 'h1', device: 'h1-smoke', secret: 'a,b"c' }];
  assert.deepEqual(parseCredentialsCsv(credentialsCsv(creds)), creds);
  assert.throws(() => parseCredentialsCsv('device,secret\nx,y\n'), /header/);
  assert.throws(() => parseCredentialsCsv('household,device,secret\nh1,,s\n'), /line 2/);
});

test('virtual sensors stay within the schema ranges; smoke rises in a fire; battery drains', () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const s = new VirtualSensor(random);
  const first = s.reading(Date.UTC(2026, 6, 1, 7), false);
  let last = first;
  for (let i = 0; i < 2000; i++) {
    last = s.reading(Date.UTC(2026, 6, 1, 7) + i * 60_000, false);
    for (const [k, v] of Object.entries(last)) {
      const spec = TELEMETRY_FIELDS[k as keyof typeof TELEMETRY_FIELDS];
      assert.ok(v >= spec.min && v <= spec.max, `${k}=${v}`);
    }
    assert.ok(last.smoke < 300, `quiet smoke ${last.smoke}`);
  }
  assert.ok(last.battery < first.battery);
  assert.ok(s.reading(Date.now(), true).smoke > 500);
  // Daily cycle: 14:00 local (07:00 UTC) warmer than 05:00 local (22:00 UTC).
  const avg = (h: number) => Array.from({ length: 50 }, () => s.reading(Date.UTC(2026, 6, 1, h), false).temperature).reduce((a, b) => a + b) / 50;
  assert.ok(avg(7) > avg(22) + 4);
});

test('simulated households: telemetry, self-test answers, an alarm and the neighbours answering', async (t) => {
  const cleanup = cleanupStack(t);
  const hub = await startTestHub({ csv: neighbourhoodCsv(2, 4), config: { verifyWindowS: 0 } });
  cleanup(() => hub.stop());
  const events: Array<{ device: string; event: DeviceEvent }> = [];
  let telemetry = 0;
  hub.hub.ctx.bus.on('test', 'device-event', (ref, event) => events.push({ device: ref.device, event }));
  hub.hub.ctx.bus.on('test', 'telemetry', () => telemetry++);
  const sim = new Simulator({ hub: hub.mqttUrl, credentials: hub.credentials, logger: testLogger(), rate: 40, responseDelayMs: [50, 300], falseAlarmRate: 0 });
  cleanup(() => sim.stop());
  await sim.start();
  await waitFor(() => sim.stats().connected === hub.credentials.length, 8000, 'all connected');
  await waitFor(() => telemetry >= 10, 5000, 'telemetry at the hub');

  hub.hub.ctx.mqtt.publish(topics.device('t2-h3', 't2-h3-smoke', 'cmd'), JSON.stringify({ cmd: 'test' }), { qos: 1 });
  await waitFor(() => events.some((e) => e.device === 't2-h3-smoke' && e.event.type === 'test'), 5000, 'test event');

  sim.raise('t1-h2', 'smoke', { real: true });
  const alarm = await waitFor(() => hub.hub.alarms.openViews().find((v) => v.origin.household === 't1-h2'), 5000, 'alarm at the hub');
  // Three neighbours of team t1 answer; the origin does not answer its own alarm.
  const answered = await waitFor(
    () => {
      const v = hub.hub.alarms.viewOf(alarm.alarm);
      return v && v.responders.length === 3 ? v : null;
    },
    5000,
    'three responses',
  );
  assert.deepEqual(answered.responders.map((r) => r.household).sort(), ['t1-h1', 't1-h3', 't1-h4']);
  assert.equal(sim.stats().refused, 0);
});
