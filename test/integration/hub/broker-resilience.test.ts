/**
 * The broker under two kinds of trouble (issue 9, points 4 and 5b):
 *  - a connection that stops reading (a frozen station tab) while telemetry flows delays nobody
 *    else, holds a bounded amount of the hub's memory and is closed after --slow-client-timeout
 *    (TCP and MQTT over WebSocket; QoS 1 over the bound closes it at once);
 *  - persistent sessions, their subscriptions, queued QoS 1 messages and retained messages survive
 *    kill -9 and SIGTERM (the on-disk session store), and a disconnected session's queue is capped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { Aedes } from 'aedes';
import { neighbourhoodCsv, startTestHub, type TestHub } from '../../helpers/hub-harness.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import { openDatabase } from '../../../hub/store/database.ts';
import { SqliteRegistryStore } from '../../../hub/store/registry-store.ts';
import { importCsv } from '../../../hub/store/csv-import.ts';
import { SessionStore } from '../../../hub/broker/session-store.ts';

const MiB = 1024 * 1024;
const STATION = { username: 'station1', password: 'station-password-1' };

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- raw subscribers that stop reading ---------------------------------------------------------

interface Stuck {
  /** Stops reading (the socket is paused; the hub's writes pile up). */
  freeze(): void;
  close(): void;
}

function connectPacket(clientId: string): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId,
    keepalive: 0,
    username: STATION.username,
    password: Buffer.from(STATION.password),
  } as mqttPacket.IConnectPacket);
}

function subscribePacket(topic: string, qos: 0 | 1): Buffer {
  return mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] } as mqttPacket.ISubscribePacket);
}

/** Hand-written CONNECT and SUBSCRIBE over `send`; resolves once SUBACK granted `qos`. */
async function handshake(parser: ReturnType<typeof mqttPacket.parser>, send: (b: Buffer) => void, clientId: string, topic: string, qos: 0 | 1): Promise<void> {
  const next = (cmd: string) =>
    new Promise<any>((resolve) => {
      const f = (p: any) => {
        if (p.cmd !== cmd) return;
        parser.removeListener('packet', f);
        resolve(p);
      };
      parser.on('packet', f);
    });
  const connack = next('connack');
  send(connectPacket(clientId));
  assert.equal((await connack).returnCode, 0, 'CONNACK');
  const suback = next('suback');
  send(subscribePacket(topic, qos));
  assert.deepEqual((await suback).granted, [qos], 'SUBACK');
}

async function tcpSubscriber(port: number, clientId: string, topic: string, qos: 0 | 1): Promise<Stuck> {
  const s: Socket = netConnect({ port, host: '127.0.0.1' });
  await once(s, 'connect');
  s.on('error', () => {});
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  s.on('data', (d) => parser.parse(d));
  await handshake(parser, (b) => s.write(b), clientId, topic, qos);
  return { freeze: () => s.pause(), close: () => s.destroy() };
}

async function wsSubscriber(url: string, clientId: string, topic: string, qos: 0 | 1): Promise<Stuck> {
  const ws = new WebSocket(url, 'mqtt');
  ws.on('error', () => {});
  await once(ws, 'open');
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  ws.on('message', (d: Buffer) => parser.parse(d));
  await handshake(parser, (b) => ws.send(b), clientId, topic, qos);
  return { freeze: () => ws.pause(), close: () => ws.terminate() };
}

// ---- telemetry load and alarms -----------------------------------------------------------------

/** ~900 readings/s of ~950 bytes (valid JSON, padded with spaces) from the devices of team t1. */
async function telemetryLoad(th: TestHub, pool: ClientPool, qos: 0 | 1): Promise<() => void> {
  const pad = ' '.repeat(900);
  const devices = th.credentials.filter((c) => c.household.startsWith('t1-'));
  const clients = await Promise.all(devices.map((c) => pool.device(th.mqttUrl, c)));
  let i = 0;
  const timers = clients.map((client, k) =>
    setInterval(() => {
      const d = devices[k]!;
      client.publish(`smokehub/h/${d.household}/d/${d.device}/telemetry`, `{"battery":${50 + (i++ % 50)},"temperature":24${pad}}`, { qos });
    }, 6),
  );
  return () => timers.forEach((t) => clearInterval(t));
}

