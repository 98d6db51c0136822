/** Device activity relayed between two nodes through a real redis-server. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { redisAvailable, startRedis, type RedisServer } from '../../helpers/redis-server.ts';
import { DeviceActivityRelay, type RemoteActivity } from '../../../hub/cluster/device-activity-relay.ts';
import { systemClock } from '../../../hub/core/clock.ts';
import { silentLogger } from '../../../hub/observability/logger.ts';
import { within } from '../../helpers/pg-registry-kit.ts';

const skip = !redisAvailable() && 'redis-server is not installed';
let redis: RedisServer;
const conns: Redis[] = [];
const relays: DeviceActivityRelay[] = [];
before(async () => {
  if (!skip) redis = await startRedis();
});
after(async () => {
  for (const r of relays) await r.stop();
  for (const c of conns) c.disconnect();
  await redis?.stop();
});

async function relay(nodeId: string): Promise<{ relay: DeviceActivityRelay; got: RemoteActivity[] }> {
  const conn = new Redis(redis.url, { lazyConnect: false });
  conns.push(conn);
  const r = new DeviceActivityRelay({ redis: conn, nodeId, clock: systemClock, logger: silentLogger(), flushMs: 50 });
  relays.push(r);
  await r.start();
  const got: RemoteActivity[] = [];
  r.onRemote((a) => got.push(a));
  return { relay: r, got };
}

const ref = (device: string) => ({ team: 't1', household: 't1-h1', device, kind: 'smoke' as const });

test('a node hears the other nodes’ device activity, not its own; many `heard` of one device between flushes are one, the latest', { skip }, async () => {
  const a = await relay('a');
  const b = await relay('b');
  a.relay.local({ kind: 'device-connected', ref: ref('d1'), at: 1 });
  for (let i = 2; i <= 50; i++) a.relay.local({ kind: 'device-heard', ref: ref('d1'), at: i });
  a.relay.local({ kind: 'device-event', ref: ref('d1'), event: { id: 'e1', type: 'test' }, at: 60, duplicate: false });
  a.relay.local({ kind: 'battery', ref: ref('d1'), battery: 12, at: 61 });
  await within(3000, () => b.got.length >= 4, 'node b heard node a');
  assert.deepEqual(
    b.got.map((x) => [x.kind, x.at]),
    [
      ['device-connected', 1],
      ['device-heard', 50],
      ['device-event', 60],
      ['battery', 61],
    ],
  );
  assert.equal(a.got.length, 0, 'its own activity is not handed back');
  // Garbage on the channel is ignored.
  await conns[0]!.publish('smokehub:device-activity', 'not json');
  await conns[0]!.publish('smokehub:device-activity', JSON.stringify({ node: 'x', items: [{ kind: 'device-heard' }] }));
  b.relay.local({ kind: 'device-heard', ref: ref('d2'), at: 70 });
  await within(3000, () => a.got.length === 1, 'node a heard node b');
  assert.equal(b.got.length, 4);
});
