/** The hub link against a real hub: persistent session, retained status, wrong secret, backoff. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startTestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import { HubLink } from '../../../firmware-bridge/hub-link.ts';
import { topics } from '../../../hub/protocol/topics.ts';
import { freePort } from '../../helpers/ports.ts';
import { cleanupStack, testLogger, waitFor } from '../../helpers/bridge-test-kit.ts';

test('online when up (retained), offline by last will when the link dies', async (t) => {
  const cleanup = cleanupStack(t);
  const hub = await startTestHub();
  cleanup(() => hub.stop());
  const pool = new ClientPool();
  cleanup(() => pool.closeAll());
  const me = hub.device('t1-h1-smoke');
  const link = new HubLink({
    url: hub.mqttUrl,
    household: 't1-h1',
    device: me.device,
    secret: me.secret,
    logger: testLogger(),
    backoff: { initialMs: 3000, maxMs: 3000, jitter: 0 },
  });
  cleanup(() => link.stop());
  link.start();
  await waitFor(() => link.connected, 5000, 'connected');
  const station = await pool.connect(hub.mqttUrl, { username: 'admin', password: hub.adminPassword, clientId: 'station-link' });
  const inbox = new Inbox(station);
  const status = topics.device('t1-h1', me.device, 'status');
  await station.subscribeAsync(status, { qos: 1 });
  await inbox.next((m) => m.topic === status && m.payload === 'online', 3000, 'retained online');
  link.destroyConnection();
  await inbox.next((m) => m.topic === status && m.payload === 'offline', 5000, 'will offline');
  await waitFor(() => link.connected, 8000, 'reconnected after backoff');
});

test('a wrong secret is said clearly and retried slowly, not hammered', async (t) => {
  const cleanup = cleanupStack(t);
  // No refusal floor: the pace measured is the bridge's own (the hub answers a wrong secret after 1 s by default).
  const hub = await startTestHub({ loginRefusalFloorMs: 0 });
  cleanup(() => hub.stop());
  const refusals: string[] = [];
  const logged: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logged.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const link = new HubLink({
    url: hub.mqttUrl,
    household: 't1-h1',
    device: 't1-h1-smoke',
    secret: 'not-the-secret',
    logger: pino({ level: 'error', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, sink),
    authRetryMs: 400,
    backoff: { initialMs: 50, maxMs: 50, jitter: 0 },
  });
  cleanup(() => link.stop());
  link.on('refused', (_code, message) => refusals.push(message));
  link.start();
  await waitFor(() => refusals.length >= 1, 5000, 'refusal');
  assert.match(refusals[0]!, /wrong secret for device t1-h1-smoke/);
  await new Promise((r) => setTimeout(r, 1000));
  // With a 400 ms auth retry (jitter up to 50 %), 1 s allows a handful of attempts, not 20 (the 50 ms backoff).
  assert.ok(refusals.length >= 2 && refusals.length <= 6, `attempts: ${refusals.length}`);
  assert.equal(link.connected, false);
  // Said in the log (a JSON error line, the bridge CLI prints nothing else), with the slow retry.
  const said = logged.find((l) => l.connack !== undefined);
  assert.ok(said, JSON.stringify(logged));
  assert.equal(said.level, 50);
  assert.match(String(said.msg), /^hub refused the connection: wrong secret for device t1-h1-smoke .*; retrying slowly$/);
  assert.equal(said.retryMs, 400);
  assert.match(String(said.time), /Z$/);
});

test('several hub URLs: a link whose first node is dead connects to the next', async (t) => {
  const cleanup = cleanupStack(t);
  const hub = await startTestHub();
  cleanup(() => hub.stop());
  const dead = await freePort();
  const me = hub.device('t1-h1-smoke');
  const link = new HubLink({
    url: `mqtt://127.0.0.1:${dead},${hub.mqttUrl}`,
    household: 't1-h1',
    device: me.device,
    secret: me.secret,
    logger: testLogger(),
    backoff: { initialMs: 100, maxMs: 100, jitter: 0 },
  });
  cleanup(() => link.stop());
  link.start();
  await waitFor(() => link.connected, 10_000, 'connected to the second URL');
  assert.equal(hub.hub.broker.presence.info('t1-h1-smoke').online, true);
});