/** Household h1 of `team` raises smoke; ms until h2's detector has the `active` alert. */
async function alarmLatency(th: TestHub, pool: ClientPool, team: string): Promise<number> {
  const origin = await pool.device(th.mqttUrl, th.device(`${team}-h1-smoke`));
  const neighbour = await pool.device(th.mqttUrl, th.device(`${team}-h2-smoke`));
  const inbox = new Inbox(neighbour);
  await neighbour.subscribeAsync(`smokehub/h/${team}-h2/alert`, { qos: 1 });
  const t0 = performance.now();
  origin.publish(`smokehub/h/${team}-h1/d/${team}-h1-smoke/event`, JSON.stringify({ id: `slow-${team}`, type: 'smoke' }), { qos: 1 });
  await inbox.next((m) => m.json().state === 'active', 10_000, `the ${team} neighbour's alert`);
  return performance.now() - t0;
}

test('a connection that stops reading delays nobody, is bounded and is closed (TCP, WebSocket, QoS 1)', async (t) => {
  const TIMEOUT_S = 6;
  const th = await startTestHub({ csv: neighbourhoodCsv(5, 3), config: { slowClientTimeoutS: TIMEOUT_S } });
  const pool = new ClientPool();
  const stuck: Stuck[] = [];
  let stopLoad = () => {};
  t.after(async () => {
    stopLoad();
    for (const s of stuck) s.close();
    await pool.closeAll();
    await th.stop();
  });
  await th.hub.registry.addUser({ username: STATION.username, role: 'station', password: STATION.password });
  const m = th.hub.ctx.metrics;
  const cuts = (reason: string) => m.counter('smokehub_slow_client_disconnects_total', '').get({ reason });
  const dropped = () => m.counter('smokehub_deliveries_dropped_total', '').get({ reason: 'slow_client', qos: '0' });
  const held = m.gauge('smokehub_slow_client_max_buffered_bytes', '');
  const blocked = m.gauge('smokehub_slow_clients', '');
  let maxHeld = 0;
  const sampler = setInterval(() => (maxHeld = Math.max(maxHeld, held.get())), 5);
  t.after(() => clearInterval(sampler));

  // A healthy station dashboard on everything: it must keep getting telemetry throughout.
  const healthy = await pool.connect(th.mqttUrl, { clientId: 'healthy-tab', ...STATION });
  let healthyTelemetry = 0;
  healthy.on('message', (topic) => topic.endsWith('/telemetry') && healthyTelemetry++);
  await healthy.subscribeAsync('smokehub/#', { qos: 0 });
  stopLoad = await telemetryLoad(th, pool, 0);

  const phase = async (label: string, s: Stuck, team: string) => {
    stuck.push(s);
    const droppedBefore = dropped();
    const cutsBefore = cuts('drain_timeout');
    maxHeld = 0;
    s.freeze();
    const frozenAt = Date.now();
    // The hub's writes pile up until the connection reaches its bound: QoS 0 deliveries are dropped.
    await waitFor(() => dropped() > droppedBefore, 20_000, `${label}: the stuck connection reaching its 1 MiB bound`);
    assert.ok(blocked.get() >= 1, `${label}: the connection is stuck`);
    const healthyBefore = healthyTelemetry;
    const ms = await alarmLatency(th, pool, team);
    assert.equal(cuts('drain_timeout'), cutsBefore, `${label}: the stuck connection was still open when the alarm went out`);
    assert.ok(ms < 1000, `${label}: another household's alert took ${ms.toFixed(0)} ms with a stuck subscriber`);
    t.diagnostic(`${label}: bound reached ${Date.now() - frozenAt} ms after the subscriber stopped reading; alert latency ${ms.toFixed(1)} ms`);
    await waitFor(() => healthyTelemetry > healthyBefore + 50, 5000, `${label}: telemetry to the healthy subscriber`);
    // Closed once it has not drained for the timeout.
    await waitFor(() => cuts('drain_timeout') === cutsBefore + 1, (TIMEOUT_S + 10) * 1000, `${label}: the stuck connection being closed`);
    assert.ok(
      Date.now() - frozenAt >= TIMEOUT_S * 1000,
      `${label}: closed ${Date.now() - frozenAt} ms after it stopped reading, before the ${TIMEOUT_S} s timeout`,
    );
    assert.ok(maxHeld > 0.5 * MiB && maxHeld <= MiB + 2048, `${label}: the hub held at most ${maxHeld} bytes for it (bound: 1 MiB)`);
    t.diagnostic(`${label}: closed ${Date.now() - frozenAt} ms after it stopped reading; at most ${maxHeld} bytes held`);
  };

  await phase('TCP', await tcpSubscriber(th.hub.mqttPort, 'frozen-tcp', 'smokehub/#', 0), 't2');
  await phase('WebSocket', await wsSubscriber(th.wsUrl, 'frozen-ws', 'smokehub/#', 0), 't3');

  // QoS 1: a delivery over the bound closes the connection at once (its session keeps the rest).
  stopLoad();
  stopLoad = await telemetryLoad(th, pool, 1);
  const q1 = await tcpSubscriber(th.hub.mqttPort, 'frozen-qos1', 'smokehub/#', 1);
  stuck.push(q1);
  q1.freeze();
  const frozenAt = Date.now();
  const drainCutsBefore = cuts('drain_timeout');
  await waitFor(() => cuts('qos1_over_bound') === 1, 30_000, 'the QoS 1 subscriber being closed over its bound');
  // Closed for being over the bound, not by the drain timeout: told by the reason the hub counted
  // (how soon depends on how fast the load fills 1 MiB, which a loaded machine slows).
  assert.equal(cuts('drain_timeout'), drainCutsBefore, 'closed when over the bound, not only after the timeout');
  t.diagnostic(`QoS 1: closed over its bound ${Date.now() - frozenAt} ms after it stopped reading (drain timeout ${TIMEOUT_S} s)`);
  assert.ok((await alarmLatency(th, pool, 't4')) < 1000, 'alarms are fast after the QoS 1 subscriber was closed');
});

