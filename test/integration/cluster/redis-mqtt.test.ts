/**
 * Two hub nodes' MQTT sides (real MqttBroker, registry, alarm service: test/helpers/cluster-node.ts)
 * on one real Redis (issue 16, "MQTT" and "Redis unreachable"): the bus, retained messages,
 * persistent sessions and their queued QoS 1 messages are shared; Redis lost → the nodes refuse
 * CONNECTs (CONNACK 3) and close their connections, and accept them again once Redis is back,
 * without a restart; device presence is cluster-wide and a dead node's devices expire.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { redisAvailable, startRedis, type RedisServer } from '../../helpers/redis-server.ts';
import { ClientPool, Inbox } from '../../helpers/mqtt-clients.ts';
import { clusterCredential, startClusterNode, type ClusterNode } from '../../helpers/cluster-node.ts';

const skip = redisAvailable() ? false : 'redis-server is not installed';
const PRESENCE_TTL_MS = 1500;

let redis: RedisServer | null = null;
let node1: ClusterNode | null = null;
let node2: ClusterNode | null = null;
const pool = new ClientPool();

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function hubPublish(node: ClusterNode, topic: string, payload: string, opts: { qos?: 0 | 1; retain?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => node.broker.publish(topic, payload, opts, (err) => (err ? reject(err) : resolve())));
}

function device(node: ClusterNode, id: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return pool.device(node.mqttUrl, clusterCredential(id), opts);
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  node1 = await startClusterNode({ redisUrl: redis.url, nodeId: 'node1' });
  node2 = await startClusterNode({ redisUrl: redis.url, nodeId: 'node2', presenceTtlMs: PRESENCE_TTL_MS });
});

after(async () => {
  await pool.closeAll();
  await node1?.stop();
  await node2?.stop();
  await redis?.stop();
});

test('an alarm raised by a detector on node 1 reaches the neighbour connected to node 2, once', { skip, timeout: 30_000 }, async () => {
  const neighbour = await device(node2!, 't1-h2-smoke');
  const inbox = new Inbox(neighbour);
  await neighbour.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  const origin = await device(node1!, 't1-h1-smoke');
  await origin.publishAsync('smokehub/h/t1-h1/d/t1-h1-smoke/event', JSON.stringify({ id: 'cluster-smoke-1', type: 'smoke' }), { qos: 1 });
  const alert = await inbox.next((m) => m.json().state === 'active', 10_000, "the neighbour's active alert");
  const alarm = alert.json().alarm;
  // A marker published after it through the same node arrives after it: then nothing more can come.
  await hubPublish(node1!, 'smokehub/h/t1-h2/alert', JSON.stringify({ marker: 1 }), { qos: 1 });
  await inbox.next((m) => m.json().marker === 1, 5000, 'the marker');
  assert.equal(
    inbox.count((m) => m.json().alarm === alarm && m.json().state === 'active'),
    1,
    'the active alert arrived once',
  );
  assert.equal(
    inbox.count((m) => m.json().marker === 1),
    1,
    'the marker arrived once',
  );
});

test('a retained message published through node 1 is received by a new subscriber on node 2', { skip, timeout: 30_000 }, async () => {
  const topic = 'smokehub/h/t1-h3/alarms';
  const payload = JSON.stringify({ household: 't1-h3', retainedProbe: Date.now() });
  await hubPublish(node1!, topic, payload, { qos: 1, retain: true });
  const late = await device(node2!, 't1-h3-smoke');
  const got = new Promise<{ payload: string; retain: boolean }>((resolve) =>
    late.on('message', (t, p, packet) => {
      if (t === topic && p.toString() === payload) resolve({ payload: p.toString(), retain: packet.retain });
    }),
  );
  await late.subscribeAsync(topic, { qos: 1 });
  const m = await Promise.race([got, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no retained message in 5 s')), 5000))]);
  assert.equal(m.retain, true, 'delivered as retained');
  await late.endAsync();
});

test('a QoS 1 message queued on node 2 for a persistent session made on node 1 is delivered when it reconnects to node 2, once', {
  skip,
  timeout: 30_000,
}, async () => {
  const id = 't1-h2-smoke';
  const topic = 'smokehub/h/t1-h2/alert';
  const first = await device(node1!, id, { clean: false, clientId: id });
  await first.subscribeAsync(topic, { qos: 1 });
  await first.endAsync();
  // Node 2 learns of the subscription over the bus (aedes-persistence-redis broadcasts it).
  await waitFor(
    async () => (await node2!.shared.persistence.subscriptionsByTopic(topic)).some((s) => s.clientId === id),
    5000,
    'node 2 to know the persistent subscription',
  );
  const queued = JSON.stringify({ queuedProbe: 1 });
  await hubPublish(node2!, topic, queued, { qos: 1 });
  const again = mqtt.connect(node2!.mqttUrl, { ...clusterCredentialOpts(id), clean: false, reconnectPeriod: 0, connectTimeout: 5000 });
  const inbox = new Inbox(again);
  try {
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      again.once('connect', (p) => resolve(p));
      again.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true, 'node 2 found the session made on node 1');
    await inbox.next((m) => m.json().queuedProbe === 1, 5000, 'the queued message');
    await hubPublish(node2!, topic, JSON.stringify({ marker: 2 }), { qos: 1 });
    await inbox.next((m) => m.json().marker === 2, 5000, 'the marker');
    assert.equal(
      inbox.count((m) => m.json().queuedProbe === 1),
      1,
      'the queued message arrived once',
    );
  } finally {
    await again.endAsync(true).catch(() => {});
  }
  // Not left behind for the next tests: the session is cleaned.
  const clean = await device(node2!, id, { clean: true, clientId: id });
  await clean.endAsync();
});

function clusterCredentialOpts(id: string): mqtt.IClientOptions {
  const c = clusterCredential(id);
  return { clientId: c.device, username: c.device, password: c.secret };
}

/** Resolves with the CONNACK error (or null when it connected). */
function tryConnect(url: string, id: string): Promise<(Error & { code?: number }) | null> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { ...clusterCredentialOpts(id), reconnectPeriod: 0, connectTimeout: 5000 });
    c.once('connect', () => {
      c.end(true);
      resolve(null);
    });
    c.once('error', (err) => {
      c.end(true);
      resolve(err);
    });
    c.once('close', () => resolve(new Error('closed before a CONNACK')));
  });
}

