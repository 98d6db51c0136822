/** Cluster-wide presence rules (hub/cluster/presence-records.ts) and the Redis URL reading (redis-mqtt.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeRecord, refreshIntervalMs, resolvePresence, type PresenceRecord } from '../../../hub/cluster/presence-records.ts';
import { redisOptionsFromUrl } from '../../../hub/cluster/redis-mqtt.ts';
import { redactUrl as redactRedisUrl } from '../../../hub/observability/redact-url.ts';

const online: PresenceRecord = { node: 'node2', run: 'r1', connectedAt: 1000 };

test('records survive encoding; anything else reads as never seen', () => {
  assert.deepEqual(decodeRecord(encodeRecord(online)), online);
  assert.deepEqual(decodeRecord(encodeRecord({ node: null, lastSeen: 5 })), { node: null, lastSeen: 5 });
  for (const bad of [null, undefined, '', 'not json', '42', '{"node":"n"}', '{"node":null}', '{"node":1,"run":"r","connectedAt":1}'])
    assert.equal(decodeRecord(bad), null, String(bad));
});

test('a device is online while the node it names beats with the same run', () => {
  assert.deepEqual(resolvePresence(online, { run: 'r1', lastBeat: 3000 }), { online: true, since: 1000, node: 'node2' });
});

test('a dead node (heartbeat expired) or a restarted one (new run) takes its devices offline as of its last beat', () => {
  assert.deepEqual(resolvePresence(online, { run: null, lastBeat: 4000 }), { online: false, since: 4000, node: null });
  assert.deepEqual(resolvePresence(online, { run: 'r2', lastBeat: 4000 }), { online: false, since: 4000, node: null });
  // Never before it connected, and without any beat known: since it connected.
  assert.deepEqual(resolvePresence(online, { run: null, lastBeat: 500 }), { online: false, since: 1000, node: null });
  assert.deepEqual(resolvePresence(online, null), { online: false, since: 1000, node: null });
});

test('offline records and unknown devices', () => {
  assert.deepEqual(resolvePresence({ node: null, lastSeen: 7 }, null), { online: false, since: 7, node: null });
  assert.deepEqual(resolvePresence(null, null), { online: false, since: null, node: null });
});

test('the heartbeat is refreshed three times per expiry', () => {
  assert.equal(refreshIntervalMs(30_000), 10_000);
  assert.equal(refreshIntervalMs(90), 100);
});

test('redis:// URLs become ioredis options; the password is kept out of logs', () => {
  assert.deepEqual(redisOptionsFromUrl('redis://127.0.0.1:6380'), { host: '127.0.0.1', port: 6380, db: 0 });
  assert.deepEqual(redisOptionsFromUrl('rediss://hub:p%40ss@redis.example:6390/3'), {
    host: 'redis.example',
    port: 6390,
    username: 'hub',
    password: 'p@ss',
    db: 3,
    tls: {},
  });
  assert.deepEqual(redisOptionsFromUrl('redis://:secret@[::1]'), { host: '::1', port: 6379, password: 'secret', db: 0 });
  assert.throws(() => redisOptionsFromUrl('http://x'), /not a redis/);
  assert.throws(() => redisOptionsFromUrl('redis://x/abc'), /database/);
  assert.equal(redactRedisUrl('redis://u:secret@h:1/2'), 'redis://u:***@h:1/2');
});