// ---- persistent sessions on disk ---------------------------------------------------------------

async function startChild(dataDir: string, children: ChildProcess[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/hub-child.ts'], {
    env: {
      ...process.env,
      SMOKEHUB_DATA: dataDir,
      SMOKEHUB_HOST: '127.0.0.1',
      SMOKEHUB_MQTT_PORT: '0',
      SMOKEHUB_HTTP_PORT: '0',
      SMOKEHUB_VERIFY_WINDOW_S: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`hub exited with ${code}`)));
    setTimeout(() => reject(new Error('hub did not start in 30 s')), 30_000).unref();
  });
  return { child, url: `mqtt://127.0.0.1:${JSON.parse(line).mqttPort}` };
}

function stopChild(child: ChildProcess, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`a persistent session and the alerts queued for it survive ${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'}`, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'smokehub-sessions-'));
    const children: ChildProcess[] = [];
    const pool = new ClientPool();
    const extra: MqttClient[] = [];
    t.after(async () => {
      await Promise.all(extra.map((c) => c.endAsync(true).catch(() => {})));
      await pool.closeAll();
      for (const c of children) c.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    const db = openDatabase(dataDir);
    const store = new SqliteRegistryStore(db, { dataDir });
    const creds = importCsv(store, neighbourhoodCsv(1, 3)).credentials;
    await store.addUser({ username: STATION.username, role: 'station', password: STATION.password });
    db.close();
    const cred = (d: string) => creds.find((c) => c.device === d)!;
    const device = cred('t1-h2-smoke');
    const deviceOpts = { clientId: device.device, username: device.device, password: device.secret, clean: false, reconnectPeriod: 0 };

    let hub = await startChild(dataDir, children);
    // 1. The neighbour's detector subscribes with a persistent session, then goes away.
    const d1 = await mqtt.connectAsync(hub.url, deviceOpts);
    await d1.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
    await d1.endAsync();
    // 2. The station watches the same topic: once it has the alert, the hub has queued it for the device.
    const st1 = await pool.connect(hub.url, { clientId: 'st-1', ...STATION });
    const stIn1 = new Inbox(st1);
    await st1.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
    const origin = await pool.device(hub.url, cred('t1-h1-smoke'));
    await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/status', 'online', { qos: 1, retain: true });
    await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'sess-1', type: 'smoke' }), { qos: 1 });
    const active = (await stIn1.next((m) => m.json().state === 'active', 5000, 'the active alert at the station')).json();
    await pool.closeAll();

    // 3. The hub dies (or is stopped) and comes back on the same data directory.
    const code = await stopChild(hub.child, signal);
    if (signal === 'SIGTERM') assert.equal(code, 0, 'SIGTERM stops the hub cleanly');
    hub = await startChild(dataDir, children);

    // 4. Before the device is back, a neighbour answers: one more alert is queued for it.
    const st2 = await pool.connect(hub.url, { clientId: 'st-2', ...STATION });
    const stIn2 = new Inbox(st2);
    await st2.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
    const n3 = await pool.device(hub.url, cred('t1-h3-smoke'));
    await n3.publishAsync('smokehub/h/t1-h3/response', JSON.stringify({ alarm: active.alarm, response: 'coming' }), { qos: 1 });
    await stIn2.next((m) => m.json().responders?.length === 1, 5000, 'the responder update at the station');

    // 5. The device reconnects with its persistent session (no SUBSCRIBE) and gets both, in order.
    const d2 = mqtt.connect(hub.url, deviceOpts);
    extra.push(d2);
    const inbox = new Inbox(d2);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      d2.once('connect', resolve);
      d2.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true, 'the session survived');
    await inbox.next((m) => m.json().responders?.length === 1, 5000, 'the alert queued after the restart');
    const views = inbox.messages.filter((x) => x.topic === 'smokehub/h/t1-h2/alert').map((x) => x.json());
    assert.equal(views[0].alarm, active.alarm);
    assert.equal(views[0].state, 'active', 'first the alert queued before the restart');
    assert.deepEqual(views[0].responders, []);
    assert.deepEqual(
      views.at(-1).responders.map((r: any) => [r.household, r.response]),
      [['t1-h3', 'coming']],
    );

    // 6. Retained messages survived too.
    const st3 = await pool.connect(hub.url, { clientId: 'st-3', ...STATION });
    const stIn3 = new Inbox(st3);
    await st3.subscribeAsync('smokehub/h/t1-h1/d/t1-h1-smoke/status', { qos: 1 });
    assert.equal((await stIn3.next(() => true, 3000, 'the retained status')).payload, 'online');
  });
}