test('Redis killed: CONNECTs are refused with CONNACK 3 and connections closed; Redis back: accepted again without a restart', {
  skip,
  timeout: 60_000,
}, async () => {
  const connected = await device(node1!, 't1-h1-smoke');
  const closed = new Promise<void>((resolve) => connected.once('close', () => resolve()));
  await redis!.kill();
  await waitFor(() => !node1!.shared.healthy() && !node2!.shared.healthy(), 10_000, 'both nodes to see Redis lost');
  await Promise.race([closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the connection stayed open')), 5000))]);
  for (const node of [node1!, node2!]) {
    const err = await tryConnect(node.mqttUrl, 't1-h2-smoke');
    assert.ok(err, `${node.nodeId} refused the CONNECT`);
    assert.ok(err.code === 3 || /unavailable/i.test(err.message), `${node.nodeId}: server unavailable (got ${err.code} ${err.message})`);
  }
  assert.match(node1!.shared.problem() ?? '', /Redis unreachable/);
  await redis!.start();
  await waitFor(() => node1!.shared.healthy() && node2!.shared.healthy(), 15_000, 'both nodes to see Redis back');
  for (const node of [node1!, node2!]) assert.equal(await tryConnect(node.mqttUrl, 't1-h2-smoke'), null, `${node.nodeId} accepts again`);
  // And the bus works again across nodes.
  const sub = await device(node2!, 't1-h2-smoke');
  const inbox = new Inbox(sub);
  await sub.subscribeAsync('smokehub/h/t1-h2/alert', { qos: 1 });
  await hubPublish(node1!, 'smokehub/h/t1-h2/alert', JSON.stringify({ afterRestart: 1 }), { qos: 1 });
  await inbox.next((m) => m.json().afterRestart === 1, 5000, 'a message across nodes after Redis restarted');
  await sub.endAsync();
});

test('presence: a device on node 2 is online on node 1; once node 2 dies it is offline within the TTL', { skip, timeout: 30_000 }, async () => {
  await device(node2!, 't1-h3-smoke', { reconnectPeriod: 0 });
  await waitFor(async () => (await node1!.presence.info('t1-h3-smoke')).online, 5000, 't1-h3-smoke online as read from node 1');
  const seen = await node1!.presence.info('t1-h3-smoke');
  assert.equal(seen.node, 'node2');
  const never = await node1!.presence.info('t1-h9-smoke');
  assert.deepEqual(never, { online: false, since: null, node: null });
  const diedAt = Date.now();
  await node2!.crash();
  await waitFor(async () => !(await node1!.presence.info('t1-h3-smoke')).online, PRESENCE_TTL_MS + 1000, 'the dead node’s device to expire');
  const elapsed = Date.now() - diedAt;
  assert.ok(elapsed <= PRESENCE_TTL_MS + 500, `expired ${elapsed} ms after node 2 died (TTL ${PRESENCE_TTL_MS} ms)`);
  const gone = await node1!.presence.info('t1-h3-smoke');
  assert.ok(gone.since !== null && gone.since <= diedAt + 50, 'offline as of node 2’s last beat');
});
