/**
 * The serial line profile over @serialport/binding-mock (SerialPortMock.binding), against a real
 * hub: board lines become hub events, neighbours' alarms become ALARM lines, bad lines get ERR.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialPortMock } from 'serialport';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import { topics } from '../../../hub/protocol/topics.ts';
import type { SerialProfile } from '../../../firmware-bridge/serial-profile.ts';
import { cleanupStack, startBridge, tempDir, waitFor } from '../../helpers/bridge-test-kit.ts';

/** What the tests use of @serialport/binding-mock's port (its types do not resolve from ESM). */
interface MockPortBinding {
  emitData(data: Buffer | string): void;
  recording: Buffer;
}

const openMock = (path: string, baudRate: number) => new SerialPortMock({ path, baudRate, autoOpen: false });

function portOf(profile: SerialProfile): MockPortBinding {
  const p = (profile as unknown as { port: SerialPortMock | null }).port;
  assert.ok(p?.port, 'serial port is open');
  return p.port as unknown as MockPortBinding;
}
const written = (profile: SerialProfile, from = 0): string[] => portOf(profile).recording.toString('ascii').slice(from).split('\n').filter(Boolean);

test('serial board ↔ hub through the mock binding: events, alarms, errors, replug', async (t) => {
  SerialPortMock.binding.reset();
  SerialPortMock.binding.createPort('/dev/ttyMOCK0', { echo: false, record: true });
  const cleanup = cleanupStack(t);
  const hub = await startTestHub({ config: { verifyWindowS: 0 } });
  cleanup(() => hub.stop());
  const pool = new ClientPool();
  cleanup(() => pool.closeAll());

  // A station observer sees alarms; a neighbour (t1-h2) raises one.
  const station = await pool.connect(hub.mqttUrl, { username: 'admin', password: hub.adminPassword, clientId: 'station-test' });
  const stationInbox = new Inbox(station);
  await station.subscribeAsync(topics.station('alarm'), { qos: 1 });

  const me = hub.device('t1-h1-smoke');
  const built = startBridge(
    cleanup,
    {
      hub: hub.mqttUrl,
      household: me.household,
      device: me.device,
      secret: me.secret,
      state: tempDir(t),
      serial: { path: '/dev/ttyMOCK0', baud: 9600 },
    },
    { openPort: openMock },
  );
  const profile = built.profile as SerialProfile;
  await built.bridge.start();
  await waitFor(() => built.link.connected, 5000, 'bridge connected');

  // HELLO → OK
  portOf(profile).emitData('HELLO smokehub-serial/1.0\r\n');
  await waitFor(() => written(profile).includes('OK'), 2000, 'OK for HELLO');

  // Garbage of every kind: ERR, counted, bridge still alive.
  const rejects = built.metrics.counter('smokehub_bridge_serial_rejects_total', '');
  portOf(profile).emitData(
    Buffer.concat([
      Buffer.from('FOO bar\n'),
      Buffer.from([0xde, 0xad, 0x00, 0x0a]),
      Buffer.alloc(300, 0x41),
      Buffer.from('\nTELEMETRY smoke=abc\nTELEMETRY colour=1\nEVENT fire\n'),
    ]),
  );
  await waitFor(() => written(profile).filter((l) => l.startsWith('ERR')).length === 6, 2000, 'six ERR lines');
  assert.deepEqual(
    written(profile).filter((l) => l.startsWith('ERR')),
    ['ERR unknown_command FOO', 'ERR binary', 'ERR oversize', 'ERR bad_value smoke', 'ERR unknown_field colour', 'ERR unknown_type fire'],
  );
  assert.equal(rejects.get({ reason: 'binary' }), 1);
  assert.equal(rejects.get({ reason: 'oversize' }), 1);

  // A neighbour's smoke alarm → ALARM line on the serial port.
  const neighbour = await pool.device(hub.mqttUrl, hub.device('t1-h2-smoke'));
  await neighbour.publishAsync(topics.device('t1-h2', 't1-h2-smoke', 'event'), JSON.stringify({ id: 'n-1', type: 'smoke', level: 700 }), { qos: 1 });
  await waitFor(() => written(profile).includes('ALARM smoke t1-h2'), 5000, 'ALARM line for the neighbour');

  // Our board's panic → an alarm of our household at the hub.
  portOf(profile).emitData('EVENT panic\n');
  const panic = await stationInbox.next((m) => m.json().origin?.household === 't1-h1' && m.json().kind === 'panic', 5000, 'panic alarm of t1-h1');
  assert.equal(panic.json().origin.device, 't1-h1-smoke');

  // The neighbour's alarm is resolved by the station → STANDDOWN; the silence comes once nothing sounds.
  const neighbourAlarm = stationInbox.messages.map((m) => m.json()).find((v) => v.origin.household === 't1-h2').alarm;
  const res = await fetch(`${hub.httpUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: hub.adminPassword }),
  });
  const { token } = (await res.json()) as { token: string };
  const r = await fetch(`${hub.httpUrl}/api/alarms/${neighbourAlarm}/resolve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(r.status, 200);
  await waitFor(() => written(profile).includes(`STANDDOWN ${neighbourAlarm}`), 5000, 'STANDDOWN line');

  // Cable pulled: the port closes; plugged back: reopened without restart.
  const before = profile.isOpen;
  const downs: string[] = [];
  profile.on('down', (why) => downs.push(why));
  await new Promise<void>((resolve) => (profile as unknown as { port: SerialPortMock }).port.close(() => resolve()));
  await waitFor(() => downs.length > 0, 2000, 'down reported');
  await waitFor(() => profile.isOpen, 5000, 'port reopened');
  assert.equal(before, true);
  portOf(profile).emitData('EVENT test\n');
  await waitFor(() => written(profile).includes('OK'), 2000, 'OK after reopen');
});

test('a missing serial device is reported with its path and retried', async (t) => {
  SerialPortMock.binding.reset();
  const cleanup = cleanupStack(t);
  const hub = await startTestHub();
  cleanup(() => hub.stop());
  const me = hub.device('t1-h1-smoke');
  const built = startBridge(
    cleanup,
    {
      hub: hub.mqttUrl,
      household: me.household,
      device: me.device,
      secret: me.secret,
      state: tempDir(t),
      serial: { path: '/dev/ttyMISSING', baud: 9600 },
    },
    { openPort: openMock },
  );
  const downs: string[] = [];
  built.profile.on('down', (why) => downs.push(why));
  await built.bridge.start();
  await waitFor(() => downs.length > 0, 2000, 'down');
  assert.match(downs[0]!, /\/dev\/ttyMISSING/);
  // The board appears later: it is opened without a restart.
  SerialPortMock.binding.createPort('/dev/ttyMISSING', { echo: false, record: true });
  await waitFor(() => (built.profile as SerialProfile).isOpen, 5000, 'opened once plugged in');
  // The fault was recorded and reaches the hub.
  await waitFor(() => built.outbox.size() === 0 && built.link.connected, 5000, 'fault delivered');
});