test('a disconnected session keeps at most its cap of queued messages, the newest, across a reopen', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smokehub-session-cap-'));
  const drops: number[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const startBroker = async () => {
    const store = await SessionStore.open({ dir, maxQueuedPerClient: 20, onDropped: (_id, n) => drops.push(n) });
    const aedes = await Aedes.createBroker({ id: 'probe', persistence: store.persistence });
    const server = createServer((s) => aedes.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const stop = async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    };
    cleanup.push(stop);
    return { store, url: `mqtt://127.0.0.1:${port}`, stop };
  };

  let b = await startBroker();
  const sub = await mqtt.connectAsync(b.url, { clientId: 'away', clean: false, reconnectPeriod: 0 });
  await sub.subscribeAsync('q/#', { qos: 1 });
  await sub.endAsync();
  const pub = await mqtt.connectAsync(b.url, { clientId: 'pub', reconnectPeriod: 0 });
  for (let i = 0; i < 50; i++) await pub.publishAsync('q/x', String(i), { qos: 1 });
  await pub.endAsync();
  await waitFor(() => b.store.queuedFor('away') === 20 && drops.reduce((a, n) => a + n, 0) === 30, 5000, 'the queue trimmed to 20');
  await b.stop();
  cleanup.pop();

  b = await startBroker();
  assert.equal(b.store.queuedFor('away'), 20, 'the count is rebuilt from disk');
  const back = mqtt.connect(b.url, { clientId: 'away', clean: false, reconnectPeriod: 0 });
  cleanup.push(() => back.endAsync(true));
  const inbox = new Inbox(back);
  await inbox.next((m) => m.payload === '49', 5000, 'the newest message');
  assert.deepEqual(
    inbox.messages.map((m) => m.payload),
    Array.from({ length: 20 }, (_, i) => String(30 + i)),
    'the 20 newest, in order',
  );
  await waitFor(() => b.store.queuedFor('away') === 0, 5000, 'the queue emptied by the acknowledgements');
  await back.endAsync();
  await b.stop();
  b = await startBroker();
  assert.equal(b.store.queuedFor('away'), 0, 'the acknowledged messages are gone from disk too');
});
