/**
 * The serial line profile end to end through the REAL serialport native binding, on a
 * pseudo-terminal pair made by socat: a line written by the "board" reaches the hub as an event,
 * and a neighbour's alarm comes back out of the PTY as an `ALARM` line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ClientPool } from '../../helpers/mqtt-clients.ts';
import { topics } from '../../../hub/protocol/topics.ts';
import type { DeviceEvent } from '../../../hub/protocol/schema.ts';
import { cleanupStack, startBridge, tempDir, waitFor } from '../../helpers/bridge-test-kit.ts';

const hasSocat = spawnSync('socat', ['-V']).status === 0;

test('PTY pair: board line → hub event, neighbour alarm → ALARM line', {
  skip: hasSocat ? false : 'socat is not installed (apt-get install socat)',
}, async (t) => {
  const cleanup = cleanupStack(t);
  const dir = tempDir(t, 'smokehub-pty-');
  const bridgeEnd = join(dir, 'bridge');
  const boardEnd = join(dir, 'board');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${bridgeEnd}`, `pty,raw,echo=0,link=${boardEnd}`], { stdio: 'ignore' });
  t.after(() => {
    if (socat.exitCode === null) socat.kill('SIGTERM');
  });
  await waitFor(() => existsSync(bridgeEnd) && existsSync(boardEnd), 5000, 'socat PTY links');

  const hub = await startTestHub({ config: { verifyWindowS: 0 } });
  cleanup(() => hub.stop());
  const pool = new ClientPool();
  cleanup(() => pool.closeAll());
  const accepted: DeviceEvent[] = [];
  hub.hub.ctx.bus.on('test', 'device-event', (ref, event) => {
    if (ref.device === 't1-h1-smoke') accepted.push(event);
  });

  // The board's end of the wire, through the real binding too.
  const board = new SerialPort({ path: boardEnd, baudRate: 9600 });
  cleanup(() => new Promise<void>((r) => (board.isOpen ? board.close(() => r()) : r())));
  await new Promise<void>((resolve, reject) => board.once('open', resolve).once('error', reject));
  let fromBridge = '';
  board.on('data', (d: Buffer) => (fromBridge += d.toString('ascii')));

  const me = hub.device('t1-h1-smoke');
  const built = startBridge(cleanup, {
    hub: hub.mqttUrl,
    household: me.household,
    device: me.device,
    secret: me.secret,
    state: tempDir(t),
    serial: { path: bridgeEnd, baud: 9600 },
  });
  await built.bridge.start();
  await waitFor(() => built.link.connected, 5000, 'bridge connected');

  board.write('HELLO smokehub-serial/1.0\r\n');
  await waitFor(() => fromBridge.includes('OK\n'), 3000, 'OK from the bridge');
  board.write('EVENT smoke 612\n');
  await waitFor(() => accepted.some((e) => e.type === 'smoke'), 5000, 'smoke event at the hub');
  assert.equal(accepted.find((e) => e.type === 'smoke')!.level, 612);

  // Line noise through the real tty: answered, not fatal.
  board.write(Buffer.from([0x01, 0x02, 0xfe, 0x0a]));
  await waitFor(() => fromBridge.includes('ERR binary\n'), 3000, 'ERR binary');

  const neighbour = await pool.device(hub.mqttUrl, hub.device('t1-h3-panic'));
  await neighbour.publishAsync(topics.device('t1-h3', 't1-h3-panic', 'event'), JSON.stringify({ id: 'pty-n1', type: 'panic' }), { qos: 1 });
  await waitFor(() => fromBridge.includes('ALARM panic t1-h3\n'), 5000, 'ALARM line for the neighbour');
  // Its own smoke alarm sounded too (local + hub view).
  assert.match(fromBridge, /ALARM smoke t1-h1\n/);
});
